#!/bin/sh
# mta-recv with TLS (STARTTLS, implicit TLS), SMTP AUTH and the PROXY protocol.
. "$(dirname "$0")/lib.sh"

new_root
spool=$MTA_ROOT/spool
mkdir -p "$spool/msg" "$spool/env" "$spool/hold"
log=$T/mail.log
printf 'mx.test\n' > "$MTA_ROOT/etc/local-domains"
printf 'bob: /dev/null\n' > "$MTA_ROOT/etc/aliases"
py=/usr/bin/python3
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" -days 2 -subj /CN=mx.test > /dev/null 2>&1
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/other.pem" -out "$T/othercert.pem" -days 2 -subj /CN=other > /dev/null 2>&1
printf 'secret\n' | "$bin/mta-recv" --make-password ann > "$T/passwd"
recv="$bin/mta-recv --spool $spool --etc $MTA_ROOT/etc --hostname mx.test --log file:$log --lookup-client-name false"
tls="--tls-cert $T/cert.pem --tls-key $T/key.pem"
newest() { ls "$spool/env" | sort | tail -1; }
count() { ls "$spool/env" | wc -l; }

check "--make-password: a salted PBKDF2 entry" grep -q '^ann:\$pbkdf2-sha512\$[0-9]*\$[A-Za-z0-9+/]*\$[A-Za-z0-9+/]*$' "$T/passwd"
printf 'secret\n' | "$bin/mta-recv" --make-password ann > "$T/passwd2"
check "--make-password: salts differ" sh -c "! cmp -s '$T/passwd' '$T/passwd2'"

port=$(free_port)
sport=$(free_port)
pport=$(free_port)
qport=$(free_port)
bg $recv $tls --password-file "$T/passwd" --listen 127.0.0.1:$port --listen 127.0.0.1:$sport,tls \
	--listen 127.0.0.1:$pport,proxy --listen 127.0.0.1:$qport,proxy --proxy-from 127.0.0.1/32 \
	--trusted-networks 192.0.2.0/24 --command-timeout 10
srv=$last_pid
wait_port $port

# STARTTLS with swaks
check "swaks --tls: queued" swaks --tls --server 127.0.0.1:$port --from a@example.org --to bob@mx.test --header 'Subject: tls'
id=$(newest)
check "STARTTLS: protocol ESMTPS, TLS in the Received comment" sh -c "grep -q '^protocol ESMTPS' '$spool/env/$id' && grep -q '(using TLSv1\.[23] with cipher ' '$spool/env/$id' && grep -q 'with ESMTPS id $id' '$spool/env/$id'"
check "STARTTLS: TLS 1.1 refused" sh -c "! echo QUIT | timeout 10 openssl s_client -connect 127.0.0.1:$port -starttls smtp -tls1_1 > /dev/null 2>&1"
check "STARTTLS: TLS 1.2 accepted" sh -c "echo QUIT | timeout 10 openssl s_client -connect 127.0.0.1:$port -starttls smtp -tls1_2 2>/dev/null | grep -q 'Protocol *: TLSv1.2'"

# Plaintext pipelined after STARTTLS is discarded, and the session starts over.
check "STARTTLS: pipelined plaintext discarded, state reset" $py -c "
import socket, ssl
s = socket.create_connection(('127.0.0.1', $port), timeout=10)
f = s.makefile('rb')
assert f.readline().startswith(b'220')
s.sendall(b'EHLO x\r\n')
while not f.readline().startswith(b'250 '): pass
s.sendall(b'STARTTLS\r\nMAIL FROM:<evil@example.org>\r\n')
l = f.readline()
assert l.startswith(b'220 2.0.0'), l
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
t = ctx.wrap_socket(s)
tf = t.makefile('rb')
t.sendall(b'MAIL FROM:<a@example.org>\r\n')
l = tf.readline()
assert l.startswith(b'503'), l   # the injected MAIL was not taken, and EHLO must be repeated
t.sendall(b'EHLO x\r\n')
lines = []
while True:
    l = tf.readline(); lines.append(l)
    if l.startswith(b'250 '): break
assert b'250-STARTTLS\r\n' not in lines, lines
assert b'250-AUTH PLAIN LOGIN\r\n' in lines, lines
"

# AUTH under TLS: swaks --auth PLAIN and LOGIN; relaying allowed after it.
check "swaks --tls --auth PLAIN: relays" swaks --tls --server 127.0.0.1:$port --auth PLAIN --auth-user ann --auth-password secret --from ann@example.org --to x@elsewhere.example
id=$(newest)
check "AUTH: envelope records the user, protocol ESMTPSA" sh -c "grep -q '^auth ann' '$spool/env/$id' && grep -q '^protocol ESMTPSA' '$spool/env/$id' && grep -q 'with ESMTPSA id' '$spool/env/$id'"
check "swaks --tls --auth LOGIN" swaks --tls --server 127.0.0.1:$port --auth LOGIN --auth-user ann --auth-password secret --from ann@example.org --to x@elsewhere.example
check "wrong password: 535 5.7.8" sh -c "swaks --tls --server 127.0.0.1:$port --auth PLAIN --auth-user ann --auth-password wrong --from a@example.org --to x@elsewhere.example 2>&1 | grep -q '<~\* 535 5.7.8'"
check "unknown user: 535 5.7.8" sh -c "swaks --tls --server 127.0.0.1:$port --auth PLAIN --auth-user nobody --auth-password secret --from a@example.org --to x@elsewhere.example 2>&1 | grep -q '<~\* 535 5.7.8'"
check "log: authentication lines" sh -c "grep -q 'sasl_method=PLAIN, sasl_username=ann' '$log' && grep -q 'SASL PLAIN authentication failed' '$log'"

# Implicit TLS (465-style listener)
check "implicit TLS: swaks --tlsc" swaks --tlsc --server 127.0.0.1:$sport --from a@example.org --to bob@mx.test --header 'Subject: smtps'
id=$(newest)
check "implicit TLS: ESMTPS" grep -q '^protocol ESMTPS' "$spool/env/$id"

# PROXY v1 and v2 from the configured proxy: the client address is the proxied one.
proxysend() {
	$py - "$@" <<'PYEOF'
import socket, struct, sys
port, version, src = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.create_connection(('127.0.0.1', port), timeout=10)
if version == 'v1':
    s.sendall(('PROXY TCP4 %s 192.0.2.25 40000 25\r\n' % src).encode())
elif version == 'v2':
    sig = b'\r\n\r\n\x00\r\nQUIT\n'
    addr = socket.inet_aton(src) + socket.inet_aton('192.0.2.25') + struct.pack('!HH', 40000, 25)
    s.sendall(sig + bytes([0x21, 0x11]) + struct.pack('!H', len(addr)) + addr)
elif version == 'bad':
    s.sendall(b'EHLO x\r\n')
f = s.makefile('rb')
out = []
try:
    l = f.readline(); out.append(l)
    if l.startswith(b'220'):
        s.sendall(b'EHLO p.example\r\n')
        while True:
            l = f.readline(); out.append(l)
            if not l or l.startswith(b'250 '): break
        for cmd in sys.argv[4:]:
            s.sendall(cmd.encode() + b'\r\n'); out.append(f.readline())
        s.sendall(b'QUIT\r\n'); out.append(f.readline())
except (socket.timeout, ConnectionResetError):
    out.append(b'(timeout)\n')
sys.stdout.write(b''.join(out).decode('latin-1'))
PYEOF
}
out=$(proxysend $pport v1 198.51.100.7 'MAIL FROM:<a@example.org>' 'RCPT TO:<x@elsewhere.example>' 'AUTH PLAIN AGFubgBzZWNyZXQ=')
check "PROXY v1: greeting after the header; the proxied client may not relay" sh -c "echo '$out' | grep -q '^220 ' && echo '$out' | grep -q '^554 5.7.1'"
check "PROXY v1: no AUTH offered or allowed without TLS off loopback" sh -c "! echo '$out' | grep -q 'AUTH PLAIN LOGIN' && echo '$out' | grep -q '^503\|^538 5.7.11'"
check "PROXY v1: the proxied address is logged" grep -q 'connect from unknown\[198.51.100.7\]' "$log"
out=$(proxysend $pport v2 192.0.2.9 'MAIL FROM:<a@example.org>' 'RCPT TO:<x@elsewhere.example>')
check "PROXY v2: the proxied address is trusted (192.0.2.0/24): relay allowed" sh -c "echo '$out' | grep -q '^250 2.1.5'"
check "PROXY v2: logged" grep -q 'connect from unknown\[192.0.2.9\]' "$log"
out=$(proxysend $pport v1 198.51.100.8 'AUTH PLAIN AGFubgBzZWNyZXQ=')
check "AUTH without TLS from a non-loopback client: 538 5.7.11" sh -c "echo '$out' | grep -q '^538 5.7.11'"
out=$(proxysend $pport bad x)
check "PROXY listener: no header, no greeting" sh -c "! echo '$out' | grep -q '^220'"
out=$(proxysend $port v1 198.51.100.7)
check "plain listener: a PROXY line is not a command that changes the peer" sh -c "! grep -q '198.51.100.7.*$port' '$log'; echo '$out' | grep -q '^220'"
kill $srv 2>/dev/null

# PROXY from an address that is not a configured proxy: closed before 220.
port2=$(free_port)
bg $recv --listen 127.0.0.1:$port2,proxy --proxy-from 192.0.2.1
wait_port $port2
out=$(proxysend $port2 v1 198.51.100.7)
check "PROXY from a non-proxy address: closed without greeting" sh -c "! echo '$out' | grep -q '^220'"
check "PROXY from a non-proxy address: logged" grep -q 'not a configured proxy' "$log"
kill $last_pid 2>/dev/null

# Configuration errors are clear and exit 78.
$recv --tls-cert "$T/cert.pem" --tls-key "$T/other.pem" --listen 127.0.0.1:$(free_port) > /dev/null 2>"$T/e1"
rc=$?
check "mismatched key: exit 78 with a clear error" sh -c "[ $rc -eq 78 ] && grep -q 'cannot be used with certificate' '$T/e1'"
$recv --tls-cert "$T/missing.pem" --tls-key "$T/key.pem" < /dev/null > /dev/null 2>"$T/e2"
rc=$?
check "missing certificate: exit 78 naming the file" sh -c "[ $rc -eq 78 ] && grep -q 'missing.pem' '$T/e2'"
$recv --listen 127.0.0.1:$(free_port),tls > /dev/null 2>"$T/e3"
check "TLS listener without a certificate: exit 78" test $? -eq 78

# Implicit TLS on stdin (systemd Accept=yes for 465).
iport=$(free_port)
bg systemd-socket-activate -l 127.0.0.1:$iport --inetd -a $recv $tls --implicit-tls 2>>"$T/sa.log"
wait_port $iport
check "--implicit-tls under socket activation: swaks --tlsc" swaks --tlsc --server 127.0.0.1:$iport --from a@example.org --to bob@mx.test
kill $last_pid 2>/dev/null
check "five sessions with DATA, five messages queued" test "$(count)" -eq 5
