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
