// Raw request bytes through cpp-httplib's request parser (Debian's .so, reached through the
// protected Server::process_request with an in-memory Stream, as the library's own server fuzzer
// does) and the data plane's RequestGuard, wired the way lib/http/http_server.cc wires it: the
// guard in the pre-routing and Expect: 100-continue handlers, bodies read through a
// ContentReader with the body limit counted after de-chunking and decoding.
//
// Invariants:
//   - no crash, no sanitizer report, bounded memory;
//   - every request that reaches the guard gets a verdict, and a request the guard lets through
//     has exactly one way to find its body's end (no Content-Length next to Transfer-Encoding, at
//     most one Content-Length of decimal digits, Transfer-Encoding exactly "chunked"), an
//     absolute path within the limit, header values without CR, LF or NUL, and a body only on a
//     method that reads one;
//   - every refusal's status is the one the outcome table assigns, and is one of the statuses
//     docs/http.md lists;
//   - a body handed to the handler never exceeds the limit;
//   - whatever went on the wire starts with a status line.
#include <fuzzer/FuzzedDataProvider.h>
#include <httplib.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <set>
#include <string>

#include "absl/strings/match.h"
#include "fuzz_check.h"
#include "http/outcome_status.h"
#include "http/request_guard.h"

namespace {

using cosmo::http::GuardLimits;
using cosmo::http::RequestGuard;
using cosmo::http::StatusForRejection;

// Small limits so that the fuzzer reaches every branch with short inputs.
constexpr GuardLimits kLimits{.max_request_body_bytes = 256,
                              .max_header_count = 12,
                              .max_header_bytes = 512,
                              .max_path_bytes = 64};

// A client connection: reads come from the fuzz input, writes are collected.
class FuzzedStream final : public httplib::Stream {
 public:
  FuzzedStream(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  bool is_readable() const override { return true; }
  bool is_writable() const override { return true; }
  ssize_t read(char* ptr, size_t size) override {
    size = std::min(size, size_ - offset_);
    std::memcpy(ptr, data_ + offset_, size);
    offset_ += size;
    return static_cast<ssize_t>(size);
  }
  ssize_t write(const char* ptr, size_t size) override {
    if (written_.size() < (size_t{1} << 20)) written_.append(ptr, size);
    return static_cast<ssize_t>(size);
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = "127.0.0.1";
    port = 40000;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = "127.0.0.1";
    port = 8080;
  }
  socket_t socket() const override { return 0; }

  const std::string& written() const { return written_; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t offset_ = 0;
  std::string written_;
};

size_t CountHeaderValues(const httplib::Request& req, const char* name) {
  return req.get_header_value_count(name);
}

// What the guard promises about a request it lets through.
void CheckAccepted(const httplib::Request& req) {
  FUZZ_CHECK(!req.target.empty() && req.target[0] == '/');
  FUZZ_CHECK(std::min(req.target.find('?'), req.target.size()) <= kLimits.max_path_bytes);
  const size_t cl = CountHeaderValues(req, "Content-Length");
  const size_t te = CountHeaderValues(req, "Transfer-Encoding");
  FUZZ_CHECK(cl <= 1 && te <= 1 && !(cl == 1 && te == 1));
  if (te == 1) {
    FUZZ_CHECK(absl::EqualsIgnoreCase(req.get_header_value("Transfer-Encoding"), "chunked"));
  }
  if (cl == 1) {
    const std::string value = req.get_header_value("Content-Length");
    FUZZ_CHECK(!value.empty() && value.find_first_not_of("0123456789") == std::string::npos);
  }
  for (const auto& [name, value] : req.headers) {
    FUZZ_CHECK(value.find_first_of(std::string("\r\n\0", 3)) == std::string::npos);
  }
  if (!RequestGuard::MethodReadsBody(req.method)) {
    FUZZ_CHECK(te == 0);
  }
}

class GuardedServer final : public httplib::Server {
 public:
  GuardedServer() : guard_(kLimits) {
    set_payload_max_length(kLimits.max_request_body_bytes);
    set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (auto error = guard_.Check(req)) {
        Refuse(res, StatusForRejection(error->rejection).http_status);
        return HandlerResponse::Handled;
      }
      CheckAccepted(req);
      if (RequestGuard::MethodReadsBody(req.method)) return HandlerResponse::Unhandled;
      res.status = 200;
      res.set_content("ok", "text/plain");
      return HandlerResponse::Handled;
    });
    set_expect_100_continue_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (auto error = guard_.Check(req)) {
        Refuse(res, StatusForRejection(error->rejection).http_status);
        return res.status;
      }
      return 100;
    });
    auto with_body = [](const httplib::Request& req, httplib::Response& res,
                        const httplib::ContentReader& reader) {
      std::string body;
      bool over = false;
      reader([&](const char* data, size_t length) {
        if (length > kLimits.max_request_body_bytes - body.size()) {
          over = true;
          return false;
        }
        body.append(data, length);
        return true;
      });
      FUZZ_CHECK(body.size() <= kLimits.max_request_body_bytes);
      res.status =
          over ? StatusForRejection(cosmo::http::Rejection::kPayloadTooLarge).http_status : 200;
      res.set_content(over ? "too large" : "ok", "text/plain");
    };
    const char* any = R"(/.*)";
    Post(any, with_body);
    Put(any, with_body);
    Patch(any, with_body);
    Delete(any, with_body);
  }

  void Serve(httplib::Stream& stream) {
    bool connection_closed = false;
    // One request per input, as a keep-alive connection's first: the library's own loop would
    // block on a real socket between requests.
    process_request(stream, /*close_connection=*/true, connection_closed, [](httplib::Request&) {});
  }

 private:
  static void Refuse(httplib::Response& res, int status) {
    static const std::set<int> kDocumented = {400, 404, 405, 411, 413, 414,
                                              415, 431, 500, 501, 503};
    FUZZ_CHECK(kDocumented.count(status) == 1);
    res.status = status;
    res.set_header("Connection", "close");
    res.set_content("{\"error\":\"refused\"}", "application/json");
  }

  const RequestGuard guard_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > (size_t{64} << 10)) return 0;
  static GuardedServer* server = new GuardedServer();
  FuzzedStream stream(data, size);
  server->Serve(stream);
  const std::string& wire = stream.written();
  FUZZ_CHECK(wire.empty() || wire.rfind("HTTP/1.1 ", 0) == 0);
  return 0;
}
