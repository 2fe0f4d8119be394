#include "tls_server.hpp"

#include "status.hpp"
#include "tls_plugin.hpp"

namespace mta {

std::shared_ptr<TlsContext> TlsContext::load(const std::string& cert_file, const std::string& key_file) {
    tls::Failure f;
    auto c = tls::engine().server(cert_file, key_file, f);
    if (!c) throw Error::config(f.text);
    return std::shared_ptr<TlsContext>(new TlsContext(std::move(c)));
}

}  // namespace mta
