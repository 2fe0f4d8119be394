// smtp_session: the SMTP server protocol state machine, free of I/O.
//
// The driver (mta-recv's connection loop, or a unit test) feeds the bytes it
// reads with feed() and sends what take_output() returns before it blocks
// on the next read; with PIPELINING the replies to a batch of commands
// then leave together. The session never touches a socket: it asks its
// Backend to check recipients and passwords and to store messages.
//
// STARTTLS: after its 220 reply the session discards the rest of the input
// it was given (plaintext pipelined after STARTTLS) and tls_pending()
// becomes true; the driver sends the output, performs the handshake and
// calls tls_started(), which resets the session to its initial state.
#pragma once

#include "client_peer.hpp"
#include "envelope.hpp"
#include "smtp_command.hpp"
#include "smtp_data_reader.hpp"
#include "status.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mta::smtp {

struct SessionConfig {
    std::string hostname = "localhost";
    std::uint64_t max_message_size = 10 * 1024 * 1024;
    size_t max_recipients = 100;
    int max_errors = 20;          // error replies before 421 and close
    size_t max_command = 2048;    // octets of a command line with CRLF
    int max_received = 100;       // Received fields that mean a loop
    bool local = false;           // sendmail -bs: LF tolerated, client "local"
    std::string local_user;       // "uid 1000" for the Received field
    bool may_relay = false;       // trusted network, RELAYCLIENT, local submitter
    bool starttls_available = false;
    bool tls_active = false;      // implicit TLS (465)
    std::string tls_info;         // "TLSv1.3 with cipher ..." when active
    bool auth_available = false;  // a password file is configured
};

// What the session needs from the outside world.
class Backend {
public:
    virtual ~Backend() = default;
    // ok, or the rejection (550 5.1.1, 554 5.7.1...).
    virtual Status check_recipient(const Address& rcpt, bool may_relay) = 0;
    virtual bool authenticate(const std::string& user, const std::string& password) = 0;
    // Starts a message; returns its queue id. Throws Error.
    virtual std::string begin_message() = 0;
    virtual void write(std::string_view bytes) = 0;  // throws Error
    // Makes the message durable; throws Error. Only then is 250 sent.
    virtual void commit(Envelope env) = 0;
    virtual void abort() = 0;
};

class Session {
public:
    Session(SessionConfig cfg, Peer peer, Backend& backend);

    // The 220 greeting (or 554 when the session must not start).
    void start();
    void feed(std::string_view bytes);
    // Replies produced so far; the driver sends them.
    std::string take_output();
    bool has_output() const { return !out_.empty(); }

    bool closed() const { return closed_; }
    bool tls_pending() const { return tls_pending_; }
    void tls_started(std::string tls_info);
    // True while message content is being read (data timeouts apply).
    bool in_data() const { return mode_ == Mode::data || mode_ == Mode::bdat; }

    // The driver's timers ran out: 421 and close.
    void timeout();
    // The client went away; abort any message in progress.
    void lost_connection();
    // Closes with 421 (shutdown, resource trouble).
    void close_with(const std::string& reply);

    // "ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5" for the disconnect line.
    std::string counters() const;
    const Peer& peer() const { return peer_; }

private:
    enum class Mode { command, data, bdat, auth };

    void reply(int code, std::string_view enhanced, std::string_view text);
    void reply(const Status& s);
    void reply_multi(int code, const std::vector<std::string>& lines);
    void command_line(std::string_view line);
    void dispatch(const Command& cmd);
    void do_helo(const Command& c, bool esmtp);
    void do_mail(const Command& c);
    void do_rcpt(const Command& c);
    void do_data(const Command& c);
    void do_bdat(const Command& c);
    void do_auth(const Command& c);
    void do_starttls(const Command& c);
    void auth_step(std::string_view line);
    bool open_message();
    void content(std::string_view bytes);
    void finish_message();
    void reset_transaction();
    void count(std::string_view verb);
    std::string reject_context(const std::string& to) const;
    Envelope envelope() const;

    SessionConfig cfg_;
    Peer peer_;
    Backend& backend_;
    std::string in_;
    std::string chunk_;  // message content of one read, for the backend
    std::string out_;
    Mode mode_ = Mode::command;
    bool closed_ = false;
    bool tls_pending_ = false;
    bool discarding_ = false;  // draining an over-long command line
    int errors_ = 0;

    // Session state
    std::string helo_;
    bool esmtp_ = false;
    std::string auth_user_;

    // AUTH exchange in progress
    std::string auth_mech_;
    std::string auth_login_user_;
    int auth_step_ = 0;

    // Transaction state
    bool have_mail_ = false;
    Envelope env_;
    std::optional<std::string> queue_id_;
    std::unique_ptr<DataReader> reader_;
    std::optional<Status> store_error_;
    std::uint64_t bdat_left_ = 0;
    std::uint64_t bdat_size_ = 0;
    bool bdat_last_ = false;
    bool bdat_failed_ = false;  // chunks of a failed BDAT transaction are drained

    std::vector<std::pair<std::string, int>> counts_;
};

}  // namespace mta::smtp
