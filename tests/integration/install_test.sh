# make install into a DESTDIR, then the demo from the installed programs.
. "$(dirname "$0")/lib.sh"
dest=$T/dest
chmod 0755 "$T"
make -s -C "$top" install DESTDIR="$dest" PREFIX=/usr SYSCONFDIR=/etc BUILD="$BUILD" > "$T/install.log" 2>&1
check "install: make install succeeds" test $? -eq 0
for p in mta-recv mta-route mta-send mta-deliver mta-queue sendmail mta-setup; do
	check "install: sbin/$p" test -x "$dest/usr/sbin/$p"
done
check "install: /usr/lib/sendmail points at sbin/sendmail" test "$(readlink "$dest/usr/lib/sendmail")" = ../sbin/sendmail
check "install: mailq and newaliases in bin" sh -c "test -L $dest/usr/bin/mailq && test -L $dest/usr/bin/newaliases"
for m in "$top"/man/*.[578]; do
	s=${m##*.}
	check "install: man page $(basename "$m")" test -f "$dest/usr/share/man/man$s/$(basename "$m")"
done
check "install: example config" test -f "$dest/etc/mta/mta.conf.example"
check "install: mailq via the installed link answers" sh -c "mkdir -p $T/r && MTA_ROOT=$T/r $dest/usr/sbin/mta-queue init && MTA_ROOT=$T/r $dest/usr/bin/mailq | grep -q 'Mail queue is empty'"
DEMO_ROOT=$T/demo BUILD=$dest/usr/sbin timeout 120 sh "$top/scripts/demo" > "$T/demo.out" 2>&1
check "install: the demo runs from the installed programs" test $? -eq 0
check "install: ... and delivers" sh -c "grep -l 'came in through sendmail' $T/demo/mail/bob/Maildir/new/*"
