// asio_impl.cpp: the translation unit that compiles Asio and Beast (separate compilation keeps
// every other file of the tree quick to build). TLS's and Boost.URL's are tls_url_impl.cpp.
#include <boost/asio/impl/src.hpp>
#include <boost/beast/src.hpp>
