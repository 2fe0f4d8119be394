#!/bin/sh
# sendmail(8): the command lines real callers use, the spool content byte by
# byte, exit codes, mailq/newaliases, and the set-uid model with real users.
. "$(dirname "$0")/lib.sh"

new_root
mkdir -p "$T/bin"
ln -s "$bin/sendmail" "$T/bin/sendmail"
ln -s "$bin/sendmail" "$T/bin/mailq"
ln -s "$bin/sendmail" "$T/bin/newaliases"
cat > "$MTA_ROOT/etc/mta.conf" <<EOF
hostname = mx.example.test
log = file:$T/mail.log
[sendmail]
mailname = example.test
EOF
export MTA_NOW=1700000000 TZ=UTC
date=$(date -d @1700000000 -R)
me=$(id -un)
uid=$(id -u)
spool=$MTA_ROOT/spool

# run NAME ARGS... < input: runs sendmail -v, sets rc, id, msg (a copy of
# the queued content), env.
run() {
	"$T/bin/sendmail" -v "$@" > "$T/out" 2> "$T/err"
	rc=$?
	id=$(sed -n 's/^sendmail: queued as //p' "$T/err")
	msg=$T/content
	env=$spool/env/$id
	rm -f "$msg"
	[ -z "$id" ] || "$bin/mta-queue" cat "$id" > "$msg"
}

# same FILE EXPECTED-FILE NAME: byte-for-byte comparison.
same() {
	if cmp -s "$1" "$2"; then ok "$3"; else not_ok "$3"; diff "$2" "$1" | sed 's/^/#   /' | head -20; fi
}

received() {
	printf 'Received: by mx.example.test (mta, from userid %s)\n\tid %s; %s\n' "${2:-$uid}" "$1" "$date"
}

# --- cron: -FCronDaemon -i -B8BITMIME -oem rcpt ---
printf 'From: root (Cron Daemon)\nTo: root\nSubject: Cron <root@vm> echo hi\nMIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\nX-Cron-Env: <SHELL=/bin/sh>\n\nhi\n.\nafter a dot line\n' > "$T/cron.in"
run -FCronDaemon -i -B8BITMIME -oem root < "$T/cron.in"
check "cron-style call exits 0" test "$rc" = 0
{
	received "$id"
	sed -n '1,7p' "$T/cron.in"
	printf 'Date: %s\nMessage-ID: <%s@mx.example.test>\n\nhi\n.\nafter a dot line\n' "$date" "$id"
} > "$T/cron.want"
same "$msg" "$T/cron.want" "cron-style call: the spool content byte for byte (dot line kept with -i)"
check "cron-style call: envelope sender, recipient, body type" \
	grep -qx -e "sender <$me@example.test>" "$env"
check "cron-style call: recipient qualified with the mail name" grep -qx "rcpt <root@example.test>" "$env"
check "cron-style call: body 8BITMIME and uid stored" sh -c "grep -qx 'body 8BITMIME' '$env' && grep -qx 'uid $uid' '$env'"
check "log: ID: uid=N from=<...>" grep -q "mta/pickup\[[0-9]*\]: $id: uid=$uid from=<$me@example.test>\$" "$T/mail.log"
check "log: ID: message-id=<...>" grep -q "mta/pickup\[[0-9]*\]: $id: message-id=<$id@mx.example.test>\$" "$T/mail.log"

# --- git send-email: -i -f sender rcpt..., CRLF input from PHP-style callers ---
printf 'From: Dev <dev@example.org>\r\nTo: list@example.org\r\nSubject: [PATCH] x\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-Id: <patch-1@example.org>\r\n\r\n---\r\n.\r\n..\r\n-- \r\n2.39.2\r\n' > "$T/git.in"
run -i -f dev@example.org list@example.org maint@example.org < "$T/git.in"
check "git-send-email-style call exits 0" test "$rc" = 0
{
	received "$id"
	printf 'From: Dev <dev@example.org>\nTo: list@example.org\nSubject: [PATCH] x\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-Id: <patch-1@example.org>\n\n---\n.\n..\n-- \n2.39.2\n'
} > "$T/git.want"
same "$msg" "$T/git.want" "git-send-email-style call: CRLF stored as LF, no dot-unstuffing, nothing added"
check "git-send-email-style call: sender and both recipients" sh -c \
	"grep -qx 'sender <dev@example.org>' '$env' && grep -qx 'rcpt <list@example.org>' '$env' && grep -qx 'rcpt <maint@example.org>' '$env'"
check "log: an existing Message-Id is logged" grep -q "$id: message-id=<patch-1@example.org>\$" "$T/mail.log"

# --- -t: recipients from To/Cc/Bcc added to the command line's; Bcc removed ---
printf 'To: Alice <alice@example.org>, team: bob@example.org, "Carol C." <carol@example.org>;\nCc: dave@example.org (Dave)\nBcc: eve@example.org\nSubject: t\n\nbody\n' > "$T/t.in"
run -t -oi extra@example.org < "$T/t.in"
check "-t exits 0" test "$rc" = 0
check "-t: Bcc removed from the message" sh -c "! grep -qi '^bcc:' '$msg' && ! grep -q eve '$msg'"
grep '^rcpt ' "$env" > "$T/t.rcpts"
printf 'rcpt <extra@example.org>\nrcpt <alice@example.org>\nrcpt <bob@example.org>\nrcpt <carol@example.org>\nrcpt <dave@example.org>\nrcpt <eve@example.org>\n' > "$T/t.want"
same "$T/t.rcpts" "$T/t.want" "-t: command line, To (with a group), Cc and Bcc recipients, in order"
{
	received "$id"
	printf 'To: Alice <alice@example.org>, team: bob@example.org, "Carol C." <carol@example.org>;\nCc: dave@example.org (Dave)\nSubject: t\nFrom: %s@example.test\nDate: %s\nMessage-ID: <%s@mx.example.test>\n\nbody\n' "$me" "$date" "$id"
} > "$T/t.want"
same "$msg" "$T/t.want" "-t: the spool content byte for byte (From, Date, Message-ID added)"

# --- a lone dot without -i ends the input ---
printf 'Subject: dot\n\nbefore\n.\nafter\n' > "$T/in"
run bob@example.org < "$T/in"
check "lone dot without -i: exits 0" test "$rc" = 0
check "lone dot without -i: the message ends before the dot" sh -c "tail -n 1 '$msg' | grep -qx before && ! grep -q after '$msg'"
printf 'Subject: dot\n\nbefore\n.\nafter' > "$T/in"
run -oi bob@example.org < "$T/in"
check "lone dot with -oi: kept, and a missing final newline added" sh -c "tail -n 3 '$msg' | tr '\n' '|' | grep -qx 'before|.|after|'"

# --- -F with a From-less message; -f '' and -f '<>' ---
printf 'Subject: f\n\nx\n' > "$T/in"
run -F 'Smith, Jo' -f '' bob@example.org < "$T/in"
check "-f '': the null sender" grep -qx 'sender <>' "$env"
check "-F: full name in the generated From" grep -qx "From: \"Smith, Jo\" <$me@example.test>" "$msg"
printf 'Subject: f\n\nx\n' > "$T/in"
run -f '<>' bob@example.org < "$T/in"
check "-f '<>': the null sender" grep -qx 'sender <>' "$env"
printf 'From someone Mon Jan 1 00:00:00 2024\nReturn-Path: <x@example.org>\nSubject: r\n\nx\n' > "$T/in"
run -N success,delay -R hdrs -V ENV1 bob@example.org < "$T/in"
check "leading From line and Return-Path dropped" sh -c "! grep -q '^From someone' '$msg' && ! grep -qi '^return-path' '$msg'"
check "-N -R -V stored in the envelope" sh -c "grep -qx 'ret HDRS' '$env' && grep -qx 'envid ENV1' '$env' && grep -qx '  notify SUCCESS,DELAY' '$env'"

# --- exit codes ---
n_before=$(ls "$spool/env" | wc -l)
m_before=$(ls "$spool/msg" | wc -l)
printf 'Subject: x\n\nx\n' | "$T/bin/sendmail" > /dev/null 2> "$T/err"
rc=$?
check "no recipients: exit 64" test "$rc" = 64
check "no recipients: one line on stderr" sh -c "test \$(wc -l < '$T/err') = 1 && grep -q 'no recipients' '$T/err'"
printf 'Subject: x\n\nx\n' | "$T/bin/sendmail" -t > /dev/null 2>&1
check "-t without recipient fields: exit 64" test "$?" = 64
"$T/bin/sendmail" -K bob@example.org < /dev/null > /dev/null 2> "$T/err"
rc=$?
check "unknown flag: exit 64 and one line" sh -c "test $rc = 64 && test \$(wc -l < '$T/err') = 1 && grep -q 'unknown option -K' '$T/err'"
printf 'To: a@example.org b@example.org\n\nx\n' | "$T/bin/sendmail" -t > /dev/null 2> "$T/err"
check "-t with a malformed To: exit 65" test "$?" = 65
printf 'Subject: x\n\nx\n' | MTA_FAIL_AT=3 "$T/bin/sendmail" bob@example.org > /dev/null 2> "$T/err"
rc=$?
check "a failing queue write (fault injection): exit 75" test "$rc" = 75
check "a failing queue write: nothing queued, nothing left in env/ or msg/" sh -c \
	"test \$(ls -A '$spool/env' | wc -l) = $n_before && test \$(ls '$spool/msg' | wc -l) = $m_before"

# A file size limit set by the caller: a write error, not a truncated message.
head -c 100000 /dev/zero | tr '\0' 'a' | fold -w 70 > "$T/big.in"
sh -c "ulimit -f 8; exec '$T/bin/sendmail' bob@example.org" < "$T/big.in" > /dev/null 2> "$T/err"
rc=$?
check "RLIMIT_FSIZE: exit 75, nothing queued" sh -c \
	"test $rc = 75 && test \$(ls -A '$spool/env' | wc -l) = $n_before && test \$(ls '$spool/msg' | wc -l) = $m_before"

# -bv: addresses checked and shown as they would be queued.
"$T/bin/sendmail" -bv 'Jo <jo@example.org>, root' > "$T/out" 2>&1
check "-bv prints each address as queued" sh -c \
	"test \"\$(cat '$T/out' | tr '\n' '|')\" = '<jo@example.org>: address ok|<root@example.test>: address ok|'"

# An unwritable spool: a regular file where env/ should be.
mkdir -p "$T/bad/etc" "$T/bad/spool"
printf 'log = file:%s/bad.log\n' "$T" > "$T/bad/etc/mta.conf"
: > "$T/bad/spool/env"
printf 'Subject: x\n\nx\n' | MTA_ROOT=$T/bad "$T/bin/sendmail" bob@example.org > /dev/null 2> "$T/err"
rc=$?
check "unwritable spool: exit 75 (or 73) and one line on stderr" sh -c \
	"case $rc in 75|73) ;; *) exit 1;; esac; test \$(wc -l < '$T/err') = 1"

# --- newaliases and mailq ---
printf 'postmaster: root\nlist: alice,\n  bob\n' > "$MTA_ROOT/etc/aliases"
"$T/bin/newaliases" > "$T/out" 2>&1
rc=$?
check "newaliases: a good aliases file, exit 0" sh -c "test $rc = 0 && grep -q ': 2 aliases' '$T/out'"
printf 'postmaster root\n' > "$MTA_ROOT/etc/aliases"
"$T/bin/newaliases" > "$T/out" 2>&1
rc=$?
check "newaliases: a broken aliases file, exit 78 with the line number" sh -c "test $rc = 78 && grep -q 'aliases:1: missing' '$T/out'"
printf 'postmaster: root\nx: |\n' > "$MTA_ROOT/etc/aliases"
"$T/bin/sendmail" -bi > "$T/out" 2>&1
rc=$?
check "sendmail -bi is newaliases: a value local delivery would refuse, exit 78" sh -c "test $rc = 78 && grep -q 'aliases:2: ' '$T/out'"
rm "$MTA_ROOT/etc/aliases"
"$T/bin/mailq" bob@example.org > /dev/null 2>&1
check "mailq refuses addresses: exit 64" test "$?" = 64
if [ -x "$bin/mta-queue" ]; then
	"$T/bin/mailq" > "$T/out" 2>&1
	check "mailq runs mta-queue list: the queued message is listed" grep -q "$id" "$T/out"
	"$T/bin/sendmail" -bp > "$T/out2" 2>&1
	check "sendmail -bp is mailq" cmp -s "$T/out" "$T/out2"
else
	"$T/bin/mailq" > /dev/null 2> "$T/err"
	rc=$?
	check "mailq without mta-queue installed: exit 69 naming the program" sh -c \
		"test $rc = 69 && grep -q 'cannot run .*/mta-queue' '$T/err'"
fi

# --- sendmail -bs: SMTP on stdin/stdout through mta-recv --local ---
if [ -x "$bin/mta-recv" ] && command -v swaks > /dev/null; then
	n=$(ls "$spool/env" | wc -l)
	swaks --pipe "$T/bin/sendmail -bs -odb -oem" --from "$me@example.test" --to bob@example.org \
		--body 'via -bs' > "$T/swaks.out" 2>&1
	check "sendmail -bs: swaks over a pipe queues the message" test "$(ls "$spool/env" | wc -l)" = "$((n + 1))"
else
	skip "sendmail -bs: mta-recv is not built here"
fi

# --- a full disk: a small tmpfs as the spool, in a private mount namespace ---
if [ "$(id -u)" = 0 ] && command -v unshare > /dev/null; then
	mkdir -p "$T/full/etc" "$T/full/spool"
	printf 'log = file:%s/full.log\n' "$T" > "$T/full/etc/mta.conf"
	head -c 200000 /dev/urandom | base64 > "$T/big"
	MTA_ROOT=$T/full unshare -m sh -c "
		mount -t tmpfs -o size=64k tmpfs '$T/full/spool' || exit 99
		'$T/bin/sendmail' bob@example.org < '$T/big' 2> '$T/full.err'
		echo \$? > '$T/full.rc'
		ls '$T/full/spool/env' | wc -l > '$T/full.n'
	"
	check "full disk: exit 75, nothing queued" sh -c \
		"test \$(cat '$T/full.rc') = 75 && test \$(cat '$T/full.n') = 0 && grep -q 'No space left' '$T/full.err'"
else
	skip "full disk: needs root for a tmpfs"
fi

# --- set-uid to the spool owner: a local user queues without a world-writable spool ---
if [ "$(id -u)" != 0 ] || ! command -v useradd > /dev/null || ! command -v setpriv > /dev/null; then
	skip "set-uid submission: needs root, useradd and setpriv"
elif findmnt -no OPTIONS -T "$T" | grep -q nosuid; then
	skip "set-uid submission: $T is on a nosuid file system"
else
	su_spool=mtaspool$$
	su_caller=mtauser$$
	home=$T/suid-root
	su_spool2=mtaspl2$$
	users_cleanup() {
		userdel "$su_caller" 2> /dev/null
		userdel "$su_spool" 2> /dev/null
		userdel "$su_spool2" 2> /dev/null
		cleanup
	}
	trap users_cleanup EXIT INT TERM
	useradd --system --no-create-home --home-dir "$home" --shell /usr/sbin/nologin "$su_spool"
	useradd --no-create-home --home-dir /nonexistent --shell /bin/sh "$su_caller"
	chmod 711 "$T"
	install -d -o "$su_spool" -m 700 "$home" "$home/etc"
	printf 'hostname = mx.example.test\nlog = file:%s/mail.log\n[sendmail]\nmailname = example.test\n' "$home" > "$home/etc/mta.conf"
	chown "$su_spool" "$home/etc/mta.conf"
	install -d -m 755 "$T/sbin"
	install -o "$su_spool" -m 4755 "$bin/sendmail" "$T/sbin/sendmail"
	# What the caller controls: the environment and -C. Both must be ignored.
	install -d -o "$su_caller" -m 755 "$T/decoy" "$T/decoy/etc"
	printf 'spool = %s/decoy/spool\nlog = file:%s/decoy/log\n' "$T" "$T" > "$T/decoy/etc/mta.conf"
	cuid=$(id -u "$su_caller")
	as_caller() { setpriv --reuid="$su_caller" --regid="$su_caller" --init-groups "$@"; }
	printf 'Subject: set-uid\n\nhello\n' | env MTA_ROOT="$T/decoy" MTA_NOW=1 \
		setpriv --reuid="$su_caller" --regid="$su_caller" --init-groups "$T/sbin/sendmail" \
		-C "$T/decoy/etc/mta.conf" -v bob@example.org > "$T/out" 2> "$T/suid.err"
	rc=$?
	sid=$(sed -n 's/^sendmail: queued as //p' "$T/suid.err")
	# Under make asan, LeakSanitizer cannot run in a set-uid process (it
	# cannot read /proc/self/environ for its options) and fails at exit.
	if [ "$rc" = 1 ] && grep -q 'LeakSanitizer does not work under ptrace' "$T/suid.err"; then rc=0; fi
	check "set-uid: the caller's message is queued (exit 0)" sh -c "test $rc = 0 && test -n '$sid' && test -f '$home/spool/env/$sid'"
	sf=$(queued_content "$home/spool" "$sid")
	check "set-uid: spool files belong to the spool owner, mode 0600" sh -c \
		"test \"\$(stat -c '%U %a' '$sf')\" = '$su_spool 600' && test \"\$(stat -c '%U %a' '$home/spool')\" = '$su_spool 700'"
	check "set-uid: Received and log name the caller's real uid" sh -c \
		"grep -q 'from userid $cuid)' '$sf' && grep -q '$sid: uid=$cuid from=<$su_caller@example.test>' '$home/mail.log'"
	check "set-uid: MTA_ROOT, MTA_NOW and -C from the caller are ignored" sh -c \
		"test ! -e '$T/decoy/spool' && test ! -e '$T/decoy/log' && ! grep -q '1970' '$sf'"
	check "set-uid: the caller cannot read the spool" sh -c \
		"! setpriv --reuid=$su_caller --regid=$su_caller --init-groups ls '$home/spool/msg' > /dev/null 2>&1 &&
		 ! setpriv --reuid=$su_caller --regid=$su_caller --init-groups cat '$sf' > /dev/null 2>&1"
	if [ -x "$bin/mta-queue" ]; then
		install -m 755 "$bin/mta-queue" "$T/sbin/mta-queue"
		ln -s sendmail "$T/sbin/mailq"
		env MTA_ROOT="$T/decoy" setpriv --reuid="$su_caller" --regid="$su_caller" --init-groups \
			"$T/sbin/mailq" > "$T/out" 2>&1
		check "set-uid: mailq as the caller lists the queue through mta-queue" grep -q "$sid" "$T/out"
	fi
	if [ -x "$bin/mta-recv" ] && command -v swaks > /dev/null; then
		install -m 755 "$bin/mta-recv" "$T/sbin/mta-recv"
		n=$(ls "$home/spool/env" | wc -l)
		env MTA_ROOT="$T/decoy" setpriv --reuid="$su_caller" --regid="$su_caller" --init-groups \
			swaks --pipe "$T/sbin/sendmail -bs" --from "$su_caller@example.test" --to bob@example.org \
			> "$T/swaks.out" 2>&1
		check "set-uid: sendmail -bs as the caller queues through mta-recv --local" \
			test "$(ls "$home/spool/env" | wc -l)" = "$((n + 1))"
	fi
	# mta-setup's layout: the spool owner's home is the spool itself.
	home2=$T/suid-spool
	useradd --system --no-create-home --home-dir "$home2" --shell /usr/sbin/nologin "$su_spool2"
	install -d -o "$su_spool2" -m 700 "$home2" "$home2/msg" "$home2/env" "$home2/hold" "$home2/etc"
	printf 'hostname = mx.example.test\nlog = file:%s/mail.log\n' "$home2" > "$home2/etc/mta.conf"
	install -d -m 755 "$T/sbin2"
	install -o "$su_spool2" -m 4755 "$bin/sendmail" "$T/sbin2/sendmail"
	printf 'Subject: layout\n\nx\n' | setpriv --reuid="$su_caller" --regid="$su_caller" --init-groups \
		"$T/sbin2/sendmail" -v bob@example.org > /dev/null 2> "$T/suid2.err"
	sid2=$(sed -n 's/^sendmail: queued as //p' "$T/suid2.err")
	check "set-uid: a home that is a spool is the spool" sh -c "test -n '$sid2' && test -f '$home2/env/$sid2' && test ! -e '$home2/spool'"
	install -o root -m 4755 "$bin/sendmail" "$T/sbin/sendmail-root"
	printf 'Subject: x\n\nx\n' | as_caller "$T/sbin/sendmail-root" bob@example.org > /dev/null 2> "$T/err"
	rc=$?
	check "set-uid root is refused: exit 78" sh -c "test $rc = 78 && grep -q 'must not be set-uid root' '$T/err'"
fi
