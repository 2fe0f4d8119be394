#!/bin/sh
# mta-route against a real DNS server (ldns-testns) on a loopback port.
. "$(dirname "$0")/lib.sh"

command -v ldns-testns >/dev/null || { skip "ldns-testns is not installed"; exit 0; }

# The zone data: a small description turned into ldns-testns entries. Every
# name gets an answer for MX, A, AAAA and TLSA (NODATA when it has none),
# the way a recursive resolver would answer.
#   NAME TYPE RDATA        a record
#   NAME CNAME TARGET      an alias; answers carry the CNAME and the target's records
#   NAME CNAME-ONLY TARGET an alias whose answers carry only the CNAME
#   !rcode NAME RCODE      every query for NAME answers RCODE
#   !tc NAME TYPE          over UDP: truncated and empty; over TCP: the records
#   !ad NAME               answers for NAME carry the AD bit
#   !sleep NAME SECONDS    answers for NAME come late
cat > "$T/zone.spec" <<'EOF'
multi.test MX 10 mx1.multi.test.
multi.test MX 20 mx2.multi.test.
multi.test MX 30 mx3.multi.test.
mx1.multi.test A 203.0.113.1
mx1.multi.test AAAA 2001:db8::1
mx2.multi.test A 203.0.113.2
mx3.multi.test A 203.0.113.3
equal.test MX 10 a.equal.test.
equal.test MX 10 b.equal.test.
equal.test MX 20 c.equal.test.
a.equal.test A 203.0.113.11
b.equal.test A 203.0.113.12
c.equal.test A 203.0.113.13
nomx.test A 203.0.113.10
nomx.test AAAA 2001:db8::10
empty.test TXT "no mail here"
null.test MX 0 .
null.test A 203.0.113.20
alias.test CNAME real.test.
alias2.test CNAME-ONLY real.test.
real.test MX 10 mx1.multi.test.
cmx.test MX 10 mxalias.cmx.test.
mxalias.cmx.test CNAME mx2.multi.test.
!rcode servfail.test SERVFAIL
servfail.test A 203.0.113.40
partial.test MX 10 mx1.multi.test.
partial.test MX 20 broken.partial.test.
!rcode broken.partial.test SERVFAIL
!rcode nx.test NXDOMAIN
!rcode nxmx.test NXDOMAIN
dangling.test MX 10 nxmx.test.
self.test MX 10 mx1.multi.test.
self.test MX 20 me.self.test.
self.test MX 30 mx3.multi.test.
me.self.test A 127.0.0.1
selfonly.test MX 10 me.self.test.
selfname.test MX 10 mail.ours.test.
selfname.test MX 10 mx2.multi.test.
mail.ours.test A 203.0.113.99
!tc big.test MX
smart.relay.test A 203.0.113.30
dnsmx.test MX 5 mx3.multi.test.
!ad dane.test
!ad mx.dane.test
!ad _25._tcp.mx.dane.test
dane.test MX 10 mx.dane.test.
mx.dane.test A 203.0.113.50
_25._tcp.mx.dane.test TLSA 3 1 1 2bb9c2cd9f2bd2e3d1a8ab7f4c4b7c1b1e8d1c2b3a4f5e6d7c8b9a0f1e2d3c4b
insecure.test MX 10 mx.insecure.test.
mx.insecure.test A 203.0.113.51
_25._tcp.mx.insecure.test TLSA 3 1 1 2bb9c2cd9f2bd2e3d1a8ab7f4c4b7c1b1e8d1c2b3a4f5e6d7c8b9a0f1e2d3c4b
!ad pkix.test
!ad mx.pkix.test
!ad _25._tcp.mx.pkix.test
pkix.test MX 10 mx.pkix.test.
mx.pkix.test A 203.0.113.52
_25._tcp.mx.pkix.test TLSA 1 1 1 2bb9c2cd9f2bd2e3d1a8ab7f4c4b7c1b1e8d1c2b3a4f5e6d7c8b9a0f1e2d3c4b
!ad addrinsecure.test
!ad _25._tcp.mx.addrinsecure.test
addrinsecure.test MX 10 mx.addrinsecure.test.
mx.addrinsecure.test A 203.0.113.53
_25._tcp.mx.addrinsecure.test TLSA 3 1 1 2bb9c2cd9f2bd2e3d1a8ab7f4c4b7c1b1e8d1c2b3a4f5e6d7c8b9a0f1e2d3c4b
weird.test MX 10 bad_name.weird.test.
weird.test MX 20 mx2.multi.test.
bad_name.weird.test A 203.0.113.66
!sleep slow.test 4
EOF
# big.test: more MX records than fit a 1232-byte UDP answer.
i=1
while [ "$i" -le 60 ]; do
	n=$(printf '%02d' "$i")
	echo "big.test MX $i mail-exchanger-number-$n.big.test." >> "$T/zone.spec"
	echo "mail-exchanger-number-$n.big.test A 198.51.100.$i" >> "$T/zone.spec"
	i=$((i + 1))
done

/usr/bin/python3 - "$T/zone.spec" > "$T/zone.data" <<'EOF'
import sys, collections
recs = collections.defaultdict(list)   # (name, type) -> rdata
cname, cname_only, rcode, tc, ad, sleep = {}, set(), {}, set(), set(), {}
names = []
def name(n):
    n = n.lower().rstrip('.')
    if n not in names: names.append(n)
    return n
for line in open(sys.argv[1]):
    f = line.split()
    if not f: continue
    if f[0] == '!rcode': rcode[name(f[1])] = f[2]
    elif f[0] == '!tc': tc.add((name(f[1]), f[2]))
    elif f[0] == '!ad': ad.add(name(f[1]))
    elif f[0] == '!sleep': sleep[name(f[1])] = f[2]
    elif f[1] == 'CNAME': cname[name(f[0])] = f[2].lower().rstrip('.')
    elif f[1] == 'CNAME-ONLY': cname[name(f[0])] = f[2].lower().rstrip('.'); cname_only.add(f[0])
    else: recs[(name(f[0]), f[1])].append(' '.join(f[2:]))
def entry(q, t, flags, answer, transport=''):
    print('ENTRY_BEGIN')
    print('MATCH opcode qtype qname' + (' ' + transport if transport else ''))
    print('ADJUST copy_id' + (' sleep=' + sleep[q] if q in sleep else ''))
    print('REPLY QR RD RA ' + flags)
    print('SECTION QUESTION')
    print('%s. IN %s' % (q, t))
    print('SECTION ANSWER')
    for a in answer: print(a)
    print('ENTRY_END')
for n in names:
    for t in ('MX', 'A', 'AAAA', 'TLSA'):
        flags = ('AD ' if n in ad else '')
        if n in rcode:
            entry(n, t, rcode[n], []); continue
        ans, target = [], n
        if n in cname:
            target = cname[n]
            ans.append('%s. 300 IN CNAME %s.' % (n, target))
            if n in cname_only: target = None
        if target:
            ans += ['%s. 300 IN %s %s' % (target, t, r) for r in recs.get((target, t), [])]
        if (n, t) in tc:
            entry(n, t, flags + 'TC NOERROR', [], 'UDP')
            entry(n, t, flags + 'NOERROR', ans, 'TCP')
        else:
            entry(n, t, flags + 'NOERROR', ans)
EOF

port=$(free_port)
bg ldns-testns -v -p "$port" "$T/zone.data" > "$T/testns.log" 2>&1
i=0
until grep -q 'Listening on port' "$T/testns.log" 2>/dev/null || [ "$i" -ge 50 ]; do sleep 0.1; i=$((i + 1)); done

new_root
printf 'here.test\n' > "$MTA_ROOT/etc/local-domains"
route() { "$bin/mta-route" --log "file:$T/route.log" --hostname mail.ours.test --resolver "127.0.0.1:$port" --timeout 2 "$@"; }

# expect NAME "ARGS..." EXPECTED-LINE: one lookup prints exactly that line.
expect() {
	name=$1 args=$2 want=$3
	# shellcheck disable=SC2086
	got=$(route $args 2>"$T/err")
	if [ "$got" = "$want" ]; then ok "$name"; else not_ok "$name"; echo "#   want: $want"; echo "#   got:  $got"; sed 's/^/#   /' "$T/err"; fi
}

expect "MX list in preference order, IPv6 and IPv4 addresses" "multi.test" \
	"domain=multi.test kind=mx tls=may host=mx1.multi.test/25/10/2001:db8::1,203.0.113.1 host=mx2.multi.test/25/20/203.0.113.2 host=mx3.multi.test/25/30/203.0.113.3"
expect "IPv4 only with --inet-protocols ipv4" "--inet-protocols ipv4 multi.test" \
	"domain=multi.test kind=mx tls=may host=mx1.multi.test/25/10/203.0.113.1 host=mx2.multi.test/25/20/203.0.113.2 host=mx3.multi.test/25/30/203.0.113.3"
expect "an address is routed by its domain" "User@Multi.Test --inet-protocols ipv6" \
	"domain=multi.test kind=mx tls=may host=mx1.multi.test/25/10/2001:db8::1"

# Equal preferences: both orders appear over repeated lookups, the worse MX stays last.
yes equal.test | head -40 | route > "$T/equal.out"
a_first=$(grep -c '^domain=equal.test kind=mx tls=may host=a.equal.test/25/10/203.0.113.11 host=b.equal.test/25/10/203.0.113.12 host=c.equal.test/25/20/203.0.113.13$' "$T/equal.out")
b_first=$(grep -c '^domain=equal.test kind=mx tls=may host=b.equal.test/25/10/203.0.113.12 host=a.equal.test/25/10/203.0.113.11 host=c.equal.test/25/20/203.0.113.13$' "$T/equal.out")
if [ "$a_first" -gt 0 ] && [ "$b_first" -gt 0 ] && [ $((a_first + b_first)) -eq 40 ]; then
	ok "equal preferences shuffled ($a_first/$b_first over 40 lookups)"
else
	not_ok "equal preferences shuffled ($a_first/$b_first over 40 lookups)"; head -3 "$T/equal.out"
fi

expect "no MX: the domain's addresses are the implicit MX" "nomx.test" \
	"domain=nomx.test kind=mx tls=may host=nomx.test/25/0/2001:db8::10,203.0.113.10"
expect "no MX and no address: permanent 5.1.2" "empty.test" \
	"domain=empty.test kind=error result=permanent code=550 enhanced=5.1.2 text=empty.test has no MX and no address record"
expect "null MX: permanent 5.1.10, no fallback to A" "null.test" \
	"domain=null.test kind=error result=permanent code=556 enhanced=5.1.10 text=domain null.test does not accept mail (null MX)"
expect "CNAME followed within the answer" "alias.test" \
	"domain=alias.test kind=mx tls=may host=mx1.multi.test/25/10/2001:db8::1,203.0.113.1"
expect "CNAME followed by asking for the target" "alias2.test" \
	"domain=alias2.test kind=mx tls=may host=mx1.multi.test/25/10/2001:db8::1,203.0.113.1"
expect "an MX host that is a CNAME" "cmx.test" \
	"domain=cmx.test kind=mx tls=may host=mxalias.cmx.test/25/10/203.0.113.2"
expect "SERVFAIL: temporary 4.4.3, no fallback to A" "servfail.test" \
	"domain=servfail.test kind=error result=temporary code=451 enhanced=4.4.3 text=DNS lookup failure: MX lookup of servfail.test: SERVFAIL"
expect "an MX host whose address lookup fails is skipped" "partial.test" \
	"domain=partial.test kind=mx tls=may host=mx1.multi.test/25/10/2001:db8::1,203.0.113.1"
expect "NXDOMAIN: permanent 5.1.2" "nx.test" \
	"domain=nx.test kind=error result=permanent code=550 enhanced=5.1.2 text=domain nx.test does not exist"
expect "an MX target that is no host name is skipped" "weird.test" \
	"domain=weird.test kind=mx tls=may host=mx2.multi.test/25/20/203.0.113.2"
expect "MX host without address: permanent 5.4.4" "dangling.test" \
	"domain=dangling.test kind=error result=permanent code=550 enhanced=5.4.4 text=no MX host of dangling.test has an address"

route big.test > "$T/big.out" 2>"$T/err"
if grep -q '^domain=big.test kind=mx tls=may host=mail-exchanger-number-01.big.test/25/1/198.51.100.1 host=mail-exchanger-number-02.big.test/25/2/198.51.100.2 ' "$T/big.out" &&
	[ "$(tr ' ' '\n' < "$T/big.out" | grep -c '^host=')" -eq 16 ] &&
	grep -q 'TCP.*big.test' "$T/testns.log"; then
	ok "truncated UDP answer retried over TCP (60 MX records, 16 hosts kept)"
else
	not_ok "truncated UDP answer retried over TCP"; cut -c1-300 "$T/big.out"; cat "$T/err"
fi

expect "MX list with this host's address: only better MX hosts kept" "self.test" \
	"domain=self.test kind=mx tls=may host=mx1.multi.test/25/10/2001:db8::1,203.0.113.1"
expect "MX list whose best host is this host: 5.4.6" "selfonly.test" \
	"domain=selfonly.test kind=error result=permanent code=554 enhanced=5.4.6 text=mail for selfonly.test loops back to myself"
expect "MX named like this host (--hostname), equal preference: 5.4.6" "selfname.test" \
	"domain=selfname.test kind=error result=permanent code=554 enhanced=5.4.6 text=mail for selfname.test loops back to myself"

expect "local domain" "here.test" "domain=here.test kind=local"
expect "local domain from an address" "postmaster@HERE.test" "domain=here.test kind=local"
expect "address literal" "user@[203.0.113.77]" "domain=[203.0.113.77] kind=mx tls=may host=[203.0.113.77]/25/0/203.0.113.77"
expect "address literal of this host is local" "user@[127.0.0.1]" "domain=[127.0.0.1] kind=local"

# DANE: AD bits from the resolver on loopback.
tlsa=2bb9c2cd9f2bd2e3d1a8ab7f4c4b7c1b1e8d1c2b3a4f5e6d7c8b9a0f1e2d3c4b
expect "secure MX answer: TLSA looked up, tls=dane" "dane.test" \
	"domain=dane.test kind=mx tls=dane host=mx.dane.test/25/10/203.0.113.50 tlsa=3/1/1/$tlsa"
expect "insecure MX answer: no DANE" "insecure.test" \
	"domain=insecure.test kind=mx tls=may host=mx.insecure.test/25/10/203.0.113.51"
expect "secure but unusable TLSA (PKIX-EE): mandatory TLS" "pkix.test" \
	"domain=pkix.test kind=mx tls=encrypt host=mx.pkix.test/25/10/203.0.113.52"
expect "secure MX and TLSA but insecure address records: no DANE (RFC 7672 2.2.2)" "addrinsecure.test" \
	"domain=addrinsecure.test kind=mx tls=may host=mx.addrinsecure.test/25/10/203.0.113.53"
expect "--no-dane: no TLSA lookup" "--no-dane dane.test" \
	"domain=dane.test kind=mx tls=may host=mx.dane.test/25/10/203.0.113.50"

# JSON lines.
route --json dane.test multi.test > "$T/json.out" 2>"$T/err"
check "--json prints one JSON object per input with the route fields" /usr/bin/python3 -c '
import json, sys
a, b = [json.loads(l) for l in open(sys.argv[1])]
assert a["domain"] == "dane.test" and a["kind"] == "mx" and a["tls"] == "dane", a
assert a["hosts"] == [{"name": "mx.dane.test", "port": 25, "preference": 10, "addresses": ["203.0.113.50"]}], a
assert a["tlsa"] == [{"usage": 3, "selector": 1, "mtype": 1, "data": sys.argv[2]}], a
assert [h["preference"] for h in b["hosts"]] == [10, 20, 30], b
' "$T/json.out" "$tlsa"

route --json nx.test here.test > "$T/json2.out" 2>"$T/err"
check "--json error and local routes" /usr/bin/python3 -c '
import json, sys
a, b = [json.loads(l) for l in open(sys.argv[1])]
assert a == {"domain": "nx.test", "kind": "error", "result": "permanent", "code": 550, "enhanced": "5.1.2",
             "text": "domain nx.test does not exist"}, a
assert b == {"domain": "here.test", "kind": "local"}, b
' "$T/json2.out"

route -v alias.test > /dev/null 2>"$T/err"
check "--verbose: each query and its answer on stderr" grep -q \
	'^mta-route: dns: MX alias.test: NOERROR: alias.test. *300 *IN *CNAME *real.test. | real.test. *300 *IN *MX *10 *mx1.multi.test.$' "$T/err"

# The routes file.
cat > "$T/routes" <<'EOF'
# domain          next hop                      options
relay.test        [smart.relay.test]:587        tls=encrypt auth=smart
.sub.test         nomx.test:2525
lit.test          [IPv6:2001:db8::25],[203.0.113.25]:26
localish.test     local
blocked.test      error:5.7.1 no mail for blocked.test, ever
dnsmx.test        -                             tls=verify
from:alice@sender.test  [smart.relay.test]:465  tls=verify auth=alice
from:@bulk.test   [203.0.113.90]
from:<>           [203.0.113.91]
*                 [203.0.113.99]:2525             tls=none
EOF
expect "routes file: [host]:port with tls and auth" "--routes $T/routes relay.test" \
	"domain=relay.test kind=relay tls=encrypt auth=smart host=smart.relay.test/587/0/203.0.113.30"
expect "routes file: .domain matches subdomains, host:port gets an MX lookup" "--routes $T/routes a.b.sub.test" \
	"domain=a.b.sub.test kind=relay tls=may host=nomx.test/2525/0/2001:db8::10,203.0.113.10"
expect "routes file: .domain does not match the domain itself; no sender given, sender rules may change it" \
	"--routes $T/routes sub.test" \
	"domain=sub.test kind=relay sender=ask tls=none host=[203.0.113.99]/2525/0/203.0.113.99"
expect "routes file: several next hops in order" "--routes $T/routes lit.test" \
	"domain=lit.test kind=relay tls=may host=[IPv6:2001:db8::25]/25/0/2001:db8::25 host=[203.0.113.25]/26/1/203.0.113.25"
expect "routes file: local" "--routes $T/routes localish.test" "domain=localish.test kind=local"
expect "routes file: error" "--routes $T/routes blocked.test" \
	"domain=blocked.test kind=error result=permanent code=550 enhanced=5.7.1 text=no mail for blocked.test, ever"
expect "routes file: - keeps the MX lookup with the rule's policy" "--routes $T/routes dnsmx.test" \
	"domain=dnsmx.test kind=mx tls=verify host=mx3.multi.test/25/5/203.0.113.3"
expect "routes file: sender route" "--routes $T/routes --sender alice@sender.test multi.test" \
	"domain=multi.test kind=relay tls=verify auth=alice host=smart.relay.test/465/0/203.0.113.30"
expect "routes file: sender domain route" "--routes $T/routes -f bob@bulk.test multi.test" \
	"domain=multi.test kind=relay tls=may host=[203.0.113.90]/25/0/203.0.113.90"
expect "routes file: null sender route" "--routes $T/routes --sender <> multi.test" \
	"domain=multi.test kind=relay tls=may host=[203.0.113.91]/25/0/203.0.113.91"
expect "routes file: recipient rules come before sender rules" "--routes $T/routes --sender alice@sender.test relay.test" \
	"domain=relay.test kind=relay tls=encrypt auth=smart host=smart.relay.test/587/0/203.0.113.30"
expect "routes file: * is the default smarthost" "--routes $T/routes -f carol@elsewhere.test multi.test" \
	"domain=multi.test kind=relay tls=none host=[203.0.113.99]/2525/0/203.0.113.99"
expect "local domains come before the routes file" "--routes $T/routes here.test" "domain=here.test kind=local"
printf '* [203.0.113.99]\n' > "$T/routes-nosender"
expect "no sender rules: no sender=ask" "--routes $T/routes-nosender other.test" \
	"domain=other.test kind=relay tls=may host=[203.0.113.99]/25/0/203.0.113.99"

printf 'relay.test [smart.relay.test]:587\nbad.test [unclosed\n' > "$T/badroutes"
route --routes "$T/badroutes" multi.test > "$T/out" 2>"$T/err"
rc=$?
if [ "$rc" -eq 78 ] && [ ! -s "$T/out" ] && grep -q "badroutes:2: missing ']'" "$T/err"; then
	ok "a bad routes file: exit 78 and file:line on stderr"
else
	not_ok "a bad routes file: exit 78 (got $rc)"; cat "$T/err"
fi

# stdin, bad input, usage.
printf 'multi.test\n\n# comment\nnot a domain!\nnx.test\n' | route --inet-protocols ipv4 > "$T/out" 2>"$T/err"
rc=$?
if [ "$rc" -eq 65 ] && [ "$(wc -l < "$T/out")" -eq 3 ] &&
	sed -n 2p "$T/out" | grep -q '^domain=invalid kind=error result=permanent code=501 enhanced=5.1.2 text=not a domain!: ' &&
	sed -n 3p "$T/out" | grep -q '^domain=nx.test kind=error result=permanent' && [ -s "$T/err" ]; then
	ok "stdin: one line per input, bad input gets an error line, stderr and exit 65"
else
	not_ok "stdin and bad input (exit $rc)"; cat "$T/out" "$T/err"
fi
route multi.test nx.test servfail.test > /dev/null 2>&1
check "exit 0 when every input got a route line, error routes included" test $? -eq 0
route --bogus-option multi.test > /dev/null 2>&1
check "unknown option: exit 64" test $? -eq 64
"$bin/mta-route" --log stderr --resolver not-an-address multi.test > /dev/null 2>&1
check "bad --resolver: exit 64" test $? -eq 64

# The name server over IPv6, and the resolver and routes file from the configuration file.
port6=$(free_port)
bg ldns-testns -6 -p "$port6" "$T/zone.data" > "$T/testns6.log" 2>&1
i=0
until grep -q 'Listening on port' "$T/testns6.log" 2>/dev/null || [ "$i" -ge 50 ]; do sleep 0.1; i=$((i + 1)); done
got=$("$bin/mta-route" --log "file:$T/route.log" --resolver "[::1]:$port6" --inet-protocols ipv4 nomx.test 2>&1)
check "resolver on [::1]:PORT" test "$got" = "domain=nomx.test kind=mx tls=may host=nomx.test/25/0/203.0.113.10"
printf 'relay.test [smart.relay.test]:587 tls=encrypt\n' > "$MTA_ROOT/etc/routes"
cat > "$MTA_ROOT/etc/mta.conf" <<EOF
hostname = mail.ours.test
log = file:$T/route.log
[mta-route]
resolver = 127.0.0.1:$port
inet-protocols = ipv4
EOF
got=$("$bin/mta-route" relay.test nomx.test 2>&1)
check "resolver, options and <etc>/routes from \$MTA_ROOT/etc/mta.conf" test "$got" = "domain=relay.test kind=relay tls=encrypt host=smart.relay.test/587/0/203.0.113.30
domain=nomx.test kind=mx tls=may host=nomx.test/25/0/203.0.113.10"

# A name server that does not answer in time: temporary, and bounded.
start=$(date +%s)
got=$("$bin/mta-route" --log "file:$T/route.log" --resolver "127.0.0.1:$port" --timeout 1 --attempts 1 slow.test 2>&1)
case "$got" in
"domain=slow.test kind=error result=temporary code=451 enhanced=4.4.3 text=DNS lookup failure: MX lookup of slow.test: no answer from the name server"*) ok "timeout: temporary 4.4.3" ;;
*) not_ok "timeout: temporary 4.4.3"; echo "#   got: $got" ;;
esac
secs=$(( $(date +%s) - start ))
check "timeout bounded (${secs}s)" test "$secs" -le 4
