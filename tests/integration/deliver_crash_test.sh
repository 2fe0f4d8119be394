#!/bin/sh
# mta-deliver killed (MTA_CRASH_AT) or failing (MTA_FAIL_AT) at every
# durable step of a Maildir and of an mbox delivery: the mailbox always
# holds either nothing new or the complete message, and a failure is
# reported as temporary.
. "$(dirname "$0")/lib.sh"

new_root
chmod 755 "$T"
owner=""
[ "$(id -u)" = 0 ] && owner=5002:5002
M=$T/mail
mkdir -p "$M"
[ -n "$owner" ] && chown "$owner" "$M"
printf 'md@example.test  %s/md/Maildir/  %s\nbox@example.test  %s/box  %s\n' "$M" "$owner" "$M" "$owner" > "$MTA_ROOT/etc/virtual"
msg='Subject: crash test\n\nline one\nline two\n'
deliver() { printf "$msg" | "$bin/mta-deliver" --log "file:$T/mail.log" -f a@example.org "$@"; }
# allowed RESULT STATE: what a delivery may report about what it left
# behind: ok only when the message is complete; temporary, or nothing at all
# (killed), when it is complete or absent.
allowed() {
	case "$1:$2" in
	ok:complete | temporary:none | temporary:complete | :none | :complete) return 0 ;;
	esac
	return 1
}
# outcomes OUT: the result lines' outcomes counted, e.g. " 2 temporary".
outcomes() { printf '%s\n' "$1" | awk -F '\t' '{ print $4 }' | sort | uniq -c | tr -s ' '; }

# How many durable steps does one delivery take? (Written by the delivery
# process, which runs as the mailbox owner under root.)
mkdir -p "$T/fault"
chmod 1777 "$T/fault"
rm -f "$T/fault/trace"
MTA_FAULT_TRACE=$T/fault/trace deliver md@example.test > /dev/null
md_steps=$(wc -l < "$T/fault/trace")
rm -f "$T/fault/trace"
MTA_FAULT_TRACE=$T/fault/trace deliver box@example.test > /dev/null
box_steps=$(wc -l < "$T/fault/trace")
check "a Maildir delivery passes durable fault points ($md_steps)" test "$md_steps" -ge 4
check "an mbox delivery passes durable fault points ($box_steps)" test "$box_steps" -ge 2
sed 's/^/# /' "$T/fault/trace"

maildir_state() {  # prints "none", "complete" or "broken"
	/usr/bin/python3 - "$M/md/Maildir" <<'PY'
import os, sys
md = sys.argv[1]
new = os.listdir(md + "/new") if os.path.isdir(md + "/new") else []
if not new:
    print("none"); sys.exit()
ok = len(new) == 1
for n in new:
    data = open(md + "/new/" + n, "rb").read()
    ok = ok and data.startswith(b"Return-Path: <a@example.org>\nDelivered-To: md@example.test\nSubject: crash test\n\nline one\nline two\n")
    ok = ok and n.endswith(",S=%d,W=%d" % (len(data), len(data) + data.count(b"\n")))
print("complete" if ok else "broken")
PY
}

bad=""
n=1
while [ "$n" -le "$md_steps" ]; do
	for mode in CRASH FAIL; do
		rm -rf "$M/md"
		out=$(env "MTA_${mode}_AT=$n" sh -c "printf '$msg' | '$bin/mta-deliver' --log 'file:$T/mail.log' -f a@example.org md@example.test" 2>/dev/null)
		rc=$?
		state=$(maildir_state)
		case "$state" in none | complete) ;; *) bad="$bad md-$mode-$n:$state" ;; esac
		# Reported: ok only when complete; otherwise temporary or no line at all (killed).
		result=$(printf '%s\n' "$out" | awk -F '\t' '{ print $4 }')
		allowed "$result" "$state" || bad="$bad md-$mode-$n:$result:$state:rc$rc"
	done
	n=$((n + 1))
done
check "Maildir: a crash or failure at each of $md_steps steps leaves nothing or the complete message" \
	sh -c "test '$md_steps' -ge 4 && test -z '$bad'"
[ -n "$bad" ] && echo "# $bad"

bad=""
n=1
while [ "$n" -le "$box_steps" ]; do
	for mode in CRASH FAIL; do
		rm -f "$M/box"
		printf 'seed\n' | "$bin/mta-deliver" --log "file:$T/mail.log" -f seed@example.org box@example.test > /dev/null
		before=$(stat -c %s "$M/box")
		out=$(env "MTA_${mode}_AT=$n" sh -c "printf '$msg' | '$bin/mta-deliver' --log 'file:$T/mail.log' -f a@example.org box@example.test" 2>/dev/null)
		result=$(printf '%s\n' "$out" | awk -F '\t' '{ print $4 }')
		count=$(/usr/bin/python3 -c "
import mailbox, sys
msgs = list(mailbox.mbox(sys.argv[1], create=False))
full = [m for m in msgs if m['Subject'] == 'crash test' and m.get_payload() == 'line one\nline two\n']
print(len(msgs), len(full))" "$M/box")
		after=$(stat -c %s "$M/box")
		case "$result:$count" in
		ok:"2 1") ;;
		temporary:"1 0" | :"1 0") [ "$after" = "$before" ] || bad="$bad box-$mode-$n:size" ;;
		temporary:"2 1" | :"2 1") ;;
		*) bad="$bad box-$mode-$n:$result:$count" ;;
		esac
	done
	n=$((n + 1))
done
check "mbox: a crash or failure at each of $box_steps steps leaves the old size or the complete message" \
	sh -c "test '$box_steps' -ge 2 && test -z '$bad'"
[ -n "$bad" ] && echo "# $bad"
check "mbox: no dot-lock is left behind by a failure" test ! -e "$M/box.lock"

# --batch: Maildir deliveries of a batch share one sync of new/, taken by
# mta-deliver itself after the deliveries and before it reports them. A
# crash or failure at any step of a two-message batch: never a partial
# message, and "ok" only for a message that is complete in new/; a failed
# sync of new/ turns both results temporary. Both ways of syncing
# (--maildir-sync file: an fsync each; filesystem: one syncfs where it
# pays, which depends on what the system holds unwritten at the time).
"$bin/mta-queue" init
for s in one two; do
	printf 'Subject: batch %s\n\nbody %s\n' "$s" "$s" | "$bin/sendmail" -f a@example.org md@example.test
done
ids=$(ls "$MTA_ROOT/spool/env" | sort)
jobs=$(for id in $ids; do printf '%s\ta@example.org\tmd@example.test\n' "$id"; done)
sync_mode=file
batch() { printf '%s\n' "$jobs" | env "$@" "$bin/mta-deliver" --log "file:$T/mail.log" --batch --maildir-sync $sync_mode 2> /dev/null; }
batch_state() {  # per queue id: "<id>:none|complete|broken"
	/usr/bin/python3 - "$M/md/Maildir" "$bin/mta-queue" $ids <<'PY'
import os, subprocess, sys
md, queue, ids = sys.argv[1], sys.argv[2], sys.argv[3:]
new = os.listdir(md + "/new") if os.path.isdir(md + "/new") else []
files = [open(md + "/new/" + n, "rb").read() for n in new]
for i in ids:
    body = subprocess.run([queue, "cat", i], stdout=subprocess.PIPE, check=True).stdout
    want = b"Return-Path: <a@example.org>\nDelivered-To: md@example.test\n" + body
    got = [f for f in files if body.split(b"\n")[-2] in f]
    print("%s:%s" % (i, "none" if not got else "complete" if got == [want] else "broken"))
PY
}
rm -rf "$M/md" "$T/fault/trace"
batch MTA_FAULT_TRACE="$T/fault/trace" > /dev/null
batch_steps=$(awk '{ print $1 }' "$T/fault/trace" | sort -n | tail -1)
sync_step=$(awk '$2 ~ /^fsync/ && $3 ~ /Maildir\/new$/ { print $1 }' "$T/fault/trace")
last_link=$(awk '$2 == "link" { n = $1 } END { print n }' "$T/fault/trace")
check "--batch: one fsync of new/ for the two messages, after both are linked" sh -c \
	"test \$(printf '%s\n' '$sync_step' | wc -w) = 1 && test \$(grep -c ' link ' '$T/fault/trace') = 2 &&
	test '$sync_step' -gt '$last_link'"
# every_batch_step STEPS: a crash or failure at each step; "bad" lists
# what was not allowed.
every_batch_step() {
	bad=""
	n=1
	while [ "$n" -le "$1" ]; do
		for mode in CRASH FAIL; do
			rm -rf "$M/md"
			out=$(batch "MTA_${mode}_AT=$n" 2> /dev/null)
			for st in $(batch_state); do
				id=${st%%:*} state=${st#*:}
				result=$(printf '%s\n' "$out" | awk -F '\t' -v id="$id" '$2 == id { print $4 }')
				allowed "$result" "$state" || bad="$bad $mode-$n-$id:$result:$state"
			done
		done
		n=$((n + 1))
	done
}
every_batch_step "$batch_steps"
check "--batch: a crash or failure at each of $batch_steps steps: nothing partial, ok only when complete" \
	sh -c "test '$batch_steps' -ge 8 && test -z '$bad'"
[ -n "$bad" ] && echo "# $bad"
rm -rf "$M/md"
out=$(batch "MTA_CRASH_AT=$sync_step" 2> /dev/null)
check "--batch: the process syncing new/ killed: both reported temporary, never ok" test "$(outcomes "$out")" = " 2 temporary"
rm -rf "$M/md"
out=$(batch "MTA_FAIL_AT=$sync_step")
check "--batch: new/ cannot be synced: both messages in new/, both reported temporary" sh -c \
	"test '$(outcomes "$out")' = ' 2 temporary' && test \"\$(printf '%s\n' '$(batch_state)' | cut -d: -f2 | sort -u)\" = complete"
# The files of a batch are synced together, but fail alone: the first
# message's file cannot be synced, so it is temporary and left out of
# new/ (its tmp/ file removed), and the second is delivered.
first_fsync=$(awk '$2 == "fsync" && $3 ~ /Maildir\/tmp\// { print $1; exit }' "$T/fault/trace")
rm -rf "$M/md"
out=$(batch "MTA_FAIL_AT=$first_fsync")
first_id=$(printf '%s\n' $ids | head -1)
got=$(printf '%s\n' "$out" | awk -F '\t' '{ print $2 ":" $4 }' | sort | tr '\n' ' ')
want=$(printf '%s\n' $ids | awk -v f="$first_id" '{ print $1 ":" ($1 == f ? "temporary" : "ok") }' | sort | tr '\n' ' ')
got_state=$(batch_state | sort | tr '\n' ' ')
want_state=$(printf '%s\n' $ids | awk -v f="$first_id" '{ print $1 ":" ($1 == f ? "none" : "complete") }' | sort | tr '\n' ' ')
check "--batch: one file of two cannot be synced: that one temporary and not in new/, the other delivered" sh -c "
	test '$got' = '$want' && test '$got_state' = '$want_state' && test -z \"\$(ls '$M/md/Maildir/tmp')\""

# --maildir-sync filesystem (the default): where a syncfs pays, one for the
# two files and one for new/ after both links (each followed by an fsync of
# one target, the cache flush, under the same fault point); a failed
# syncfs fails what it was to make durable: both messages temporary, out of
# new/ for the files' syncfs, in it for new/'s; a crash at the second
# leaves both temporary. Where it does not pay (Linux before 5.17, another
# file system, or much unwritten on the system at the time) the fsyncs are
# taken as above; a sync(1) before each run writes what the build left.
sync_mode=filesystem
fs_batch() { sync; batch "$@"; }
rm -rf "$M/md" "$T/fault/trace"
fs_batch MTA_FAULT_TRACE="$T/fault/trace" > /dev/null
fs_steps=$(awk '{ print $1 }' "$T/fault/trace" | sort -n | tail -1)
syncfs_steps=$(awk '$2 == "syncfs" { print $1 }' "$T/fault/trace" | tr '\n' ' ')
last_link=$(awk '$2 == "link" { n = $1 } END { print n }' "$T/fault/trace")
if [ -n "$syncfs_steps" ]; then
	set -- $syncfs_steps
	check "--batch --maildir-sync filesystem: one syncfs for the files, one for new/ after both links, no fsync of a file" sh -c \
		"test $# = 2 && test '$2' -gt '$last_link' && test '$1' -lt '$last_link' && ! grep -q ' fsync ' '$T/fault/trace'"
	rm -rf "$M/md"
	out=$(fs_batch "MTA_CRASH_AT=$2")
	check "--batch --maildir-sync filesystem: killed at the syncfs of new/: both temporary" test "$(outcomes "$out")" = " 2 temporary"
	rm -rf "$M/md"
	out=$(fs_batch "MTA_FAIL_AT=$1")
	check "--batch --maildir-sync filesystem: the files' syncfs fails: both temporary, neither in new/" sh -c \
		"test '$(outcomes "$out")' = ' 2 temporary' && test \"\$(printf '%s\n' '$(batch_state)' | cut -d: -f2 | sort -u)\" = none"
	rm -rf "$M/md"
	out=$(fs_batch "MTA_FAIL_AT=$2")
	check "--batch --maildir-sync filesystem: new/'s syncfs fails: both temporary, both in new/" sh -c \
		"test '$(outcomes "$out")' = ' 2 temporary' && test \"\$(printf '%s\n' '$(batch_state)' | cut -d: -f2 | sort -u)\" = complete"
	# After a failed syncfs the child fsyncs: 20 messages, the syncfs of the
	# first 16 fails, the last four are synced each and delivered.
	for s in $(seq 3 20); do
		printf 'Subject: batch %s\n\nbody %s\n' "$s" "$s" | "$bin/sendmail" -f a@example.org md@example.test
	done
	two_jobs=$jobs
	jobs=$(for id in $(ls "$MTA_ROOT/spool/env" | sort); do printf '%s\ta@example.org\tmd@example.test\n' "$id"; done)
	rm -rf "$M/md" "$T/fault/trace"
	fs_batch MTA_FAULT_TRACE="$T/fault/trace" > /dev/null
	first_syncfs=$(awk '$2 == "syncfs" { print $1; exit }' "$T/fault/trace")
	rm -rf "$M/md" "$T/fault/trace"
	out=$(fs_batch MTA_FAIL_AT="$first_syncfs" MTA_FAULT_TRACE="$T/fault/trace")
	check "--batch --maildir-sync filesystem: after a failed syncfs, an fsync each: 16 temporary, 4 delivered" sh -c \
		"test '$(outcomes "$out" | tr '\n' ' ')' = ' 4 ok  16 temporary ' &&
		test \$(grep -c ' syncfs ' '$T/fault/trace') = 1 && test \$(grep -c ' fsync .*Maildir/tmp/' '$T/fault/trace') = 4 &&
		test \$(ls '$M/md/Maildir/new' | wc -l) = 4"
	jobs=$two_jobs
else
	echo "# syncfs not taken here (kernel $(uname -r), $(stat -f -c %T "$M"); $(grep -E '^(Dirty|Writeback):' /proc/meminfo | tr -s ' ' | tr '\n' ' '))"
	check "--batch --maildir-sync filesystem: where syncfs is not taken, an fsync each" grep -q ' fsync .*Maildir/new$' "$T/fault/trace"
fi
every_batch_step "$fs_steps"
check "--batch --maildir-sync filesystem: a crash or failure at each of $fs_steps steps: nothing partial, ok only when complete" \
	sh -c "test '$fs_steps' -ge 6 && test -z '$bad'"
if [ -n "$bad" ]; then echo "# $bad"; fi
