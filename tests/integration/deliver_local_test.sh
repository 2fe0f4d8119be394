#!/bin/sh
# mta-deliver into mbox files, commands and the spool (forwards), and its
# refusals: parallel writers, held locks, symbolic and hard links, FIFOs,
# mail loops, unknown users.
. "$(dirname "$0")/lib.sh"

new_root
chmod 755 "$T"
if [ "$(id -u)" = 0 ]; then
	owner=5001:5001 ouid=5001
else
	owner="" ouid=$(id -u)
fi
M=$T/mail
mkdir -p "$M/box" "$M/md" "$T/pipe" "$T/other"
[ -n "$owner" ] && chown "$owner" "$M/box" "$M/md"
chmod 1777 "$T/pipe"
cat > "$MTA_ROOT/etc/virtual" <<V
box@example.test     $M/box/mbox          $owner
md@example.test      $M/md/Maildir/       $owner
V
cat > "$MTA_ROOT/etc/aliases" <<A
postmaster: box@example.test
p0: "|id -u > $T/pipe/uid; env > $T/pipe/env; cat > $T/pipe/out0"
p75: "|cat >/dev/null; exit 75"
p1: "|exit 1"
pcode4: "|echo '4.2.2 mailbox is full'; exit 1"
pcode5: "|echo '5.7.1 not welcome here'; exit 75"
fwd: someone@remote.example, other@remote.example
list: box@example.test, md@example.test, box@example.test
A
printf 'example.test\n' > "$MTA_ROOT/etc/local-domains"
mkdir -p "$MTA_ROOT/spool/msg" "$MTA_ROOT/spool/env" "$MTA_ROOT/spool/hold"
deliver() { "$bin/mta-deliver" --log "file:$T/mail.log" "$@"; }
field() { printf '%s\n' "$1" | awk -F '\t' -v n="$2" 'NR == 1 { print $n }'; }

# --- mbox: two writers in parallel, many messages each -----------------
writer() {
	i=0
	while [ "$i" -lt 40 ]; do
		printf 'Subject: w%s-%s\nX-Writer: %s\n\nmessage %s of writer %s\nFrom a line that needs quoting\n' \
			"$1" "$i" "$1" "$i" "$1" | deliver -f "w$1@example.org" box@example.test > /dev/null || echo "fail $1 $i"
		i=$((i + 1))
	done > "$T/writer$1.out"
}
writer 1 &
w1=$!
writer 2 &
w2=$!
wait $w1 $w2
check "two parallel writers x 40 messages: every delivery ok" sh -c "! test -s '$T/writer1.out' && ! test -s '$T/writer2.out'"
check "the mbox parses (Python mailbox) into 80 intact messages" /usr/bin/python3 - "$M/box/mbox" <<'PY'
import mailbox, sys
box = mailbox.mbox(sys.argv[1], create=False)
seen = set()
for msg in box:
    s = msg["Subject"]
    w, i = s[1:].split("-")
    assert msg["X-Writer"] == w, s
    assert msg["Return-Path"] == "<w%s@example.org>" % w, msg["Return-Path"]
    assert msg["Delivered-To"] == "box@example.test"
    assert msg.get_from().startswith("w%s@example.org " % w), msg.get_from()
    body = msg.get_payload()
    assert body == "message %s of writer %s\n>From a line that needs quoting\n" % (i, w), repr(body)
    seen.add(s)
assert len(seen) == 80 and len(box) == 80, (len(seen), len(box))
PY
check "the mbox belongs to the mailbox owner, mode 0600, no lock left" sh -c \
	"test \"\$(stat -c %u:%a '$M/box/mbox')\" = '$ouid:600' && ! test -e '$M/box/mbox.lock'"

# --- held locks ---------------------------------------------------------
size=$(stat -c %s "$M/box/mbox")
/usr/bin/python3 - "$M/box/mbox" "$T/locked" <<'PY' &
import fcntl, sys, time, os
f = open(sys.argv[1], "a")
fcntl.lockf(f, fcntl.LOCK_EX)
open(sys.argv[2], "w").close()
time.sleep(4)
PY
locker=$!
i=0
while [ ! -e "$T/locked" ] && [ "$i" -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
out=$(printf 'Subject: blocked\n\nx\n' | deliver --lock-timeout 1 -f a@example.org box@example.test)
rc=$?
kill "$locker" 2>/dev/null
wait "$locker" 2>/dev/null
check "an fcntl lock held too long: temporary failure, exit 75" \
	sh -c "test $rc = 75 && test '$(field "$out" 4)' = temporary"
check "... and the mbox is unchanged" test "$(stat -c %s "$M/box/mbox")" = "$size"
echo 1 > "$M/box/mbox.lock"
out=$(printf 'Subject: blocked\n\nx\n' | deliver --lock-timeout 1 -f a@example.org box@example.test)
rc=$?
rm -f "$M/box/mbox.lock"
check "a dot-lock held too long: temporary failure, exit 75, mbox unchanged" \
	sh -c "test $rc = 75 && test '$(field "$out" 4)' = temporary && test $(stat -c %s "$M/box/mbox") = $size"

# --- attacks ------------------------------------------------------------
echo "victim" > "$T/other/victim"
[ -n "$owner" ] && chown "$owner" "$T/other/victim"
victim() { test "$(cat "$T/other/victim")" = victim && test "$(stat -c %h "$T/other/victim")" -le 2; }
mv "$M/box/mbox" "$M/box/mbox.saved"
ln -s "$T/other/victim" "$M/box/mbox"
out=$(printf 'Subject: evil\n\nx\n' | deliver -f a@example.org box@example.test)
rc=$?
check "an mbox that is a symbolic link is refused, its target unchanged" \
	sh -c "test $rc = 75 && test '$(field "$out" 4)' = temporary && test \"\$(cat '$T/other/victim')\" = victim"
rm "$M/box/mbox"
ln "$T/other/victim" "$M/box/mbox"
out=$(printf 'Subject: evil\n\nx\n' | deliver -f a@example.org box@example.test)
rc=$?
check "a hard-linked mbox is refused, the file unchanged" \
	sh -c "test $rc = 75 && test \"\$(cat '$T/other/victim')\" = victim"
rm "$M/box/mbox"
mkfifo "$M/box/mbox"
out=$(printf 'Subject: evil\n\nx\n' | timeout 20 "$bin/mta-deliver" --log "file:$T/mail.log" -f a@example.org box@example.test)
rc=$?
check "a FIFO as mbox is refused (temporary), without hanging" sh -c "test $rc = 75"
rm "$M/box/mbox"
mv "$M/box/mbox.saved" "$M/box/mbox"

printf 'Subject: first\n\nx\n' | deliver -f a@example.org md@example.test > /dev/null
rm -rf "$M/md/Maildir/tmp"
ln -s "$T/other" "$M/md/Maildir/tmp"
[ -n "$owner" ] && chown -h "$owner" "$M/md/Maildir/tmp"
out=$(printf 'Subject: evil\n\nx\n' | deliver -f a@example.org md@example.test)
rc=$?
check "Maildir tmp/ replaced by a symbolic link: refused, target directory unchanged" \
	sh -c "test $rc = 75 && test '$(field "$out" 4)' = temporary && test \"\$(ls '$T/other')\" = victim"
rm "$M/md/Maildir/tmp"
mkdir "$M/md/Maildir/tmp"
[ -n "$owner" ] && chown "$owner" "$M/md/Maildir/tmp"
chmod 700 "$M/md/Maildir/tmp"
mv "$M/md/Maildir/new" "$M/md/Maildir/new.saved"
ln -s "$T/other" "$M/md/Maildir/new"
[ -n "$owner" ] && chown -h "$owner" "$M/md/Maildir/new"
out=$(printf 'Subject: evil\n\nx\n' | deliver -f a@example.org md@example.test)
rc=$?
check "Maildir new/ replaced by a symbolic link: refused, target directory unchanged, tmp/ clean" \
	sh -c "test $rc = 75 && test \"\$(ls '$T/other')\" = victim && test -z \"\$(ls -A '$M/md/Maildir/tmp')\""
rm "$M/md/Maildir/new"
mv "$M/md/Maildir/new.saved" "$M/md/Maildir/new"
check "Maildir works again once repaired" sh -c \
	"printf 'Subject: ok\n\nx\n' | '$bin/mta-deliver' --log 'file:$T/mail.log' -f a@example.org md@example.test >/dev/null && test \$(ls '$M/md/Maildir/new' | wc -l) = 2"

# --- commands -----------------------------------------------------------
out=$(printf 'Subject: to a pipe\n\nbody\n' | deliver -f sender@example.org p0+ext@example.test)
rc=$?
check "|command exit 0: ok, exit 0" sh -c "test $rc = 0 && test '$(field "$out" 4)' = ok"
check "|command gets Return-Path, Delivered-To and the message on stdin" \
	sh -c "printf 'Return-Path: <sender@example.org>\nDelivered-To: p0+ext@example.test\nSubject: to a pipe\n\nbody\n' | cmp - '$T/pipe/out0'"
check "|command environment: SENDER, RECIPIENT, EXTENSION, USER, HOME, clean PATH" \
	sh -c "grep -qx 'SENDER=sender@example.org' '$T/pipe/env' && grep -qx 'RECIPIENT=p0+ext@example.test' '$T/pipe/env' &&
	grep -qx 'EXTENSION=ext' '$T/pipe/env' && grep -q '^USER=' '$T/pipe/env' && grep -q '^HOME=' '$T/pipe/env' &&
	grep -qx 'PATH=/usr/local/bin:/usr/bin:/bin' '$T/pipe/env' && ! grep -q '^MTA_ROOT=' '$T/pipe/env'"
if [ "$(id -u)" = 0 ]; then
	check "|command from a root-owned aliases file runs as nobody, not root" test "$(cat "$T/pipe/uid")" = "$(id -u nobody)"
fi
pipe_case() {  # name rcpt outcome code enhanced exit
	out=$(printf 'Subject: x\n\ny\n' | deliver -f a@example.org "$2")
	rc=$?
	check "$1" sh -c "test '$(field "$out" 4) $(field "$out" 5) $(field "$out" 6) $rc' = '$3 $4 $5 $6'" || echo "# $out"
}
pipe_case "|command exit 75: temporary 451 4.3.0, exit 75" p75@example.test temporary 451 4.3.0 75
pipe_case "|command exit 1: permanent 554 5.3.0, exit 69" p1@example.test permanent 554 5.3.0 69
pipe_case "|command printing 4.2.2 and exit 1: temporary 4.2.2" pcode4@example.test temporary 450 4.2.2 75
pipe_case "|command printing 5.7.1 and exit 75: permanent 5.7.1, exit 77" pcode5@example.test permanent 550 5.7.1 77

# --- aliases: duplicates, forwards, loops, unknown users ---------------
before=$(grep -c '^From ' "$M/box/mbox")
out=$(printf 'Subject: to the list\n\nx\n' | deliver -f a@example.org list@example.test)
check "an alias naming a mailbox twice delivers once" \
	sh -c "test '$(field "$out" 4)' = ok && test \$(grep -c '^From ' '$M/box/mbox') = $((before + 1))"
out=$(printf 'Subject: postmaster\n\nx\n' | deliver -f a@example.org PostMaster)
check "bare Postmaster resolves (through its alias)" test "$(field "$out" 4)" = ok

out=$(printf 'Subject: forwarded\n\nforward me\n' | deliver -f orig@example.org fwd@example.test)
id=$(field "$out" 8 | sed -n 's/^forwarded as \([0-9A-Z]*\)$/\1/p')
check "a remote alias target is queued as a new message: ok, forwarded as ID" test -n "$id"
check "the forward keeps the original sender and lists both addresses" sh -c \
	"grep -qx 'sender <orig@example.org>' '$MTA_ROOT/spool/env/$id' && grep -qx 'rcpt <someone@remote.example>' '$MTA_ROOT/spool/env/$id' &&
	grep -qx 'rcpt <other@remote.example>' '$MTA_ROOT/spool/env/$id'"
check "the forwarded content has Delivered-To prepended, the rest unchanged" sh -c \
	"'$bin/mta-queue' cat '$id' > '$T/forwarded' && printf 'Delivered-To: fwd@example.test\nSubject: forwarded\n\nforward me\n' | cmp - '$T/forwarded'"
check "log: the forward's line names its sender" grep -q "$id: from=<orig@example.org>, size=.*(forwarded from " "$T/mail.log"
out=$("$bin/mta-deliver" --log "file:$T/mail.log" -f orig@example.org --id "$id" fwd@example.test)
rc=$?
check "the same message coming back (Delivered-To present) is a loop: 554 5.4.6" \
	sh -c "test '$(field "$out" 2) $(field "$out" 4) $(field "$out" 6)' = '$id permanent 5.4.6' && test $rc = 69"
out=$("$bin/mta-deliver" --log "file:$T/mail.log" -f orig@example.org --id "$id" md@example.test)
check "--id reads the queued message: delivered, logged under the queue id" \
	sh -c "test '$(field "$out" 4)' = ok && grep -q 'mta/local\[[0-9]*\]: $id: to=<md@example.test>, relay=local, .*status=sent' '$T/mail.log'"

# --batch: several queued messages in one run, one job line each.
queued() { printf 'Subject: %s\n\nqueued\n' "$1" | deliver -f orig@example.org fwd@example.test | awk -F '\t' '{ sub(/^forwarded as /, "", $8); print $8 }'; }
b1=$(queued batch1)
b2=$(queued batch2)
gone=$(queued gone)
rm -f "$MTA_ROOT/spool/msg/$gone" "$MTA_ROOT/spool/env/$gone"
before=$(grep -c '^From ' "$M/box/mbox")
printf '%s\torig@example.org\tmd@example.test\tbad address@\n\n%s\t\tbox@example.test\n%s\ta@example.org\tmd@example.test\n' \
	"$b1" "$b2" "$gone" | deliver --batch > "$T/batch.out"
rc=$?
check "--batch: one result per recipient, in order" sh -c "
	test \"\$(cut -f 2-4,6 '$T/batch.out' | tr '\t\n' ' |')\" = \
	'$b1 md@example.test ok 2.0.0|$b1 bad address@ permanent 5.1.3|$b2 box@example.test ok 2.0.0|$gone md@example.test temporary 4.3.0|'"
check "--batch: the exit status sums up the run (the first permanent failure, 5.1.3: 69)" test "$rc" = 69
check "--batch: the null sender's message gets Return-Path <>" sh -c \
	"test \$(grep -c '^From ' '$M/box/mbox') = $((before + 1)) && sed -n '/^From /h; /^From /!H; \${x;p}' '$M/box/mbox' | grep -q '^Return-Path: <>'"
check "--batch: each message logged under its queue id" sh -c \
	"grep -q 'mta/local\[[0-9]*\]: $b1: to=<md@example.test>, .*status=sent' '$T/mail.log' && grep -q 'mta/local\[[0-9]*\]: $b2: to=<box@example.test>, .*status=sent' '$T/mail.log'"
# Aliases that cannot be read: each recipient of the batch is deferred.
b3=$(queued batch3)
b4=$(queued batch4)
mv "$MTA_ROOT/etc/aliases" "$MTA_ROOT/etc/aliases.saved"
mkdir "$MTA_ROOT/etc/aliases"
before=$(ls "$M/md/Maildir/new" | wc -l)
printf '%s\torig@example.org\tmd@example.test\tp0@example.test\n%s\torig@example.org\tmd@example.test\n' "$b3" "$b4" |
	deliver --batch > "$T/batch.out"
rc=$?
rmdir "$MTA_ROOT/etc/aliases"
mv "$MTA_ROOT/etc/aliases.saved" "$MTA_ROOT/etc/aliases"
check "--batch with unreadable aliases: each recipient temporary (4.3.5), exit 75, nothing delivered" sh -c "
	test \"\$(cut -f 2-4,6 '$T/batch.out' | tr '\t\n' ' |')\" = \
	'$b3 md@example.test temporary 4.3.5|$b3 p0@example.test temporary 4.3.5|$b4 md@example.test temporary 4.3.5|' &&
	test $rc = 75 && test \$(ls '$M/md/Maildir/new' | wc -l) = $before"
# A batch's Maildir deliveries are made per owner (one process each):
# owners side by side, a Maildir that refuses (a symbolic link in the
# way) failing only its own deliveries, and an alias that mixes Maildir
# and mbox deliveries.
owner2="" ouid2=$ouid
[ -n "$owner" ] && owner2=5002:5002 ouid2=5002
mkdir -p "$M/md2" "$M/badmd" "$T/lure"
[ -n "$owner" ] && chown "$owner2" "$M/md2" && chown "$owner" "$M/badmd"
ln -s "$T/lure" "$M/badmd/Maildir"
printf 'md2@example.test  %s/md2/Maildir/  %s\nbadmd@example.test  %s/badmd/Maildir/  %s\n' \
	"$M" "$owner2" "$M" "$owner" >> "$MTA_ROOT/etc/virtual"
b5=$(queued batch5)
b6=$(queued batch6)
md_before=$(ls "$M/md/Maildir/new" | wc -l)
box_before=$(grep -c '^From ' "$M/box/mbox")
printf '%s\torig@example.org\tmd@example.test\tmd2@example.test\tbadmd@example.test\n%s\torig@example.org\tlist@example.test\tmd2@example.test\n' \
	"$b5" "$b6" | deliver --batch > "$T/batch.out"
check "--batch, two owners and a refusing Maildir: each result its own" sh -c "
	test \"\$(cut -f 2-4 '$T/batch.out' | tr '\t\n' ' |')\" = \
	'$b5 md@example.test ok|$b5 md2@example.test ok|$b5 badmd@example.test temporary|$b6 list@example.test ok|$b6 md2@example.test ok|'"
check "--batch, two owners: each Maildir's files belong to its owner, all there" sh -c "
	test \$(ls '$M/md/Maildir/new' | wc -l) = $((md_before + 2)) && test \$(ls '$M/md2/Maildir/new' | wc -l) = 2 &&
	test \$(grep -c '^From ' '$M/box/mbox') = $((box_before + 1)) &&
	test -z \"\$(find '$M/md2/Maildir/new' -type f ! -uid $ouid2)\" &&
	test -z \"\$(find '$M/md/Maildir/new' -type f ! -uid $ouid)\" && test -z \"\$(ls '$T/lure')\""
check "--batch: one process made an owner's deliveries of the batch (one pid in the names)" sh -c "
	test \$(ls '$M/md2/Maildir/new' | sed 's/.*P\([0-9]*\)Q.*/\1/' | sort -u | wc -l) = 1"
# A long batch is reported a group at a time (about a second of work,
# counting the Maildir deliveries at 2 ms each until a group is timed):
# the first group is cut before it holds 600 deliveries, however fast the
# resolving was.
printf 'Subject: many\n\nm\n' | /usr/bin/python3 "$(dirname "$0")/spool_put.py" "$MTA_ROOT/spool" \
	-f a@example.org -r md2@example.test --count 600 | sed 's/$/\ta@example.org\tmd2@example.test/' > "$T/many.jobs"
md2_before=$(ls "$M/md2/Maildir/new" | wc -l)
deliver --batch < "$T/many.jobs" > "$T/batch.out"
check "--batch of 600: all delivered, in more than one group (one process each)" sh -c "
	test \$(grep -c '	ok	' '$T/batch.out') = 600 && test \$(ls '$M/md2/Maildir/new' | wc -l) = $((md2_before + 600)) &&
	{ [ -z '$owner' ] || test \$(ls '$M/md2/Maildir/new' | sed 's/.*P\([0-9]*\)Q.*/\1/' | sort -u | wc -l) -ge 3; }"
"$bin/mta-deliver" --batch -f a@example.org < /dev/null > /dev/null 2> "$T/err"
check "--batch with -f: usage error, exit 64" sh -c "test $? = 64 && grep -q 'stdin, not from the command line' '$T/err'"

out=$(printf 'Subject: x\n\ny\n' | deliver -f a@example.org nosuchuser@example.test)
rc=$?
check "an unknown user: 550 5.1.1, exit 67" sh -c "test '$(field "$out" 5) $(field "$out" 6) $rc' = '550 5.1.1 67'"
"$bin/mta-deliver" -f a@example.org 'bad address@' < /dev/null > /dev/null 2> "$T/err"
check "a malformed recipient: exit 64 and one line on stderr" sh -c "test $? = 64 && test \$(wc -l < '$T/err') = 1"

# --- a system user's mailbox in the mail spool directory ----------------
mkdir -p "$T/varmail"
chmod 755 "$T/varmail"
out=$(printf 'Subject: system user\n\nhello\n' | deliver --mail-spool-directory "$T/varmail" -f a@example.org nobody@example.test)
check "a system user (nobody) gets mail in the mail spool directory" sh -c \
	"test '$(field "$out" 4)' = ok && grep -qx 'Delivered-To: nobody@example.test' '$T/varmail/nobody'"
if [ "$(id -u)" = 0 ]; then
	check "... the mbox root created there belongs to the user, mode 0600" \
		test "$(stat -c %U:%a "$T/varmail/nobody")" = "nobody:600"
fi

# --- output and configuration -------------------------------------------
out=$(printf 'Subject: json\n\nx\n' | deliver --json -f a@example.org box@example.test nosuchuser@example.test)
check "--json prints one JSON object per recipient with the contract's fields" /usr/bin/python3 -c '
import json, sys
lines = sys.argv[1].splitlines()
assert len(lines) == 2, lines
a, b = (json.loads(l) for l in lines)
assert a["recipient"] == "box@example.test" and a["result"] == "ok" and a["code"] == 250 and a["host"] == "local", a
assert b["result"] == "permanent" and b["enhanced"] == "5.1.1" and b["queue_id"] == "-", b
' "$out"
printf '[mta-deliver]\nlock-timeout = 1\n' > "$MTA_ROOT/etc/mta.conf"
echo 1 > "$M/box/mbox.lock"
start=$(date +%s)
out=$(printf 'Subject: x\n\ny\n' | deliver -f a@example.org box@example.test)
took=$(( $(date +%s) - start ))
rm -f "$M/box/mbox.lock" "$MTA_ROOT/etc/mta.conf"
check "the [mta-deliver] section of mta.conf sets lock-timeout (gave up after ${took}s)" \
	sh -c "test '$(field "$out" 4)' = temporary && test $took -le 5"
"$bin/mta-deliver" box@example.test < /dev/null > /dev/null 2>&1
check "no -f: usage error, exit 64" test $? = 64
