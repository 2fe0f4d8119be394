# Crash injection across the pipeline. Each tool that touches the spool or a
# mailbox is killed with SIGKILL before its Nth durable file-system step
# (MTA_CRASH_AT=N, lib/durable.hpp), for N = 1, 2, ... until a run completes
# without reaching step N. After every crash: `mta-queue recover` (with the
# clock two days on, so that every leftover counts as abandoned), then
# `mta-queue flush` until the queue is empty. Then:
#   - a message that was acknowledged (250 after DATA, sendmail exit 0, or
#     already queued before the crash) is in the Maildir, complete and
#     byte-exact (the file ends with exactly the bytes that were sent);
#   - no Maildir file is partial (every file in new/ and cur/ is complete);
#   - a message is delivered at most twice (one duplicate per crash);
#   - nothing is left in the spool (msg/ and env/ are empty).
#
#   CRASH_SCALE=N   scenarios per tool (message sizes and recipient counts);
#                   default 3 for make check (about 135), 25 for the full run
#                   (1,118 crash points).
. "$(dirname "$0")/lib.sh"

scale=${CRASH_SCALE:-3}
bad=0
points=0
acked_total=0
dups=0

new_root root
root=$MTA_ROOT
cat > "$root/etc/mta.conf" <<CONF
hostname = crash.example
log = file:$root/mail.log
CONF
printf 'crash.example\n' > "$root/etc/local-domains"
cat > "$root/etc/virtual" <<VIRT
alice@crash.example   alice/Maildir/
bob@crash.example     bob/Maildir/
VIRT
: > "$root/etc/aliases"
# Run by root, deliveries for a root-owned virtual table run as nobody.
mkdir -p "$root/mail"
if [ "$(id -u)" -eq 0 ]; then
	chmod 755 "$T" "$root"
	chown nobody "$root/mail"
fi
"$bin/mta-queue" init > "$T/init.log" 2>&1 || { not_ok "crash: mta-queue init"; cat "$T/init.log"; exit 0; }
cp -a "$root" "$T/template"

# The stage wrapper that lets mta-deliver itself crash: mta-queue removes
# the fault variables from its children's environment, so the wrapper
# passes DELIVER_CRASH_AT on as MTA_CRASH_AT.
cat > "$T/deliver-wrapper" <<SH
#!/bin/sh
if [ -n "\${DELIVER_CRASH_AT:-}" ]; then
	MTA_CRASH_AT=\$DELIVER_CRASH_AT MTA_FAULT_TRACE=\$DELIVER_TRACE exec "$bin/mta-deliver" "\$@"
fi
exec "$bin/mta-deliver" "\$@"
SH
chmod +x "$T/deliver-wrapper"

fresh() {
	rm -rf "$root"
	cp -a "$T/template" "$root"
	rm -f "$T/trace"
	# mta-deliver writes its trace after dropping privileges.
	: > "$T/dtrace"
	chmod 666 "$T/dtrace"
	: > "$T/expected.list"
}

# message K SIZE: a message with a unique marker, LF line endings, SIZE body lines.
message() {
	printf 'From: Carol <carol@outside.example>\nTo: alice@crash.example\nDate: Sun, 22 Nov 2026 12:00:00 +0000\n'
	printf 'Subject: crash test %s\nMessage-ID: <%s@crash.test>\n\n' "$1" "$1"
	seq 1 "$2" | sed "s/.*/line & of message $1 .. with some text to make it longer/"
	printf '.dot-start line\nlast line %s\n' "$1"
}

# recipients for scenario S: 1 to 3 mailboxes (alice, bob, alice again with +)
rcpts() {
	case $(($1 % 3)) in
	0) echo "alice@crash.example" ;;
	1) echo "alice@crash.example bob@crash.example" ;;
	2) echo "bob@crash.example alice@crash.example" ;;
	esac
}

# expect NAME ACKED RCPTS: remember that message NAME (file $T/msg.NAME)
# was or was not acknowledged for these recipients.
expect() { echo "$1 $2 $3" >> "$T/expected.list"; }

# Runs recovery and the queue until it is empty (bounded).
recover_and_run() {
	later=$(($(date +%s) + 2 * 86400))
	MTA_NOW=$later "$bin/mta-queue" recover > "$T/recover.log" 2>&1 || { echo "recover failed: $(cat "$T/recover.log")"; return 1; }
	r_i=0
	while [ "$r_i" -lt 5 ]; do
		"$bin/mta-queue" flush > "$T/flush.log" 2>&1
		[ -z "$(ls "$root/spool/env" 2>/dev/null)" ] && break
		r_i=$((r_i + 1))
	done
	return 0
}

# Checks the invariants after one crash; prints the reason and returns 1 on failure.
verify() {
	what=$1
	for u in alice bob; do
		md=$root/mail/$u/Maildir
		# Every visible file must be one complete message we sent.
		for f in "$md"/new/* "$md"/cur/*; do
			[ -f "$f" ] || continue
			v_name=$(sed -n 's/^Message-ID: <\(.*\)@crash.test>$/\1/p' "$f" | head -1)
			if [ -z "$v_name" ] || [ ! -f "$T/msg.$v_name" ]; then
				echo "$what: $f is not a message we sent (partial?)"
				return 1
			fi
			v_size=$(wc -c < "$T/msg.$v_name")
			if ! tail -c "$v_size" "$f" | cmp -s - "$T/msg.$v_name"; then
				echo "$what: $f does not end with the bytes of $v_name (partial or altered)"
				return 1
			fi
		done
	done
	# (variables here are prefixed v_: sh has no locals)
	while read -r v_name v_acked v_list; do
		for v_r in $(echo "$v_list" | tr ',' ' '); do
			v_u=${v_r%%@*}
			v_n=$(grep -l "^Message-ID: <$v_name@crash.test>\$" "$root/mail/$v_u/Maildir/new/"* \
				"$root/mail/$v_u/Maildir/cur/"* 2>/dev/null | wc -l)
			if [ "$v_acked" = yes ] && [ "$v_n" -lt 1 ]; then
				echo "$what: acknowledged message $v_name for $v_r was lost"
				return 1
			fi
			if [ "$v_n" -gt 2 ]; then
				echo "$what: $v_name delivered $v_n times to $v_r (more than one duplicate)"
				return 1
			fi
			[ "$v_n" -eq 2 ] && dups=$((dups + 1))
		done
		[ "$v_acked" = yes ] && acked_total=$((acked_total + 1))
	done < "$T/expected.list"
	for d in tmp msg env; do
		if [ -n "$(ls "$root/spool/$d" 2>/dev/null)" ]; then
			echo "$what: spool/$d is not empty after recovery and the queue: $(ls "$root/spool/$d" | head -3)"
			return 1
		fi
	done
	return 0
}

# steps FILE: how many durable steps the trace recorded.
steps() { [ -f "$1" ] && wc -l < "$1" || echo 0; }

# One crash run: TOOL SCENARIO N. Returns 0 when the run reached step N
# (so N+1 should be tried), 1 when it completed without reaching it.
crash_run() {
	tool=$1 s=$2 n=$3
	fresh
	name="$tool-$s-$n"
	message "$name" $((s * 7 % 40 + 1)) > "$T/msg.$name"
	list=$(rcpts "$s")
	csv=$(echo "$list" | tr ' ' ',')
	reached=1
	case $tool in
	recv|recv-local)
		{
			printf 'EHLO client.outside.example\r\nMAIL FROM:<carol@outside.example>\r\n'
			for r in $list; do printf 'RCPT TO:<%s>\r\n' "$r"; done
			printf 'DATA\r\n'
			sed -e 's/^\./../' -e 's/$/\r/' "$T/msg.$name"
			printf '.\r\nQUIT\r\n'
		} > "$T/session"
		flag=
		[ "$tool" = recv-local ] && flag=--local
		MTA_CRASH_AT=$n MTA_FAULT_TRACE=$T/trace "$bin/mta-recv" $flag < "$T/session" > "$T/replies" 2> "$T/stderr"
		if awk '/^354/ { d = 1; next } d && /^250/ { ok = 1 } END { exit !ok }' "$T/replies"; then
			expect "$name" yes "$csv"
		else
			expect "$name" no "$csv"
		fi
		[ "$(steps "$T/trace")" -ge "$n" ] || reached=0
		;;
	sendmail)
		if MTA_CRASH_AT=$n MTA_FAULT_TRACE=$T/trace "$bin/sendmail" -i -f carol@outside.example $list \
			< "$T/msg.$name" > "$T/stderr" 2>&1; then
			expect "$name" yes "$csv"
		else
			expect "$name" no "$csv"
		fi
		[ "$(steps "$T/trace")" -ge "$n" ] || reached=0
		;;
	queue|deliver)
		# Scenario s queues 1 + s % 3 messages before the run that crashes.
		k=0
		while [ "$k" -le $((s % 3)) ]; do
			m="$name-$k"
			message "$m" $((s * 5 % 30 + k)) > "$T/msg.$m"
			"$bin/sendmail" -i -f carol@outside.example $list < "$T/msg.$m" > "$T/stderr" 2>&1 ||
				{ echo "$name: sendmail without a crash failed: $(cat "$T/stderr")"; return 2; }
			expect "$m" yes "$csv"
			k=$((k + 1))
		done
		if [ "$tool" = queue ]; then
			MTA_CRASH_AT=$n MTA_FAULT_TRACE=$T/trace "$bin/mta-queue" run > "$T/stderr" 2>&1
			[ "$(steps "$T/trace")" -ge "$n" ] || reached=0
		else
			# Every mta-deliver run of this pass crashes at its step N.
			DELIVER_CRASH_AT=$n DELIVER_TRACE=$T/dtrace "$bin/mta-queue" --deliver-program "$T/deliver-wrapper" run \
				> "$T/stderr" 2>&1
			# The deepest run reached step N when some run's trace has N lines;
			# the traces of several runs are appended, numbered from 1 each.
			grep -q "^$n " "$T/dtrace" 2>/dev/null || reached=0
		fi
		;;
	esac
	recover_and_run || return 2
	if ! verify "$name (crash before step $n)"; then
		echo "# replies/output of the crashed run:"
		sed 's/^/#   /' "$T/replies" "$T/stderr" 2>/dev/null | tail -10
		return 2
	fi
	[ "$reached" -eq 1 ] && points=$((points + 1))
	[ "$reached" -eq 1 ] && return 0
	return 1
}

for tool in recv recv-local sendmail queue deliver; do
	s=0
	tool_points=$points
	tool_bad=0
	while [ "$s" -lt "$scale" ]; do
		n=1
		while [ "$n" -le 500 ]; do
			crash_run "$tool" "$s" "$n"
			rc=$?
			[ "$rc" -eq 1 ] && break
			if [ "$rc" -eq 2 ]; then
				tool_bad=1
				break
			fi
			n=$((n + 1))
		done
		[ "$tool_bad" -eq 1 ] && break
		s=$((s + 1))
	done
	if [ "$tool_bad" -eq 0 ]; then
		ok "crash: $tool killed at each of its steps ($((points - tool_points)) crash points, $scale scenarios): nothing acknowledged lost, nothing partial"
	else
		not_ok "crash: $tool (see the reason above)"
		bad=1
	fi
done
echo "# crash points exercised: $points ($acked_total acknowledged messages checked, $dups duplicate deliveries)"
# About 60 steps per scenario across the five runs: far fewer means the
# fault points stopped working.
if [ "$points" -ge $((30 * scale)) ]; then ok "crash: $points crash points exercised"
else not_ok "crash: only $points crash points exercised (want at least $((30 * scale)))"; fi
