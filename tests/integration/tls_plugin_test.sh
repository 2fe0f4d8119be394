#!/bin/sh
# OpenSSL lives in the plugin mta-tls.so: the programs do not link it, a
# plain session never maps it, and a missing plugin is a clear error where
# TLS or password hashing is needed (start-up of mta-recv; a temporary
# 4.7.0 for mta-send, or plain text under tls=may only).
. "$(dirname "$0")/lib.sh"
py=/usr/bin/python3
new_root
spool=$MTA_ROOT/spool
mkdir -p "$spool/msg" "$spool/env" "$spool/hold" "$spool/tmp"
printf 'mx.test\n' > "$MTA_ROOT/etc/local-domains"
log=$T/mail.log
recv="$bin/mta-recv --spool $spool --etc $MTA_ROOT/etc --hostname mx.test --log file:$log --lookup-client-name false"
cd "$T" || exit 1
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout key.pem -out cert.pem -days 2 \
	-subj /CN=mx.test > /dev/null 2>&1
cd "$top" || exit 1
tls="--tls-cert $T/cert.pem --tls-key $T/key.pem"
missing=$T/nowhere/mta-tls.so

check "plugin: $BUILD/mta-tls.so is built" test -f "$bin/mta-tls.so"
check "plugin: it exports the entry point mta_tls_engine" sh -c "nm -D --defined-only '$bin/mta-tls.so' | grep -q ' T mta_tls_engine\$'"
check "plugin: it links libssl and libcrypto" sh -c "ldd '$bin/mta-tls.so' | grep -q libssl && ldd '$bin/mta-tls.so' | grep -q libcrypto"
for p in mta-recv mta-send mta-queue mta-deliver sendmail; do
	check "plugin: $p does not link libssl or libcrypto" sh -c "! ldd '$bin/$p' | grep -E 'libssl|libcrypto'"
done

# What a session has mapped once its greeting is out: $1 = extra arguments.
maps() {
	$py - "$@" <<'PY'
import subprocess, sys
p = subprocess.Popen(sys.argv[1:], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
greeting = p.stdout.readline().decode()
maps = open('/proc/%d/maps' % p.pid).read() if greeting.startswith('220') else ''
p.stdin.write(b'QUIT\r\n'); p.stdin.close(); p.stdout.read(); p.wait(timeout=10)
print(greeting.strip())
for lib in ('mta-tls.so', 'libssl', 'libcrypto'):
    print(lib, 'mapped' if lib in maps else 'absent')
PY
}
maps $recv > "$T/plain"
check "plain session: greeting" grep -q '^220 mx.test' "$T/plain"
check "plain session: neither the plugin nor OpenSSL mapped" sh -c "grep -q 'mta-tls.so absent' '$T/plain' && grep -q 'libssl absent' '$T/plain' && grep -q 'libcrypto absent' '$T/plain'"
maps $recv $tls > "$T/tlsmaps"
check "TLS configured: plugin and OpenSSL mapped at the greeting" sh -c "grep -q '^220 mx.test' '$T/tlsmaps' && grep -q 'mta-tls.so mapped' '$T/tlsmaps' && grep -q 'libssl mapped' '$T/tlsmaps'"
MTA_TLS_PLUGIN=$missing maps $recv > "$T/plain2"
check "plain session with no plugin anywhere: serves" grep -q '^220 mx.test' "$T/plain2"

# mta-recv: TLS configured, no plugin: one line on stderr, EX_UNAVAILABLE.
MTA_TLS_PLUGIN=$missing $recv $tls < /dev/null > "$T/out" 2> "$T/err"
rc=$?
[ $rc -eq 69 ] && [ "$(wc -l < "$T/err")" -eq 1 ] && grep -q "^mta-recv: cannot load the TLS plugin $missing: .*No such file" "$T/err" \
	&& [ ! -s "$T/out" ] && ok "mta-recv, TLS without the plugin: exit 69, one line naming the file and why" \
	|| { not_ok "mta-recv without plugin (rc=$rc)"; cat "$T/out" "$T/err"; }
printf 'not an ELF object\n' > "$T/bad.so"
MTA_TLS_PLUGIN=$T/bad.so $recv $tls < /dev/null > /dev/null 2> "$T/err"
rc=$?
[ $rc -eq 69 ] && grep -q "cannot load the TLS plugin $T/bad.so: ..*" "$T/err" \
	&& ok "mta-recv, a plugin that is not a shared object: exit 69 with dlerror's reason" \
	|| { not_ok "mta-recv bad plugin (rc=$rc)"; cat "$T/err"; }
printf 'x\n' | MTA_TLS_PLUGIN=$missing $bin/mta-recv --make-password ann > /dev/null 2> "$T/err"
rc=$?
[ $rc -eq 69 ] && grep -q "cannot load the TLS plugin $missing" "$T/err" \
	&& ok "--make-password without the plugin: exit 69" || { not_ok "make-password without plugin (rc=$rc)"; cat "$T/err"; }
printf 'x\n' | $bin/mta-recv --make-password ann > "$T/passwd"
MTA_TLS_PLUGIN=$missing $recv --password-file "$T/passwd" < /dev/null > /dev/null 2> "$T/err"
rc=$?
[ $rc -eq 69 ] && grep -q "cannot load the TLS plugin $missing" "$T/err" \
	&& ok "--password-file without the plugin: a start-up error, exit 69" || { not_ok "password-file without plugin (rc=$rc)"; cat "$T/err"; }

# set-user-ID: MTA_TLS_PLUGIN and the program's own directory are ignored.
if [ "$(id -u)" = 0 ]; then
	mkdir -p "$T/suid"
	cp "$bin/mta-recv" "$bin/mta-tls.so" "$T/suid/"
	chown nobody "$T/suid/mta-recv" && chmod 4755 "$T/suid/mta-recv"
	chmod 0755 "$T" "$T/suid"
	chmod 0644 "$T/key.pem"
	MTA_TLS_PLUGIN=$T/suid/mta-tls.so "$T/suid/mta-recv" --spool "$spool" --etc "$MTA_ROOT/etc" --log stderr $tls \
		< /dev/null > /dev/null 2> "$T/err"
	rc=$?
	if grep -q "cannot load the TLS plugin $T/" "$T/err"; then
		not_ok "set-user-ID: the environment chose the plugin"
		cat "$T/err"
	elif grep -q 'cannot load the TLS plugin /' "$T/err"; then
		ok "set-user-ID: only the installed plugin file is tried ($(sed -n 's/.*plugin \([^:]*\):.*/\1/p' "$T/err" | head -1))"
	elif [ -f "$(cat "$bin/plugin-file" 2>/dev/null)" ]; then
		skip "set-user-ID: an installed plugin exists on this machine (rc=$rc)"
	else
		skip "set-user-ID: the copy did not run set-user-ID here (nosuid?) (rc=$rc)"
		cat "$T/err"
	fi
else
	skip "set-user-ID lookup: needs root to make a set-user-ID copy"
fi

# mta-send against aiosmtpd with STARTTLS.
pt=$(free_port)
: > "$T/tls.log"
bg $py "$top/tests/integration/starttls_server.py" "$pt" "$T/tls.log" "$T/cert.pem" "$T/key.pem"
wait_port "$pt"
printf 'Subject: test\n\nhello\n' > "$T/msg"
route() { echo "domain=test.example kind=mx tls=$1 host=mx.test.example/$pt/10/127.0.0.1"; }
field() { awk -F'\t' -v r="$2" -v n="$3" '$1 == "result" && $3 == r { print $n }' "$1"; }
delivered() { grep -c "\"$1\"" "$T/tls.log"; }
tls_of() { grep "\"$1\"" "$T/tls.log" | tail -1 | grep -q '"tls": true'; }

$bin/mta-send --log stderr --route "$(route encrypt)" -f a@example.org enc@test.example < "$T/msg" > "$T/out" 2> "$T/err"
rc=$?
[ $rc -eq 0 ] && tls_of enc@test.example && ok "mta-send, plugin found: tls=encrypt sent over TLS" \
	|| { not_ok "mta-send encrypt with plugin (rc=$rc)"; cat "$T/out" "$T/err"; }
for policy in encrypt verify dane; do
	MTA_TLS_PLUGIN=$missing $bin/mta-send --log stderr --route "$(route $policy)" -f a@example.org "no$policy@test.example" \
		< "$T/msg" > "$T/out" 2> "$T/err"
	rc=$?
	[ $rc -eq 75 ] && [ "$(field "$T/out" "no$policy@test.example" 6)" = 4.7.0 ] \
		&& field "$T/out" "no$policy@test.example" 8 | grep -q "cannot load the TLS plugin $missing" \
		&& [ "$(delivered "no$policy@test.example")" -eq 0 ] \
		&& ok "mta-send, tls=$policy without the plugin: temporary 4.7.0 naming the file, nothing sent" \
		|| { not_ok "mta-send $policy without plugin (rc=$rc)"; cat "$T/out" "$T/err"; }
done
MTA_TLS_PLUGIN=$missing $bin/mta-send --log stderr --route "$(route may)" -f a@example.org nomay@test.example \
	< "$T/msg" > "$T/out" 2> "$T/err"
rc=$?
[ $rc -eq 0 ] && [ "$(delivered nomay@test.example)" -eq 1 ] && ! tls_of nomay@test.example \
	&& grep -q "cannot load the TLS plugin $missing.*sending without TLS (policy may)" "$T/err" \
	&& ok "mta-send, tls=may without the plugin: sent in plain text, and logged" \
	|| { not_ok "mta-send may without plugin (rc=$rc)"; cat "$T/out" "$T/err"; }
