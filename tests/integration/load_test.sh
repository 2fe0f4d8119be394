# Load against mta-recv's own listener on loopback (load_driver.py is the
# client): many concurrent sessions, a connection flood past the limits,
# clients that trickle bytes, idle connections, and no descriptor or
# memory growth in the listener across many sessions.
#
#   LOAD_CONCURRENT=N  concurrent sessions (default 500)
#   LOAD_SESSIONS=N    sessions for the growth check (default 10000)
. "$(dirname "$0")/lib.sh"
concurrent=${LOAD_CONCURRENT:-500}
total=${LOAD_SESSIONS:-10000}
drv="/usr/bin/python3 $(dirname "$0")/load_driver.py"

new_root root
root=$MTA_ROOT
cat > "$root/etc/mta.conf" <<CONF
hostname = load.example
log = file:$T/mail.log
CONF
printf 'load.example\n' > "$root/etc/local-domains"
printf 'alice@load.example alice/Maildir/\n' > "$root/etc/virtual"
: > "$root/etc/aliases"
"$bin/mta-queue" init > "$T/init.log" 2>&1 || { not_ok "load: mta-queue init"; cat "$T/init.log"; exit 0; }
ulimit -n 4096 2>/dev/null || true

fds() { ls "/proc/$1/fd" | wc -l; }
rss() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status"; }
# The listener holds one control socket per worker process (worker_pool.hpp);
# what it holds beyond those must not grow.
workers() { pgrep -P "$1" | wc -l; }
own_fds() { echo $(( $(fds "$1") - $(workers "$1") )); }
# The most descriptors and the most memory any one worker holds.
worker_max() {
	m=0
	for w in $(pgrep -P "$1"); do
		v=$(if [ "$2" = fds ]; then fds "$w"; else rss "$w"; fi 2>/dev/null) || continue
		[ -n "$v" ] && [ "$v" -gt "$m" ] && m=$v
	done
	echo "$m"
}
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

# --- 1. concurrent sessions, and the growth check on the same listener ---
port=$(free_port)
# --max-use: the same workers serve every session, so that a leak in a
# session shows as growth in a worker.
bg "$bin/mta-recv" --listen "127.0.0.1:$port" --max-connections $((concurrent + 20)) \
	--max-per-client $((concurrent + 20)) --command-timeout 30 --max-use 1000000
pid=$last_pid
wait_port "$port" || { not_ok "load: mta-recv does not listen"; exit 0; }
# All of them open at once, each greeted, then one transaction on each
# while every connection is still held.
out=$(timeout 120 $drv hold "$port" "$concurrent" 0 2> "$T/err1")
if [ "$(field "$out" greeted)" = "$concurrent" ] && [ "$(field "$out" served)" = "$concurrent" ]; then
	ok "load: $concurrent concurrent sessions all served ($out)"
else not_ok "load: $concurrent concurrent sessions: $out (want all greeted and served)"; sed 's/^/#   /' "$T/err1"; fi

# Warm up, then measure the listener across $total sessions.
sleep 1
fd0=$(own_fds "$pid")
rss0=$(rss "$pid")
wfd0=$(worker_max "$pid" fds)
wrss0=$(worker_max "$pid" rss)
out=$(timeout 600 $drv sessions "$port" "$total" 50 2> "$T/err2")
sleep 1
fd1=$(own_fds "$pid")
rss1=$(rss "$pid")
wfd1=$(worker_max "$pid" fds)
wrss1=$(worker_max "$pid" rss)
echo "# listener after $total sessions: fds $fd0 -> $fd1, VmRSS ${rss0} kB -> ${rss1} kB ($out)"
echo "# workers ($(workers "$pid")): at most $wfd0 -> $wfd1 fds, VmRSS $wrss0 -> $wrss1 kB"
if [ "$(field "$out" ok)" = "$total" ]; then ok "load: $total sessions (50 at a time) all served"
else not_ok "load: $total sessions: $out"; sed 's/^/#   /' "$T/err2"; fi
if [ "$fd1" -le "$fd0" ]; then ok "load: no descriptor growth in the listener ($fd0 -> $fd1)"
else not_ok "load: the listener's descriptors grew from $fd0 to $fd1"; ls -l "/proc/$pid/fd" | sed 's/^/#   /' | tail -10; fi
check "load: no descriptor growth in the workers (at most $wfd0 -> $wfd1)" test "$wfd1" -le "$wfd0"
if [ -n "${ASAN_OPTIONS:-}" ]; then
	# ASan's allocator keeps freed memory in quarantine, so RSS grows by
	# design; in that build LeakSanitizer is what checks for leaks.
	skip "load: VmRSS $rss0 -> $rss1 kB not checked under AddressSanitizer (LeakSanitizer checks leaks)"
else
	if [ "$rss1" -le $((rss0 + 1024)) ]; then ok "load: no memory growth in the listener (VmRSS $rss0 -> $rss1 kB)"
	else not_ok "load: the listener's VmRSS grew from $rss0 to $rss1 kB"; fi
	if [ "$wrss1" -le $((wrss0 + 1024)) ]; then ok "load: no memory growth in the workers (VmRSS at most $wrss0 -> $wrss1 kB)"
	else not_ok "load: a worker's VmRSS grew from $wrss0 to $wrss1 kB"; fi
fi
kill "$pid" 2>/dev/null

# --- 2. a flood past the limits: 421 for the excess, the rest still served ---
port=$(free_port)
bg "$bin/mta-recv" --listen "127.0.0.1:$port" --max-connections 20 --max-per-client 20 --command-timeout 30
pid=$last_pid
wait_port "$port" || { not_ok "load: mta-recv does not listen"; exit 0; }
sleep 0.5  # the wait_port probe must be gone before the limit counts
out=$(timeout 60 $drv hold "$port" 60 1 2> "$T/err3")
g=$(field "$out" greeted) r=$(field "$out" refused) s=$(field "$out" served)
if [ "$g" = 20 ] && [ "$r" = 40 ] && [ "$s" = 20 ]; then
	ok "load: a flood of 60 connections past a limit of 20: 20 served, 40 refused with 421"
else
	not_ok "load: flood past the limit: $out (want greeted=20 refused=40 served=20)"; sed 's/^/#   /' "$T/err3"
fi
out=$(timeout 60 $drv sessions "$port" 10 10 2> "$T/err4")
check "load: after the flood, new clients are served ($out)" test "$(field "$out" ok)" = 10
kill "$pid" 2>/dev/null

# --- 3. slow clients: one byte a second is closed by the session deadline ---
port=$(free_port)
bg "$bin/mta-recv" --listen "127.0.0.1:$port" --max-connections 120 --max-per-client 120 \
	--command-timeout 3 --data-timeout 3 --session-timeout 6
pid=$last_pid
wait_port "$port" || { not_ok "load: mta-recv does not listen"; exit 0; }
out=$(timeout 60 $drv trickle "$port" 1 30 2> "$T/err5")
closed=$(field "$out" closed)
case $closed in
never) not_ok "load: a client trickling one byte a second was never closed ($out)" ;;
*)
	if [ "${closed%.*}" -le 10 ]; then ok "load: a client trickling one byte a second is closed by the deadline after ${closed}s ($out)"
	else not_ok "load: the trickling client was closed only after ${closed}s (session limit 6s)"; fi
	;;
esac

# --- 4. many idle connections: all closed by the command deadline ---
sleep 1
fd0=$(own_fds "$pid")
out=$(timeout 60 $drv idle "$port" 90 20 2> "$T/err6")
if [ "$(field "$out" closed)" = 90 ]; then ok "load: 90 idle connections all closed by the command deadline ($out)"
else not_ok "load: idle connections: $out"; sed 's/^/#   /' "$T/err6"; fi
sleep 1
fd1=$(own_fds "$pid")
check "load: idle connections leave no descriptor behind ($fd0 -> $fd1)" test "$fd1" -le "$fd0"
out=$(timeout 60 $drv sessions "$port" 5 5 2> "$T/err7")
check "load: served normally after the idle connections ($out)" test "$(field "$out" ok)" = 5
