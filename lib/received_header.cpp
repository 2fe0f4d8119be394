#include "received_header.hpp"

#include "clock.hpp"

namespace mta {

std::string trace_safe(std::string_view s) {
    std::string out;
    for (char c : s.substr(0, 255)) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  std::string_view(".@%+/=:_[]-").find(c) != std::string_view::npos;
        out += ok ? c : '?';
    }
    return out;
}

std::string with_protocol(bool esmtp, bool tls, bool authenticated, bool utf8) {
    if (!esmtp) return "SMTP";
    std::string p = utf8 ? "UTF8SMTP" : "ESMTP";
    if (tls) p += 'S';
    if (authenticated) p += 'A';
    return p;
}

std::string received_header(const TraceInfo& t) {
    std::string h = "Received: from " + (t.helo.empty() ? std::string("unknown") : trace_safe(t.helo));
    if (!t.client_ip.empty()) {
        bool v6 = t.client_ip.find(':') != std::string::npos;
        h += " (" + trace_safe(t.client_name.empty() ? "unknown" : t.client_name) + " [" + (v6 ? "IPv6:" : "") +
             trace_safe(t.client_ip) + "])";
    } else if (!t.local_user.empty()) {
        h += " (" + t.local_user + ")";  // made by us: "uid 1000"
    }
    h += "\n";
    if (!t.tls.empty()) h += "\t(using " + t.tls + ")\n";  // from OpenSSL, not the client
    h += "\tby " + trace_safe(t.by) + " (mta) with " + t.protocol + " id " + t.id;
    if (t.recipients.size() == 1) h += "\n\tfor <" + t.recipients[0] + ">";
    h += "; " + clock::rfc5322(t.when ? t.when : clock::now()) + "\n";
    return h;
}

}  // namespace mta
