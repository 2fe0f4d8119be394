// received_header: the trace field mta-recv prepends (RFC 5321 4.4).
//
//   Received: from HELO (RDNS [IP])
//   	(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384)
//   	by HOST (mta) with ESMTPS id QUEUEID
//   	for <rcpt@example.org>; Sun, 22 Nov 2026 13:40:00 +0000
//
// `with` is SMTP, ESMTP, ESMTPS, ESMTPA or ESMTPSA (RFC 3848), with UTF8
// in front for SMTPUTF8 transactions (RFC 6531). `for` appears only with
// exactly one recipient, so that Bcc recipients are not revealed. Every
// field from the client is sanitized. Lines end in LF (spool format).
#pragma once

#include <ctime>
#include <string>
#include <string_view>
#include <vector>

namespace mta {

struct TraceInfo {
    std::string helo;          // as the client sent it ("" when none)
    std::string client_name;   // reverse DNS name, "unknown", or "" for local
    std::string client_ip;     // "192.0.2.1", "2001:db8::1"; "" for local
    std::string local_user;    // local submission: "uid 1000"
    std::string by;            // our host name
    std::string protocol;      // "ESMTPS"...
    std::string tls;           // "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384" or ""
    std::string id;            // queue id
    std::vector<std::string> recipients;  // addresses without <>
    std::time_t when = 0;
};

// The header field including its final LF.
std::string received_header(const TraceInfo& t);

// The protocol name for `with`: SMTP/ESMTP + S (TLS) + A (authenticated),
// "UTF8" prefixed for SMTPUTF8.
std::string with_protocol(bool esmtp, bool tls, bool authenticated, bool utf8);

// qmail's safeput: anything outside [A-Za-z0-9.@%+/=:_[]-] becomes '?'.
std::string trace_safe(std::string_view s);

}  // namespace mta
