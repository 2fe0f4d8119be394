// smtp_transaction: the commands of one SMTP session, after the greeting.
//
// say_hello() sends EHLO (HELO when EHLO is refused) and reads the
// extensions. send_transaction() transfers one message to some of its
// recipients: MAIL, RCPT..., DATA, pipelined (RFC 2920) when offered, with
// SIZE (RFC 1870), BODY=8BITMIME (RFC 6152), SMTPUTF8 (RFC 6531) and the
// DSN parameters (RFC 3461) when the server offers them. It refuses before
// sending anything when the message cannot go to this server: larger than
// its SIZE (5.3.4), 8-bit content without 8BITMIME (5.6.3), UTF-8
// addresses without SMTPUTF8 (5.6.7). Every recipient gets a result.
#pragma once

#include "outgoing_message.hpp"
#include "smtp_connection.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace mta {

struct ServerFeatures {
    bool esmtp = false;
    bool pipelining = false;
    bool eightbitmime = false;
    bool smtputf8 = false;
    bool dsn = false;
    bool starttls = false;
    bool size = false;
    std::uint64_t size_limit = 0;     // 0: no limit given
    std::vector<std::string> auth;    // mechanisms, upper case
};

// The extensions an EHLO reply lists (its first line is the greeting).
ServerFeatures parse_ehlo(const SmtpReply& r);

// EHLO name, or HELO name when the server refuses EHLO (5xx). Throws Error
// with the server's status when neither is accepted (a 5xx becomes
// permanent, anything else temporary).
ServerFeatures say_hello(SmtpConnection& c, const std::string& name, const SmtpTimeouts& t);

// The result for one recipient. `final` results are kept; the others are
// tried again on the next host of the route (RFC 5321 5).
struct RecipientResult {
    Status status = Status::temporary(451, "4.4.1", "not attempted");
    bool final = false;
    std::string host = "-";
};

// The MAIL FROM and RCPT TO command lines this message needs.
std::string mail_command(const OutgoingMessage& m, const ServerFeatures& f);
std::string rcpt_command(const OutgoingMessage& m, const OutgoingRecipient& r, const ServerFeatures& f);

// Sends message m to the recipients `which` (indexes into m.recipients)
// and sets their results in out (indexed like m.recipients). Returns
// false when the connection can no longer be used (lost, 421, timeout).
// `left_open` says whether the server may still hold the transaction: its
// MAIL FROM was accepted and no end of data was answered (every recipient
// refused, or DATA refused). Only then does the next transaction on the
// connection need an RSET first: the reply to the end of data, whatever it
// is, ends a transaction (RFC 5321 4.1.1.4).
bool send_transaction(SmtpConnection& c, const ServerFeatures& f, const OutgoingMessage& m,
                      const std::vector<size_t>& which, const SmtpTimeouts& t, const std::string& host,
                      std::vector<RecipientResult>& out, bool& left_open);

// RSET; false when the server does not accept it.
bool reset(SmtpConnection& c, const SmtpTimeouts& t);
// QUIT, ignoring any failure, then close.
void quit(SmtpConnection& c, const SmtpTimeouts& t);

}  // namespace mta
