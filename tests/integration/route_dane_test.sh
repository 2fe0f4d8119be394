#!/bin/sh
# mta-route and DANE through a real validating resolver: zones signed with
# ldns-signzone, served and validated by unbound on a loopback port, with
# the test keys as trust anchors.
. "$(dirname "$0")/lib.sh"

for p in unbound ldns-keygen ldns-signzone; do
	command -v "$p" >/dev/null || [ -x "/usr/sbin/$p" ] || { skip "$p is not installed"; exit 0; }
done
PATH=$PATH:/usr/sbin

d=$T/dns
mkdir -p "$d"
tlsa=2bb9c2cd9f2bd2e3d1a8ab7f4c4b7c1b1e8d1c2b3a4f5e6d7c8b9a0f1e2d3c4b
zone() { # zone NAME: the records every test zone has, then stdin
	{
		printf '$ORIGIN %s.\n$TTL 300\n' "$1"
		printf '@ IN SOA ns.%s. hostmaster.%s. 1 3600 600 86400 300\n@ IN NS ns.%s.\nns IN A 203.0.113.53\n' "$1" "$1" "$1"
		cat
	} > "$d/$1.zone"
}
zone sec.test <<EOT
@ IN MX 10 mx
mx IN A 203.0.113.60
_25._tcp.mx IN TLSA 3 1 1 $tlsa
mx2 IN A 203.0.113.61
mx3 IN A 203.0.113.62
_25._tcp.mx3 IN TLSA 1 1 1 $tlsa
both IN MX 10 mx
both IN MX 20 mxb
mxb IN A 203.0.113.63
_25._tcp.mxb IN TLSA 2 0 1 $tlsa
mixed IN MX 10 mx
mixed IN MX 20 mx2
mixed2 IN MX 10 mx
mixed2 IN MX 20 mx3
notlsa IN MX 10 mx2
pkix IN MX 10 mx3
EOT
zone bogus.test <<EOT
@ IN MX 10 mx
mx IN A 203.0.113.70
_25._tcp.mx IN TLSA 3 1 1 $tlsa
EOT
zone plain.test <<EOT
@ IN MX 10 mx
mx IN A 203.0.113.80
_25._tcp.mx IN TLSA 3 1 1 $tlsa
EOT

(
	cd "$d" || exit 1
	k_sec=$(ldns-keygen -a ECDSAP256SHA256 -k sec.test) &&
	k_bogus=$(ldns-keygen -a ECDSAP256SHA256 -k bogus.test) &&
	k_other=$(ldns-keygen -a ECDSAP256SHA256 -k bogus.test) &&
	ldns-signzone sec.test.zone "$k_sec" &&
	ldns-signzone bogus.test.zone "$k_bogus" &&
	cp "$k_sec.ds" sec.ds && cp "$k_other.ds" bogus.ds  # bogus.test is signed with another key than its anchor
) > "$T/keys.log" 2>&1 || { not_ok "test zones signed"; cat "$T/keys.log"; exit 1; }

port=$(free_port)
cat > "$d/unbound.conf" <<EOF
server:
  interface: 127.0.0.1
  port: $port
  do-ip6: no
  username: ""
  chroot: ""
  directory: "$d"
  pidfile: ""
  use-syslog: no
  logfile: "$d/unbound.log"
  verbosity: 1
  do-daemonize: no
  access-control: 127.0.0.0/8 allow
  module-config: "validator iterator"
  trust-anchor-file: "$d/sec.ds"
  trust-anchor-file: "$d/bogus.ds"
  local-zone: "test." nodefault
  qname-minimisation: no
  harden-dnssec-stripped: yes
auth-zone:
  name: "sec.test"
  zonefile: "$d/sec.test.zone.signed"
  for-upstream: yes
  for-downstream: no
auth-zone:
  name: "bogus.test"
  zonefile: "$d/bogus.test.zone.signed"
  for-upstream: yes
  for-downstream: no
auth-zone:
  name: "plain.test"
  zonefile: "$d/plain.test.zone"
  for-upstream: yes
  for-downstream: no
remote-control:
  control-enable: no
EOF
bg unbound -d -c "$d/unbound.conf"
wait_port "$port" 10 || { not_ok "unbound started"; cat "$d/unbound.log"; exit 1; }

new_root
route() { "$bin/mta-route" --log "file:$T/route.log" --hostname mail.ours.test --resolver "127.0.0.1:$port" --timeout 3 "$@"; }
expect() {
	name=$1 args=$2 want=$3
	# shellcheck disable=SC2086
	got=$(route $args 2>"$T/err")
	if [ "$got" = "$want" ]; then ok "$name"; else not_ok "$name"; echo "#   want: $want"; echo "#   got:  $got"; sed 's/^/#   /' "$T/err"; fi
}

expect "signed zone validated: tls=dane with the TLSA record" "sec.test" \
	"domain=sec.test kind=mx tls=dane host=mx.sec.test/25/10/203.0.113.60 tlsa=3/1/1/$tlsa"
expect "every MX host with TLSA: the records of all hosts" "both.sec.test" \
	"domain=both.sec.test kind=mx tls=dane host=mx.sec.test/25/10/203.0.113.60 host=mxb.sec.test/25/20/203.0.113.63 tlsa=3/1/1/$tlsa tlsa=2/0/1/$tlsa"
expect "one MX host without TLSA: opportunistic TLS for the route, DANE for the other host" "mixed.sec.test" \
	"domain=mixed.sec.test kind=mx tls=may host=mx.sec.test/25/10/203.0.113.60 host=mx2.sec.test/25/20/203.0.113.61 hosttls=mx.sec.test/dane hosttlsa=mx.sec.test/3/1/1/$tlsa"
expect "one MX host with unusable TLSA: mandatory TLS for the route, DANE for the other host" "mixed2.sec.test" \
	"domain=mixed2.sec.test kind=mx tls=encrypt host=mx.sec.test/25/10/203.0.113.60 host=mx3.sec.test/25/20/203.0.113.62 hosttls=mx.sec.test/dane hosttlsa=mx.sec.test/3/1/1/$tlsa"
route --json mixed.sec.test > "$T/json.out" 2>"$T/err"
check "--json: per-host TLS policies" /usr/bin/python3 -c '
import json, sys
r = json.loads(open(sys.argv[1]).read())
assert r["tls"] == "may", r
assert r["host_tls"] == [{"host": "mx.sec.test", "tls": "dane",
                          "tlsa": [{"usage": 3, "selector": 1, "mtype": 1, "data": sys.argv[2]}]}], r
' "$T/json.out" "$tlsa"
expect "secure answer without TLSA: no DANE" "notlsa.sec.test" \
	"domain=notlsa.sec.test kind=mx tls=may host=mx2.sec.test/25/10/203.0.113.61"
expect "only unusable TLSA records: mandatory TLS" "pkix.sec.test" \
	"domain=pkix.sec.test kind=mx tls=encrypt host=mx3.sec.test/25/10/203.0.113.62"
expect "unsigned zone: no AD bit, no DANE" "plain.test" \
	"domain=plain.test kind=mx tls=may host=mx.plain.test/25/10/203.0.113.80"
expect "signatures that do not validate: temporary 4.4.3" "bogus.test" \
	"domain=bogus.test kind=error result=temporary code=451 enhanced=4.4.3 text=DNS lookup failure: MX lookup of bogus.test: SERVFAIL"
expect "--no-dane ignores the secure answer" "--no-dane sec.test" \
	"domain=sec.test kind=mx tls=may host=mx.sec.test/25/10/203.0.113.60"
expect "--tls none is kept, no TLSA lookup" "--tls none sec.test" \
	"domain=sec.test kind=mx tls=none host=mx.sec.test/25/10/203.0.113.60"
printf 'sec.test - tls=verify\n' > "$T/routes"
expect "tls=verify in the routes file is kept over DANE" "--routes $T/routes sec.test" \
	"domain=sec.test kind=mx tls=verify host=mx.sec.test/25/10/203.0.113.60"
