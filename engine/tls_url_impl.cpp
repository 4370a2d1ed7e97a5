// tls_url_impl.cpp: the compiled part of Asio's TLS stream and of Boost.URL, cold-path code
// beside beast_session.cpp, which includes the same headers (engine/CMakeLists.txt).
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/url/src.hpp>
