#!/usr/bin/python3
"""SMTP load for load_test.sh: plain sockets and asyncio, bounded everywhere.

  load_driver.py sessions PORT COUNT CONCURRENCY   COUNT full sessions, at most
                                                   CONCURRENCY at once; every
                                                   tenth one sends a message
  load_driver.py hold PORT COUNT SECONDS           open COUNT connections at once,
                                                   count 220 and 421 greetings,
                                                   run one transaction on each
                                                   greeted one while all are held
  load_driver.py trickle PORT SECONDS LIMIT        send one byte every SECONDS;
                                                   print how long until closed
                                                   (gives up after LIMIT seconds)
  load_driver.py idle PORT COUNT LIMIT             open COUNT silent connections;
                                                   print how many the server closed
                                                   within LIMIT seconds

Prints one result line "key=value ..." and exits 0; exits 1 on a protocol
surprise (the reason on stderr).
"""
import asyncio
import socket
import sys
import time

HOST = "127.0.0.1"


async def reply(reader, timeout=30):
    """One SMTP reply: (code, last line)."""
    while True:
        line = await asyncio.wait_for(reader.readline(), timeout)
        if not line:
            return 0, b""
        if len(line) < 4 or line[3:4] != b"-":
            return int(line[:3]), line


async def transaction(reader, writer, n, send_message):
    writer.write(b"EHLO load.example\r\n")
    code, _ = await reply(reader)
    if code != 250:
        return "ehlo %d" % code
    writer.write(b"MAIL FROM:<load%d@outside.example>\r\n" % n)
    code, _ = await reply(reader)
    if code != 250:
        return "mail %d" % code
    writer.write(b"RCPT TO:<alice@load.example>\r\n")
    code, _ = await reply(reader)
    if code != 250:
        return "rcpt %d" % code
    if send_message:
        writer.write(b"DATA\r\n")
        code, _ = await reply(reader)
        if code != 354:
            return "data %d" % code
        writer.write(b"Subject: load %d\r\n\r\nbody %d\r\n.\r\n" % (n, n))
        code, _ = await reply(reader)
        if code != 250:
            return "end of data %d" % code
    else:
        writer.write(b"RSET\r\n")
        code, _ = await reply(reader)
        if code != 250:
            return "rset %d" % code
    writer.write(b"QUIT\r\n")
    code, _ = await reply(reader)
    if code != 221:
        return "quit %d" % code
    return None


async def one_session(port, n, sem, stats):
    async with sem:
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, port), 30)
        except (OSError, asyncio.TimeoutError) as e:
            stats["failed"] += 1
            stats.setdefault("why", str(e))
            return
        try:
            code, _ = await reply(reader)
            if code == 421:
                stats["refused"] += 1
                return
            if code != 220:
                stats["failed"] += 1
                stats.setdefault("why", "greeting %d" % code)
                return
            why = await transaction(reader, writer, n, n % 10 == 0)
            if why:
                stats["failed"] += 1
                stats.setdefault("why", why)
            else:
                stats["ok"] += 1
                if n % 10 == 0:
                    stats["messages"] += 1
        except (OSError, asyncio.TimeoutError, ValueError) as e:
            stats["failed"] += 1
            stats.setdefault("why", repr(e))
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass


async def sessions(port, count, concurrency):
    sem = asyncio.Semaphore(concurrency)
    stats = {"ok": 0, "failed": 0, "refused": 0, "messages": 0}
    start = time.monotonic()
    await asyncio.gather(*(one_session(port, n, sem, stats) for n in range(count)))
    why = stats.pop("why", "")
    print("ok=%d failed=%d refused=%d messages=%d seconds=%.1f" % (
        stats["ok"], stats["failed"], stats["refused"], stats["messages"], time.monotonic() - start))
    if why:
        print("first failure: %s" % why, file=sys.stderr)


async def hold(port, count, seconds):
    conns = []
    greeted = refused = other = 0
    for _ in range(count):
        try:
            r, w = await asyncio.wait_for(asyncio.open_connection(HOST, port), 10)
            conns.append((r, w))
        except (OSError, asyncio.TimeoutError):
            other += 1
    codes = await asyncio.gather(*(reply(r, 10) for r, _ in conns), return_exceptions=True)
    live = []
    for (r, w), c in zip(conns, codes):
        if isinstance(c, tuple) and c[0] == 220:
            greeted += 1
            live.append((r, w))
        elif isinstance(c, tuple) and c[0] == 421:
            refused += 1
        else:
            other += 1
    # While every connection is held, the greeted ones still get service.
    served = 0
    results = await asyncio.gather(*(transaction(r, w, i, True) for i, (r, w) in enumerate(live)),
                                   return_exceptions=True)
    served = sum(1 for x in results if x is None)
    await asyncio.sleep(seconds)
    for _, w in conns:
        w.close()
    print("greeted=%d refused=%d other=%d served=%d" % (greeted, refused, other, served))


def trickle(port, interval, limit):
    s = socket.create_connection((HOST, port), 10)
    s.settimeout(interval)
    start = time.monotonic()
    greeting = s.recv(512)
    closed = None
    data = b"EHLO slow.example\r\n" * 1000
    i = 0
    last = b""
    while time.monotonic() - start < limit:
        try:
            s.send(data[i:i + 1])
            i += 1
        except OSError:
            closed = time.monotonic() - start
            break
        try:
            got = s.recv(512)
            if not got:
                closed = time.monotonic() - start
                break
            last = got
        except socket.timeout:
            pass
        except OSError:
            closed = time.monotonic() - start
            break
    s.close()
    tail = last.decode("ascii", "replace").strip().splitlines()
    print("greeting=%s closed=%s sent=%d last=%s" % (
        greeting[:3].decode("ascii", "replace"), "%.1f" % closed if closed is not None else "never", i,
        (tail[-1][:3] if tail else "-")))


def idle(port, count, limit):
    socks = []
    for _ in range(count):
        s = socket.create_connection((HOST, port), 10)
        s.setblocking(False)
        socks.append(s)
    start = time.monotonic()
    closed = set()
    while len(closed) < count and time.monotonic() - start < limit:
        for n, s in enumerate(socks):
            if n in closed:
                continue
            try:
                while True:
                    got = s.recv(4096)
                    if not got:
                        closed.add(n)
                        break
            except BlockingIOError:
                pass
            except OSError:
                closed.add(n)
        time.sleep(0.2)
    for s in socks:
        s.close()
    print("opened=%d closed=%d seconds=%.1f" % (count, len(closed), time.monotonic() - start))


def main():
    what = sys.argv[1]
    port = int(sys.argv[2])
    if what == "sessions":
        asyncio.run(sessions(port, int(sys.argv[3]), int(sys.argv[4])))
    elif what == "hold":
        asyncio.run(hold(port, int(sys.argv[3]), float(sys.argv[4])))
    elif what == "trickle":
        trickle(port, float(sys.argv[3]), float(sys.argv[4]))
    elif what == "idle":
        idle(port, int(sys.argv[3]), float(sys.argv[4]))
    else:
        sys.exit("unknown mode " + what)


if __name__ == "__main__":
    main()
