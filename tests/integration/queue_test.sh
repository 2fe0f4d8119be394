#!/bin/sh
# mta-queue with stage scripts that keep the contracts (docs/contracts.md):
# outcomes per recipient, logs, retries as time passes, expiry and the DSN
# Python's email parser reads back, no bounce to <>, NOTIFY, batching,
# crashed and hung stages, overlapping runs, and the queue commands.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/queue_stages.sh"
export TZ=UTC
q="$bin/mta-queue"
write_stages
NOW=1800000000
export MTA_NOW=$NOW

# --- 1. one pass: ok, temporary and permanent per recipient ---
queue_root outcomes
id=$(put -f ok-sender@local.test -r ok1@example.org -r temp1@example.org -r perm1@example.org -r ok2@local.test -r x@fail.test -r y@dnsfail.test)
"$q" run
check "run exits 0" test $? -eq 0
check "ok recipients delivered once (remote and local)" test "$(delivered "$id" ok1@example.org)$(delivered "$id" ok2@local.test)" = 11
check "envelope records sent, failed and pending" sh -c "grep -A1 '^rcpt <ok1@example.org>' '$SPOOL/env/$id' | grep -q 'state sent' &&
	grep -A1 '^rcpt <perm1@example.org>' '$SPOOL/env/$id' | grep -q 'state failed' &&
	grep -A1 '^rcpt <temp1@example.org>' '$SPOOL/env/$id' | grep -q 'state pending' &&
	grep -A1 '^rcpt <x@fail.test>' '$SPOOL/env/$id' | grep -q 'state failed'"
check "log: queue active line" grep -q "mta/qmgr\[[0-9]*\]: $id: from=<ok-sender@local.test>, size=[0-9]*, nrcpt=6 (queue active)" "$LOG"
check "log: sent line in Postfix's shape" grep -Eq "$id: to=<ok1@example.org>, relay=mx\[127.0.0.1\]:25, delay=[0-9.]+, delays=[0-9.]+/[0-9.]+/[0-9.]+/[0-9.]+, dsn=2.0.0, status=sent \(250 2.0.0 queued\)" "$LOG"
check "log: deferred line" grep -q "$id: to=<temp1@example.org>, .*dsn=4.2.0, status=deferred (451 4.2.0 mailbox busy, try later)" "$LOG"
check "log: bounced line" grep -q "$id: to=<perm1@example.org>, .*dsn=5.1.1, status=bounced (550 5.1.1 no such user)" "$LOG"
check "log: route error bounced without a stage run" grep -q "$id: to=<x@fail.test>, relay=none, .*dsn=5.1.2, status=bounced" "$LOG"
check "log: DNS trouble deferred" grep -q "$id: to=<y@dnsfail.test>, relay=none, .*dsn=4.4.3, status=deferred" "$LOG"
bid=$(sed -n "s/.*$id: sender non-delivery notification: \([0-9A-Z]*\)$/\1/p" "$LOG")
check "a bounce for the two failures is queued at once" test -n "$bid" -a -e "$SPOOL/env/$bid"
check "one mta-route run for all domains" test "$(wc -l < "$STAGE_LOG.routes")" = 1
"$q" list > "$T/list.out"
check "list shows the pending recipients under their reason" sh -c "grep -q '^$id ' '$T/list.out' && grep -q '(451 4.2.0 mailbox busy, try later)' '$T/list.out' && grep -q '^ *temp1@example.org\$' '$T/list.out' && ! grep -q 'ok1@example.org' '$T/list.out'"
check "list trailer" grep -Eq '^-- [0-9]+ Kbytes in 2 Requests\.$' "$T/list.out"
"$q" list --json > "$T/list.json"
check "list --json is JSON with postqueue's keys" /usr/bin/python3 -c "
import json,sys
rows=[json.loads(l) for l in open('$T/list.json')]
m=[r for r in rows if r['queue_id']=='$id'][0]
assert m['queue_name']=='deferred' and m['sender']=='ok-sender@local.test'
assert sorted(r['address'] for r in m['recipients'])==['temp1@example.org','y@dnsfail.test'], m"
"$q" show "$id" > "$T/show.out"
check "show: state, attempts, last reply, next attempt" sh -c "grep -q '^state: *deferred' '$T/show.out' && grep -q 'last reply:  451 4.2.0' '$T/show.out' && grep -q '^next attempt: ' '$T/show.out'"
"$q" show 0000000000000000000 > /dev/null 2>&1
check "show of a missing message exits 66" test $? -eq 66
"$q" show nonsense > /dev/null 2>&1
check "show of a bad id exits 64" test $? -eq 64

# --- 2. deferred, then delivered after time passes ---
queue_root retry
: > "$STAGE_LOG"
rm -f "$T/open"
id=$(put --env-alone -f ok-sender@local.test -r later@example.org)
check "received: env/ID alone, content first" sh -c "test ! -e '$SPOOL/msg/$id' && \"$q\" cat '$id' | grep -q '^Subject: '"
"$q" cat "$id" > "$T/content.before"
"$q" run
check "the first deferral names the content msg/ID and gives the envelope a file of its own" sh -c \
	"test \$(stat -c %h '$SPOOL/msg/$id') = 1 && test \$(stat -c %h '$SPOOL/env/$id') = 1 && ! grep -q '^Subject: ' '$SPOOL/env/$id' && \"$q\" cat '$id' | cmp -s - '$T/content.before'"
next=$(sed -n 's/^next //p' "$SPOOL/env/$id")
check "first deferral waits 5 minutes" test "$next" -eq $((NOW + 300))
check "mtime is the next attempt" test "$(stat -c %Y "$SPOOL/env/$id")" -eq $((NOW + 300))
touch "$T/open"
MTA_NOW=$((NOW + 299)) "$q" run
check "not retried before it is due" test "$(grep -c "to=<later@example.org>" "$LOG")" = 1
MTA_NOW=$((NOW + 300)) "$q" run
check "retried and delivered when due" test "$(delivered "$id" later@example.org)" = 1
check "then removed from the spool" sh -c "test ! -e '$SPOOL/env/$id' && test ! -e '$SPOOL/msg/$id' && grep -q '$id: removed' '$LOG'"

# --- 2b. a received file that a power cut left half written: held ---
# The footer's checksum is checked for a file written in an earlier boot
# (docs/spool.md): one whose boot id is not this boot's and whose content
# no longer matches is held, not delivered; one that matches is delivered.
queue_root torn
: > "$STAGE_LOG"
# receive SUBJECT: queues a message through sendmail (the real receipt) and
# prints its id.
receive() {
	printf 'Subject: %s\n\nHello.\n' "$1" | "$bin/sendmail" -f sender@local.test ok@example.org &&
		grep -l "^Subject: $1\$" "$SPOOL"/env/* | xargs -n1 basename
}
# from_earlier_boot ID [OLD NEW]: the footer's boot id made another boot's,
# and OLD replaced by NEW in the content (as a power cut may leave it).
from_earlier_boot() {
	/usr/bin/python3 - "$SPOOL/env/$1" "${2:-}" "${3:-}" <<'EOF'
import sys
path, old, new = sys.argv[1:4]
data = open(path, "rb").read()
body, footer = data[:-1].rsplit(b"\n", 1)
fields = footer.split(b" ")
assert fields[0] == b"envelope-at" and fields[2] == b"xxh64" and fields[4] == b"boot", footer
fields[5] = b"0" * 32
if old:
    assert old.encode() in body
    body = body.replace(old.encode(), new.encode(), 1)
with open(path, "r+b") as f:
    f.write(body + b"\n" + b" ".join(fields) + b"\n")
EOF
}
whole=$(receive whole)
torn=$(receive torn)
check "a received file ends with the sealed footer" \
	grep -Eq '^envelope-at [0-9]{20} xxh64 [0-9a-f]{16} boot [0-9a-f]{32}$' "$SPOOL/env/$whole"
from_earlier_boot "$whole"
from_earlier_boot "$torn" Hello. Jello.
"$q" run
check "the one whose checksum matches is delivered" test "$(delivered "$whole" ok@example.org)" = 1
check "the torn one is not delivered" test "$(delivered "$torn" ok@example.org)" = 0
check "the torn one is held" sh -c "test -e '$SPOOL/hold/$torn' && test ! -e '$SPOOL/env/$torn'"
check "log: the torn one's error" grep -q "$torn: the received file fails its checksum" "$LOG"
"$q" release "$torn" > /dev/null 2>&1
"$q" run
check "released, it is held again, never delivered" sh -c "test -e '$SPOOL/hold/$torn' && test \$(grep -c '$torn: to=' '$LOG') = 0"
# A cut that left the file without its footer and envelope: held once
# (not read again at every pass), never delivered.
cut=$(receive cut)
/usr/bin/python3 - "$SPOOL/env/$cut" <<'EOF'
import sys
data = open(sys.argv[1], "rb").read()
open(sys.argv[1], "wb").write(data[:data.index(b"Hello.") + 7])
EOF
"$q" run
"$q" run
check "a file without its envelope is held, not delivered" \
	sh -c "test -e '$SPOOL/hold/$cut' && test ! -e '$SPOOL/env/$cut' && test \$(grep -c '$cut: to=' '$LOG') = 0"
check "log: its error, once" test "$(grep -c "$cut: the file has neither its trailer nor an envelope (.*; held, not delivered" "$LOG")" = 1
"$q" list > "$T/out" 2> "$T/err"
check "list shows it, held and damaged, with the reason, and nothing on stderr" \
	sh -c "grep -q '^$cut! .* (damaged)\$' '$T/out' && grep -q '^ *(envelope: .*)\$' '$T/out' && ! grep -q 'queue is empty' '$T/out' && test ! -s '$T/err'"
"$q" list --json > "$T/out"
check "list --json shows it, with the reason" \
	grep -q "\"queue_name\":\"hold\",\"queue_id\":\"$cut\",\"message_size\":[0-9]*,\"modified\":[0-9]*,\"damaged\":\"envelope: " "$T/out"
check "stats counts it as damaged" sh -c "'$q' stats | grep -qx 'damaged: 1'"
"$q" release "$cut" 2> "$T/err"
check "release of it: 65, says it is damaged" sh -c "test $? = 65 && grep -q 'is damaged' '$T/err'"
"$q" delete "$cut"
check "delete removes it" sh -c "test $? = 0 && test ! -e '$SPOOL/hold/$cut'"
# A broken envelope beside its content (msg/ID): held by a run, refused by
# release, requeue and bounce, deleted; requeue of all passes over one.
broken=$(put -f sender@local.test -r ok@example.org)
other=$(put -f sender@local.test -r later11@example.org --next $((NOW + 3600)))
printf 'not an envelope\n' > "$SPOOL/env/.broken" && mv "$SPOOL/env/.broken" "$SPOOL/env/$broken"
"$q" run
check "a broken envelope is held, not delivered" \
	sh -c "test -e '$SPOOL/hold/$broken' && test \$(grep -c '$broken: to=' '$LOG') = 0 && grep -q '$broken: its envelope cannot be read: .*; held, not delivered' '$LOG'"
for c in release requeue bounce; do
	"$q" $c "$broken" 2> "$T/err"
	check "$c of it: 65, says it is damaged" sh -c "test $? = 65 && grep -q 'is damaged' '$T/err' && test -e '$SPOOL/hold/$broken'"
done
broken2=$(put -f sender@local.test -r ok@example.org --next $((NOW + 3600)))
printf 'not an envelope\n' > "$SPOOL/env/.broken" && mv "$SPOOL/env/.broken" "$SPOOL/env/$broken2"
"$q" requeue > "$T/out" 2> /dev/null
check "requeue of all passes over a broken one not yet held and requeues the others" \
	sh -c "grep -q '^1 message requeued' '$T/out' && test \$(sed -n 's/^next //p' '$SPOOL/env/$other') -le $NOW"
"$q" delete "$broken"
check "delete removes it, content too" sh -c "test $? = 0 && test ! -e '$SPOOL/hold/$broken' && test ! -e '$SPOOL/msg/$broken'"
"$q" delete "$broken2"

# --- 3. the backoff grows; expiry returns the message with a DSN ---
queue_root expiry
rm -f "$T/open"
id=$(put -f alice@example.com -r later@example.org:FAILURE:rfc822\;Later+2Bx@example.org -r perm2@example.org --envid ENV77)
"$q" run
first=$(sed -n "s/.*$id: sender non-delivery notification: \([0-9A-Z]*\)$/\1/p" "$LOG")
f=$(queued_content "$SPOOL" "$first")
check "the first DSN has no Original-Recipient (no ORCPT given)" sh -c "grep -q 'Final-Recipient: rfc822; perm2@example.org' '$f' && ! grep -q 'Original-Recipient' '$f'"
t=$NOW
for i in 2 3 4 5; do
	t=$(sed -n 's/^next //p' "$SPOOL/env/$id")
	MTA_NOW=$t "$q" run
done
check "five attempts, the last ones at least 30 minutes apart" sh -c "test \$(sed -n 's/^attempts //p' '$SPOOL/env/$id') -eq 5"
t=$(sed -n 's/^next //p' "$SPOOL/env/$id")
check "the third retry waits for the end of the first hour" test "$t" -ge $((NOW + 3600 + 30 * 60))
MTA_NOW=$((NOW + 5 * 86400)) "$q" run
check "expired message is returned and removed" sh -c "grep -q '$id: from=<alice@example.com>, status=expired, returned to sender' '$LOG' && test ! -e '$SPOOL/env/$id'"
bids=$(sed -n "s/.*$id: sender non-delivery notification: \([0-9A-Z]*\)$/\1/p" "$LOG")
check "two notifications: the permanent failure at once, the expiry later" test "$(echo "$bids" | wc -l)" = 2
bid=$(echo "$bids" | tail -1)
"$q" cat "$bid" > "$T/dsn.$bid"
check "the expiry DSN parses as multipart/report with the right fields" /usr/bin/python3 - "$T/dsn.$bid" "$id" <<'EOP'
import email, sys
from email import policy
m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=policy.default)
assert m.get_content_type() == 'multipart/report', m.get_content_type()
assert m.get_param('report-type') == 'delivery-status'
assert m['Auto-Submitted'] == 'auto-replied'
assert 'alice@example.com' in m['To'], m['To']
parts = list(m.iter_parts())
assert [p.get_content_type() for p in parts] == ['text/plain', 'message/delivery-status', 'message/rfc822'], [p.get_content_type() for p in parts]
groups = parts[1].get_payload()
per_msg, rcpts = groups[0], groups[1:]
assert per_msg['Reporting-MTA'] == 'dns; mx.test'
assert per_msg['Original-Envelope-Id'] == 'ENV77'
assert per_msg['Arrival-Date']
assert len(rcpts) == 1, len(rcpts)
r = rcpts[0]
assert r['Final-Recipient'] == 'rfc822; later@example.org', r['Final-Recipient']
assert r['Original-Recipient'] == 'rfc822; Later+x@example.org', r['Original-Recipient']
assert r['Action'] == 'failed'
assert r['Status'] == '5.4.7', r['Status']
assert 'connection dropped' in r['Diagnostic-Code'], r['Diagnostic-Code']
assert r['Remote-MTA'] == 'dns; mx'
orig = parts[2].get_payload()[0]
assert orig['Subject'].startswith('test'), orig['Subject']
EOP
envsender=$(sed -n 's/^sender //p' "$SPOOL/env/$bid")
check "the DSN is queued from <> to the sender" sh -c "test '$envsender' = '<>' && grep -q '^rcpt <alice@example.com>' '$SPOOL/env/$bid'"

# --- 4. never a bounce to <> ---
queue_root nullsender
id=$(put -f "" -r perm3@example.org -r temp3@example.org)
"$q" run
MTA_NOW=$((NOW + 6 * 86400)) "$q" run
check "a message from <> that fails is removed without a bounce" sh -c "test ! -e '$SPOOL/env/$id' && test -z \"\$(ls '$SPOOL/env')\" && ! grep -q 'notification: ' '$LOG'"
check "and the log says so" grep -q "$id: sender is <>: no non-delivery notification" "$LOG"

# --- 5. NOTIFY ---
queue_root notify
id=$(put -f ok-sender@local.test -r perm4@example.org:NEVER -r ok4@local.test:SUCCESS,FAILURE)
"$q" run
check "NOTIFY=NEVER: no bounce; NOTIFY=SUCCESS: a delivery report" sh -c "grep -q '$id: sender delivery status notification: ' '$LOG' && ! grep -q '$id: sender non-delivery' '$LOG'"
bid=$(sed -n "s/.*$id: sender delivery status notification: \([0-9A-Z]*\)$/\1/p" "$LOG")
f=$(queued_content "$SPOOL" "$bid")
check "the success report says delivered for ok4 only" sh -c "grep -q 'Action: delivered' '$f' && ! grep -q 'Final-Recipient: rfc822; perm4' '$f' && grep -q 'text/rfc822-headers' '$f'"

# --- 5b. the delay warning, when configured: once, with Action: delayed ---
queue_root delay
rm -f "$T/open"
id=$(put -f alice@example.com -r later8@example.org)
"$q" --delay-warning 4h run
check "no warning before the delay-warning time" sh -c "! grep -q 'delay notification' '$LOG'"
MTA_NOW=$((NOW + 4 * 3600)) "$q" --delay-warning 4h run
MTA_NOW=$((NOW + 9 * 3600)) "$q" --delay-warning 4h run
check "one delay warning after 4 hours" test "$(grep -c "$id: sender delay notification: " "$LOG")" = 1
wid=$(sed -n "s/.*$id: sender delay notification: \([0-9A-Z]*\)$/\1/p" "$LOG")
f=$(queued_content "$SPOOL" "$wid")
check "the warning says delayed, with Will-Retry-Until, headers only" sh -c "grep -q '^Action: delayed' '$f' && grep -q '^Will-Retry-Until: ' '$f' && grep -q 'text/rfc822-headers' '$f' && grep -q '^Status: 4.4.2' '$f'"
check "the message is still queued" test -e "$SPOOL/env/$id"
# A warning to a UTF-8 sender is queued with SMTPUTF8, as a bounce is.
queue_root delayutf8
id=$(put -f 'alïce@example.com' --smtputf8 -r later9@example.org)
"$q" --delay-warning 4h run
MTA_NOW=$((NOW + 4 * 3600)) "$q" --delay-warning 4h run
wid=$(sed -n "s/.*$id: sender delay notification: \([0-9A-Z]*\)$/\1/p" "$LOG")
check "a warning to a UTF-8 sender is queued with SMTPUTF8" sh -c "test -n '$wid' && grep -qx 'smtputf8 yes' '$SPOOL/env/$wid'"

# --- 6. several messages to one route share one mta-send --batch run, ---
# --- and their local recipients one mta-deliver --batch run (too few to spread) ---
queue_root batch
: > "$STAGE_LOG"; rm -f "$STAGE_LOG.batches"
for i in 1 2 3 4; do put -f ok-sender@local.test -r ok$i@batch.example -r ok$i@local.test > /dev/null; done
"$q" run
check "four messages, one batch run to the route and one local" test "$(cat "$STAGE_LOG.batches" 2>/dev/null | wc -l)" = 2
check "every recipient delivered once" test "$(grep -c batch.example "$STAGE_LOG")" = 4 -a "$(grep -c local.test "$STAGE_LOG")" = 4
check "the spool is empty" test -z "$(ls "$SPOOL/env" "$SPOOL/msg" | grep -v :)"

# --- 7. a stage that crashes, prints nothing, or hangs: temporary ---
queue_root broken
id=$(put -f ok-sender@local.test -r crash@example.org -r silent@example.net)
"$q" run
check "killed stage: deferred" grep -q "$id: to=<crash@example.org>, .*status=deferred (.*killed by signal 9" "$LOG"
check "no result line: deferred" grep -q "$id: to=<silent@example.net>, .*status=deferred (.*gave no result" "$LOG"
cat > "$T/stages/hang" <<'EOS'
#!/bin/sh
sleep 60
EOS
chmod +x "$T/stages/hang"
start=$(date +%s)
MTA_NOW=$((NOW + 3600)) "$q" --send-program "$T/stages/hang" --send-timeout 1 run
check "hung stage: killed at its time limit, deferred" sh -c "test $(( $(date +%s) - start )) -lt 10 && grep -q 'timed out after 1s' '$LOG'"
MTA_NOW=$((NOW + 7200)) "$q" --send-program /nonexistent/mta-send run
check "missing stage program: deferred" grep -q "could not be started" "$LOG"

# --- 8. two overlapping runs never deliver a message twice ---
queue_root overlap
: > "$STAGE_LOG"
for i in $(seq 1 12); do put -f ok-sender@local.test -r slow$i@local.test -r slow$i@o.example > /dev/null; done
"$q" --concurrency 2 run & p1=$!
"$q" --concurrency 2 run & p2=$!
"$q" --concurrency 2 run
wait $p1 $p2
"$q" run
check "24 deliveries, none twice" sh -c "test \$(wc -l < '$STAGE_LOG') = 24 && test -z \"\$(sort '$STAGE_LOG' | uniq -d)\""

# --- 8a. concurrency limits: in total and per destination ---
queue_root limits
cat > "$T/stages/conc" <<'EOS'
#!/bin/sh
# Records how many runs are active, in total and for this route's domain.
d=$(echo "$2" | sed 's/^domain=\([^ ]*\).*/\1/')
mkdir -p "$STAGE_DIR/active"
touch "$STAGE_DIR/active/$$.$d"
echo "$(ls "$STAGE_DIR/active" | wc -l) $(ls "$STAGE_DIR/active" | grep -c "\.$d\$")" >> "$STAGE_DIR/conc.log"
sleep 0.3
rm -f "$STAGE_DIR/active/$$.$d"
tab=$(printf '\t')
while IFS="$tab" read -r id sender rest; do
	for r in $(echo "$rest" | tr '\t' ' '); do printf 'result\t%s\t%s\tok\t250\t2.0.0\t-\tok\n' "$id" "$r"; done
done
shift 6 2> /dev/null
for r in "$@"; do printf 'result\t-\t%s\tok\t250\t2.0.0\t-\tok\n' "$r"; done
EOS
chmod +x "$T/stages/conc"
rm -f "$T/conc.log"
for i in 1 2 3 4; do put -f ok-sender@local.test -r a$i@one.example -r b$i@two.example -r c$i@three.example > /dev/null; done
"$q" --send-program "$T/stages/conc" --batch-limit 1 --concurrency 2 --destination-concurrency 1 run
check "twelve stage runs" test "$(wc -l < "$T/conc.log")" = 12
check "never more than 2 at once, never 2 for one destination" awk '$1 > 2 || $2 > 1 { exit 1 }' "$T/conc.log"
check "but more than one at once" awk '$1 == 2 { found = 1 } END { exit !found }' "$T/conc.log"
check "the messages are finished" test -z "$(ls "$SPOOL/env")"

# --- 8b. run --loop repeats the pass ---
queue_root loop
: > "$STAGE_LOG"
: > "$STAGE_LOG.routes"
id=$(put -f ok-sender@local.test -r ok9@example.org)
# An envelope whose content was removed by hand: due in every pass.
gone=$(put -f ok-sender@local.test -r ok99@example.org)
rm "$SPOOL/msg/$gone"
bg "$q" run --loop 1
sleep 1.5
id2=$(put -f ok-sender@local.test -r ok10@example.org)
i=0
while [ "$i" -lt 50 ] && [ "$(delivered "$id2" ok10@example.org)" != 1 ]; do sleep 0.1; i=$((i + 1)); done
kill "$last_pid"
check "run --loop delivers what arrives later" test "$(delivered "$id" ok9@example.org)$(delivered "$id2" ok10@example.org)" = 11
check "run --loop warns once of a message whose content is gone, however many passes" \
	test "$(grep -c "$gone: the content (msg/$gone) is gone" "$LOG")" = 1
"$q" delete "$gone" > /dev/null
check "the second pass uses the first one's route (--route-cache 30)" test "$(grep -cF ' example.org' "$STAGE_LOG.routes")" = 1
# --route-cache 0 asks in every pass; a temporary error is asked again anyway.
: > "$STAGE_LOG.routes"
put -f ok-sender@local.test -r ok13@example.org -r x@dnsfail.test > /dev/null
bg "$q" --route-cache 0 run --loop 1
sleep 1.5
put -f ok-sender@local.test -r ok14@example.org -r y@dnsfail.test > /dev/null
i=0
while [ "$i" -lt 50 ] && [ "$(grep -c ' ok14@example.org$' "$STAGE_LOG")" != 1 ]; do sleep 0.1; i=$((i + 1)); done
kill "$last_pid"
check "--route-cache 0: the route asked in each pass" test "$(grep -cF ' example.org' "$STAGE_LOG.routes")" = 2
: > "$STAGE_LOG.routes"
put -f ok-sender@local.test -r ok15@example.org -r x@dnsfail.test > /dev/null
bg "$q" run --loop 1
sleep 1.5
put -f ok-sender@local.test -r ok16@example.org -r y@dnsfail.test > /dev/null
i=0
while [ "$i" -lt 50 ] && [ "$(grep -c ' ok16@example.org$' "$STAGE_LOG")" != 1 ]; do sleep 0.1; i=$((i + 1)); done
kill "$last_pid"
check "a temporary route error is asked again in the next pass, the good route is not" \
	test "$(grep -cF ' dnsfail.test' "$STAGE_LOG.routes")$(grep -cF ' example.org' "$STAGE_LOG.routes")" = 21

# --- 8c. run --loop wakes when a message is queued (spool/trigger) ---
queue_root trigger
: > "$STAGE_LOG"
check "init makes the trigger FIFO, mode 0600" sh -c "test -p '$SPOOL/trigger' && test \"\$(stat -c %a '$SPOOL/trigger')\" = 600"
bg "$q" run --loop 300
loop_pid=$last_pid
sleep 1  # its first pass (nothing due) is over
printf 'Subject: wake\n\nup\n' | "$bin/sendmail" -f ok-sender@local.test ok11@example.org
# (By queue id it would race: the message may be gone from env/ already.)
i=0
while [ "$i" -lt 100 ] && [ "$(grep -c ' ok11@example.org$' "$STAGE_LOG")" != 1 ]; do sleep 0.1; i=$((i + 1)); done
check "run --loop 300 delivers a message queued by sendmail at once (after $i tenths of a second)" test "$i" -lt 100
kill "$loop_pid"
queue_root notrigger
rm "$SPOOL/trigger"
printf 'Subject: no fifo\n\nx\n' | "$bin/sendmail" -f ok-sender@local.test ok12@example.org
check "without the FIFO, sendmail still queues (the trigger is only a hint)" test "$(ls "$SPOOL/env" | wc -l)" = 1
"$q" init
check "init on an existing spool adds the FIFO" test -p "$SPOOL/trigger"

# --- 9. the queue commands ---
queue_root commands
a=$(put -f ok-sender@local.test -r temp5@example.org)
b=$(put -f ok-sender@local.test -r temp6@example.org)
c=$(put -f ok-sender@local.test -r later7@example.org)
"$q" hold "$a"
check "hold moves the envelope to hold/" test -e "$SPOOL/hold/$a" -a ! -e "$SPOOL/env/$a"
"$q" list | grep -q "^$a!" ; check "list marks it with !" test $? -eq 0
"$q" run
check "a held message is not tried" sh -c "! grep -q '$a: to=' '$LOG'"
"$q" release "$a"
check "release brings it back" test -e "$SPOOL/env/$a"
"$q" delete "$b"
check "delete removes it and logs" sh -c "test ! -e '$SPOOL/env/$b' -a ! -e '$SPOOL/msg/$b' && grep -q '$b: removed' '$LOG'"
"$q" delete "$b" 2> /dev/null
check "deleting it again exits 66" test $? -eq 66
touch "$T/open"
"$q" flush --domain example.org
check "flush --domain delivers the waiting message now" test "$(delivered "$c" later7@example.org)" = 1
"$q" bounce "$a"
check "bounce returns it to the sender now" sh -c "grep -q '$a: sender non-delivery notification' '$LOG' && test ! -e '$SPOOL/env/$a'"
"$q" stats > "$T/stats.out"
check "stats counts messages by state" sh -c "grep -q '^messages: ' '$T/stats.out' && grep -q '^hold: 0' '$T/stats.out'"
"$q" requeue > /dev/null
check "requeue resets the backoff" sh -c "for f in '$SPOOL'/env/*; do grep -q '^attempts 0' \"\$f\" || exit 1; done"
"$q" recover > "$T/recover.out"
check "recover reports what it removed" grep -q "removed 0 temporary files" "$T/recover.out"
rm -rf "$T/nospool"
"$q" --spool "$T/nospool" list > /dev/null 2>&1
check "a missing spool is a configuration error (78)" test $? -eq 78
