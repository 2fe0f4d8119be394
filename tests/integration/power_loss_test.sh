# What a power cut would leave: the spool and a Maildir on a small ext4
# file system without a journal (a loop device, in a private mount
# namespace). Right after sendmail acknowledges each message, and again
# after `mta-queue run` reports them delivered, the image file is copied:
# the copy holds every write the file system had handed to its device by
# then, which is what a power cut at that moment keeps of a disk that
# writes in order. e2fsck repairs the copy, as a boot after the cut would,
# and the copy must still hold every acknowledged message whole, in the
# queue or in the Maildir. (A process killed at each step, the crash
# tests, keeps the kernel's caches; this one does not.)
if [ -z "${MTA_POWER_NS:-}" ] && [ "$(id -u)" -eq 0 ] && unshare -m true 2>/dev/null; then
	MTA_POWER_NS=1 exec unshare -m sh "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
if [ -z "${MTA_POWER_NS:-}" ]; then
	skip "power loss: unshare -m is not permitted here (needs root)"
	exit 0
fi
for t in mkfs.ext4 e2fsck losetup; do
	command -v "$t" > /dev/null || { skip "power loss: $t is not installed"; exit 0; }
done

mounts=""
umount_all() {
	for m in $mounts; do umount "$m" 2>/dev/null; done
	cleanup
}
trap umount_all EXIT INT TERM

img=$T/fs.img
truncate -s 64M "$img"
mkfs.ext4 -q -F -O ^has_journal "$img"
mkdir -p "$T/fs"
if ! mount -o loop "$img" "$T/fs" 2>/dev/null; then
	skip "power loss: no loop device to mount a file system image on"
	exit 0
fi
mounts="$T/fs"

MTA_ROOT=$T/fs/root
export MTA_ROOT
mkdir -p "$MTA_ROOT/etc"
cat > "$MTA_ROOT/etc/mta.conf" <<CONF
hostname = power.example
log = file:$T/mail.log
CONF
printf 'power.example\n' > "$MTA_ROOT/etc/local-domains"
# Delivered as nobody: the way down to the Maildir must be open to it.
owner=$(id -u nobody):$(id -g nobody)
# bob's Maildir cannot be made (mail/bob is root's, mode 0700): his
# message is deferred, and its envelope rewritten.
# carol's mailbox is an mbox file.
printf 'alice@power.example alice/Maildir/ %s\nbob@power.example bob/Maildir/ %s\ncarol@power.example carol.mbox %s\n' \
	"$owner" "$owner" "$owner" > "$MTA_ROOT/etc/virtual"
chmod 755 "$T" "$T/fs" "$MTA_ROOT"
mkdir -p "$MTA_ROOT/mail/bob"
chown "$owner" "$MTA_ROOT/mail"
chmod 700 "$MTA_ROOT/mail/bob"
"$bin/mta-queue" init
sync  # the set-up is not under test

# snapshot NAME: the image as its device has it now, repaired as at boot
# and mounted read-only at $T/NAME; prints e2fsck's findings.
snapshot() {
	cp --sparse=always "$img" "$T/$1.img"
	e2fsck -fy "$T/$1.img" > "$T/$1.fsck" 2>&1
	mkdir -p "$T/$1"
	mount -o loop,ro "$T/$1.img" "$T/$1" && mounts="$T/$1 $mounts"
	grep -v '^Pass\|^e2fsck\|^$\|files,.*blocks' "$T/$1.fsck" | sed 's/^/# /' | head -12
}

# has_all DIR...: every one of the N subjects is in a file under DIR, whole
# (its last line after it).
N=40
has_all() {
	missing=""
	i=1
	while [ "$i" -le "$N" ]; do
		grep -rlq "^Subject: power $i\$" "$@" 2>/dev/null || missing="$missing $i"
		i=$((i + 1))
	done
	whole=$(grep -rl '^last line of the message$' "$@" 2>/dev/null | wc -l)
	if [ -n "$missing" ] || [ "$whole" -lt "$N" ]; then
		echo "missing:$missing; $whole whole"
		return 1
	fi
}

# The first 35 by sendmail, the last 5 in one SMTP session with mta-recv
# (on standard input, as under inetd).
i=1
failed=0
while [ "$i" -le 35 ]; do
	printf 'Subject: power %d\n\nbody\nlast line of the message\n' "$i" |
		"$bin/sendmail" -f a@power.example alice@power.example || failed=$((failed + 1))
	i=$((i + 1))
done
{
	printf 'EHLO client.example\r\n'
	while [ "$i" -le "$N" ]; do
		printf 'MAIL FROM:<a@power.example>\r\nRCPT TO:<alice@power.example>\r\nDATA\r\n'
		printf 'Subject: power %d\r\n\r\nbody\r\nlast line of the message\r\n.\r\n' "$i"
		i=$((i + 1))
	done
	printf 'QUIT\r\n'
} > "$T/session"
"$bin/mta-recv" < "$T/session" > "$T/replies" 2> "$T/recv.err"
queued=$(grep -c '^250 2.0.0 Ok: queued as ' "$T/replies")
[ "$queued" -eq 5 ] || { failed=$((failed + 1)); sed 's/^/# /' "$T/replies" | tail -5; }
printf 'Subject: power bob\n\nbody\nlast line for bob\n' |
	"$bin/sendmail" -f a@power.example bob@power.example || failed=$((failed + 1))
for c in 1 2 3; do
	printf 'Subject: power carol %d\n\nbody\nlast line for carol\n' "$c" |
		"$bin/sendmail" -f a@power.example carol@power.example || failed=$((failed + 1))
done
check "sendmail acknowledged all $((N + 4)) messages" test "$failed" -eq 0
snapshot queued
check "power cut after the last acknowledgement: all $N messages in the repaired spool" \
	has_all "$T/queued/root/spool/env" "$T/queued/root/spool/msg"

"$bin/mta-queue" run > "$T/run.out" 2>&1
check "mta-queue run delivered alice's and carol's, deferred bob's" sh -c \
	"test \"\$(ls '$MTA_ROOT/spool/env' | wc -l)\" -eq 1 && grep -q 'state pending' '$MTA_ROOT'/spool/env/*"
snapshot delivered
check "power cut after the deliveries were reported: all $N in the repaired Maildir's new/" \
	has_all "$T/delivered/root/mail/alice/Maildir/new"
check "power cut after the deliveries were reported: carol's three whole in her mbox" sh -c \
	"test \"\$(grep -c '^last line for carol\$' '$T/delivered/root/mail/carol.mbox')\" -eq 3 && grep -q '^Subject: power carol 3\$' '$T/delivered/root/mail/carol.mbox'"
# bob's: the rewritten envelope and the content under msg/, both whole.
bob_env=$(grep -l 'state pending' "$T"/delivered/root/spool/env/* 2>/dev/null)
bob_id=$(basename "${bob_env:-none}")
check "power cut after bob's envelope was rewritten: envelope and content both there" sh -c \
	"test -n '$bob_env' && grep -q '^attempts 1' '$bob_env' && grep -q '^last line for bob\$' '$T/delivered/root/spool/msg/$bob_id'"
