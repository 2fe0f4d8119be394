# Resource exhaustion: the spool and a Maildir on tiny tmpfs file systems in
# a private mount namespace (unshare -m). A full disk or a full inode table
# gets 452/451 (SMTP) or exit 75 (sendmail), never 250 or 0; no partial
# file is visible in the spool or the Maildir; once space returns, the same
# message goes through and arrives byte-exact.
if [ -z "${MTA_DISK_FULL_NS:-}" ] && [ "$(id -u)" -eq 0 ] &&
	unshare -m true 2>/dev/null; then
	MTA_DISK_FULL_NS=1 exec unshare -m sh "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
if [ -z "${MTA_DISK_FULL_NS:-}" ]; then
	skip "disk full: unshare -m is not permitted here (needs root)"
	exit 0
fi

mounts=""
umount_all() {
	for m in $mounts; do umount "$m" 2>/dev/null; done
	cleanup
}
trap umount_all EXIT INT TERM

new_root root
root=$MTA_ROOT
cat > "$root/etc/mta.conf" <<CONF
hostname = full.example
log = file:$T/mail.log
CONF
printf 'full.example\n' > "$root/etc/local-domains"
printf 'alice@full.example alice/Maildir/\n' > "$root/etc/virtual"
: > "$root/etc/aliases"
mkdir -p "$root/spool" "$root/mail"
mount -t tmpfs -o size=512k,nr_inodes=200 tmpfs "$root/spool" || { skip "disk full: cannot mount tmpfs"; exit 0; }
mounts="$root/spool"
mount -t tmpfs -o size=512k,nr_inodes=200 tmpfs "$root/mail" || { skip "disk full: cannot mount tmpfs"; exit 0; }
mounts="$mounts $root/mail"
# Deliveries for a root-owned virtual table run as nobody.
chmod 755 "$T" "$root"
chown nobody "$root/mail"
"$bin/mta-queue" init > "$T/init.log" 2>&1 || { not_ok "disk full: mta-queue init"; cat "$T/init.log"; exit 0; }

# message NAME KIB: a message of about KIB kilobytes with a unique Message-ID.
message() {
	printf 'From: carol@outside.example\nTo: alice@full.example\nDate: Sun, 22 Nov 2026 12:00:00 +0000\n'
	printf 'Subject: %s\nMessage-ID: <%s@full.test>\n\n' "$1" "$1"
	/usr/bin/python3 -c "import sys
for i in range($2 * 16): sys.stdout.write('%05d ' % i + 'x' * 57 + '\n')"
}
session() {  # session MSGFILE: an SMTP session on stdin for mta-recv
	printf 'EHLO client.example\r\nMAIL FROM:<carol@outside.example>\r\nRCPT TO:<alice@full.example>\r\nDATA\r\n'
	sed -e 's/^\./../' -e 's/$/\r/' "$1"
	printf '.\r\nQUIT\r\n'
}
data_reply() { awk '/^354/ { d = 1; next } d { print; exit }' "$1"; }
# Nothing but the spool's own directories and committed messages.
spool_clean() {
	n=$(find "$root/spool/env" -name '.*' -type f | wc -l)
	[ "$n" -eq 0 ] || { echo "envelope temporaries left in spool/env: $(ls -A "$root/spool/env")"; return 1; }
	for f in "$root"/spool/msg/*; do
		[ -f "$f" ] || continue
		[ -f "$root/spool/env/$(basename "$f")" ] || { echo "msg/$(basename "$f") without an envelope"; return 1; }
	done
}
fill() {  # fill DIR: take all the space of DIR's file system
	dd if=/dev/zero of="$1/filler" bs=4k 2>/dev/null
	true
}
delivered() {  # delivered NAME: exactly one complete copy of NAME in alice's Maildir
	n=0
	for f in "$root"/mail/alice/Maildir/new/*; do
		[ -f "$f" ] || continue
		grep -q "^Message-ID: <$1@full.test>\$" "$f" || continue
		size=$(wc -c < "$T/$1")
		tail -c "$size" "$f" | cmp -s - "$T/$1" || { echo "$f is not byte-exact"; return 1; }
		n=$((n + 1))
	done
	[ "$n" -eq 1 ] || { echo "$n copies of $1"; return 1; }
}

# --- the spool's file system is full ---
message big 64 > "$T/big"
fill "$root/spool"
session "$T/big" > "$T/s1"
"$bin/mta-recv" < "$T/s1" > "$T/r1" 2> "$T/e1"
reply=$(data_reply "$T/r1")
case $reply in
4[5]*) ok "disk full: SMTP DATA on a full spool gets a temporary failure ($reply)" ;;
*) not_ok "disk full: SMTP DATA on a full spool: got '$reply', want 452/451"; sed 's/^/#   /' "$T/r1" ;;
esac
check "disk full: no partial file in the spool after the refused SMTP message" spool_clean
# Found here: the reply once named the server's spool path to the client
# ("452 4.3.1 write /var/spool/...: No space left on device").
if grep -q "$root" "$T/r1"; then not_ok "disk full: the 452 reply reveals a server path: $(grep "$root" "$T/r1" | tr -d '\r')"
else ok "disk full: the 452 reply reveals no server path"; fi
"$bin/sendmail" -i -f carol@outside.example alice@full.example < "$T/big" > "$T/e2" 2>&1
rc=$?
if [ "$rc" -eq 75 ]; then ok "disk full: sendmail on a full spool exits 75 (EX_TEMPFAIL)"
else not_ok "disk full: sendmail on a full spool exits $rc, want 75"; sed 's/^/#   /' "$T/e2"; fi
check "disk full: no partial file in the spool after the refused sendmail message" spool_clean
rm -f "$root/spool/filler"
"$bin/mta-recv" < "$T/s1" > "$T/r1b" 2> "$T/e1b"
reply=$(data_reply "$T/r1b")
case $reply in
250*) ok "disk full: space back, the same SMTP message is accepted" ;;
*) not_ok "disk full: space back, SMTP DATA got '$reply'"; sed 's/^/#   /' "$T/r1b" "$T/e1b" ;;
esac

# --- the Maildir's file system is full: delivery defers, nothing partial ---
fill "$root/mail"
"$bin/mta-queue" run > "$T/q1" 2>&1
check "disk full: a full Maildir leaves the message queued" test -n "$(ls "$root/spool/env")"
check "disk full: the full Maildir is logged as deferred with 4.3.1" grep -q 'dsn=4.3.1, status=deferred' "$T/mail.log"
partial=$(find "$root/mail" -path '*/new/*' -type f | wc -l)
if [ "$partial" -eq 0 ]; then ok "disk full: no partial file in Maildir new/ on a full disk"
else not_ok "disk full: $partial files in Maildir new/ on a full disk"; fi
rm -f "$root/mail/filler"
"$bin/mta-queue" flush > "$T/q2" 2>&1
check "disk full: space back, the deferred message is delivered byte-exact" delivered big
check "disk full: the spool is empty after the delivery" test -z "$(find "$root/spool/env" "$root/spool/msg" -type f)"

# --- inode exhaustion on the spool, then on the Maildir ---
message small 2 > "$T/small"
i=0
while [ "$i" -lt 400 ] && touch "$root/spool/inode.$i" 2>/dev/null; do i=$((i + 1)); done
session "$T/small" > "$T/s3"
"$bin/mta-recv" < "$T/s3" > "$T/r3" 2> "$T/e3"
# The refusal may come at MAIL (no room to start a message) or after DATA.
if [ "$(data_reply "$T/r3" | cut -c1-3)" = 250 ]; then
	not_ok "disk full: no inodes in the spool, but DATA got 250"
elif grep -q '^45[0-9]' "$T/r3"; then
	ok "disk full: no inodes in the spool gets a temporary failure ($(grep -m1 '^45' "$T/r3" | tr -d '\r'))"
else
	not_ok "disk full: no inodes in the spool: no 45x reply"; sed 's/^/#   /' "$T/r3"
fi
check "disk full: no partial file in the spool when inodes run out" spool_clean
rm -f "$root"/spool/inode.*
"$bin/mta-recv" < "$T/s3" > "$T/r3b" 2> "$T/e3b"
check "disk full: inodes back, the message is accepted" sh -c "awk '/^354/ { d = 1; next } d { print; exit }' '$T/r3b' | grep -q '^250'"
i=0
while [ "$i" -lt 400 ] && touch "$root/mail/inode.$i" 2>/dev/null; do i=$((i + 1)); done
"$bin/mta-queue" run > "$T/q3" 2>&1
check "disk full: no inodes for the Maildir leaves the message queued" test -n "$(ls "$root/spool/env")"
rm -f "$root"/mail/inode.*
"$bin/mta-queue" flush > "$T/q4" 2>&1
check "disk full: inodes back, the deferred message is delivered byte-exact" delivered small
