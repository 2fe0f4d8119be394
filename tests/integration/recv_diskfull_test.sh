#!/bin/sh
# mta-recv never says 250 unless the message is durable: a full disk (a
# small tmpfs in a private mount namespace), a failure at every durable
# step, and a crash at every durable step.
. "$(dirname "$0")/lib.sh"

new_root
log=$T/mail.log
printf 'mx.test\n' > "$MTA_ROOT/etc/local-domains"
printf 'bob: /dev/null\n' > "$MTA_ROOT/etc/aliases"
mkspool() { mkdir -p "$1/msg" "$1/env" "$1/hold"; }
recv() { "$bin/mta-recv" --spool "$1" --etc "$MTA_ROOT/etc" --hostname mx.test --log "file:$log" --lookup-client-name false; }
files() { find "$1" -type f | wc -l; }

# A dialog with a message of about N KiB.
dialog() {
	/usr/bin/python3 - "$1" <<'PYEOF'
import sys
n = int(sys.argv[1])
sys.stdout.buffer.write(b'EHLO c.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<bob@mx.test>\r\nDATA\r\nSubject: size\r\n\r\n')
for i in range(n * 16):
    sys.stdout.buffer.write(b'%063d\r\n' % i)
sys.stdout.buffer.write(b'.\r\nQUIT\r\n')
PYEOF
}
dialog 400 > "$T/big"
dialog 1 > "$T/small"

# ---- disk full ----
mkdir -p "$T/full"
if unshare -m sh -c "mount -t tmpfs -o size=256k tmpfs '$T/full'" 2>/dev/null; then
	unshare -m sh -c "
		mount -t tmpfs -o size=256k tmpfs '$T/full' || exit 1
		mkdir -p '$T/full/msg' '$T/full/env' '$T/full/hold'
		'$bin/mta-recv' --spool '$T/full' --etc '$MTA_ROOT/etc' --hostname mx.test --log 'file:$log' --lookup-client-name false < '$T/big' > '$T/out-big'
		find '$T/full' -type f | wc -l > '$T/files-after-big'
		'$bin/mta-recv' --spool '$T/full' --etc '$MTA_ROOT/etc' --hostname mx.test --log 'file:$log' --lookup-client-name false < '$T/small' > '$T/out-small'
		ls '$T/full/env' | wc -l > '$T/env-after-small'
		grep -q 'Subject: size' '$T/full/env/'* && echo yes > '$T/msg-ok'
	"
	check "disk full: 452 4.3.1, never 250" sh -c "grep -q '^452 4.3.1' '$T/out-big' && ! grep -q '^250 2.0.0 Ok: queued' '$T/out-big'"
	check "disk full: nothing half-written left in the spool" test "$(cat "$T/files-after-big")" -eq 0
	check "disk full: the session goes on (QUIT answered)" grep -q '^221 ' "$T/out-big"
	check "after the failure a small message is queued" sh -c "grep -q '^250 2.0.0 Ok: queued' '$T/out-small' && [ \$(cat '$T/env-after-small') -eq 1 ] && [ -s '$T/msg-ok' ]"
else
	skip "disk full: unshare -m not permitted here"
fi

# ---- a failure at every durable step ----
n=1
saw_fail=0
saw_ok=0
bad=""
while [ $n -le 20 ]; do
	sp=$T/fail$n
	mkspool "$sp"
	MTA_FAIL_AT=$n:5 recv "$sp" < "$T/small" > "$T/out" 2>/dev/null
	envs=$(ls "$sp/env" | wc -l)
	if grep -q '^250 2.0.0 Ok: queued' "$T/out"; then
		saw_ok=1
		[ "$envs" -eq 1 ] || bad="$bad ok-without-env@$n"
	else
		grep -q '^45[12] 4.3.[01]' "$T/out" || bad="$bad no-4xx@$n"
		[ "$envs" -eq 0 ] || bad="$bad env-without-ok@$n"
		saw_fail=1
	fi
	n=$((n + 1))
done
check "failure at each durable step: 451/452 and nothing queued, or 250 and queued ($bad)" sh -c "[ -z '$bad' ] && [ $saw_fail -eq 1 ] && [ $saw_ok -eq 1 ]"

# ---- a crash at every durable step ----
n=1
bad=""
saw_crash=0
while [ $n -le 20 ]; do
	sp=$T/crash$n
	mkspool "$sp"
	MTA_CRASH_AT=$n recv "$sp" < "$T/small" > "$T/out" 2>/dev/null
	rc=$?
	if [ $rc -eq 137 ] || [ $rc -gt 128 ]; then
		saw_crash=1
		grep -q '^250 2.0.0 Ok: queued' "$T/out" && bad="$bad 250-before-crash@$n"
		for e in "$sp"/env/*; do
			[ -e "$e" ] || continue
			# the envelope's end line, last or before the footer of a
			# message's single file (mta-spool(5))
			tail -2 "$e" | grep -qx end || bad="$bad partial-env@$n"
			tail -1 "$e" | grep -qxE 'end|envelope-at [0-9]{20} xxh64 [0-9a-f]{16} boot [0-9a-f]{32}' || bad="$bad partial-env@$n"
			# and content before it: the received file (no msg/ name) or msg/
			tail -1 "$e" | grep -qxE 'envelope-at [0-9]{20} xxh64 [0-9a-f]{16} boot [0-9a-f]{32}' || [ -e "$sp/msg/$(basename "$e")" ] || bad="$bad env-without-content@$n"
		done
	fi
	n=$((n + 1))
done
check "crash at each durable step: no 250 before the commit, no partial envelope ($bad)" sh -c "[ -z '$bad' ] && [ $saw_crash -eq 1 ]"
