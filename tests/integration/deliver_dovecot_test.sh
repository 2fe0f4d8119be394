#!/bin/sh
# mta-deliver against a real Dovecot: every message we write to a Maildir is
# seen byte-exact over IMAP with no complaint in Dovecot's log, and an LMTP
# delivery with one known and one unknown recipient gets one result each.
. "$(dirname "$0")/lib.sh"

command -v dovecot >/dev/null 2>&1 || { skip "dovecot is not installed"; exit 0; }
new_root
chmod 755 "$T"
if [ "$(id -u)" = 0 ]; then
	muid=5000 mgid=5000 internal=dovecot login=dovenull group=dovecot
else
	muid=$(id -u) mgid=$(id -g) internal=$(id -un) login=$(id -un) group=$(id -gn)
fi
D=$T/dovecot
mkdir -p "$D/run" "$D/state" "$T/mail/alice"
chown "$muid:$mgid" "$T/mail/alice"
imap_port=$(free_port)
lmtp_port=$(free_port)
echo "alice:{PLAIN}secret:$muid:$mgid::$T/mail/alice::" > "$D/passwd"
cat > "$D/dovecot.conf" <<CONF
base_dir = $D/run
state_dir = $D/state
log_path = $D/dovecot.log
info_log_path = $D/dovecot.log
protocols = imap lmtp
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
auth_username_format = %Ln
default_internal_user = $internal
default_login_user = $login
default_internal_group = $group
first_valid_uid = 1
mail_location = maildir:~/Maildir
passdb {
  driver = passwd-file
  args = $D/passwd
}
userdb {
  driver = passwd-file
  args = $D/passwd
}
service anvil {
  chroot =
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = $imap_port
  }
  inet_listener imaps {
    port = 0
  }
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $lmtp_port
  }
  unix_listener lmtp {
    mode = 0600
  }
}
service auth {
  unix_listener auth-userdb {
    mode = 0666
  }
}
CONF
bg dovecot -F -c "$D/dovecot.conf"
if ! wait_port "$imap_port" 15 || ! wait_port "$lmtp_port" 5; then
	not_ok "dovecot starts"
	cat "$D/dovecot.log" 2>/dev/null | sed 's/^/#   /'
	exit 1
fi
ok "dovecot starts on 127.0.0.1:$imap_port (IMAP) and :$lmtp_port (LMTP)"

cat > "$MTA_ROOT/etc/virtual" <<V
alice@example.test  $T/mail/alice/Maildir/  $muid:$mgid
@lmtp.test          lmtp:inet:127.0.0.1:$lmtp_port
V
deliver() { "$bin/mta-deliver" --log "file:$T/mail.log" "$@"; }

# Messages that tend to break careless writers: 8-bit text, a From_ line, a
# lone dot, no final newline, a long line, an empty body.
mkdir -p "$T/msgs"
printf 'Subject: one\nFrom: a@example.org\n\nplain body\n' > "$T/msgs/1"
printf 'Subject: two\nContent-Type: text/plain; charset=utf-8\n\nK\303\244se und \303\226l\nFrom the start\n.\n..\n' > "$T/msgs/2"
printf 'Subject: three\n\nno final newline' > "$T/msgs/3"
/usr/bin/python3 -c 'print("Subject: four\n\n" + "x" * 5000 + "\n" + "y" * 998)' > "$T/msgs/4"
printf 'Subject: five\n\n' > "$T/msgs/5"
n=0
good=1
for f in "$T"/msgs/*; do
	out=$(deliver -f "sender@example.org" alice@example.test < "$f")
	rc=$?
	case "$out" in
	"result	-	alice@example.test	ok	250	2.0.0	local	"*) ;;
	*) good=0; echo "# $out (exit $rc)" ;;
	esac
	[ "$rc" = 0 ] || good=0
	n=$((n + 1))
done
[ "$good" = 1 ] && ok "$n deliveries to the Maildir report ok with exit 0" || not_ok "deliveries to the Maildir"

# File names: unique, in new/, ,S= exact, mode 0600, owned by the mailbox owner.
check "Maildir files are named sec.M<usec>P<pid>Q<n>.host,S=<size>,W=<vsize> with exact sizes" \
	/usr/bin/python3 - "$T/mail/alice/Maildir" "$muid" <<'PY'
import os, re, sys
md, uid = sys.argv[1], int(sys.argv[2])
names = os.listdir(md + "/new")
assert len(names) == 5, names
assert os.listdir(md + "/tmp") == [], "tmp/ not empty"
for n in names:
    m = re.fullmatch(r"(\d+)\.M(\d+)P(\d+)Q(\d+)\.([^,/:]+),S=(\d+),W=(\d+)", n)
    assert m, n
    data = open(md + "/new/" + n, "rb").read()
    assert int(m.group(6)) == len(data), n
    assert int(m.group(7)) == len(data) + data.count(b"\n"), n
    st = os.stat(md + "/new/" + n)
    assert st.st_mode & 0o777 == 0o600 and st.st_uid == uid, n
    assert data.startswith(b"Return-Path: <sender@example.org>\nDelivered-To: alice@example.test\n"), data[:80]
for d in ("", "/tmp", "/new", "/cur"):
    assert os.stat(md + d).st_mode & 0o777 == 0o700, d
PY

# IMAP: every message, byte for byte (Dovecot serves CRLF), with the right size.
check "IMAP sees every delivered message byte-exact with RFC822.SIZE = W" \
	/usr/bin/python3 - "$imap_port" "$T/mail/alice/Maildir" "$T/msgs" <<'PY'
import imaplib, os, sys
port, md, msgs = int(sys.argv[1]), sys.argv[2], sys.argv[3]
files = sorted(os.listdir(md + "/new"), key=lambda n: (int(n.split(".")[0]), int(n.split(".M")[1].split("P")[0])))
expected = []
for n in files:
    raw = open(md + "/new/" + n, "rb").read()
    expected.append((raw.replace(b"\n", b"\r\n"), int(n.split(",W=")[1])))
originals = sorted(open(os.path.join(msgs, f), "rb").read() for f in os.listdir(msgs))
got_orig = []
M = imaplib.IMAP4("127.0.0.1", port)
M.login("alice", "secret")
typ, data = M.select("INBOX")
assert int(data[0]) == len(expected), data
for i, (want, w) in enumerate(expected, 1):
    typ, d = M.fetch(str(i), "(RFC822.SIZE BODY.PEEK[])")
    body = d[0][1]
    assert body == want, (i, body[:200], want[:200])
    assert b"RFC822.SIZE %d " % w in d[0][0], d[0][0]
    got_orig.append(body.split(b"\r\n", 2)[2].replace(b"\r\n", b"\n"))
M.logout()
assert sorted(got_orig) == originals, "message content changed"
PY

check "Dovecot's log has no wrong S value, size or error complaint" \
	sh -c "! grep -Ei 'wrong S value|Cached message size|error|Panic' '$D/dovecot.log'"

# LMTP: one known, one unknown recipient in one transaction.
out=$(printf 'Subject: via lmtp\n\nhello over LMTP\n' | deliver -f sender@example.org alice@lmtp.test nobody@lmtp.test)
rc=$?
echo "$out" | sed 's/^/# /'
check "LMTP: the known recipient is ok (250 2.0.0 from Dovecot)" \
	sh -c "printf '%s\n' \"\$1\" | grep -q '^result	-	alice@lmtp.test	ok	250	2\.0\.0	lmtp:inet:127\.0\.0\.1:$lmtp_port	'" - "$out"
check "LMTP: the unknown recipient is permanent 550 5.1.1" \
	sh -c "printf '%s\n' \"\$1\" | grep -q '^result	-	nobody@lmtp.test	permanent	550	5\.1\.1	lmtp:'" - "$out"
check "LMTP: exit status 67 (EX_NOUSER) for the mixed result" test "$rc" = 67
check "LMTP: the message reached alice's INBOX through Dovecot" \
	/usr/bin/python3 - "$imap_port" <<'PY'
import imaplib, sys
M = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
M.login("alice", "secret")
M.select("INBOX")
typ, d = M.search(None, "SUBJECT", '"via lmtp"')
ids = d[0].split()
assert len(ids) == 1, d
typ, d = M.fetch(ids[0], "(BODY.PEEK[TEXT])")
assert d[0][1] == b"hello over LMTP\r\n", d
M.logout()
PY

# The same over Dovecot's UNIX-domain LMTP socket.
printf '@unix.test  lmtp:unix:%s\n' "$D/run/lmtp" >> "$MTA_ROOT/etc/virtual"
out=$(printf 'Subject: via unix lmtp\n\nhello\n' | deliver -f sender@example.org alice@unix.test nobody@unix.test)
rc=$?
check "LMTP over a UNIX socket: per-recipient results, exit 67" sh -c \
	"test $rc = 67 && printf '%s\n' \"\$1\" | grep -q '^result	-	alice@unix.test	ok	250	2\.0\.0	lmtp:unix:$D/run/lmtp	' &&
	printf '%s\n' \"\$1\" | grep -q '^result	-	nobody@unix.test	permanent	550	5\.1\.1	'" - "$out"

# LMTP server gone: temporary for every recipient.
dead=$(free_port)
sed -i "s/:$lmtp_port\$/:$dead/" "$MTA_ROOT/etc/virtual"
out=$(printf 'Subject: x\n\ny\n' | deliver -f sender@example.org alice@lmtp.test)
rc=$?
check "LMTP: a server that is down gives a temporary failure (exit 75)" \
	sh -c "test $rc = 75 && printf '%s\n' \"\$1\" | grep -q '	temporary	451	4\.4\.1	'" - "$out"

check "log lines are Postfix-shaped with ident mta/local" \
	grep -Eq 'mta/local\[[0-9]+\]: NOQUEUE: to=<nobody@lmtp.test>, relay=lmtp:inet:127.0.0.1:[0-9]+, delay=[0-9.]+, delays=[0-9./]+, dsn=5.1.1, status=bounced' "$T/mail.log"
