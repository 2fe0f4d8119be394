// dns_answer: what one DNS answer packet says about the question it answers.
//
// The resolver (dns_resolver.hpp) sends a question and hands the answer,
// as ldns parsed it from the wire, to one of the readers below. A reader
// turns the packet into our types and nothing else: the rcode becomes
// Found (NXDOMAIN: no_domain; any other error: failed, try later), the AD
// bit is reported as it was, a CNAME chain inside the answer is followed
// (a chain that leaves the packet names the next question in `follow`),
// and records become values that are known good: MX targets are host
// names (or the null MX, RFC 7505), addresses are textual IP addresses,
// TLSA data is hex. A record that cannot be one is left out; when every
// record of the answer was left out the lookup has failed.
#pragma once

#include "route.hpp"

#include <string>
#include <vector>

struct ldns_struct_pkt;  // ldns_pkt
struct ldns_struct_rdf;  // ldns_rdf

namespace mta::dns {

enum class Found { yes, no_data, no_domain, failed };

template <typename T>
struct Lookup {
    Found found = Found::failed;
    bool secure = false;
    std::vector<T> records;
    std::string error;      // why it failed, for logs and route text
};

struct Mx {
    int preference = 0;
    std::string host;  // lower-case, no trailing dot; "" for the null MX "."
};

// One answer packet read for one question.
template <typename T>
struct Answer {
    Found found = Found::failed;
    bool ad = false;            // the packet's AD bit
    std::vector<T> records;     // found == yes: at least one
    std::string follow;         // found == no_data: the CNAME chain ends at this name outside the packet
    std::string error;          // found == failed or no_domain: why
};

// MX records of `name`, sorted by preference (equal ones in answer order).
// A null MX stands alone: a "." among real hosts is left out.
Answer<Mx> read_mx(const ldns_struct_pkt* pkt, const std::string& name);
// AAAA records (v6) or A records of `name`, as text.
Answer<std::string> read_addresses(const ldns_struct_pkt* pkt, const std::string& name, bool v6);
// TLSA records of `name` ("_25._tcp.host").
Answer<Tlsa> read_tlsa(const ldns_struct_pkt* pkt, const std::string& name);

// A domain name rdf as text: lower case, no trailing dot, "" for the root.
std::string name_text(const ldns_struct_rdf* rdf);
// True for a name we may ask about: labels of 1 to 63 letters, digits,
// '-' or '_', 253 characters at most.
bool askable_name(const std::string& s);

}  // namespace mta::dns
