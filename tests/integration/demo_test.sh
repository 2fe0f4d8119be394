# The README's first command: scripts/demo must run the whole pipeline.
. "$(dirname "$0")/lib.sh"
chmod 0755 "$T"
DEMO_ROOT=$T/demo BUILD=$bin timeout 120 sh "$top/scripts/demo" > "$T/demo.out" 2>&1
rc=$?
check "demo: exits 0" test "$rc" -eq 0
check "demo: alice's Maildir has the SMTP message" sh -c "grep -l 'This message came in by SMTP' $T/demo/mail/alice/Maildir/new/*"
check "demo: bob's Maildir has the sendmail message" sh -c "grep -l 'came in through sendmail' $T/demo/mail/bob/Maildir/new/*"
check "demo: the remote MX got the relayed message" sh -c "grep -l 'This one is relayed' $T/demo/sink/*"
check "demo: the queue is empty afterwards" sh -c "! ls $T/demo/spool/env | grep ."
check "demo: log lines carry queue ids" grep -qE 'mta/qmgr\[[0-9]+\]: [0-9A-Z]{19}: removed' "$T/demo/mail.log"
started=$(sed -n 's/^started processes://p' "$T/demo.out")
check "demo: started two servers" test "$(echo $started | wc -w)" -eq 2
# the demo kills them on exit; allow a loaded machine a few seconds to reap
gone() { for p in $started; do kill -0 "$p" 2>/dev/null && return 1; done; return 0; }
i=0
until gone || [ $i -ge 50 ]; do sleep 0.1; i=$((i + 1)); done
check "demo: nothing it started is still running" gone
[ "$rc" -eq 0 ] || tail -40 "$T/demo.out"
