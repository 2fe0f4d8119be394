# Stage programs for the mta-queue tests, written as scripts that keep the
# contracts of docs/contracts.md (sourced by queue_*_test.sh after lib.sh).
#
# stage_route: local.test is local; fail.test has no route (permanent);
# dnsfail.test a temporary DNS error; everything else goes to an MX.
# stage_deliver (both the mta-send and the mta-deliver shape): the local
# part decides: ok* delivered, temp* 451, perm* 550, silent* no result
# line, crash* kills the stage, later* temporary until $T/open exists.
# Every delivery is recorded in $STAGE_LOG and the message copied to
# $T/delivered/<id>.<rcpt>.

write_stages() {
	mkdir -p "$T/stages" "$T/delivered"
	cat > "$T/stages/route" <<'EOS'
#!/bin/sh
echo "route $*" >> "$STAGE_LOG.routes"
for d in "$@"; do
	case "$d" in
	local.test) echo "domain=$d kind=local" ;;
	fail.test) echo "domain=$d kind=error result=permanent code=550 enhanced=5.1.2 text=domain $d does not exist" ;;
	dnsfail.test) echo "domain=$d kind=error result=temporary code=451 enhanced=4.4.3 text=DNS lookup for $d timed out" ;;
	*) echo "domain=$d kind=mx tls=may host=mx.$d/25/10/127.0.0.1" ;;
	esac
done
EOS
	cat > "$T/stages/deliver" <<'EOS'
#!/bin/sh
me=$(basename "$0")
host=local
id=""; batch=""
out() { # id rcpt
	case "$2" in
	ok*) "$STAGE_QUEUE" cat "$1" > "$STAGE_DIR/delivered/$1.$2"
	     echo "$me $1 $2" >> "$STAGE_LOG"
	     printf 'result\t%s\t%s\tok\t250\t2.0.0\t%s\tqueued\n' "$1" "$2" "$host" ;;
	temp*) printf 'result\t%s\t%s\ttemporary\t451\t4.2.0\t%s\tmailbox busy, try later\n' "$1" "$2" "$host" ;;
	perm*) printf 'result\t%s\t%s\tpermanent\t550\t5.1.1\t%s\tno such user\n' "$1" "$2" "$host" ;;
	later*) if [ -e "$STAGE_DIR/open" ]; then
			echo "$me $1 $2" >> "$STAGE_LOG"
			printf 'result\t%s\t%s\tok\t250\t2.0.0\t%s\tqueued\n' "$1" "$2" "$host"
		else
			printf 'result\t%s\t%s\ttemporary\t421\t4.4.2\t%s\tconnection dropped\n' "$1" "$2" "$host"
		fi ;;
	crash*) kill -9 $$ ;;
	slow*) sleep 0.3; echo "$me $1 $2" >> "$STAGE_LOG"
	       printf 'result\t%s\t%s\tok\t250\t2.0.0\t%s\tqueued\n' "$1" "$2" "$host" ;;
	esac
}
while [ $# -gt 0 ]; do
	case "$1" in
	--route) host="mx[127.0.0.1]:25"; shift 2 ;;
	--batch) batch=1; shift ;;
	-f) shift 2 ;;
	--id) id=$2; shift 2 ;;
	*) break ;;
	esac
done
if [ -n "$batch" ]; then
	tab=$(printf '\t')
	echo "$me batch" >> "$STAGE_LOG.batches"
	while IFS="$tab" read -r mid sender rest; do
		for r in $(echo "$rest" | tr '\t' ' '); do out "$mid" "$r"; done
	done
else
	# the content: msg/ID, or the received env/ID (mta-spool(5))
	test -r "$MTA_ROOT/spool/msg/$id" || test -r "$MTA_ROOT/spool/env/$id" || { echo "no message $id" >&2; exit 66; }
	for r in "$@"; do out "$id" "$r"; done
fi
exit 0
EOS
	chmod +x "$T/stages/route" "$T/stages/deliver"
	STAGE_LOG=$T/stage.log
	STAGE_DIR=$T
	STAGE_QUEUE=$bin/mta-queue  # the content without the spool's trailer
	export STAGE_LOG STAGE_DIR STAGE_QUEUE
	: > "$STAGE_LOG"
}

# queue_root NAME: a fresh root whose mta-queue uses the stage scripts.
queue_root() {
	new_root "$1"
	cat > "$MTA_ROOT/etc/mta.conf" <<EOC
hostname = mx.test
log = file:$MTA_ROOT/mail.log
[mta-queue]
route-program = $T/stages/route
send-program = $T/stages/deliver
deliver-program = $T/stages/deliver
EOC
	"$bin/mta-queue" init
	SPOOL=$MTA_ROOT/spool
	LOG=$MTA_ROOT/mail.log
	: > "$LOG"
}

# put [spool_put.py options]: queue a small message, print its id.
put() {
	printf 'From: sender@example.com\nTo: rcpt@example.org\nSubject: test %s\nMessage-ID: <%s@example.com>\n\nHello.\n' \
		"$*" "$$.$(date +%s%N)" | /usr/bin/python3 "$top/tests/integration/spool_put.py" "$SPOOL" --arrival "${MTA_NOW:-$(date +%s)}" "$@"
}

# delivered ID RCPT: how many times the stage delivered RCPT of ID.
delivered() { grep -c " $1 $2\$" "$STAGE_LOG"; }
