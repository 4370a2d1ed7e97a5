// tls.hpp: the fleet's TLS (wss://, and https:// for the polling fallback) — one client context
// for the whole fleet (the system's trust store, plus a CA file when given; the peer verified
// unless told not to), and what each connection sets on its own stream: the server name (SNI)
// and the name or address its certificate must match.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>

#include <memory>
#include <string>

#include "fleet/fleet.hpp"  // TlsSettings

namespace streambed::fleet {

// A TLS layer over a connection's own TCP socket: made for each connection, the socket kept.
using TlsStream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>;

// The fleet's client context (TLS 1.2 or later). nullptr, with `error` naming the file and why,
// when the CA file cannot be read as PEM certificates.
std::shared_ptr<boost::asio::ssl::context> make_tls_context(const TlsSettings& settings,
                                                            std::string& error);

// On a new stream, before its handshake: SNI from `host` (a name only: never an address, RFC 6066)
// and, when verifying, the check that the certificate names `host` (a name or an address).
void prepare_tls_stream(TlsStream& stream, const std::string& host, bool verify);

// Why a handshake failed, for the reasons table: the certificate check's own words when that
// was it ("certificate verify failed: self-signed certificate"), else the error's.
std::string tls_failure(TlsStream& stream, const boost::system::error_code& ec);

}  // namespace streambed::fleet
