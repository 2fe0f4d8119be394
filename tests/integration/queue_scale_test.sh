#!/bin/sh
# mta-queue over more messages than one chunk (500): the next chunk is
# claimed while the current one's stages run. Real stages (mta-route,
# mta-send) and two smtp-sinks, one accepting, one answering RCPT with 4xx.
# Every message is sent once, deferred recipients stay queued with their
# outcome recorded, finished messages leave the spool, and the pass's
# counts add up across the chunks.
. "$(dirname "$0")/lib.sh"
for b in mta-route mta-send mta-queue; do
	[ -x "$bin/$b" ] || { skip "queue scale: $b is not built"; exit 0; }
done
[ -x /usr/sbin/smtp-sink ] || { skip "queue scale: smtp-sink missing"; exit 0; }
chmod 0755 "$T"
user=""
[ "$(id -u)" -eq 0 ] && user="-u nobody"
ok_port=$(free_port)
defer_port=$(free_port)
bg /usr/sbin/smtp-sink -c $user 127.0.0.1:"$ok_port" 100 > "$T/ok.out" 2>&1
bg /usr/sbin/smtp-sink -c $user -r RCPT 127.0.0.1:"$defer_port" 100 > "$T/defer.out" 2>&1
wait_port "$ok_port" && wait_port "$defer_port" || { not_ok "queue scale: smtp-sink did not start"; exit 1; }
# sink_count FILE: messages the sink has received (its running counter).
sink_count() {
	c=$(tr '\r' '\n' < "$1" | sed -n 's/.*mesg=\([0-9]*\).*/\1/p' | tail -1)
	echo "${c:-0}"
}
wait_count() {
	i=0
	while [ "$(sink_count "$1")" -lt "$2" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	test "$(sink_count "$1")" -eq "$2"
}

setup() {
	new_root "$1"
	cat > "$MTA_ROOT/etc/mta.conf" <<EOC
hostname = scale.test
log = file:$MTA_ROOT/mail.log
EOC
	cat > "$MTA_ROOT/etc/routes" <<EOR
sink.example   [127.0.0.1]:$ok_port  tls=none
defer.example  [127.0.0.1]:$defer_port  tls=none
EOR
	"$bin/mta-queue" init
}
msg='From: a@scale.test
Subject: scale

body
'

# 1. 1300 messages (three chunks), each to one accepting and one deferring host.
setup both
printf '%s' "$msg" | /usr/bin/python3 "$top/tests/integration/spool_put.py" "$MTA_ROOT/spool" -f a@scale.test \
	-r u@sink.example -r d@defer.example --count 1300 > /dev/null
timeout 300 "$bin/mta-queue" run
check "scale: the run exits 0" test $? -eq 0
check "scale: the accepting sink got each of 1300 messages" wait_count "$T/ok.out" 1300
check "scale: all 1300 stay queued for the deferred recipient" test "$(ls "$MTA_ROOT/spool/env" | wc -l)" -eq 1300
check "scale: the pass counts 1300 messages, 1300 sent, 1300 deferred" \
	grep -q "queue run: 1300 messages, 1300 sent, 1300 deferred, 0 bounced, 0 removed" "$MTA_ROOT/mail.log"
# Every envelope records both outcomes.
sent=$(grep -l "state sent" "$MTA_ROOT"/spool/env/* | wc -l)
pending=$(grep -l "last 4" "$MTA_ROOT"/spool/env/* | wc -l)
check "scale: every envelope has u@sink.example sent and d@defer.example deferred" test "$sent" -eq 1300 -a "$pending" -eq 1300
check "scale: nothing is left claimed or half-written" sh -c "! ls -a '$MTA_ROOT/spool/env' | grep -q '\.tmp\$'"
check "scale: one delivery line per recipient" test "$(grep -c 'status=sent' "$MTA_ROOT/mail.log")" -eq 1300 \
	-a "$(grep -c 'status=deferred' "$MTA_ROOT/mail.log")" -eq 1300

# 2. 1100 messages to the accepting host only: the spool empties.
before=$(sink_count "$T/ok.out")
setup done
printf '%s' "$msg" | /usr/bin/python3 "$top/tests/integration/spool_put.py" "$MTA_ROOT/spool" -f a@scale.test \
	-r u@sink.example --count 1100 > /dev/null
timeout 300 "$bin/mta-queue" run
check "scale: the second run exits 0" test $? -eq 0
check "scale: the sink got each of 1100 more" wait_count "$T/ok.out" $((before + 1100))
check "scale: the spool is empty (envelopes and contents)" \
	test "$(find "$MTA_ROOT/spool/env" "$MTA_ROOT/spool/msg" -type f | wc -l)" -eq 0
check "scale: the pass counts 1100 messages, 1100 sent, 1100 removed" \
	grep -q "queue run: 1100 messages, 1100 sent, 0 deferred, 0 bounced, 1100 removed" "$MTA_ROOT/mail.log"
