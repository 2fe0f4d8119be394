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
check "install: the TLS plugin in lib/mta" test -f "$dest/usr/lib/mta/mta-tls.so"
check "install: the command-line library in lib/mta" test -f "$dest/usr/lib/mta/libmta-cli.so"
# mta-route, mta-send and mta-deliver load it: from the tree they were
# installed in (RUNPATH $ORIGIN/../lib/mta), else from /usr/lib/mta.
for p in mta-route mta-send mta-deliver; do
	check "install: the installed $p loads libmta-cli.so from the installed tree" \
		sh -c "ldd $dest/usr/sbin/$p | grep -q 'libmta-cli.so => $dest/usr/sbin/../lib/mta/libmta-cli.so'"
	check "install: ... and from /usr/lib/mta once in place" \
		sh -c "readelf -d $dest/usr/sbin/$p | grep RUNPATH | grep -q ':/usr/lib/mta]'"
done
for p in sendmail mta-recv mta-queue; do
	check "install: the installed $p has the parser linked in" sh -c "! ldd $dest/usr/sbin/$p | grep -q libmta-cli"
done
check "install: the installed mta-route runs" sh -c "$dest/usr/sbin/mta-route --help | grep -q '^Usage: '"
check "install: the installed plugin links OpenSSL, the installed mta-recv does not" \
	sh -c "ldd $dest/usr/lib/mta/mta-tls.so | grep -q libssl && ! ldd $dest/usr/sbin/mta-recv | grep -E 'libssl|libcrypto'"
# The programs look for the plugin at PREFIX's lib/mta (here /usr/lib/mta,
# outside DESTDIR) and load the installed file when told where it is.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" -days 2 \
	-subj /CN=install.test > /dev/null 2>&1
mkdir -p "$T/tr/spool/msg" "$T/tr/spool/env" "$T/tr/spool/hold" "$T/tr/etc"
tlsrecv="$dest/usr/sbin/mta-recv --spool $T/tr/spool --etc $T/tr/etc --log file:$T/tr/log --hostname install.test --lookup-client-name false --tls-cert $T/cert.pem --tls-key $T/key.pem"
if [ -e /usr/lib/mta/mta-tls.so ]; then
	skip "install: compiled-in plugin path (a plugin is installed in /usr/lib/mta on this machine)"
else
	check "install: the installed mta-recv looks for /usr/lib/mta/mta-tls.so" \
		sh -c "$tlsrecv < /dev/null 2>&1 | grep -q 'cannot load the TLS plugin /usr/lib/mta/mta-tls.so'"
fi
check "install: with the installed plugin, the installed mta-recv offers STARTTLS" \
	sh -c "printf 'EHLO x\r\nQUIT\r\n' | MTA_TLS_PLUGIN=$dest/usr/lib/mta/mta-tls.so $tlsrecv | grep -q '^250.STARTTLS'"
check "install: mailq via the installed link answers" sh -c "mkdir -p $T/r && MTA_ROOT=$T/r $dest/usr/sbin/mta-queue init && MTA_ROOT=$T/r $dest/usr/bin/mailq | grep -q 'Mail queue is empty'"
DEMO_ROOT=$T/demo BUILD=$dest/usr/sbin timeout 120 sh "$top/scripts/demo" > "$T/demo.out" 2>&1
check "install: the demo runs from the installed programs" test $? -eq 0
check "install: ... and delivers" sh -c "grep -l 'came in through sendmail' $T/demo/mail/bob/Maildir/new/*"
