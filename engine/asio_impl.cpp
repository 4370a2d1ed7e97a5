// asio_impl.cpp: the one translation unit that compiles Asio, Beast and Boost.URL
// (separate compilation keeps every other file of the tree quick to build).
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
#include <boost/url/src.hpp>
