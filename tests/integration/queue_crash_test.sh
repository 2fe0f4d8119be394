#!/bin/sh
# mta-queue killed (SIGKILL) before each durable step of a run that
# delivers local and remote recipients and bounces one, one step per run;
# then the queue is run again. Nothing acknowledged may be lost, no
# recipient left undelivered, no recipient delivered more than twice (one
# duplicate for the one crash), and the bounce is sent exactly once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/queue_stages.sh"
q="$bin/mta-queue"
write_stages
NOW=1800000000
export MTA_NOW=$NOW
OKS="ok1@example.org ok2@local.test ok3@example.org ok4@example.org ok5@local.test ok6@other.example"

setup() {
	queue_root "$1"
	STAGE_DIR=$MTA_ROOT
	STAGE_LOG=$MTA_ROOT/stage.log
	mkdir -p "$STAGE_DIR/delivered"
	: > "$STAGE_LOG"
	m1=$(put -f ok-sender@local.test -r ok1@example.org -r ok2@local.test -r perm1@example.org)
	m2=$(put -f ok-sender@local.test -r ok3@example.org -r ok4@example.org)
	m3=$(put -f ok-sender@local.test -r ok5@local.test -r ok6@other.example)
}

# Runs the queue until it is empty (bounded), then collects garbage as a
# later run would.
settle() {
	for i in 1 2 3 4; do "$q" run; done
	MTA_NOW=$((NOW + 2 * 86400)) "$q" recover > /dev/null
}

# verify LABEL: the invariants after a crash and a rerun.
verify() {
	bad=""
	for r in $OKS; do
		cnt=$(grep -c " $r\$" "$STAGE_LOG")
		[ "$cnt" -ge 1 ] || bad="$bad $r:lost"
		[ "$cnt" -le 2 ] || bad="$bad $r:$cnt-times"
	done
	bounces=$(grep -l "Final-Recipient: rfc822; perm1@example.org" "$STAGE_DIR"/delivered/*.ok-sender@local.test 2> /dev/null | wc -l)
	[ "$bounces" -eq 1 ] || bad="$bad bounces:$bounces"
	left=$(ls "$SPOOL/env" "$SPOOL/hold" "$SPOOL/msg" | grep -v -e : -e '^$' | wc -l)
	[ "$left" -eq 0 ] || bad="$bad left-in-spool:$left"
	[ -z "$bad" ]
}

# A clean run first: it must pass the same checks, and it counts the steps.
setup clean
MTA_FAULT_TRACE=$T/trace "$q" run
steps=$(wc -l < "$T/trace")
settle
check "clean run: every recipient once, one bounce, spool empty" verify
check "the run has durable steps to crash at ($steps)" test "$steps" -ge 10

failures=0
dups=0
n=1
while [ "$n" -le "$steps" ]; do
	setup "crash$n"
	(MTA_CRASH_AT=$n "$q" run; echo $? > "$T/rc") 2> /dev/null
	rc=$(cat "$T/rc")
	if [ "$rc" -ne 137 ]; then
		not_ok "crash at step $n: mta-queue was not killed (exit $rc)"
		failures=$((failures + 1))
	fi
	settle
	if ! verify; then
		not_ok "crash at step $n ($(sed -n "${n}p" "$T/trace" | cut -d' ' -f2)):$bad"
		failures=$((failures + 1))
	fi
	d=$(sort "$STAGE_LOG" | uniq -d | wc -l)
	dups=$((dups + d))
	n=$((n + 1))
done
check "killed at each of $steps steps: nothing lost, at most one duplicate, one bounce" test "$failures" -eq 0
echo "# $dups duplicate deliveries over $steps crashes"
