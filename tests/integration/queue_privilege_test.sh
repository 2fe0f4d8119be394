#!/bin/sh
# mta-queue run by root over a spool that belongs to an unprivileged user
# (the "system users' mailboxes" deployment of docs/security.md): mta-route
# and mta-send run as the spool's owner, mta-deliver as root; every file a
# root process creates in the spool is given to the spool's owner, so the
# owner's programs can read it.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" -eq 0 ] || { skip "privilege: needs root"; exit 0; }
id nobody > /dev/null 2>&1 || { skip "privilege: no user nobody"; exit 0; }
[ -x /usr/sbin/smtp-sink ] || { skip "privilege: smtp-sink missing"; exit 0; }
nuid=$(id -u nobody)
ngid=$(id -g nobody)
chmod 0755 "$T"
new_root priv
cat > "$MTA_ROOT/etc/mta.conf" <<EOC
hostname = mx.priv.example
log = file:$MTA_ROOT/mail.log
[mta-queue]
route-program = $T/route
send-program = $T/send
deliver-program = $T/deliver
EOC
: > "$MTA_ROOT/mail.log"
chmod 0666 "$MTA_ROOT/mail.log"
printf 'priv.example\n' > "$MTA_ROOT/etc/local-domains"
printf 'alice@priv.example %s/mail/Maildir/ %s:%s\n' "$T" "$nuid" "$ngid" > "$MTA_ROOT/etc/virtual"
sink_port=$(free_port)
printf 'sink.example [127.0.0.1]:%s tls=none\ndown.example [127.0.0.1]:%s tls=none\n' "$sink_port" "$(free_port)" > "$MTA_ROOT/etc/routes"
mkdir -p "$T/mail" "$T/sink" "$T/uids"
chown nobody "$T/mail" "$T/uids"
chmod 0777 "$T/sink"
# The stages are the real programs behind a line that records who ran them.
for s in route send deliver; do
	printf '#!/bin/sh\necho "$(id -u):$(id -g):$(id -G)" > "%s/uids/%s"\nexec "%s/mta-%s" "$@"\n' "$T" "$s" "$bin" "$s" > "$T/$s"
	chmod 0755 "$T/$s"
done
"$bin/mta-queue" init
# The spool's group is root's: the stages still get the owner's own group.
chown -R nobody:0 "$MTA_ROOT/spool"

bg /usr/sbin/smtp-sink -u nobody -d "$T/sink/%H%M%S." 127.0.0.1:"$sink_port" 10
wait_port "$sink_port" || { not_ok "privilege: smtp-sink did not start"; exit 0; }

# mta-recv run by root (inetd shape) queues into nobody's spool.
printf 'EHLO c.example\r\nMAIL FROM:<bob@outside.example>\r\nRCPT TO:<carol@sink.example>\r\nRCPT TO:<alice@priv.example>\r\nRCPT TO:<dave@down.example>\r\nDATA\r\nSubject: privileges\r\n\r\nbody\r\n.\r\nQUIT\r\n' |
	RELAYCLIENT= "$bin/mta-recv" --lookup-client-name false > "$T/recv.out" 2>&1
check "privilege: root's mta-recv queued the message" grep -q '^250 2.0.0 Ok: queued' "$T/recv.out"
check "privilege: the files root created in the spool belong to its owner" sh -c \
	"test -z \"\$(find '$MTA_ROOT/spool/msg' '$MTA_ROOT/spool/env' -type f ! -user nobody)\" && test -n \"\$(ls '$MTA_ROOT/spool/env')\""

timeout 60 "$bin/mta-queue" run > "$T/run.out" 2>&1
check "privilege: the run succeeds" test $? -eq 0
check "privilege: mta-route ran as the spool's owner, its group only" test "$(cat "$T/uids/route" 2>/dev/null)" = "$nuid:$ngid:$ngid"
check "privilege: mta-send ran as the spool's owner, its group only" test "$(cat "$T/uids/send" 2>/dev/null)" = "$nuid:$ngid:$ngid"
check "privilege: mta-deliver ran as root" sh -c "cut -d: -f1 '$T/uids/deliver' | grep -qx 0"
check "privilege: sent to smtp-sink" grep -q 'to=<carol@sink.example>, relay=.*status=sent' "$MTA_ROOT/mail.log"
check "privilege: delivered to alice's Maildir" sh -c "grep -l 'Subject: privileges' '$T'/mail/Maildir/new/* | grep -q ."
check "privilege: the recipient whose host is down is deferred" grep -q 'to=<dave@down.example>, .*status=deferred' "$MTA_ROOT/mail.log"
check "privilege: the envelope root rewrote still belongs to the spool's owner" sh -c \
	"test \$(ls -A '$MTA_ROOT/spool/env' | wc -l) = 1 && test -z \"\$(find '$MTA_ROOT/spool/env' -type f ! -user nobody)\""
check "privilege: the pass lock root created belongs to the spool's owner" test "$(stat -c %U "$MTA_ROOT/spool/lock")" = nobody
# The owner's own run after root's (its cron, say) opens the same lock and spool.
setpriv --reuid="$nuid" --regid="$ngid" --clear-groups env MTA_NOW=$(($(date +%s) + 7200)) "$bin/mta-queue" run > "$T/run2.out" 2>&1
check "privilege: a later run as the spool's owner works" test $? -eq 0
# An older spool without the trigger FIFO: root's init adds one the owner's
# programs can use.
rm -f "$MTA_ROOT/spool/trigger"
rmdir "$MTA_ROOT/spool/hold" 2> /dev/null || true
"$bin/mta-queue" init
check "privilege: init as root gives the FIFO and directories it adds to the spool's owner" sh -c \
	"test -p '$MTA_ROOT/spool/trigger' && test \"\$(stat -c %U '$MTA_ROOT/spool/trigger' '$MTA_ROOT/spool/hold' | sort -u)\" = nobody"
