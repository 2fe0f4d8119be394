#include "relay_policy.hpp"

#include <arpa/inet.h>
#include <charconv>

namespace mta {

Network Network::parse(std::string_view s) {
    Network n;
    auto slash = s.find('/');
    std::string addr(s.substr(0, slash));
    if (inet_pton(AF_INET, addr.c_str(), n.addr_.data()) == 1) {
        n.family_ = AF_INET;
        n.prefix_ = 32;
    } else if (inet_pton(AF_INET6, addr.c_str(), n.addr_.data()) == 1) {
        n.family_ = AF_INET6;
        n.prefix_ = 128;
    } else {
        throw Error::config("bad network address: " + std::string(s));
    }
    if (slash != std::string_view::npos) {
        std::string_view p = s.substr(slash + 1);
        int v = -1;
        auto r = std::from_chars(p.data(), p.data() + p.size(), v);
        if (r.ec != std::errc() || r.ptr != p.data() + p.size() || v < 0 || v > n.prefix_)
            throw Error::config("bad network prefix: " + std::string(s));
        n.prefix_ = v;
    }
    return n;
}

bool Network::contains(std::string_view ip_text) const {
    std::array<unsigned char, 16> ip{};
    std::string s(ip_text);
    int fam = 0;
    if (inet_pton(AF_INET, s.c_str(), ip.data()) == 1) fam = AF_INET;
    else if (inet_pton(AF_INET6, s.c_str(), ip.data()) == 1) fam = AF_INET6;
    if (fam != family_) return false;
    int bits = prefix_;
    for (size_t i = 0; bits > 0; ++i, bits -= 8) {
        unsigned char mask = bits >= 8 ? 0xff : static_cast<unsigned char>(0xff << (8 - bits));
        if ((ip[i] & mask) != (addr_[i] & mask)) return false;
    }
    return true;
}

bool in_networks(const std::vector<Network>& nets, std::string_view ip) {
    for (auto& n : nets)
        if (n.contains(ip)) return true;
    return false;
}

RelayPolicy::RelayPolicy(std::vector<std::string> local_domains, local_recipient::Tables tables)
    : local_domains_(std::move(local_domains)), tables_(std::move(tables)) {}

bool RelayPolicy::is_local(const Domain& d) const {
    for (auto& l : local_domains_)
        if (d.str() == l) return true;
    return false;
}

Status RelayPolicy::check(const Address& rcpt, bool may_relay) const {
    if (is_local(rcpt.domain())) {
        if (rcpt.is_postmaster() || local_recipient::exists(tables_, rcpt)) return Status::ok();
        return Status::permanent(550, "5.1.1", rcpt.path() + ": Recipient address rejected: User unknown");
    }
    if (may_relay) return Status::ok();
    return Status::permanent(554, "5.7.1", rcpt.path() + ": Relay access denied");
}

}  // namespace mta
