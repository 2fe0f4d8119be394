#!/bin/sh
# mta-send against real servers on loopback: Postfix's smtp-sink (accept,
# reject, defer, disconnect, 421, no 8BITMIME) and aiosmtpd (per-recipient
# answers, SIZE, AUTH, connection reuse), with spooled messages.
. "$(dirname "$0")/lib.sh"
send=$bin/mta-send
py=/usr/bin/python3
new_root
spool=$MTA_ROOT/spool
for d in tmp msg env hold; do mkdir -p "$spool/$d"; done
sinkuser=""
[ "$(id -u)" = 0 ] && sinkuser="-u nobody"

# ---- helpers ----

# A receiving server: aiosmtpd, logging one JSON object per event.
cat > "$T/rec.py" <<'PY'
import json, ssl, argparse, signal, threading, warnings
warnings.simplefilter("ignore")
import logging
logging.disable(logging.WARNING)
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
a = argparse.ArgumentParser()
a.add_argument("--port", type=int, required=True)
a.add_argument("--log", required=True)
a.add_argument("--reply", action="append", default=[])   # RCPT-PREFIX=REPLY
a.add_argument("--size", type=int, default=33554432)
a.add_argument("--auth")                                   # user:password
a.add_argument("--max-rcpt", type=int, default=0)          # 452 beyond this many per transaction
a.add_argument("--utf8", action="store_true")              # offer SMTPUTF8
o = a.parse_args()
lock = threading.Lock()
def log(ev):
    with lock, open(o.log, "a") as f:
        f.write(json.dumps(ev) + "\n")
class H:
    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        log({"ev": "ehlo", "peer": session.peer[1]})
        return responses
    async def handle_RSET(self, server, session, envelope):
        log({"ev": "rset", "peer": session.peer[1]})
        return "250 OK"
    async def handle_MAIL(self, server, session, envelope, address, options):
        log({"ev": "mail", "from": address, "options": options})
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"
    async def handle_RCPT(self, server, session, envelope, address, options):
        for r in o.reply:
            prefix, reply = r.split("=", 1)
            if address.startswith(prefix):
                log({"ev": "refused", "rcpt": address})
                return reply
        if o.max_rcpt and len(envelope.rcpt_tos) >= o.max_rcpt:
            return "452 4.5.3 too many recipients"
        envelope.rcpt_tos.append(address)
        return "250 OK"
    async def handle_DATA(self, server, session, envelope):
        log({"ev": "data", "peer": session.peer[1], "from": envelope.mail_from, "to": envelope.rcpt_tos,
             "auth": session.authenticated, "content": envelope.original_content.decode("latin-1")})
        return "250 2.0.0 queued"
def authenticator(server, session, envelope, mechanism, data):
    ok = isinstance(data, LoginPassword) and o.auth == data.login.decode() + ":" + data.password.decode()
    log({"ev": "auth", "mechanism": mechanism, "ok": ok})
    return AuthResult(success=ok, handled=False)
kw = {}
if o.auth:
    kw["authenticator"] = authenticator
    kw["auth_require_tls"] = False
c = Controller(H(), hostname="127.0.0.1", port=o.port, data_size_limit=o.size, enable_SMTPUTF8=o.utf8, **kw)
c.start()
signal.sigwait([signal.SIGTERM, signal.SIGINT])
c.stop()
PY

# Writes a spooled message the way lib/spool.cpp and lib/envelope.cpp lay
# it out: msg/<ID> (LF lines) and env/<ID>. Prints the id.
cat > "$T/spool.py" <<'PY'
import os, sys, time, random
spool, sender, content = sys.argv[1], sys.argv[2], sys.argv[3]
rcpts, extra = [], []
for a in sys.argv[4:]:
    (extra if "=" in a and "@" not in a.split("=", 1)[0] and a.split("=", 1)[0] in
     ("ret", "envid", "body", "smtputf8") else rcpts).append(a)
alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
def b32(n, width):
    s = ""
    for _ in range(width):
        s = alphabet[n & 31] + s
        n >>= 5
    return s
qid = b32(int(time.time() * 1e6), 11) + b32(random.getrandbits(40), 8)
data = open(content, "rb").read()
with open(os.path.join(spool, "msg", qid), "wb") as f:
    f.write(data)
env = ["mta-envelope 1", "id " + qid, "arrival %d" % int(time.time()), "sender <%s>" % sender,
       "size %d" % len(data)]
for e in extra:
    k, v = e.split("=", 1)
    env.append("%s %s" % (k, v))
env += ["next %d" % int(time.time()), "attempts 0"]
for r in rcpts:
    addr, _, params = r.partition(":")
    env.append("rcpt <%s>" % addr)
    for p in filter(None, params.split(";;")):
        k, v = p.split("=", 1)
        env.append("  %s %s" % (k, v))
    env.append("  state pending")
env.append("end")
with open(os.path.join(spool, "env", qid), "w") as f:
    f.write("\n".join(env) + "\n")
print(qid)
PY

start_sink() {  # start_sink PORT OPTIONS...: smtp-sink on 127.0.0.1:PORT
	p=$1; shift
	bg smtp-sink $sinkuser -c "$@" "127.0.0.1:$p" 64 > "$T/sink.$p" 2>&1
	wait_port "$p"
}
sink_messages() { n=$(grep -o 'mesg=[0-9]*' "$T/sink.$1" 2>/dev/null | tail -1 | cut -d= -f2); echo "${n:-0}"; }
start_rec() {  # start_rec PORT LOG OPTIONS...
	p=$1; l=$2; shift 2
	: > "$l"
	bg $py "$T/rec.py" --port "$p" --log "$l" "$@"
	wait_port "$p"
}
# field N of the result line for RCPT in FILE
field() { awk -F'\t' -v r="$2" -v n="$3" '$1 == "result" && $3 == r { print $n }' "$1"; }
printf 'Subject: test\n\nhello\n' > "$T/msg"

# ---- smtp-sink: accept ----
p1=$(free_port)
start_sink "$p1"
$send --log stderr --host "[127.0.0.1]:$p1" -f a@example.org b@example.net c@example.net < "$T/msg" > "$T/out" 2> "$T/err"
rc=$?
if [ $rc -eq 0 ] && [ "$(field "$T/out" b@example.net 4)" = ok ] && [ "$(field "$T/out" c@example.net 4)" = ok ] &&
	[ "$(field "$T/out" b@example.net 7)" = "127.0.0.1[127.0.0.1]:$p1" ]; then
	ok "smtp-sink accepts: every recipient ok, exit 0, remote host named"
else not_ok "smtp-sink accepts (rc=$rc)"; cat "$T/out" "$T/err"; fi
grep -q "status=sent (250" "$T/err" && grep -q 'mta/smtp\[' "$T/err" \
	&& ok "a Postfix-shaped delivery log line per recipient" || not_ok "delivery log lines"

$send --log stderr --json --host "[127.0.0.1]:$p1" -f '' b@example.net < "$T/msg" > "$T/out" 2>/dev/null
$py -c 'import json,sys; o=json.loads(open(sys.argv[1]).readline()); sys.exit(not (o["result"]=="ok" and o["recipient"]=="b@example.net" and o["code"]==250 and o["queue_id"]=="-"))' "$T/out" \
	&& ok "--json prints one JSON object per recipient" || { not_ok "--json output"; cat "$T/out"; }

# ---- smtp-sink: hard and soft rejects, disconnects ----
p2=$(free_port); start_sink "$p2" -f RCPT
$send --log stderr --host "[127.0.0.1]:$p2" -f a@example.org b@example.net < "$T/msg" > "$T/out" 2>/dev/null
rc=$?
[ $rc -eq 69 ] && [ "$(field "$T/out" b@example.net 4)" = permanent ] && [ "$(field "$T/out" b@example.net 5)" = 500 ] \
	&& ok "5xx to RCPT: permanent, exit 69" || { not_ok "5xx to RCPT (rc=$rc)"; cat "$T/out"; }

p3=$(free_port); start_sink "$p3" -r RCPT
$send --log stderr --host "[127.0.0.1]:$p3" -f a@example.org b@example.net < "$T/msg" > "$T/out" 2>/dev/null
rc=$?
[ $rc -eq 75 ] && [ "$(field "$T/out" b@example.net 4)" = temporary ] && [ "$(field "$T/out" b@example.net 6)" = 4.3.0 ] \
	&& ok "4xx to RCPT: temporary, exit 75" || { not_ok "4xx to RCPT (rc=$rc)"; cat "$T/out"; }

p4=$(free_port); start_sink "$p4" -q .
$send --log stderr --host "[127.0.0.1]:$p4" -f a@example.org b@example.net < "$T/msg" > "$T/out" 2>/dev/null
rc=$?
[ $rc -eq 75 ] && [ "$(field "$T/out" b@example.net 4)" = temporary ] && grep -q 'possible duplicate' "$T/out" \
	&& ok "connection lost after the final dot: temporary, 'possible duplicate'" || { not_ok "drop after dot (rc=$rc)"; cat "$T/out"; }

p5=$(free_port); start_sink "$p5" -Q MAIL
$send --log stderr --host "[127.0.0.1]:$p5" -f a@example.org b@example.net < "$T/msg" > "$T/out" 2>/dev/null
rc=$?
[ $rc -eq 75 ] && [ "$(field "$T/out" b@example.net 5)" = 421 ] \
	&& ok "421 to MAIL: temporary with the server's code" || { not_ok "421 to MAIL (rc=$rc)"; cat "$T/out"; }

p6=$(free_port); start_sink "$p6" -8
printf 'Subject: caf\303\251\n\ncaf\303\251\n' > "$T/msg8"
$send --log stderr --host "[127.0.0.1]:$p6" -f a@example.org b@example.net < "$T/msg8" > "$T/out" 2>/dev/null
rc=$?
[ $rc -eq 65 ] && [ "$(field "$T/out" b@example.net 6)" = 5.6.3 ] && [ "$(sink_messages "$p6")" -eq 0 ] \
	&& ok "8-bit content to a server without 8BITMIME: permanent 5.6.3, nothing sent" \
	|| { not_ok "8-bit without 8BITMIME (rc=$rc, sink mesg=$(sink_messages "$p6"))"; cat "$T/out"; }
$send --log stderr --host "[127.0.0.1]:$p1" -f a@example.org b@example.net < "$T/msg8" > "$T/out" 2>/dev/null \
	&& ok "8-bit content to a server with 8BITMIME: sent" || { not_ok "8-bit with 8BITMIME"; cat "$T/out"; }

# ---- host names and IPv6 ----
$send --log stderr --host "localhost:$p1" -f a@example.org b@example.net < "$T/msg" > "$T/out" 2>/dev/null
rc=$?
[ $rc -eq 0 ] && [ "$(field "$T/out" b@example.net 7)" = "localhost[127.0.0.1]:$p1" ] \
	&& ok "--host NAME:PORT resolves the name (the IPv4 listener is reached)" || { not_ok "--host localhost (rc=$rc)"; cat "$T/out"; }
if $py -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null; then
	p6=$($py -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1",0)); print(s.getsockname()[1])')
	bg smtp-sink $sinkuser -c "[::1]:$p6" 16 > "$T/sink6" 2>&1
	i=0; while [ $i -lt 50 ] && ! $py -c "import socket,sys; s=socket.socket(socket.AF_INET6); sys.exit(s.connect_ex(('::1',$p6)))"; do sleep 0.1; i=$((i + 1)); done
	$send --log stderr --route "domain=example.net kind=mx tls=none host=v6.example/$p6/10/::1" -f a@example.org b@example.net < "$T/msg" > "$T/out" 2>/dev/null
	rc=$?
	[ $rc -eq 0 ] && [ "$(field "$T/out" b@example.net 7)" = "v6.example[::1]:$p6" ] \
		&& ok "an IPv6 address in the route" || { not_ok "IPv6 (rc=$rc)"; cat "$T/out"; }
else
	skip "no IPv6 loopback"
fi

# ---- moving on to the next host (RFC 5321 5) ----
closed=$(free_port)
p7=$(free_port); start_sink "$p7" -r CONNECT
p8=$(free_port); start_sink "$p8" -Q CONNECT
p9=$(free_port); start_sink "$p9" -f CONNECT
route="domain=example.net kind=mx tls=none host=dead.example/$closed/10/127.0.0.1 host=busy.example/$p7/20/127.0.0.1 host=closing.example/$p8/20/127.0.0.1 host=refusing.example/$p9/25/127.0.0.1 host=good.example/$p1/30/127.0.0.1"
before=$(sink_messages "$p1")
$send --log stderr --route "$route" -f a@example.org b@example.net < "$T/msg" > "$T/out" 2> "$T/err"
rc=$?
[ $rc -eq 0 ] && [ "$(field "$T/out" b@example.net 7)" = "good.example[127.0.0.1]:$p1" ] &&
	grep -q "busy.example.*refused to talk to me: 4" "$T/err" && grep -q "closing.example.*refused to talk to me: 421" "$T/err" &&
	grep -q "refusing.example.*refused to talk to me: 5" "$T/err" \
	&& ok "connect failure, 4xx, 421 and 5xx greetings: the next host gets the message" \
	|| { not_ok "host fallback (rc=$rc)"; cat "$T/out" "$T/err"; }
route="domain=example.net kind=mx tls=none host=dead.example/$closed/10/127.0.0.1 host=busy.example/$p7/20/127.0.0.1"
$send --log stderr --route "$route" -f a@example.org b@example.net < "$T/msg" > "$T/out" 2>/dev/null
rc=$?
[ $rc -eq 75 ] && [ "$(field "$T/out" b@example.net 7)" = "busy.example[127.0.0.1]:$p7" ] \
	&& ok "every host failing: temporary, the last host's answer reported" || { not_ok "all hosts fail (rc=$rc)"; cat "$T/out"; }

# ---- aiosmtpd: per-recipient answers, remembered across hosts ----
pa=$(free_port); start_rec "$pa" "$T/a.log" --reply 'bad@=550 5.1.1 no such user' --reply 'later@=450 4.2.1 try later'
pb=$(free_port); start_rec "$pb" "$T/b.log"
$send --log stderr --host "[127.0.0.1]:$pa" -f a@example.org ok@example.net bad@example.net later@example.net < "$T/msg" > "$T/out" 2>/dev/null
rc=$?
[ $rc -eq 67 ] && [ "$(field "$T/out" ok@example.net 4)" = ok ] && [ "$(field "$T/out" bad@example.net 6)" = 5.1.1 ] &&
	[ "$(field "$T/out" later@example.net 6)" = 4.2.1 ] && [ "$(field "$T/out" bad@example.net 8)" = "no such user" ] \
	&& ok "per-recipient results in one transaction; exit from the first permanent (67)" || { not_ok "per-recipient (rc=$rc)"; cat "$T/out"; }
: > "$T/a.log"
route="domain=example.net kind=mx tls=none host=first.example/$pa/10/127.0.0.1 host=second.example/$pb/20/127.0.0.1"
$send --log stderr --route "$route" -f a@example.org ok@example.net bad@example.net later@example.net < "$T/msg" > "$T/out" 2>/dev/null
if [ "$(field "$T/out" ok@example.net 7)" = "first.example[127.0.0.1]:$pa" ] &&
	[ "$(field "$T/out" later@example.net 4)" = ok ] && [ "$(field "$T/out" later@example.net 7)" = "second.example[127.0.0.1]:$pb" ] &&
	[ "$(field "$T/out" bad@example.net 4)" = permanent ] &&
	$py -c 'import json,sys; d=[json.loads(l) for l in open(sys.argv[1]) if "\"data\"" in l]; sys.exit(not (len(d)==1 and d[0]["to"]==["later@example.net"]))' "$T/b.log"; then
	ok "a 4xx recipient goes to the next host, alone; accepted and 5xx recipients are not sent again"
else not_ok "results remembered across hosts"; cat "$T/out" "$T/b.log"; fi

# ---- SMTPUTF8 offered ----
pf=$(free_port); start_rec "$pf" "$T/f.log" --utf8
utf=$(printf 'j\303\266rg@example.net')
$send --log stderr --host "[127.0.0.1]:$pf" -f a@example.org "$utf" < "$T/msg" > "$T/out" 2>/dev/null
rc=$?
[ $rc -eq 0 ] && grep -q '"SMTPUTF8"' "$T/f.log" && grep -q '"data"' "$T/f.log" \
	&& ok "a UTF-8 address to a server with SMTPUTF8: MAIL FROM ... SMTPUTF8, sent" || { not_ok "SMTPUTF8 offered (rc=$rc)"; cat "$T/out" "$T/f.log"; }

# ---- SIZE ----
ps=$(free_port); start_rec "$ps" "$T/s.log" --size 1000
$py -c 'print("Subject: big\n\n" + ("x" * 70 + "\n") * 40, end="")' > "$T/big"
$send --log stderr --host "[127.0.0.1]:$ps" -f a@example.org b@example.net < "$T/big" > "$T/out" 2>/dev/null
rc=$?
[ $rc -eq 69 ] && [ "$(field "$T/out" b@example.net 6)" = 5.3.4 ] && ! grep -q '"mail"' "$T/s.log" \
	&& ok "larger than the server's SIZE: permanent 5.3.4 before MAIL" || { not_ok "SIZE (rc=$rc)"; cat "$T/out" "$T/s.log"; }
$send --log stderr --host "[127.0.0.1]:$ps" -f a@example.org b@example.net < "$T/msg" > "$T/out" 2>/dev/null &&
	grep -q '"SIZE=' "$T/s.log" && ok "MAIL FROM declares SIZE= when offered" || { not_ok "SIZE= parameter"; cat "$T/s.log"; }

# ---- spooled messages: --id and --batch over one connection ----
pr=$(free_port); start_rec "$pr" "$T/r.log"
printf 'Subject: spooled\n\n.leading dot\nline two\n' > "$T/spooled"
id1=$($py "$T/spool.py" "$spool" alice@example.org "$T/spooled" bob@example.net carol@example.net)
$send --log stderr --host "[127.0.0.1]:$pr" -f alice@example.org --id "$id1" bob@example.net carol@example.net > "$T/out" 2>/dev/null
rc=$?
[ $rc -eq 0 ] && [ "$(field "$T/out" bob@example.net 2)" = "$id1" ] &&
	$py -c 'import json,sys; d=[json.loads(l) for l in open(sys.argv[1]) if "\"data\"" in l][-1]; sys.exit(not (d["content"]=="Subject: spooled\r\n\r\n.leading dot\r\nline two\r\n" and d["to"]==["bob@example.net","carol@example.net"]))' "$T/r.log" \
	&& ok "--id: the spooled message arrives intact (CRLF, dots restored by the server)" || { not_ok "--id (rc=$rc)"; cat "$T/out"; }

$send --log stderr --host "[127.0.0.1]:$pr" -f alice@example.org --id 0000000000000000000 bob@example.net > "$T/out" 2>/dev/null
rc=$?
[ $rc -eq 75 ] && [ "$(field "$T/out" bob@example.net 4)" = temporary ] \
	&& ok "--id of a message not in the spool: temporary result line" || { not_ok "missing spool message (rc=$rc)"; cat "$T/out"; }

: > "$T/r.log"
n=5
: > "$T/jobs"
i=0
while [ $i -lt $n ]; do
	id=$($py "$T/spool.py" "$spool" alice@example.org "$T/spooled" "r$i@example.net")
	printf '%s\talice@example.org\tr%s@example.net\n' "$id" "$i" >> "$T/jobs"
	i=$((i + 1))
done
$send --log stderr --host "[127.0.0.1]:$pr" --batch < "$T/jobs" > "$T/out" 2>/dev/null
rc=$?
oks=$(grep -c '	ok	' "$T/out")
ehlos=$(grep -c '"ehlo"' "$T/r.log")
rsets=$(grep -c '"rset"' "$T/r.log")
datas=$(grep -c '"data"' "$T/r.log")
peers=$($py -c 'import json,sys; print(len({json.loads(l)["peer"] for l in open(sys.argv[1]) if "peer" in l}))' "$T/r.log")
# The reply to the end of data ends a transaction (RFC 5321 4.1.1.4): no
# RSET between messages that were each sent.
[ $rc -eq 0 ] && [ "$oks" -eq $n ] && [ "$ehlos" -eq 1 ] && [ "$peers" -eq 1 ] && [ "$datas" -eq $n ] && [ "$rsets" -eq 0 ] \
	&& ok "--batch: $n messages over one connection, no RSET between, all delivered" \
	|| { not_ok "--batch (rc=$rc ok=$oks ehlo=$ehlos peers=$peers data=$datas rset=$rsets)"; cat "$T/out"; }
for i in 0 1 2 3 4; do
	id=$(sed -n "$((i + 1))p" "$T/jobs" | cut -f1)
	[ "$(field "$T/out" "r$i@example.net" 2)" = "$id" ] || { not_ok "--batch result ids"; break; }
	[ $i -eq 4 ] && ok "--batch: each result line carries its message's queue id"
done

$send --log stderr --host "[127.0.0.1]:$pr" --batch bob@example.net < "$T/jobs" > "$T/out" 2> "$T/err"
rc=$?
[ $rc -eq 64 ] && ! [ -s "$T/out" ] && grep -q 'stdin, not from the command line' "$T/err" \
	&& ok "--batch with a recipient on the command line: usage error, exit 64, nothing sent" \
	|| { not_ok "--batch with a recipient (rc=$rc)"; cat "$T/out" "$T/err"; }

# A transaction whose recipients were all refused is still open at the
# server (its MAIL FROM was accepted): RSET before the next one.
: > "$T/a.log"
: > "$T/jobs2"
for r in bad@example.net ok-after@example.net; do
	id=$($py "$T/spool.py" "$spool" alice@example.org "$T/spooled" "$r")
	printf '%s\talice@example.org\t%s\n' "$id" "$r" >> "$T/jobs2"
done
$send --log stderr --host "[127.0.0.1]:$pa" --batch < "$T/jobs2" > "$T/out" 2>/dev/null
rsets=$(grep -c '"rset"' "$T/a.log")
[ "$(field "$T/out" bad@example.net 4)" = permanent ] && [ "$(field "$T/out" ok-after@example.net 4)" = ok ] && [ "$rsets" -eq 1 ] \
	&& ok "--batch: RSET after a transaction left open (every recipient refused), then the next message sent" \
	|| { not_ok "RSET after an open transaction (rset=$rsets)"; cat "$T/out"; }

# ---- 452 too many recipients: the rest in another transaction ----
pm=$(free_port); start_rec "$pm" "$T/m.log" --max-rcpt 2
$send --log stderr --host "[127.0.0.1]:$pm" -f a@example.org m1@example.net m2@example.net m3@example.net m4@example.net m5@example.net < "$T/msg" > "$T/out" 2>/dev/null
rc=$?
datas=$(grep -c '"data"' "$T/m.log")
ehlos=$(grep -c '"ehlo"' "$T/m.log")
[ $rc -eq 0 ] && [ "$(grep -c '	ok	' "$T/out")" -eq 5 ] && [ "$datas" -eq 3 ] && [ "$ehlos" -eq 1 ] \
	&& ok "452 too many recipients: the rest go in further transactions on the same connection" \
	|| { not_ok "452 split (rc=$rc data=$datas ehlo=$ehlos)"; cat "$T/out"; }

: > "$T/r.log"
$send --log stderr --recipient-limit 2 --host "[127.0.0.1]:$pr" -f a@example.org l1@example.net l2@example.net l3@example.net l4@example.net l5@example.net < "$T/msg" > "$T/out" 2>/dev/null
rc=$?
datas=$(grep -c '"data"' "$T/r.log")
ehlos=$(grep -c '"ehlo"' "$T/r.log")
[ $rc -eq 0 ] && [ "$(grep -c '	ok	' "$T/out")" -eq 5 ] && [ "$datas" -eq 3 ] && [ "$ehlos" -eq 1 ] \
	&& ok "--recipient-limit 2: five recipients in three transactions on one connection" \
	|| { not_ok "recipient limit (rc=$rc data=$datas ehlo=$ehlos)"; cat "$T/out"; }

# ---- AUTH with a credentials file ----
pu=$(free_port); start_rec "$pu" "$T/u.log" --auth 'alice:s3cret word'
printf '# test\nsmart alice s3cret word\nwrong alice nope\n' > "$T/creds"
chmod 600 "$T/creds"
$send --log stderr -v --host "[127.0.0.1]:$pu" --auth smart --credentials "$T/creds" --auth-without-tls -f a@example.org b@example.net < "$T/msg" > "$T/out" 2> "$T/err"
rc=$?
[ $rc -eq 0 ] && grep -q '"ok": true' "$T/u.log" && grep -q '"auth": true' "$T/u.log" \
	&& ok "AUTH with the credentials file entry: logged in and sent" || { not_ok "AUTH (rc=$rc)"; cat "$T/out" "$T/u.log"; }
secret64=$(printf '\0alice\0s3cret word' | base64)
grep -q '^>>> MAIL FROM:<a@example.org>' "$T/err" && grep -q '^<<< 235' "$T/err" && grep -q '^>>> AUTH PLAIN \*\*\*' "$T/err" &&
	! grep -q "s3cret" "$T/err" && ! grep -qF "$secret64" "$T/err" \
	&& ok "--verbose shows the dialogue with the password masked" || { not_ok "--verbose trace"; cat "$T/err"; }
$send --log stderr --host "[127.0.0.1]:$pu" --auth wrong --credentials "$T/creds" --auth-without-tls -f a@example.org b@example.net < "$T/msg" > "$T/out" 2>/dev/null
rc=$?
[ $rc -eq 75 ] && [ "$(field "$T/out" b@example.net 6)" = 4.7.8 ] \
	&& ok "refused login: temporary 4.7.8" || { not_ok "refused AUTH (rc=$rc)"; cat "$T/out"; }
: > "$T/u.log"
$send --log stderr --host "[127.0.0.1]:$pu" --auth smart --credentials "$T/creds" -f a@example.org b@example.net < "$T/msg" > "$T/out" 2>/dev/null
rc=$?
[ $rc -eq 75 ] && [ "$(field "$T/out" b@example.net 6)" = 4.7.0 ] && ! grep -q '"auth"' "$T/u.log" \
	&& ok "no credentials over a connection without TLS (unless --auth-without-tls)" || { not_ok "AUTH without TLS (rc=$rc)"; cat "$T/out"; }
chmod 644 "$T/creds"
$send --log stderr --host "[127.0.0.1]:$pu" --auth smart --credentials "$T/creds" --auth-without-tls -f a@example.org b@example.net < "$T/msg" > "$T/out" 2> "$T/err"
rc=$?
[ $rc -eq 78 ] && grep -q 'readable by nobody else' "$T/err" \
	&& ok "a credentials file others can read is refused (exit 78)" || { not_ok "credentials mode (rc=$rc)"; cat "$T/err"; }

# ---- usage ----
$send --log stderr -f a@example.org b@example.net < "$T/msg" > /dev/null 2> "$T/err"
[ $? -eq 64 ] && [ -s "$T/err" ] && ok "no --route or --host: one line on stderr, exit 64" || not_ok "usage error"
$send --log stderr --route "domain=x kind=bogus" -f a@example.org b@example.net < "$T/msg" > /dev/null 2> "$T/err"
[ $? -eq 65 ] && ok "a malformed route line: exit 65" || not_ok "bad route line"
$send --log stderr --route "domain=nx.example kind=error result=permanent code=550 enhanced=5.1.2 text=no such domain" -f a@example.org b@nx.example < "$T/msg" > "$T/out" 2>/dev/null
rc=$?
[ $rc -eq 68 ] && [ "$(field "$T/out" b@nx.example 6)" = 5.1.2 ] \
	&& ok "an error route: its status for every recipient, exit 68" || { not_ok "error route (rc=$rc)"; cat "$T/out"; }
