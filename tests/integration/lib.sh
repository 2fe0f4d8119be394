# Shared helpers for integration tests. Source it from a test script:
#   . "$(dirname "$0")/lib.sh"
# Each check prints "ok - name" or "not ok - name"; tests/run counts them.
# Servers a test starts are registered with bg and killed by PID on exit.

set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) bin=$BUILD ;; *) bin=$top/$BUILD ;; esac
T=$(mktemp -d "${TMPDIR:-/tmp}/mta-test.XXXXXX")
_pids=""

cleanup() {
	for p in $_pids; do kill "$p" 2>/dev/null; done
	sleep 0.2
	for p in $_pids; do kill -9 "$p" 2>/dev/null; done
	[ -n "${KEEP_TEST_DIR:-}" ] || rm -rf "$T"
}
trap cleanup EXIT INT TERM

ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; }
skip() { echo "skip - $*"; }

# check NAME COMMAND...: ok when the command succeeds.
check() {
	name=$1; shift
	if "$@" > "$T/check.out" 2>&1; then ok "$name"; else not_ok "$name"; sed 's/^/#   /' "$T/check.out" | tail -15; fi
}

# A free TCP port on 127.0.0.1.
free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# bg COMMAND...: start in the background, killed when the test ends.
bg() {
	"$@" &
	_pids="$_pids $!"
	last_pid=$!
}

# wait_port PORT [SECONDS]: wait until something listens on 127.0.0.1:PORT.
wait_port() {
	i=0
	while [ "$i" -lt "$((${2:-10} * 10))" ]; do
		/usr/bin/python3 -c "import socket,sys; s=socket.socket(); s.settimeout(0.2); sys.exit(s.connect_ex(('127.0.0.1',$1)))" && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# queued_content SPOOL ID: the file that holds a queued message's content:
# msg/ID or, until its envelope is first rewritten, the received file
# env/ID (or hold/ID), content first and the envelope after (mta-spool(5)).
queued_content() {
	for d in msg env hold; do
		[ -e "$1/$d/$2" ] && { echo "$1/$d/$2"; return 0; }
	done
	echo "$1/msg/$2"
}

# A fresh embedded-defaults root for the mta tools.
new_root() {
	MTA_ROOT=$T/${1:-root}
	export MTA_ROOT
	mkdir -p "$MTA_ROOT/etc"
}
