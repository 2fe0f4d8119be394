#!/bin/sh
# mta-send's TLS policies against aiosmtpd with STARTTLS and a test CA made
# here, and its protocol edges against a small scripted server: STARTTLS
# injection, broken and over-long replies, timeouts, the exact bytes on the
# wire, PIPELINING, DSN parameters, HELO fallback, SMTPUTF8.
. "$(dirname "$0")/lib.sh"
send=$bin/mta-send
py=/usr/bin/python3
new_root
spool=$MTA_ROOT/spool
for d in tmp msg env hold; do mkdir -p "$spool/$d"; done
sinkuser=""
[ "$(id -u)" = 0 ] && sinkuser="-u nobody"
field() { awk -F'\t' -v r="$2" -v n="$3" '$1 == "result" && $3 == r { print $n }' "$1"; }
printf 'Subject: test\n\nhello\n' > "$T/msg"

# ---- a test CA and a server certificate for mx.test.example ----
cd "$T" || exit 1
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 2 \
	-subj /CN=mta-test-CA > /dev/null 2>&1
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout mx.key -out mx.csr \
	-subj /CN=mx.test.example > /dev/null 2>&1
printf 'subjectAltName=DNS:mx.test.example\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > ext
openssl x509 -req -in mx.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out mx.pem -days 2 -extfile ext > /dev/null 2>&1
cat mx.pem ca.pem > chain.pem
# an unrelated CA, to fail verification against
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other.key -out other.pem -days 2 \
	-subj /CN=other-CA > /dev/null 2>&1
cd "$top" || exit 1
[ -s "$T/chain.pem" ] && ok "test CA and server certificate generated" || not_ok "openssl could not make the test CA"
tlsa_ee=$(openssl x509 -in "$T/mx.pem" -noout -pubkey | openssl pkey -pubin -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1)
tlsa_ta=$(openssl x509 -in "$T/ca.pem" -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1)

# ---- aiosmtpd with STARTTLS ----
pt=$(free_port)
: > "$T/tls.log"
bg $py "$top/tests/integration/starttls_server.py" "$pt" "$T/tls.log" "$T/chain.pem" "$T/mx.key"
wait_port "$pt"
# route to the TLS server under a name: tls=POLICY [extra tokens]
troute() { echo "domain=test.example kind=mx tls=$1 host=${2:-mx.test.example}/$pt/10/127.0.0.1 ${3:-}"; }
delivered() { grep -c "\"$1\"" "$T/tls.log"; }   # messages for a recipient
tls_of() { grep "\"$1\"" "$T/tls.log" | tail -1 | grep -q '"tls": true'; }

$send --log stderr --route "$(troute may)" -f a@example.org may@test.example < "$T/msg" > "$T/out" 2> "$T/err"
rc=$?
[ $rc -eq 0 ] && tls_of may@test.example && grep -q 'TLS connection established: TLSv1.[23]' "$T/err" \
	&& ok "tls=may: STARTTLS used when offered" || { not_ok "tls=may (rc=$rc)"; cat "$T/out" "$T/err"; }
$send --log stderr --route "$(troute none)" -f a@example.org none@test.example < "$T/msg" > "$T/out" 2>/dev/null
rc=$?
[ $rc -eq 0 ] && ! tls_of none@test.example && ok "tls=none: no STARTTLS" || { not_ok "tls=none (rc=$rc)"; cat "$T/out"; }
$send --log stderr --route "$(troute encrypt)" -f a@example.org enc@test.example < "$T/msg" > "$T/out" 2>/dev/null
rc=$?
[ $rc -eq 0 ] && tls_of enc@test.example && ok "tls=encrypt: sent over TLS" || { not_ok "tls=encrypt (rc=$rc)"; cat "$T/out"; }
$send --log stderr --tls-ca-file "$T/ca.pem" --route "$(troute verify)" -f a@example.org ver@test.example < "$T/msg" > "$T/out" 2> "$T/err"
rc=$?
[ $rc -eq 0 ] && tls_of ver@test.example && grep -q ' verified' "$T/err" \
	&& ok "tls=verify: certificate chains to the CA and names the host" || { not_ok "tls=verify (rc=$rc)"; cat "$T/out" "$T/err"; }
$send --log stderr --tls-ca-file "$T/other.pem" --route "$(troute verify)" -f a@example.org ver2@test.example < "$T/msg" > "$T/out" 2>/dev/null
rc=$?
[ $rc -eq 75 ] && [ "$(field "$T/out" ver2@test.example 6)" = 4.7.5 ] && [ "$(delivered ver2@test.example)" -eq 0 ] \
	&& ok "tls=verify, untrusted CA: temporary 4.7.5, nothing sent in plain text" || { not_ok "verify untrusted (rc=$rc)"; cat "$T/out"; }
$send --log stderr --tls-ca-file "$T/ca.pem" --route "$(troute verify other.test.example)" -f a@example.org ver3@test.example < "$T/msg" > "$T/out" 2>/dev/null
rc=$?
[ $rc -eq 75 ] && [ "$(field "$T/out" ver3@test.example 6)" = 4.7.5 ] && [ "$(delivered ver3@test.example)" -eq 0 ] \
	&& ok "tls=verify, certificate for another name: temporary 4.7.5" || { not_ok "verify wrong name (rc=$rc)"; cat "$T/out"; }
$send --log stderr --route "$(troute dane mx.test.example "tlsa=3/1/1/$tlsa_ee")" -f a@example.org dane1@test.example < "$T/msg" > "$T/out" 2> "$T/err"
rc=$?
[ $rc -eq 0 ] && tls_of dane1@test.example && grep -q 'dane-verified' "$T/err" \
	&& ok "tls=dane, DANE-EE 3 1 1 matching the server key: sent" || { not_ok "dane EE (rc=$rc)"; cat "$T/out" "$T/err"; }
$send --log stderr --route "$(troute dane mx.test.example "tlsa=2/0/1/$tlsa_ta")" -f a@example.org dane2@test.example < "$T/msg" > "$T/out" 2>/dev/null
rc=$?
[ $rc -eq 0 ] && tls_of dane2@test.example && ok "tls=dane, DANE-TA 2 0 1 matching the issuing CA: sent" || { not_ok "dane TA (rc=$rc)"; cat "$T/out"; }
bad=$(echo "$tlsa_ee" | tr '0123456789abcdef' '123456789abcdef0')
$send --log stderr --route "$(troute dane mx.test.example "tlsa=3/1/1/$bad")" -f a@example.org dane3@test.example < "$T/msg" > "$T/out" 2>/dev/null
rc=$?
[ $rc -eq 75 ] && [ "$(field "$T/out" dane3@test.example 6)" = 4.7.5 ] && [ "$(delivered dane3@test.example)" -eq 0 ] \
	&& ok "tls=dane, no TLSA record matches: temporary 4.7.5, nothing sent" || { not_ok "dane mismatch (rc=$rc)"; cat "$T/out"; }
$send --log stderr --route "$(troute dane mx.test.example "tlsa=2/0/1/$tlsa_ee")" -f a@example.org dane4@test.example < "$T/msg" > "$T/out" 2>/dev/null
rc=$?
[ $rc -eq 75 ] && [ "$(delivered dane4@test.example)" -eq 0 ] \
	&& ok "tls=dane, a TA record that is not the issuer: refused" || { not_ok "dane wrong TA (rc=$rc)"; cat "$T/out"; }
$send --log stderr --route "$(troute dane mx.test.example "tlsa=1/1/1/$tlsa_ee")" -f a@example.org dane5@test.example < "$T/msg" > "$T/out" 2>/dev/null
rc=$?
[ $rc -eq 0 ] && tls_of dane5@test.example \
	&& ok "tls=dane with only PKIX records (unusable, RFC 7672 3.1.3): encrypted anyway" || { not_ok "dane unusable (rc=$rc)"; cat "$T/out"; }
# per-host policies (hosttls=/hosttlsa=): the route says may, the host says dane
$send --log stderr --route "$(troute may mx.test.example "hosttls=mx.test.example/dane hosttlsa=mx.test.example/3/1/1/$tlsa_ee")" -f a@example.org dane6@test.example < "$T/msg" > "$T/out" 2> "$T/err"
rc=$?
[ $rc -eq 0 ] && grep -q 'dane-verified' "$T/err" \
	&& ok "hosttls=HOST/dane under tls=may: the host's DANE policy is used and verified" || { not_ok "hosttls dane (rc=$rc)"; cat "$T/out" "$T/err"; }
$send --log stderr --route "$(troute may mx.test.example "hosttls=mx.test.example/dane hosttlsa=mx.test.example/3/1/1/$bad")" -f a@example.org dane7@test.example < "$T/msg" > "$T/out" 2>/dev/null
rc=$?
[ $rc -eq 75 ] && [ "$(delivered dane7@test.example)" -eq 0 ] \
	&& ok "hosttls=HOST/dane with a wrong record: temporary, nothing sent (not downgraded to the route's may)" || { not_ok "hosttls dane mismatch (rc=$rc)"; cat "$T/out"; }

# a large message over TLS (many partial writes)
$py -c 'import sys; sys.stdout.write("Subject: big\n\n" + ("z" * 76 + "\n") * 40000)' > "$T/large"
$send --log stderr --route "$(troute encrypt)" -f a@example.org large@test.example < "$T/large" > "$T/out" 2>/dev/null
rc=$?
want=$(($(wc -c < "$T/large") + $(wc -l < "$T/large")))   # each LF becomes CR LF
[ $rc -eq 0 ] && grep '"large@test.example"' "$T/tls.log" | grep -q "\"tls\": true, \"size\": $want}" \
	&& ok "a 3 MB message over TLS arrives whole" || { not_ok "large message over TLS (rc=$rc)"; cat "$T/out"; grep large "$T/tls.log"; }

# encrypt or verify against a server without STARTTLS: never plain text
ps=$(free_port)
bg smtp-sink $sinkuser -c "127.0.0.1:$ps" 16 > "$T/sink" 2>&1
wait_port "$ps"
$send --log stderr --route "domain=x kind=mx tls=encrypt host=sink.example/$ps/0/127.0.0.1" -f a@example.org b@x.example < "$T/msg" > "$T/out" 2>/dev/null
rc=$?
n=$(grep -o 'mesg=[0-9]*' "$T/sink" | tail -1 | cut -d= -f2)
[ $rc -eq 75 ] && [ "$(field "$T/out" b@x.example 6)" = 4.7.4 ] && [ "${n:-0}" -eq 0 ] \
	&& ok "tls=encrypt to a server without STARTTLS: temporary 4.7.4, nothing sent" || { not_ok "encrypt without STARTTLS (rc=$rc)"; cat "$T/out"; }

# ---- a scripted server for the protocol's edges ----
cat > "$T/fake.py" <<'PY'
import json, socket, ssl, sys, time
mode, port, log = sys.argv[1], int(sys.argv[2]), sys.argv[3]
cert = sys.argv[4:6]
def note(**ev):
    with open(log, "a") as f:
        f.write(json.dumps(ev) + "\n")
ext = {"plain": ["8BITMIME", "SIZE 1000000"],
       "pipelining": ["PIPELINING", "8BITMIME", "SIZE 1000000"],
       "dsn": ["PIPELINING", "8BITMIME", "DSN"],
       "inject": ["PIPELINING", "STARTTLS", "8BITMIME"],
       "badtls": ["STARTTLS", "8BITMIME"],
       "authlogin": ["AUTH LOGIN", "8BITMIME"]}.get(mode, ["8BITMIME"])
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(8)
class Conn:
    def __init__(self, s):
        self.s, self.buf = s, b""
    def line(self, timeout=10):
        self.s.settimeout(timeout)
        while b"\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise EOFError
            self.buf += d
        l, self.buf = self.buf.split(b"\n", 1)
        return l.rstrip(b"\r").decode("latin-1")
    def waiting(self, seconds):
        # Whether more input arrives within `seconds` without our reply.
        self.s.settimeout(seconds)
        try:
            d = self.s.recv(65536)
            self.buf += d
        except (socket.timeout, ssl.SSLError):
            pass
        return len(self.buf) > 0
    def data(self):
        self.s.settimeout(10)
        while b"\r\n.\r\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise EOFError
            self.buf += d
        raw, self.buf = self.buf.split(b"\r\n.\r\n", 1)
        return raw + b"\r\n.\r\n"
    def send(self, b):
        self.s.sendall(b.encode("latin-1") if isinstance(b, str) else b)
def serve(c):
    if mode == "longreply":
        c.send("220 " + "x" * 5000 + "\r\n")
    elif mode == "silent":
        time.sleep(20)
        return
    else:
        c.send("220 fake ESMTP\r\n")
    while True:
        l = c.line()
        verb = l.split(" ")[0].upper()
        note(cmd=l)
        if verb == "EHLO":
            if mode == "broken":
                c.send("250-fake\r\n251 mixed codes\r\n")
            elif mode == "noehlo":
                c.send("502 5.5.1 EHLO not implemented\r\n")
            else:
                c.send("".join("250-%s\r\n" % e for e in ["fake"] + ext[:-1]) + "250 %s\r\n" % ext[-1])
        elif verb == "HELO":
            c.send("250 fake\r\n")
        elif verb == "STARTTLS" and mode == "badtls":
            c.send("220 2.0.0 ready\r\n")
            time.sleep(0.2)
            c.send("this is not a TLS handshake\r\n")
            return
        elif verb == "AUTH" and mode == "authlogin":
            import base64
            c.send("334 VXNlcm5hbWU6\r\n")
            user = base64.b64decode(c.line()).decode()
            c.send("334 UGFzc3dvcmQ6\r\n")
            pw = base64.b64decode(c.line()).decode()
            note(login=user, password=pw)
            c.send("235 2.7.0 ok\r\n" if (user, pw) == ("alice", "s3cret word") else "535 5.7.8 no\r\n")
        elif verb == "STARTTLS":
            c.send("220 2.0.0 ready\r\n421 4.7.0 injected before the handshake\r\n")
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert[0], cert[1])
            c.s = ctx.wrap_socket(c.s, server_side=True)
            c.buf = b""
        elif verb == "MAIL":
            note(early=c.waiting(0.5))
            c.send("250 2.1.0 ok\r\n")
        elif verb == "RCPT":
            c.send("250 2.1.5 ok\r\n")
        elif verb == "DATA":
            c.send("354 go\r\n")
            note(data=c.data().hex())
            c.send("250 2.0.0 queued\r\n")
        elif verb == "QUIT":
            c.send("221 bye\r\n")
            return
        else:
            c.send("250 ok\r\n")
while True:
    s, _ = srv.accept()
    try:
        serve(Conn(s))
    except Exception as e:
        note(error=repr(e))
    s.close()
PY
fake() {  # fake MODE: start the scripted server, sets $fp and $fl
	fp=$(free_port)
	fl=$T/fake.$1.log
	: > "$fl"
	bg $py "$T/fake.py" "$1" "$fp" "$fl" "$T/mx.pem" "$T/mx.key"
	wait_port "$fp"
}
froute() { echo "domain=test.example kind=mx tls=${2:-none} host=mx.test.example/$1/10/127.0.0.1"; }

# STARTTLS injection: bytes sent with the 220 are dropped, never read as replies
fake inject
$send --log stderr --route "$(froute "$fp" encrypt)" -f a@example.org inj@test.example < "$T/msg" > "$T/out" 2> "$T/err"
rc=$?
[ $rc -eq 0 ] && [ "$(grep -c '"cmd": "EHLO' "$fl")" -eq 2 ] && grep -q 'discarded [0-9]* bytes' "$T/err" \
	&& ok "STARTTLS injection: plain-text bytes after 220 discarded, EHLO again over TLS, sent" \
	|| { not_ok "STARTTLS injection (rc=$rc)"; cat "$T/out" "$T/err" "$fl"; }

# a failed handshake: may tries again in plain text, encrypt does not
fake badtls
$send --log stderr --route "$(froute "$fp" may)" -f a@example.org b@test.example < "$T/msg" > "$T/out" 2>/dev/null
rc=$?
[ $rc -eq 0 ] && [ "$(grep -c '"cmd": "STARTTLS"' "$fl")" -eq 1 ] && grep -q '"data"' "$fl" \
	&& ok "tls=may, handshake fails: sent again without TLS" || { not_ok "may fallback (rc=$rc)"; cat "$T/out" "$fl"; }
: > "$fl"
$send --log stderr --route "$(froute "$fp" encrypt)" -f a@example.org b@test.example < "$T/msg" > "$T/out" 2>/dev/null
rc=$?
[ $rc -eq 75 ] && [ "$(field "$T/out" b@test.example 4)" = temporary ] && ! grep -q '"data"' "$fl" \
	&& ok "tls=encrypt, handshake fails: temporary, never plain text" || { not_ok "encrypt handshake failure (rc=$rc)"; cat "$T/out" "$fl"; }

# AUTH LOGIN when it is the only mechanism
fake authlogin
printf 'smart alice s3cret word\n' > "$T/creds"
chmod 600 "$T/creds"
$send --log stderr --route "$(froute "$fp") auth=smart" --credentials "$T/creds" --auth-without-tls -f a@example.org b@test.example < "$T/msg" > "$T/out" 2>/dev/null
rc=$?
[ $rc -eq 0 ] && grep -q '"login": "alice", "password": "s3cret word"' "$fl" \
	&& ok "AUTH LOGIN with the route's auth= entry" || { not_ok "AUTH LOGIN (rc=$rc)"; cat "$T/out" "$fl"; }

# broken multi-line reply, over-long reply, silent server
fake broken
$send --log stderr --route "$(froute "$fp")" -f a@example.org b@test.example < "$T/msg" > "$T/out" 2>/dev/null
rc=$?
[ $rc -eq 75 ] && [ "$(field "$T/out" b@test.example 6)" = 4.5.0 ] \
	&& ok "a multi-line reply whose code changes: temporary 4.5.0" || { not_ok "broken reply (rc=$rc)"; cat "$T/out"; }
fake longreply
$send --log stderr --route "$(froute "$fp")" -f a@example.org b@test.example < "$T/msg" > "$T/out" 2>/dev/null
rc=$?
[ $rc -eq 75 ] && [ "$(field "$T/out" b@test.example 6)" = 4.5.0 ] && grep -q 'longer than' "$T/out" \
	&& ok "an over-long reply line: temporary 4.5.0" || { not_ok "long reply (rc=$rc)"; cat "$T/out"; }
fake silent
t0=$(date +%s)
$send --log stderr --greeting-timeout 1 --route "$(froute "$fp")" -f a@example.org b@test.example < "$T/msg" > "$T/out" 2>/dev/null
rc=$?
t1=$(date +%s)
[ $rc -eq 75 ] && [ "$(field "$T/out" b@test.example 6)" = 4.4.2 ] && [ $((t1 - t0)) -le 4 ] \
	&& ok "a silent server: temporary 4.4.2 after --greeting-timeout" || { not_ok "greeting timeout (rc=$rc, $((t1 - t0)) s)"; cat "$T/out"; }
printf 'log = stderr\n[mta-send]\ngreeting-timeout = 1\n[mta-recv]\ngreeting-timeout = 100\n' > "$MTA_ROOT/etc/mta.conf"
t0=$(date +%s)
$send --route "$(froute "$fp")" -f a@example.org b@test.example < "$T/msg" > "$T/out" 2>/dev/null
rc=$?
t1=$(date +%s)
rm -f "$MTA_ROOT/etc/mta.conf"
[ $rc -eq 75 ] && [ "$(field "$T/out" b@test.example 6)" = 4.4.2 ] && [ $((t1 - t0)) -le 4 ] \
	&& ok "timeouts from the [mta-send] section of the configuration file" || { not_ok "config timeout (rc=$rc, $((t1 - t0)) s)"; cat "$T/out"; }

# the bytes on the wire: CRLF only, dot-stuffed, whatever the input's line ends
fake plain
printf 'Subject: wire\n\n.one\r\n..two\nbare\rcr\n.\nlast' > "$T/wire"
$send --log stderr --route "$(froute "$fp")" -f a@example.org b@test.example < "$T/wire" > "$T/out" 2>/dev/null
want=$(printf 'Subject: wire\r\n\r\n..one\r\n...two\r\nbare\r\ncr\r\n..\r\nlast\r\n.\r\n' | od -An -tx1 | tr -d ' \n')
got=$($py -c 'import json,sys; print([json.loads(l)["data"] for l in open(sys.argv[1]) if "\"data\"" in l][-1])' "$fl")
[ "$got" = "$want" ] && ok "content on the wire is CRLF-only and dot-stuffed" || { not_ok "wire bytes"; echo "# want $want"; echo "# got  $got"; }
grep -q '"early": false' "$fl" && ok "no PIPELINING offered: MAIL waits for its reply" || { not_ok "lock-step without PIPELINING"; cat "$fl"; }

fake pipelining
$send --log stderr --route "$(froute "$fp")" -f a@example.org b@test.example c@test.example < "$T/msg" > "$T/out" 2>/dev/null
rc=$?
[ $rc -eq 0 ] && grep -q '"early": true' "$fl" \
	&& ok "PIPELINING offered: RCPT and DATA sent without waiting for MAIL's reply" || { not_ok "pipelining (rc=$rc)"; cat "$fl"; }

# DSN parameters from the envelope, only when the server offers DSN
cat > "$T/spool.py" <<'PY'
import os, sys, time, random
spool, content = sys.argv[1], sys.argv[2]
alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
def b32(n, width):
    return "".join(alphabet[(n >> (5 * (width - 1 - i))) & 31] for i in range(width))
qid = b32(int(time.time() * 1e6), 11) + b32(random.getrandbits(40), 8)
data = open(content, "rb").read()
open(os.path.join(spool, "msg", qid), "wb").write(data)
open(os.path.join(spool, "env", qid), "w").write(
    "mta-envelope 1\nid %s\narrival %d\nsender <alice@example.org>\nsize %d\nret HDRS\nenvid env 42+x\n"
    "next %d\nattempts 0\nrcpt <bob@test.example>\n  orcpt rfc822;bob@test.example\n  notify SUCCESS,FAILURE\n"
    "  state pending\nrcpt <carol@test.example>\n  state pending\nend\n" % (qid, time.time(), len(data), time.time()))
print(qid)
PY
id=$($py "$T/spool.py" "$spool" "$T/msg")
fake dsn
$send --log stderr --route "$(froute "$fp")" -f alice@example.org --id "$id" bob@test.example carol@test.example > "$T/out" 2>/dev/null
rc=$?
[ $rc -eq 0 ] && grep -q '"cmd": "MAIL FROM:<alice@example.org> RET=HDRS ENVID=env+2042+2Bx"' "$fl" &&
	grep -q '"cmd": "RCPT TO:<bob@test.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob@test.example"' "$fl" &&
	grep -q '"cmd": "RCPT TO:<carol@test.example>"' "$fl" \
	&& ok "DSN offered: RET, ENVID (xtext), NOTIFY, ORCPT passed from the envelope" || { not_ok "DSN parameters (rc=$rc)"; cat "$T/out" "$fl"; }
fake plain
$send --log stderr --route "$(froute "$fp")" -f alice@example.org --id "$id" bob@test.example > "$T/out" 2>/dev/null
rc=$?
[ $rc -eq 0 ] && grep -q '"cmd": "MAIL FROM:<alice@example.org> SIZE=[0-9]*"' "$fl" && grep -q '"cmd": "RCPT TO:<bob@test.example>"' "$fl" \
	&& ok "DSN not offered: no DSN parameters" || { not_ok "no DSN (rc=$rc)"; cat "$fl"; }

# end to end: a message mta-recv queued goes out with its DSN parameters
if [ -x "$bin/mta-recv" ]; then
	printf 'EHLO client.example\r\nMAIL FROM:<alice@example.org> RET=FULL ENVID=e+2B1\r\nRCPT TO:<dan@test.example> NOTIFY=DELAY ORCPT=rfc822;dan@test.example\r\nDATA\r\nSubject: via mta-recv\r\n\r\n..leading dot\r\nbody\r\n.\r\nQUIT\r\n' |
		PROTO=TCP TCPREMOTEIP=127.0.0.1 TCPREMOTEPORT=5555 "$bin/mta-recv" --log "file:$T/recv.log" --spool "$spool" --hostname mx.local.example > "$T/recv.out" 2>&1
	rid=$(sed -n 's/^250 2.0.0 .*queued as \([0-9A-Z]*\).*/\1/p' "$T/recv.out" | tr -d '\r')
	fake dsn
	$send --log stderr --route "$(froute "$fp")" -f alice@example.org --id "$rid" dan@test.example > "$T/out" 2>/dev/null
	rc=$?
	got=$($py -c 'import json,sys; print(bytes.fromhex([json.loads(l)["data"] for l in open(sys.argv[1]) if "\"data\"" in l][-1]).decode("latin-1"))' "$fl" 2>/dev/null)
	if [ -n "$rid" ] && [ $rc -eq 0 ] && [ "$(field "$T/out" dan@test.example 2)" = "$rid" ] &&
		grep -q '"cmd": "MAIL FROM:<alice@example.org> RET=FULL ENVID=e+2B1"' "$fl" &&
		grep -q '"cmd": "RCPT TO:<dan@test.example> NOTIFY=DELAY ORCPT=rfc822;dan@test.example"' "$fl" &&
		echo "$got" | grep -q "^Received: from client.example" && echo "$got" | grep -q '^\.\.leading dot' ; then
		ok "a message queued by mta-recv: sent by --id with its DSN parameters, dots stuffed again"
	else not_ok "mta-recv to mta-send (id=$rid rc=$rc)"; cat "$T/recv.out" "$T/out" "$fl"; fi
else
	skip "mta-recv is not built"
fi

# EHLO refused: HELO, and nothing ESMTP after it
fake noehlo
$send --log stderr --route "$(froute "$fp")" -f a@example.org b@test.example < "$T/msg" > "$T/out" 2>/dev/null
rc=$?
[ $rc -eq 0 ] && grep -q '"cmd": "HELO ' "$fl" && grep -q '"cmd": "MAIL FROM:<a@example.org>"' "$fl" \
	&& ok "EHLO refused: HELO fallback, plain MAIL FROM" || { not_ok "HELO fallback (rc=$rc)"; cat "$T/out" "$fl"; }
printf 'x\n' > "$T/ascii"
$send --log stderr --route "$(froute "$fp")" -f a@example.org 'j?rg@test.example' "$(printf 'j\303\266rg@test.example')" < "$T/ascii" > "$T/out" 2>/dev/null
rc=$?
[ "$(field "$T/out" "$(printf 'j\303\266rg@test.example')" 6)" = 5.6.7 ] && [ $rc -eq 65 ] \
	&& ok "a UTF-8 address to a server without SMTPUTF8: permanent 5.6.7" || { not_ok "SMTPUTF8 (rc=$rc)"; cat "$T/out"; }
