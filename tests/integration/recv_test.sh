#!/bin/sh
# mta-recv with real clients in every start mode, and the bad input it
# must refuse. Every accepted message is checked in the spool.
. "$(dirname "$0")/lib.sh"

new_root
spool=$MTA_ROOT/spool
mkdir -p "$spool/msg" "$spool/env" "$spool/hold"
log=$T/mail.log
printf 'localhost\nmx.test\n' > "$MTA_ROOT/etc/local-domains"
printf 'bob: /dev/null\n' > "$MTA_ROOT/etc/aliases"
recv="$bin/mta-recv --spool $spool --etc $MTA_ROOT/etc --hostname mx.test --log file:$log --lookup-client-name false"
py=/usr/bin/python3

count() { ls "$spool/env" | wc -l; }
newest() { ls "$spool/env" | sort | tail -1; }
# expect_new N: exactly N new messages since the last call
seen=0
expect_new() {
	now=$(count)
	[ "$((now - seen))" -eq "$1" ]
	r=$?
	seen=$now
	return $r
}
# msg_has ID PATTERN...: the received file, env/ID (content, then the
# envelope: mta-spool(5)), contains each pattern; env_has: the same
msg_has() { id=$1; shift; for p in "$@"; do grep -q -- "$p" "$spool/env/$id" || { echo "env/$id lacks $p"; cat "$spool/env/$id"; return 1; }; done; }
env_has() { id=$1; shift; for p in "$@"; do grep -q -- "$p" "$spool/env/$id" || { echo "env/$id lacks $p"; cat "$spool/env/$id"; return 1; }; done; }
no_crlf() { ! grep -q "$(printf '\r')" "$spool/env/$1"; }

# ---- 1. inetd mode: a stdin pipe ----
printf 'EHLO pipe.example\r\nMAIL FROM:<alice@example.org> BODY=8BITMIME RET=HDRS ENVID=env+2B1\r\nRCPT TO:<bob@mx.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob+2Bx@mx.test\r\nDATA\r\nSubject: pipe\r\n\r\n..leading dot\r\nline two\r\n.\r\nQUIT\r\n' |
	$recv > "$T/out1" 2>"$T/err1"
check "inetd pipe: queued" grep -q '^250 2.0.0 Ok: queued as ' "$T/out1"
id=$(sed -n 's/^250 2.0.0 Ok: queued as \([0-9A-Z]*\).*/\1/p' "$T/out1" | tr -d '\r')
check "inetd pipe: one message in the spool" expect_new 1
check "inetd pipe: content unstuffed, LF endings, Received first" sh -c "
	head -1 '$spool/env/$id' | grep -q '^Received: from pipe.example' &&
	grep -q '^\.leading dot$' '$spool/env/$id' && grep -q '^line two$' '$spool/env/$id' &&
	! grep -q \"\$(printf '\\r')\" '$spool/env/$id'"
check "inetd pipe: envelope has sender, DSN fields" env_has "$id" '^sender <alice@example.org>' '^body 8BITMIME' '^ret HDRS' '^envid env+1' '^rcpt <bob@mx.test>' 'notify SUCCESS,FAILURE' 'orcpt rfc822;bob+x@mx.test' '^helo pipe.example'
check "inetd pipe: nothing on stderr" test ! -s "$T/err1"
check "log: connect, client=, disconnect" sh -c "grep -q 'mta/smtpd.*connect from' '$log' && grep -q '$id: client=' '$log' && grep -q 'disconnect from .* commands=' '$log'"

# ---- 2. the same binary under systemd-socket-activate --inetd (Accept=yes) ----
port=$(free_port)
bg systemd-socket-activate -l 127.0.0.1:$port --inetd -a $recv 2>>"$T/sa.log"
wait_port $port
check "socket-activate --inetd: swaks plain" swaks --server 127.0.0.1:$port --from a@example.org --to bob@mx.test --helo sa.example --header 'Subject: inetd-sa'
check "socket-activate --inetd: queued with client address" sh -c "expect_new() { :; }; id=\$(ls '$spool/env' | sort | tail -1); grep -q 'client unknown\[127.0.0.1\]' '$spool/env/'\$id && grep -q 'Subject: inetd-sa' '$spool/env/'\$id"
expect_new 1 >/dev/null
check "socket-activate --inetd: swaks --pipeline" swaks --pipeline --server 127.0.0.1:$port --from a@example.org --to bob@mx.test,postmaster@mx.test --header 'Subject: piped'
id=$(newest)
check "pipeline: two recipients, no 'for'" sh -c "grep -c '^rcpt ' '$spool/env/$id' | grep -qx 2 && ! grep -q '	for <' '$spool/env/$id'"
expect_new 1 >/dev/null
check "socket-activate --inetd: python smtplib" $py -c "
import smtplib
s = smtplib.SMTP('127.0.0.1', $port)
s.ehlo('py.example')
assert s.has_extn('pipelining') and s.has_extn('chunking') and s.has_extn('dsn') and s.has_extn('smtputf8')
s.sendmail('py@example.org', ['bob@mx.test'], b'Subject: py\r\n\r\nfrom python\r\n')
s.quit()"
id=$(newest)
check "smtplib: message in spool" msg_has "$id" 'Subject: py' 'from python' 'for <bob@mx.test>'
expect_new 1 >/dev/null
printf 'Subject: curl\r\n\r\nfrom curl\r\n' > "$T/curl.eml"
check "socket-activate --inetd: curl smtp://" curl -s --url smtp://127.0.0.1:$port --mail-from c@example.org --mail-rcpt bob@mx.test --upload-file "$T/curl.eml"
id=$(newest)
check "curl: message in spool" msg_has "$id" 'Subject: curl' 'from curl'
check "curl: one new message" expect_new 1
kill $last_pid 2>/dev/null

# ---- 3. systemd Accept=no: LISTEN_FDS ----
port=$(free_port)
bg systemd-socket-activate -l 127.0.0.1:$port $recv 2>>"$T/sa.log"
wait_port $port
check "LISTEN_FDS: swaks" swaks --server 127.0.0.1:$port --from a@example.org --to bob@mx.test --header 'Subject: listen-fds'
check "LISTEN_FDS: a second session on the same listener" swaks --server 127.0.0.1:$port --from a@example.org --to bob@mx.test --header 'Subject: listen-fds-2'
check "LISTEN_FDS: two messages" expect_new 2
kill $last_pid 2>/dev/null

# systemd Accept=yes without StandardInput=socket: the connection is fd 3 (LISTEN_FDS=1).
port=$(free_port)
bg systemd-socket-activate -l 127.0.0.1:$port -a $recv 2>>"$T/sa.log"
wait_port $port
check "Accept=yes, connection on fd 3: swaks" swaks --server 127.0.0.1:$port --from a@example.org --to bob@mx.test --header 'Subject: fd3'
id=$(newest)
check "Accept=yes on fd 3: queued with the peer from the socket" sh -c "grep -q 'Subject: fd3' '$spool/env/$id' && grep -q 'client unknown\[127.0.0.1\]' '$spool/env/$id'"
expect_new 1 >/dev/null
kill $last_pid 2>/dev/null

# ---- 4. tcpserver (UCSPI) and RELAYCLIENT ----
port=$(free_port)
bg tcpserver -q -H -R 127.0.0.1 $port $recv --trusted-networks 192.0.2.0/24
wait_port $port
check "tcpserver: relay denied without RELAYCLIENT" sh -c "swaks --server 127.0.0.1:$port --from a@example.org --to x@elsewhere.example --quit-after RCPT 2>&1 | grep -q '<\*\* 554 5.7.1'"
kill $last_pid 2>/dev/null
port=$(free_port)
RELAYCLIENT= bg tcpserver -q -H -R 127.0.0.1 $port env RELAYCLIENT= $recv --trusted-networks 192.0.2.0/24
wait_port $port
check "tcpserver + RELAYCLIENT: relay allowed" swaks --server 127.0.0.1:$port --from a@example.org --to x@elsewhere.example --header 'Subject: relayclient'
id=$(newest)
check "tcpserver: peer from TCPREMOTEIP" env_has "$id" 'client unknown\[127.0.0.1\]' '^rcpt <x@elsewhere.example>'
check "tcpserver: Received names the client address" msg_has "$id" 'Received: from .* (unknown \[127.0.0.1\])'
expect_new 1 >/dev/null
kill $last_pid 2>/dev/null
port=$(free_port)
bg tcpserver -q -H -R 127.0.0.1 $port env RELAYCLIENT=.relay.test $recv
wait_port $port
check "tcpserver + RELAYCLIENT=.relay.test: relay allowed" swaks --server 127.0.0.1:$port --from a@example.org --to x@elsewhere.example --header 'Subject: relayclient suffix'
id=$(newest)
check "RELAYCLIENT's value is appended to the recipient" env_has "$id" '^rcpt <x@elsewhere.example.relay.test>'
expect_new 1 >/dev/null
kill $last_pid 2>/dev/null

# ---- 5. standalone: --listen IPv4 and IPv6, limits ----
port=$(free_port)
port6=$(free_port)
bg $recv --listen 127.0.0.1:$port --listen "[::1]:$port6" --max-per-client 2 --max-connections 3 --command-timeout 3 --data-timeout 3 --session-timeout 20 --recipient-limit 3 --message-size-limit 20000 --trusted-networks 192.0.2.0/24
srv=$last_pid
wait_port $port
check "standalone IPv4: swaks" swaks --server 127.0.0.1:$port --from a@example.org --to bob@mx.test
if $py -c "import socket; s=socket.socket(socket.AF_INET6); s.connect(('::1', $port6))" 2>/dev/null; then
	check "standalone IPv6: smtplib" $py -c "
import smtplib
s = smtplib.SMTP('::1', $port6)
s.sendmail('a@example.org', ['bob@mx.test'], b'Subject: v6\r\n\r\nv6\r\n')
s.quit()"
	id=$(newest)
	check "IPv6 client recorded" env_has "$id" 'client unknown\[::1\]'
	check "IPv6 Received uses an IPv6 literal" msg_has "$id" '\[IPv6:::1\]'
else
	skip "no IPv6 loopback"
fi
expect_new 0 >/dev/null

# A raw client: send bytes, print the replies (bounded by timeouts).
rawclient() {
	$py - "$@" <<'PYEOF'
import socket, sys, time
port, data = int(sys.argv[1]), sys.argv[2].encode().decode('unicode_escape').encode('latin-1')
s = socket.create_connection(('127.0.0.1', port), timeout=10)
f = s.makefile('rb')
print(f.readline().decode().rstrip())
s.sendall(data)
s.shutdown(socket.SHUT_WR) if len(sys.argv) < 4 else None
out = b''
try:
    while True:
        b = s.recv(65536)
        if not b: break
        out += b
except socket.timeout:
    pass
sys.stdout.write(out.decode('latin-1'))
PYEOF
}

# Per-client limit: two sessions held open, the third gets 421 4.7.0.
check "per-client limit: 421 4.7.0" $py -c "
import socket, time
held = []
for i in range(2):
    s = socket.create_connection(('127.0.0.1', $port), timeout=5)
    assert s.recv(100).startswith(b'220'), 'no greeting'
    held.append(s)
s = socket.create_connection(('127.0.0.1', $port), timeout=5)
r = s.recv(100)
assert r.startswith(b'421 4.7.0'), r
"
sleep 0.5

# Smuggling over a real socket: one message, refused; the injected MAIL is not a command.
out=$(rawclient $port 'EHLO s.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<bob@mx.test>\r\nDATA\r\nSubject: smuggle\r\n\r\nx\n.\r\nMAIL FROM:<evil@example.org>\r\nRCPT TO:<bob@mx.test>\r\nDATA\r\nSubject: smuggled\r\n\r\ny\r\n.\r\nQUIT\r\n')
check "smuggling <LF>.<CR><LF>: 554 5.6.11, one reply, nothing queued" sh -c "echo '$out' | grep -q '^554 5.6.11' && [ \$(echo '$out' | grep -c '^250 2.0.0') -eq 0 ] && [ \$(echo '$out' | grep -c '^354') -eq 1 ]"
out=$(rawclient $port 'EHLO s.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<bob@mx.test>\r\nDATA\r\nx\r\n.\nMAIL FROM:<evil@example.org>\r\n.\r\nQUIT\r\n')
check "smuggling <CR><LF>.<LF>: refused" sh -c "echo '$out' | grep -q '^554 5.6.11' && ! echo '$out' | grep -q '^250 2.0.0 Ok: queued'"
check "smuggling: nothing queued" expect_new 0

# Oversize command line, NUL byte, bare LF command.
out=$(rawclient $port "EHLO x\\r\\n$(head -c 5000 /dev/zero | tr '\0' A)\\r\\nNOOP\\r\\nQUIT\\r\\n")
check "command over 2048 octets: 500 5.5.2, then in step" sh -c "echo '$out' | grep -q '^500 5.5.2' && echo '$out' | grep -q '^250 2.0.0 Ok'"
out=$(rawclient $port 'EHLO x\r\nMAIL FROM:<a@example.org>\x00\r\nQUIT\r\n')
check "NUL in a command: 501" sh -c "echo '$out' | grep -q '^501 5.5.2'"
out=$(rawclient $port 'EHLO x\nQUIT\r\n')
check "bare LF command: 500" sh -c "echo '$out' | grep -q '^500 5.5.2'"

# Long data line, SIZE overflow, real size overflow, too many recipients.
long=$(head -c 1200 /dev/zero | tr '\0' a)
out=$(rawclient $port "EHLO x\\r\\nMAIL FROM:<a@example.org>\\r\\nRCPT TO:<bob@mx.test>\\r\\nDATA\\r\\n$long\\r\\n.\\r\\nQUIT\\r\\n")
check "data line over 1000 octets: 554" sh -c "echo '$out' | grep -q '^554 5.6.0'"
check "swaks SIZE= over the limit: 552 5.3.4" sh -c "$py -c \"
import smtplib
s = smtplib.SMTP('127.0.0.1', $port); s.ehlo('x')
c, m = s.mail('a@example.org', ['SIZE=999999'])
assert c == 552 and m.startswith(b'5.3.4'), (c, m)
\""
check "message over the limit: read to the dot, then 552" $py -c "
import smtplib
s = smtplib.SMTP('127.0.0.1', $port)
try:
    s.ehlo('x'); del s.esmtp_features['size']  # no SIZE= parameter: the limit must be found in the data
    s.sendmail('a@example.org', ['bob@mx.test'], b'Subject: big\r\n\r\n' + b'0123456789\r\n' * 3000)
    raise SystemExit('accepted')
except smtplib.SMTPDataError as e:
    assert e.smtp_code == 552, e
assert s.noop()[0] == 250
s.quit()"
check "too many recipients: 452 4.5.3" $py -c "
import smtplib
s = smtplib.SMTP('127.0.0.1', $port); s.ehlo('x'); s.mail('a@example.org')
codes = [s.rcpt('bob@mx.test')[0] for i in range(4)]
assert codes == [250, 250, 250, 452], codes
s.quit()"
check "oversize: nothing queued" expect_new 0

# Relay forms: none relays; unknown local user 550 5.1.1.
for rcpt in 'x@elsewhere.example' 'x%elsewhere.example@mx.test' 'elsewhere.example!x@mx.test' '"x@elsewhere.example"@mx.test' '@mx.test:x@elsewhere.example' 'x@elsewhere.example@mx.test' 'nosuchuser@mx.test'; do
	out=$(rawclient $port "EHLO x\\r\\nMAIL FROM:<a@example.org>\\r\\nRCPT TO:<$rcpt>\\r\\nQUIT\\r\\n")
	check "relay form <$rcpt> refused" sh -c "echo '$out' | grep -Eq '^(550 5.1.1|554 5.7.1|501 5.1.3)' && ! echo '$out' | grep -q '^250 2.1.5'"
done
check "log: NOQUEUE reject lines" grep -q 'NOQUEUE: reject: RCPT from unknown\[127.0.0.1\]: 554 5.7.1 <x@elsewhere.example>: Relay access denied; from=<a@example.org> to=<x@elsewhere.example> proto=ESMTP helo=<x>' "$log"
out=$(rawclient $port 'EHLO x\r\nMAIL FROM:<>\r\nRCPT TO:<Postmaster>\r\nRCPT TO:<postmaster@mx.test>\r\nQUIT\r\n')
check "null sender and bare postmaster accepted" sh -c "[ \$(echo '$out' | grep -c '^250 2.1') -eq 3 ]"

# A Received loop.
hdrs=$(i=0; while [ $i -lt 100 ]; do printf 'Received: from a by b; x\\r\\n'; i=$((i+1)); done)
out=$(rawclient $port "EHLO x\\r\\nMAIL FROM:<a@example.org>\\r\\nRCPT TO:<bob@mx.test>\\r\\nDATA\\r\\n${hdrs}Subject: loop\\r\\n\\r\\nx\\r\\n.\\r\\nQUIT\\r\\n")
check "100 Received fields: 554 5.4.6" sh -c "echo '$out' | grep -q '^554 5.4.6'"

# BDAT (CHUNKING) with a real socket.
out=$(rawclient $port 'EHLO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<bob@mx.test>\r\nBDAT 21\r\nSubject: bdat\r\n\r\nbodyBDAT 7 LAST\r\n line\r\nQUIT\r\n')
check "BDAT: queued" sh -c "echo '$out' | grep -q '^250 2.0.0 Ok: queued as'"
id=$(newest)
check "BDAT: content joined, LF endings" sh -c "grep -q '^body line$' '$spool/env/$id' && ! grep -q \"\$(printf '\\r')\" '$spool/env/$id'"
expect_new 1 >/dev/null

# A stalling client: 421 4.4.2 after the command timeout.
start=$(date +%s)
out=$(rawclient $port 'EHLO x\r\n' keep-open)
took=$(( $(date +%s) - start ))
check "stalling client: 421 4.4.2 after the timeout" sh -c "echo '$out' | grep -q '^421 4.4.2' && [ $took -ge 2 ] && [ $took -le 9 ]"
# A client that trickles one byte at a time never waits long enough for a
# read timeout; the whole-session deadline (3 s here) ends it.
tport=$(free_port)
bg $recv --listen 127.0.0.1:$tport --command-timeout 5 --data-timeout 5 --session-timeout 3
tsrv=$last_pid
wait_port $tport
check "trickling client: 421 4.4.2 at the session deadline, message not queued" $py -c "
import socket, time
s = socket.create_connection(('127.0.0.1', $tport), timeout=30)
s.recv(100)
s.sendall(b'EHLO x\\r\\nMAIL FROM:<a@example.org>\\r\\nRCPT TO:<bob@mx.test>\\r\\nDATA\\r\\n')
t0 = time.time()
got = b''
try:
    while time.time() - t0 < 15:
        s.sendall(b'x'); time.sleep(0.2)
        s.setblocking(False)
        try:
            b = s.recv(1000)
            if b == b'': break
            got += b
        except BlockingIOError:
            pass
        s.setblocking(True)
except (BrokenPipeError, ConnectionResetError):
    pass
took = time.time() - t0
assert b'421 4.4.2' in got, got
assert b'250 2.0.0 Ok: queued' not in got, got
assert took < 8, took
"
kill $tsrv 2>/dev/null
check "stall/trickle: nothing queued" expect_new 0

kill $srv 2>/dev/null
sleep 0.3
check "standalone: stops on SIGTERM" sh -c "! kill -0 $srv 2>/dev/null"

# Total connection limit, reverse DNS in Received, privilege drop.
port=$(free_port)
bg $bin/mta-recv --spool $spool --etc $MTA_ROOT/etc --hostname mx.test --log file:$log --listen 127.0.0.1:$port --max-connections 1
wait_port $port
check "total limit: the second session gets 421 4.7.0" $py -c "
import socket, time
# wait_port's probe was a session too: until its process has gone, the
# first client may be the one refused.
for _ in range(50):
    a = socket.create_connection(('127.0.0.1', $port), timeout=5)
    if a.recv(100).startswith(b'220'):
        break
    a.close(); time.sleep(0.1)
else:
    raise AssertionError('no session slot came free')
b = socket.create_connection(('127.0.0.1', $port), timeout=5)
r = b.recv(100)
assert r.startswith(b'421 4.7.0'), r
"
sleep 0.3
check "reverse DNS (confirmed) names the client in Received" sh -c "swaks --server 127.0.0.1:$port --from a@example.org --to bob@mx.test --helo rdns.example > /dev/null && id=\$(ls '$spool/env' | sort | tail -1) && head -1 '$spool/env/'\$id | grep -q '^Received: from rdns.example (localhost \[127.0.0.1\])'"
expect_new 1 >/dev/null
kill $last_pid 2>/dev/null

# Worker processes: sessions one after the other share a process, unless
# --max-use 1; an idle worker leaves after --max-idle seconds.
# session_pids LOG: the pids that logged "connect from", in order.
session_pids() { sed -n 's/.*mta\/smtpd\[\([0-9]*\)\]: connect from.*/\1/p' "$1" | tr '\n' ' '; }
for use in 100 1; do
	port=$(free_port)
	wlog=$T/workers-$use.log
	bg $bin/mta-recv --spool $spool --etc $MTA_ROOT/etc --hostname mx.test --log file:$wlog --lookup-client-name false \
		--listen 127.0.0.1:$port --max-use $use --max-idle 2
	wsrv=$last_pid
	wait_port $port
	sleep 0.3
	: > "$wlog"
	for i in 1 2 3; do swaks --server 127.0.0.1:$port --from a@example.org --to bob@mx.test > /dev/null 2>&1; done
	pids=$(session_pids "$wlog")
	distinct=$(echo $pids | tr ' ' '\n' | sort -u | wc -l)
	if [ "$use" = 100 ]; then
		check "workers: three sessions in a row are served by one process ($pids)" test "$distinct" -eq 1
		sleep 3.5
		check "workers: an idle worker leaves after --max-idle" test "$(pgrep -P $wsrv | wc -l)" -eq 0
	else
		check "workers: --max-use 1 gives each session its own process ($pids)" test "$distinct" -eq 3
	fi
	kill $wsrv 2>/dev/null
done
expect_new 6 >/dev/null

if [ "$(id -u)" -eq 0 ] && id nobody > /dev/null 2>&1; then
	port=$(free_port)
	chown -R nobody "$spool"
	chmod a+rX "$T" "$MTA_ROOT" "$MTA_ROOT/etc" "$MTA_ROOT/etc"/*
	touch "$log"; chmod 666 "$log"
	bg $recv --listen 127.0.0.1:$port --user nobody
	wait_port $port
	check "--user: sessions run as the user" sh -c "swaks --server 127.0.0.1:$port --from a@example.org --to bob@mx.test > /dev/null && [ \$(stat -c %U '$spool/env/'\$(ls '$spool/env' | sort | tail -1)) = nobody ] && grep -q '^Uid:.*$(id -u nobody)' /proc/$last_pid/status"
	expect_new 1 >/dev/null
	kill $last_pid 2>/dev/null
	chown -R "$(id -u)" "$spool"
else
	skip "--user: needs root"
fi

# Memory stays flat whatever the message size.
check "memory: RSS flat between a 1 KB and a 60 MB message" $py - "$bin/mta-recv" "$spool" "$MTA_ROOT/etc" "$log" <<'PYEOF'
import subprocess, sys
prog, spool, etc, log = sys.argv[1:5]
def hwm(pid):
    for l in open('/proc/%d/status' % pid):
        if l.startswith('VmHWM:'): return int(l.split()[1])
p = subprocess.Popen([prog, '--spool', spool, '--etc', etc, '--log', 'file:' + log, '--hostname', 'mx.test',
                      '--lookup-client-name', 'false', '--message-size-limit', '100000000'],
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
w = p.stdin
w.write(b'EHLO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<bob@mx.test>\r\nDATA\r\nSubject: mem\r\n\r\n')
line = b'y' * 98 + b'\r\n'
w.write(line * 10); w.flush()
import time; time.sleep(0.3)
before = hwm(p.pid)
block = line * 10000
for i in range(60):
    w.write(block)
w.flush(); time.sleep(0.3)
after = hwm(p.pid)
w.write(b'.\r\nQUIT\r\n'); w.close()
out = p.stdout.read(); p.wait()
assert b'250 2.0.0 Ok: queued' in out, out
print('VmHWM before %d kB, after 60 MB %d kB' % (before, after))
assert after - before < 1024, (before, after)
PYEOF
expect_new 1 >/dev/null

# ---- 6. --local (sendmail -bs) ----
printf 'EHLO me\nMAIL FROM:<me@example.org>\nRCPT TO:<x@elsewhere.example>\nDATA\nSubject: local\n\nhi\n.\nQUIT\n' | $recv --local > "$T/outl" 2>&1
check "--local: LF tolerated, relay allowed, queued" grep -q '^250 2.0.0 Ok: queued as' "$T/outl"
id=$(newest)
check "--local: client local, Received with uid" sh -c "grep -q '^client local' '$spool/env/$id' && head -1 '$spool/env/$id' | grep -q '(uid $(id -u))'"
check "--local: logged as mta/pickup" grep -q "mta/pickup.*$id: client=local" "$log"
expect_new 1 >/dev/null

# ---- 7. configuration errors are clear ----
$bin/mta-recv --log file:$log --spool "$T/nospool" < /dev/null > "$T/o7" 2>"$T/e7"
rc=$?
check "missing spool: exit 78 and one line on stderr" sh -c "[ $rc -eq 78 ] && grep -q 'spool directory' '$T/e7' && [ \$(wc -l < '$T/e7') -eq 1 ]"
$recv --listen 127.0.0.1:99999 > /dev/null 2>"$T/e8"
check "bad --listen: exit 64" test $? -eq 64
