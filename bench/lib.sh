# bench/lib.sh: what the benchmarks share. Sourced by bench/<name>/run.
# Debian's Python, for its modules (not another python3 on PATH).
py=/usr/bin/python3
# A free TCP port on 127.0.0.1.
free_port() { $py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
# Waits up to 5 seconds for something to listen on 127.0.0.1:PORT.
wait_port() {
	i=0
	while [ $i -lt 50 ]; do
		$py -c "import socket,sys; s=socket.socket(); sys.exit(s.connect_ex(('127.0.0.1',$1)))" && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}
# Seconds since the epoch, with nanoseconds.
now() { date +%s.%N; }

# Files are removed only after the last measurement. On ext4 without a
# journal, creating a file skips, one by one, every inode freed in the last
# one to six minutes in its block group (recently_deleted() in the kernel's
# inode allocator), so a benchmark that removed 100,000 spool files, or a
# round that emptied a Maildir, slowed every server measured after it, ours
# and Postfix alike, by a cost that belongs to neither. bench/run sets
# BENCH_TMP and removes it at the very end; a benchmark run alone removes
# its own files when it exits.
#
# bench_tmpdir: a new directory (mode 755: Postfix runs as its own user).
bench_tmpdir() {
	d=$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/mta-bench.XXXXXX") || return 1
	chmod 755 "$d"
	echo "$d"
}
# bench_discard PATH...: removes PATH now, or leaves it for bench/run.
bench_discard() {
	[ -n "${BENCH_TMP:-}" ] || rm -rf "$@"
}
# bench_empty_dir DIR: DIR empty again without removing what was in it:
# the old directory is renamed aside (same owner and mode for the new one).
bench_empty_dir() {
	[ -d "$1" ] || return 0
	n=0
	while [ -e "$1.old$n" ]; do n=$((n + 1)); done
	mv "$1" "$1.old$n" && mkdir "$1" && chmod --reference="$1.old$n" "$1" && chown --reference="$1.old$n" "$1"
}

# postfix_start DIR PORT [LINE]...: a Postfix instance for comparison, its
# configuration, queue and log under DIR, smtpd on 127.0.0.1:PORT, no limits
# on clients, no DNS for them. The main.cf lines every benchmark shares, then
# each LINE (transports, relay host, virtual maps). master.cf has the usual
# services (those a benchmark does not route to stay idle). Needs root:
# fails without it. Sets pf_started=1 once it listens; stop it with
# `postfix -c DIR/conf stop`.
postfix_start() {
	pf_dir=$1 pf_port=$2
	shift 2
	[ "$(id -u)" -eq 0 ] && command -v postfix > /dev/null && id postfix > /dev/null 2>&1 || return 1
	mkdir -p "$pf_dir/conf" "$pf_dir/q" "$pf_dir/data"
	chown postfix "$pf_dir/data"
	{
		cat <<PFEOF
compatibility_level = 3.6
queue_directory = $pf_dir/q
data_directory = $pf_dir/data
mail_owner = postfix
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = bench.test
mydestination =
mynetworks = 127.0.0.0/8
local_recipient_maps =
alias_maps =
alias_database =
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
smtpd_peername_lookup = no
maillog_file_prefixes = /tmp, $pf_dir
maillog_file = $pf_dir/maillog
PFEOF
		for line in "$@"; do printf '%s\n' "$line"; done
	} > "$pf_dir/conf/main.cf"
	cat > "$pf_dir/conf/master.cf" <<PFEOF
127.0.0.1:$pf_port inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
smtp      unix  - - n - - smtp
relay     unix  - - n - - smtp
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
virtual   unix  - n n - - virtual
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
PFEOF
	postfix -c "$pf_dir/conf" start > /dev/null 2>&1 && wait_port "$pf_port" || return 1
	pf_started=1
}
