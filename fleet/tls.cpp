// tls.cpp: the fleet's client TLS context and the per-connection settings (SNI, name check).
#include "fleet/tls.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <boost/asio/ssl/host_name_verification.hpp>

#include <fstream>

namespace streambed::fleet {

namespace asio = boost::asio;
namespace ssl = asio::ssl;

std::shared_ptr<ssl::context> make_tls_context(const TlsSettings& settings, std::string& error) {
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                     ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    boost::system::error_code ec;
    ctx->set_default_verify_paths(ec);  // no system store: only the CA file is trusted
    if (!settings.ca_file.empty()) {
        if (!std::ifstream(settings.ca_file)) {
            error = "cannot read '" + settings.ca_file + "'";
            return nullptr;
        }
        ctx->load_verify_file(settings.ca_file, ec);
        if (ec) {
            error = "'" + settings.ca_file + "' holds no PEM certificate (" + ec.message() + ")";
            return nullptr;
        }
    }
    ctx->set_verify_mode(settings.verify ? ssl::verify_peer : ssl::verify_none);
    return ctx;
}

void prepare_tls_stream(TlsStream& stream, const std::string& host, bool verify) {
    boost::system::error_code not_an_address;
    asio::ip::make_address(host, not_an_address);
    if (not_an_address) SSL_set_tlsext_host_name(stream.native_handle(), host.c_str());
    if (verify) stream.set_verify_callback(ssl::host_name_verification(host));
}

std::string tls_failure(TlsStream& stream, const boost::system::error_code& ec) {
    const long result = SSL_get_verify_result(stream.native_handle());
    if (result != X509_V_OK)
        return std::string("certificate verify failed: ") + X509_verify_cert_error_string(result);
    return ec.message();
}

}  // namespace streambed::fleet
