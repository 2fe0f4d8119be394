#!/bin/sh
# The service files in contrib/ as their programs read them: every systemd
# unit passes `systemd-analyze verify` (pointed at the built programs), the
# crontab line's command runs a queue pass, and the inetd.conf line names
# the program and arguments mta-recv takes.
. "$(dirname "$0")/lib.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)

if command -v systemd-analyze > /dev/null; then
	mkdir -p "$T/units"
	for f in "$top"/contrib/systemd/*; do
		sed "s#/usr/sbin/#$bin/#g" "$f" > "$T/units/$(basename "$f")"
	done
	for u in "$T"/units/*; do
		name=$(basename "$u")
		(cd "$T/units" && systemd-analyze verify --man=no "./$name") > "$T/verify.out" 2>&1
		rc=$?
		sed 's/^/# /' "$T/verify.out"
		check "systemd: $name verifies without a complaint" sh -c "test $rc = 0 && ! test -s '$T/verify.out'"
	done
else
	skip "systemd: systemd-analyze missing"
fi

# The crontab line: its command, with the built program, runs a pass.
new_root cron
"$bin/mta-queue" init
line=$(grep -v '^#' "$top/contrib/crontab" | grep mta-queue)
cmd=$(printf '%s\n' "$line" | cut -f 3- | sed "s#/usr/sbin/#$bin/#g; s# --config /etc/mta/mta.conf##")
check "crontab: the schedule, the user and the command, TAB-separated" sh -c "test \$(printf '%s\n' '$line' | awk -F '\t' '{ print NF }') = 3"
sh -c "$cmd" > "$T/cron.out" 2>&1
check "crontab: the command runs a queue pass" test $? = 0

# inetd.conf: "smtp stream tcp nowait USER PROGRAM ARGV0 ARGS".
line=$(grep -v '^#' "$top/contrib/inetd.conf" | grep mta-recv)
prog=$(printf '%s\n' "$line" | awk '{ print $6 }')
args=$(printf '%s\n' "$line" | awk '{ for (i = 8; i <= NF; i++) printf "%s ", $i }')
check "inetd.conf: the smtp service, stream, tcp, nowait" sh -c "printf '%s\n' '$line' | awk '\$1 == \"smtp\" && \$2 == \"stream\" && \$3 == \"tcp\" && \$4 ~ /^nowait/ { ok = 1 } END { exit !ok }'"
printf 'hostname = mx.contrib.test\nlog = file:%s/inetd.log\nspool = %s/spool\n' "$T" "$MTA_ROOT" > "$T/mta.conf"
args=$(printf '%s\n' "$args" | sed "s#/etc/mta/mta.conf#$T/mta.conf#")
printf 'QUIT\r\n' | "$bin/$(basename "$prog")" $args > "$T/inetd.out" 2>&1
check "inetd.conf: the program with its arguments greets and quits" sh -c "head -1 '$T/inetd.out' | grep -q '^220 ' && grep -q '^221 ' '$T/inetd.out'"
