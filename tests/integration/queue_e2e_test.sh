#!/bin/sh
# mta-queue with the real stages, end to end: messages in through mta-recv,
# `mta-queue run`, out through mta-route and mta-send to Postfix's
# smtp-sink and to aiosmtpd (some recipients 2xx, some 4xx, some 5xx), into
# a local Maildir through mta-deliver; a deferred recipient delivered after
# "time passes"; an expired one bounced with a DSN Python's email parser
# reads as multipart/report; nothing ever bounced to <>.
. "$(dirname "$0")/lib.sh"
for b in mta-recv mta-route mta-send mta-deliver mta-queue; do
	[ -x "$bin/$b" ] || { skip "e2e: $b is not built"; exit 0; }
done
[ -x /usr/sbin/smtp-sink ] || { skip "e2e: smtp-sink missing"; exit 0; }
/usr/bin/python3 -c 'import aiosmtpd' 2> /dev/null || { skip "e2e: aiosmtpd missing"; exit 0; }
export TZ=UTC
new_root e2e
chmod 0755 "$T"
q="$bin/mta-queue"
port=$(free_port)
sink_port=$(free_port)
py_port=$(free_port)
mkdir -p "$T/sink" "$T/py"
cat > "$MTA_ROOT/etc/mta.conf" <<EOC
hostname = mx.e2e.example
log = file:$MTA_ROOT/mail.log
EOC
printf 'e2e.example\nlocalhost\n' > "$MTA_ROOT/etc/local-domains"
# alice's Maildir belongs to an ordinary user when the test runs as root.
mkdir -p "$T/mail"
owner=""
if [ "$(id -u)" -eq 0 ]; then owner=5001:5001; chown "$owner" "$T/mail"; fi
printf 'alice@e2e.example   %s/mail/Maildir/   %s\n' "$T" "$owner" > "$MTA_ROOT/etc/virtual"
MD=$T/mail/Maildir
printf 'postmaster: alice@e2e.example\n' > "$MTA_ROOT/etc/aliases"
cat > "$MTA_ROOT/etc/routes" <<EOR
sink.example  [127.0.0.1]:$sink_port  tls=none
py.example    [127.0.0.1]:$py_port  tls=none
from:bob@e2e.example  [127.0.0.1]:$sink_port  tls=none
*             error:5.7.1 no route for this sender
EOR
LOG=$MTA_ROOT/mail.log
SPOOL=$MTA_ROOT/spool
"$q" init

# aiosmtpd: the local part says what RCPT gets; later* is accepted once
# $T/open exists. Accepted messages are written to $T/py/.
cat > "$T/py_server.py" <<'EOP'
import asyncio, os, sys, time
from aiosmtpd.controller import Controller
port, out, flag = int(sys.argv[1]), sys.argv[2], sys.argv[3]
class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split('@')[0]
        if local.startswith('perm'):
            return '550 5.1.1 <%s>: no such user here' % address
        if local.startswith('temp') or (local.startswith('later') and not os.path.exists(flag)):
            return '450 4.2.0 <%s>: mailbox busy' % address
        envelope.rcpt_tos.append(address)
        return '250 2.1.5 Ok'
    async def handle_DATA(self, server, session, envelope):
        name = os.path.join(out, '%d.%d' % (time.time_ns(), os.getpid()))
        with open(name, 'wb') as f:
            f.write(('X-Rcpts: %s\r\n' % ' '.join(envelope.rcpt_tos)).encode())
            f.write(envelope.original_content)
        return '250 2.0.0 Ok: stored'
c = Controller(Handler(), hostname='127.0.0.1', port=port)
c.start()
print('ready', flush=True)
try:
    while True:
        time.sleep(3600)
finally:
    c.stop()
EOP
bg /usr/bin/python3 "$T/py_server.py" "$py_port" "$T/py" "$T/open"
sink_user=""
if [ "$(id -u)" -eq 0 ]; then sink_user="-u nobody"; chmod 0777 "$T/sink"; fi
bg /usr/sbin/smtp-sink $sink_user -d "$T/sink/%H%M%S." 127.0.0.1:"$sink_port" 10
bg "$bin/mta-recv" --listen 127.0.0.1:"$port"
wait_port "$py_port" && wait_port "$sink_port" && wait_port "$port" || { not_ok "e2e: servers did not start"; exit 1; }

# submit FROM RCPT... < message: by SMTP to mta-recv.
submit() {
	cat > "$T/submit.eml"
	/usr/bin/python3 - "$port" "$T/submit.eml" "$@" <<'EOP'
import smtplib, sys
port, path, sender, rcpts = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
msg = open(path, 'rb').read()
with smtplib.SMTP('127.0.0.1', port) as s:
    s.ehlo('client.e2e.example')
    refused = s.sendmail(sender, rcpts, msg)
    assert not refused, refused
EOP
}
printf 'From: alice@e2e.example\r\nTo: many\r\nSubject: e2e one\r\nMessage-ID: <e2e-1@e2e.example>\r\n\r\nFirst message.\r\n' |
	submit alice@e2e.example ok1@sink.example ok2@py.example later@py.example perm@py.example alice@e2e.example
check "e2e: mta-recv queued the first message" test "$(ls "$SPOOL/env" | wc -l)" -eq 1
id1=$(ls "$SPOOL/env")
printf 'From: <>\r\nSubject: a bounce of ours\r\n\r\nNull sender.\r\n' | submit "" perm2@py.example
printf 'From: alice@e2e.example\r\nSubject: e2e three\r\n\r\nThird message.\r\n' | submit alice@e2e.example temp3@py.example
check "e2e: three messages queued" test "$(ls "$SPOOL/env" | wc -l)" -eq 3

"$q" run
check "e2e: run exits 0" test $? -eq 0
check "e2e: smtp-sink got ok1" sh -c "grep -l 'First message' '$T'/sink/* | head -1 | grep -q ."
check "e2e: aiosmtpd got ok2 (and not the refused ones)" sh -c "grep -l 'First message' '$T'/py/* | xargs grep -h '^X-Rcpts:' | tr -d '\\r' | grep -qx 'X-Rcpts: ok2@py.example'"
check "e2e: alice's Maildir has the message" sh -c "grep -l 'First message' '$MD'/new/* | grep -q ."
check "e2e: no partial Maildir file" sh -c "test -z \"\$(ls '$MD/tmp')\""
check "e2e: each delivery is logged once, by the runner" sh -c "test \$(grep -c 'to=<alice@' '$LOG') -eq 1 && grep 'to=<alice@' '$LOG' | grep -q 'mta/qmgr\[' && ! grep -q 'mta/smtp\[[0-9]*\]: [0-9A-Z]*: to=' '$LOG'"
check "e2e: log: sent to smtp-sink" grep -q "$id1: to=<ok1@sink.example>, relay=.*127.0.0.1.*status=sent" "$LOG"
check "e2e: log: 4xx deferred" grep -q "$id1: to=<later@py.example>, .*dsn=4.2.0, status=deferred" "$LOG"
check "e2e: log: 5xx bounced" grep -q "$id1: to=<perm@py.example>, .*dsn=5.1.1, status=bounced" "$LOG"
check "e2e: log: local delivery sent" grep -q "$id1: to=<alice@e2e.example>, relay=local, .*status=sent" "$LOG"
check "e2e: a bounce for perm@py.example" grep -q "$id1: sender non-delivery notification: " "$LOG"
check "e2e: no bounce to <>" grep -q "sender is <>: no non-delivery notification for 1 failed recipient" "$LOG"
"$q" run
check "e2e: the bounce is delivered to alice's Maildir" sh -c "grep -l 'Final-Recipient: rfc822; perm@py.example' '$MD'/new/* | grep -q ."
dsn=$(grep -l 'Final-Recipient: rfc822; perm@py.example' "$MD"/new/* | head -1)
check "e2e: Python reads the bounce as multipart/report" /usr/bin/python3 - "$dsn" <<'EOP'
import email, sys
from email import policy
m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=policy.default)
assert m.get_content_type() == 'multipart/report', m.get_content_type()
assert m['Return-Path'] in ('<>', ''), m['Return-Path']
parts = list(m.iter_parts())
ds = parts[1]
assert ds.get_content_type() == 'message/delivery-status'
groups = ds.get_payload()
r = groups[1]
assert r['Action'] == 'failed' and r['Status'] == '5.1.1', (r['Action'], r['Status'])
assert 'no such user' in r['Diagnostic-Code'], r['Diagnostic-Code']
assert r['Remote-MTA'].startswith('dns; '), r['Remote-MTA']
EOP

# Time passes: the 4xx recipient is accepted at its next attempt.
touch "$T/open"
now=$(date +%s)
MTA_NOW=$((now + 200)) "$q" run
check "e2e: not retried before its backoff" sh -c "test \$(grep -c 'mta/qmgr.*to=<later@py.example>' '$LOG') -eq 1"
MTA_NOW=$((now + 400)) "$q" run
check "e2e: retried after time passes and delivered" grep -q "$id1: to=<later@py.example>, .*status=sent" "$LOG"
check "e2e: the first message left the queue" sh -c "grep -q '$id1: removed' '$LOG' && test ! -e '$SPOOL/env/$id1'"

# Expiry: temp3 never gets in; after 5 days it is returned.
MTA_NOW=$((now + 5 * 86400 + 60)) "$q" run
check "e2e: the expired message is returned" grep -q "status=expired, returned to sender" "$LOG"
MTA_NOW=$((now + 5 * 86400 + 120)) "$q" run
exp=$(grep -l 'Final-Recipient: rfc822; temp3@py.example' "$MD"/new/* | head -1)
check "e2e: the expiry DSN reaches alice and parses" /usr/bin/python3 - "$exp" <<'EOP'
import email, sys
from email import policy
m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=policy.default)
assert m.get_content_type() == 'multipart/report'
assert m['Auto-Submitted'] == 'auto-replied'
r = list(m.iter_parts())[1].get_payload()[1]
assert r['Action'] == 'failed' and r['Status'] == '5.4.7', (r['Action'], r['Status'])
assert '450' in r['Diagnostic-Code'], r['Diagnostic-Code']
assert 'Original-Recipient' not in r
EOP
# Sender rules (mta-routes(5)) hold for queued mail: bob's message to a
# domain without a rule of its own goes to bob's relay; the same domain
# from the null sender takes "*".
printf 'From: bob@e2e.example\r\nSubject: sender routed\r\n\r\nSender-routed message.\r\n' |
	submit bob@e2e.example x@elsewhere.example
printf 'From: <>\r\nSubject: no route\r\n\r\nNull sender, no route.\r\n' | submit "" y@elsewhere.example
"$q" run
check "e2e: a sender rule routes a queued message" sh -c "grep -l 'Sender-routed message' '$T'/sink/* | head -1 | grep -q ."
check "e2e: log: sent by the sender's route" grep -q "to=<x@elsewhere.example>, relay=.*127.0.0.1.*status=sent" "$LOG"
check "e2e: log: other senders take *" grep -q "to=<y@elsewhere.example>, .*dsn=5.7.1, status=bounced" "$LOG"
check "e2e: the queue is empty at the end" test -z "$(ls "$SPOOL/env" "$SPOOL/hold" | grep -v -e : -e '^$')"
