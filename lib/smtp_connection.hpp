// smtp_connection: one TCP connection to an SMTP server.
//
// Connects with a timeout, reads replies line by line through a buffer,
// writes with a timeout, and switches to TLS after STARTTLS. Every wait
// has its own timeout, as RFC 5321 4.5.3.2 asks of a client; the values
// are SmtpTimeouts (configurable). Failures throw mta::Error with a
// temporary Status: 4.4.1 no connection, 4.4.2 lost or timed out,
// 4.5.0 malformed reply.
#pragma once

#include "smtp_reply.hpp"
#include "tls_client.hpp"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

namespace mta {

using Seconds = std::chrono::seconds;

// Postfix's defaults, at or above RFC 5321's minimums where it sets one.
struct SmtpTimeouts {
    Seconds connect{30};
    Seconds greeting{300};  // 220 banner
    Seconds helo{300};      // EHLO/HELO, STARTTLS, AUTH
    Seconds tls{300};       // the TLS handshake
    Seconds mail{300};
    Seconds rcpt{300};
    Seconds data_init{120};   // 354
    Seconds data_block{180};  // each block of content written
    Seconds data_done{600};   // the reply to the final dot
    Seconds rset{120};
    Seconds quit{120};
};

class SmtpConnection {
public:
    // Connects to a numeric IPv4 or IPv6 address. Throws Error (temporary
    // 4.4.1) when it cannot.
    static std::unique_ptr<SmtpConnection> open(const std::string& address, std::uint16_t port, Seconds timeout);
    ~SmtpConnection();
    SmtpConnection(const SmtpConnection&) = delete;
    SmtpConnection& operator=(const SmtpConnection&) = delete;

    // Reads one complete reply; `stage` names what it answers for errors
    // ("in reply to RCPT TO command").
    SmtpReply read_reply(Seconds timeout, std::string_view stage);
    void write(std::string_view bytes, Seconds timeout, std::string_view stage);
    // Writes `line` CRLF and reads the reply.
    SmtpReply command(std::string_view line, Seconds timeout, std::string_view stage);

    // After a 220 to STARTTLS: drops whatever the server sent in plain text
    // and not yet read (RFC 3207 5, the "STARTTLS injection"), then
    // handshakes. Returns how many buffered bytes were dropped.
    size_t start_tls(TlsClient& client, TlsPolicy policy, const std::string& host, const std::vector<Tlsa>& tlsa,
                     Seconds timeout);
    const TlsSession* tls() const { return tls_.get(); }

    // With a trace stream, the dialogue is copied there: "<<< " lines the
    // server sent, ">>> " lines written (AUTH data masked, content counted).
    void trace(std::FILE* to) { trace_ = to; }

    const std::string& address() const { return address_; }
    std::uint16_t port() const { return port_; }
    void close();

private:
    SmtpConnection(int fd, std::string address, std::uint16_t port) : fd_(fd), address_(std::move(address)), port_(port) {}
    // Reads more bytes into the buffer; false at the end of the stream.
    bool fill(Deadline d, std::string_view stage);
    int fd_;
    std::string address_;
    std::uint16_t port_;
    void trace_out(std::string_view bytes, std::string_view stage);
    std::unique_ptr<TlsSession> tls_;
    std::FILE* trace_ = nullptr;
    std::string in_;
    size_t pos_ = 0;
};

}  // namespace mta
