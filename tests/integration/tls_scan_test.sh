# TLS: testssl.sh against mta-recv's STARTTLS listener and its implicit-TLS
# (port 465 style) listener, with a test certificate. No SSLv2/SSLv3, no
# TLS 1.0/1.1, no NULL, anonymous, export, RC4 or 3DES cipher, no
# vulnerability flagged. A missing or mismatched certificate or key is a
# clear error when mta-recv starts.
#
# In make check the scan is reduced, to stay within a few minutes: protocols,
# cipher categories, forward secrecy and the quick vulnerability checks
# (-p -s -f -H -I -T -C -O -Z -W -A -L -4: no BREACH, which is about HTTP,
# and no ROBOT, renegotiation or DROWN, the slow ones); the two listeners are
# scanned at once. TLS_SCAN_FULL=1 runs testssl.sh's whole default set.
. "$(dirname "$0")/lib.sh"
if ! command -v testssl > /dev/null 2>&1; then
	not_ok "tls: testssl.sh is not installed (apt-get install testssl.sh)"
	exit 0
fi

new_root root
root=$MTA_ROOT
cat > "$root/etc/mta.conf" <<CONF
hostname = localhost
log = file:$T/mail.log
CONF
printf 'localhost\n' > "$root/etc/local-domains"
: > "$root/etc/virtual"
: > "$root/etc/aliases"
"$bin/mta-queue" init > "$T/init.log" 2>&1 || { not_ok "tls: mta-queue init"; cat "$T/init.log"; exit 0; }
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost \
	-keyout "$T/key.pem" -out "$T/cert.pem" > "$T/openssl.log" 2>&1 || { not_ok "tls: test certificate"; exit 0; }
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other -keyout "$T/other-key.pem" \
	-out "$T/other-cert.pem" > "$T/openssl.log" 2>&1

# --- a missing or mismatched certificate or key: a clear error at start ---
start_error() {  # start_error NAME WANT ARGS...: exits 78 at once with WANT in its message
	name=$1 want=$2
	shift 2
	port=$(free_port)
	timeout 10 "$bin/mta-recv" --listen "127.0.0.1:$port" "$@" > "$T/start.out" 2>&1
	rc=$?
	if [ "$rc" -eq 78 ] && grep -q "$want" "$T/start.out"; then ok "tls: $name: exit 78, '$(head -1 "$T/start.out")'"
	else not_ok "tls: $name: exit $rc (want 78 EX_CONFIG with '$want')"; sed 's/^/#   /' "$T/start.out"; fi
}
start_error "missing certificate file" "certificate" --tls-cert "$T/nonexistent.pem" --tls-key "$T/key.pem"
start_error "missing key file" "key" --tls-cert "$T/cert.pem" --tls-key "$T/nonexistent.pem"
start_error "key that does not match the certificate" "match" --tls-cert "$T/cert.pem" --tls-key "$T/other-key.pem"
start_error "certificate without a key" "go together" --tls-cert "$T/cert.pem"
printf 'not a certificate\n' > "$T/garbage.pem"
start_error "garbage as certificate" "certificate" --tls-cert "$T/garbage.pem" --tls-key "$T/key.pem"
port=$(free_port)
timeout 10 "$bin/mta-recv" --listen "127.0.0.1:$port,tls" > "$T/start.out" 2>&1
rc=$?
if [ "$rc" -eq 78 ] && grep -q "tls-cert" "$T/start.out"; then ok "tls: implicit TLS without a certificate: exit 78 at start"
else not_ok "tls: implicit TLS without a certificate: exit $rc"; sed 's/^/#   /' "$T/start.out"; fi

# --- the scans ---
starttls=$(free_port)
smtps=$(free_port)
bg "$bin/mta-recv" --listen "127.0.0.1:$starttls" --listen "127.0.0.1:$smtps,tls" \
	--tls-cert "$T/cert.pem" --tls-key "$T/key.pem" --max-per-client 50 --command-timeout 20
wait_port "$starttls" && wait_port "$smtps" || { not_ok "tls: mta-recv does not listen"; exit 0; }

if [ -n "${TLS_SCAN_FULL:-}" ]; then checks=""
else checks="-p -s -f -H -I -T -C -O -Z -W -A -L -4"; fi

# scan NAME ARGS...: runs testssl.sh, then judges its JSON findings.
scan() {
	name=$1
	shift
	json="$T/$name.json"
	rm -f "$json"
	# shellcheck disable=SC2086
	timeout 600 testssl --quiet --color 0 --warnings off --connect-timeout 5 --openssl-timeout 5 \
		--ip 127.0.0.1 --jsonfile "$json" $checks "$@" > "$T/$name.log" 2>&1
	if [ ! -s "$json" ]; then
		not_ok "tls $name: testssl.sh produced no findings"; tail -20 "$T/$name.log" | sed 's/^/#   /'
		return
	fi
	/usr/bin/python3 - "$json" "$name" <<'PY'
import json, sys
findings = json.load(open(sys.argv[1]))
name = sys.argv[2]
by_id = {f["id"]: f for f in findings}
def finding(i):
    return by_id.get(i, {}).get("finding", "")
def report(good, what, detail=""):
    print(("ok - " if good else "not ok - ") + "tls %s: %s" % (name, what) + (" (%s)" % detail if detail else ""))
for proto in ("SSLv2", "SSLv3", "TLS1", "TLS1_1"):
    f = finding(proto)
    report(f.startswith("not offered"), "%s not offered" % proto, f)
report(finding("TLS1_2").startswith("offered") or finding("TLS1_3").startswith("offered"),
       "TLS 1.2 or 1.3 offered", "TLS1_2: %s, TLS1_3: %s" % (finding("TLS1_2"), finding("TLS1_3")))
for cat, what in (("cipherlist_NULL", "NULL ciphers"), ("cipherlist_aNULL", "anonymous ciphers"),
                  ("cipherlist_EXPORT", "export ciphers"), ("cipherlist_LOW", "low-strength ciphers"),
                  ("cipherlist_3DES_IDEA", "3DES/IDEA ciphers")):
    f = finding(cat)
    report(f.startswith("not offered") or f == "", "no %s" % what, f)
report(finding("RC4") == "" or "not vulnerable" in finding("RC4") or finding("RC4").startswith("no RC4"),
       "no RC4", finding("RC4"))
# Every finding testssl.sh rates MEDIUM or worse (and every LOW one that
# is a vulnerability check) is a failure; each is listed.
bad = [f for f in findings if f.get("severity") in ("MEDIUM", "HIGH", "CRITICAL")]
for f in bad:
    print("# %s %s: %s" % (f["severity"], f["id"], f["finding"]))
report(not bad, "no finding rated MEDIUM or worse", "%d found" % len(bad))
lows = [f for f in findings if f.get("severity") == "LOW"]
for f in lows:
    print("# LOW %s: %s" % (f["id"], f["finding"]))
vulns = [f for f in findings if f.get("severity") in ("LOW",) and f["id"] in (
    "heartbleed", "CCS", "ticketbleed", "ROBOT", "secure_renego", "secure_client_renego", "CRIME_TLS",
    "POODLE_SSL", "fallback_SCSV", "SWEET32", "FREAK", "DROWN", "LOGJAM", "BEAST", "LUCKY13", "RC4")]
# Found here: LUCKY13 was flagged while lib/tls_server offered CBC suites
# with TLS 1.2; it now offers forward-secret AEAD suites only.
report(not vulns, "no vulnerability flagged",
       ", ".join("%s: %s" % (f["id"], f["finding"]) for f in vulns))
PY
}
scan starttls --starttls smtp "localhost:$starttls" > "$T/starttls.out" &
p1=$!
scan smtps "localhost:$smtps" > "$T/smtps.out" &
p2=$!
wait "$p1" "$p2"
cat "$T/starttls.out" "$T/smtps.out"
