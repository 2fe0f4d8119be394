#!/usr/bin/python3
"""Queue a message straight into an mta spool, for the mta-queue tests.

spool_put.py SPOOL -f SENDER [-r RCPT[:NOTIFY[:ORCPT]]]... [--arrival T] [--next T]
             [--ret FULL|HDRS] [--envid X] [--smtputf8] [--count N] [--received | --env-alone] < message

Writes msg/<id>, then env/<id> through a temporary file and a rename (the
spool's commit point), with the envelope's mtime set to the next attempt.
With --env-alone, writes the one file mta-recv makes instead: the content,
the envelope and the footer, named env/<id> (mta-spool(5)); the footer
has the offset alone, as before 2026-12-07 (no checksum, which readers
then do not check). With --received, that file also named msg/<id>, as
versions before 2026-12-07 received it.
Prints the queue id. The envelope text follows the mta-envelope 1 format.
"""
import argparse, os, random, sys, time

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def queue_id():
    micros = int(time.time() * 1_000_000)
    r = random.getrandbits(40)
    s = ""
    for _ in range(11):
        s = ALPHABET[micros & 31] + s
        micros >>= 5
    t = ""
    for _ in range(8):
        t = ALPHABET[r & 31] + t
        r >>= 5
    return s + t


def main():
    p = argparse.ArgumentParser()
    p.add_argument("spool")
    p.add_argument("-f", dest="sender", default="")
    p.add_argument("-r", dest="rcpts", action="append", default=[])
    p.add_argument("--arrival", type=int, default=int(time.time()))
    p.add_argument("--next", type=int)
    p.add_argument("--ret", default="")
    p.add_argument("--envid", default="")
    p.add_argument("--smtputf8", action="store_true")
    p.add_argument("--count", type=int, default=1, help="queue this many copies")
    p.add_argument("--received", action="store_true", help="one file, as mta-recv writes it")
    p.add_argument("--env-alone", action="store_true", help="one file, named env/<id> alone")
    a = p.parse_args()
    data = sys.stdin.buffer.read().replace(b"\r\n", b"\n")
    nxt = a.next if a.next is not None else a.arrival
    one_file = a.received or a.env_alone
    for _ in range(a.count):
        qid = queue_id()
        if not one_file:
            with open(os.path.join(a.spool, "msg", qid), "wb") as f:
                f.write(data)
        env = ["mta-envelope 1", "id " + qid, "arrival %d" % a.arrival, "sender <%s>" % a.sender,
               "size %d" % len(data)]
        if a.smtputf8:
            env.append("smtputf8 yes")
        if a.ret:
            env.append("ret " + a.ret)
        if a.envid:
            env.append("envid " + a.envid)
        env += ["client localhost[127.0.0.1]", "protocol ESMTP", "next %d" % nxt, "attempts 0"]
        for r in a.rcpts:
            parts = r.split(":", 2)
            env.append("rcpt <%s>" % parts[0])
            if len(parts) > 2 and parts[2]:
                env.append("  orcpt " + parts[2])
            if len(parts) > 1 and parts[1]:
                env.append("  notify " + parts[1])
            env.append("  state pending")
        env.append("end")
        tmp = os.path.join(a.spool, "env", "." + qid + ".tmp")
        text = ("\n".join(env) + "\n").encode()
        if one_file:
            text = data + text + b"envelope-at %020d\n" % len(data)
        with open(tmp, "wb") as f:
            f.write(text)
        os.utime(tmp, (nxt, nxt))
        os.rename(tmp, os.path.join(a.spool, "env", qid))
        if a.received:
            os.link(os.path.join(a.spool, "env", qid), os.path.join(a.spool, "msg", qid))
        print(qid)


main()
