# An aiosmtpd server offering STARTTLS, for the TLS tests of mta-send:
#   starttls_server.py PORT LOG CERT_CHAIN KEY
# appends one JSON line a message to LOG: its recipients, whether the
# session was under TLS, and the size of the content. Stops on SIGTERM.
import json, ssl, sys, signal, logging
from aiosmtpd.controller import Controller
logging.disable(logging.WARNING)
port, log, chain, key = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
class H:
    async def handle_DATA(self, server, session, envelope):
        with open(log, "a") as f:
            f.write(json.dumps({"to": envelope.rcpt_tos, "tls": session.ssl is not None,
                                "size": len(envelope.original_content)}) + "\n")
        return "250 2.0.0 queued"
ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
ctx.load_cert_chain(chain, key)
c = Controller(H(), hostname="127.0.0.1", port=port, tls_context=ctx)
c.start()
signal.sigwait([signal.SIGTERM, signal.SIGINT])
c.stop()
