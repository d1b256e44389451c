// Outbound HTTP and HTTPS transfers of one invocation, on a libcurl multi handle.
//
// The JavaScript event loop of a request owns one client (created on its first fetch()). Start()
// queues a transfer and returns at once; Run() waits in poll(2) — on the calling thread, without
// using CPU — until a transfer makes progress, a transfer finishes or `max_wait` passes, and
// returns the transfers that finished. Each transfer is one HTTP exchange: redirects are not
// followed here (the script's fetch() follows them, so every hop is checked and counted).
//
// Safety: every connection goes through DestinationPolicy. A host the operator allowed is
// connected to as resolved; any other connection is opened only to an address the policy does
// not refuse (the check runs on the resolved address, just before connect(), so DNS answers
// cannot bypass it). Proxies from the environment are ignored; only http and https are spoken;
// TLS peers are verified against the engine's TrustStore (the system CA store or `ca_file`).
//
// Thread-compatible: one thread at a time (the isolate's), like the invocation that owns it.
#ifndef COSMO_ENGINE_V8_FETCH_HTTP_CLIENT_H_
#define COSMO_ENGINE_V8_FETCH_HTTP_CLIENT_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cosmo/invocation.h"
#include "engine/v8/fetch/destination_policy.h"
#include "engine/v8/fetch/trust_store.h"

namespace cosmo::v8engine {

struct OutboundRequest {
  std::string method = "GET";
  std::string url;  // absolute http: or https: URL
  HeaderList headers;
  std::string body;
  bool has_body = false;
  // The transfer fails with DEADLINE_EXCEEDED if it has not finished by then.
  absl::Time deadline = absl::InfiniteFuture();
};

struct OutboundResponse {
  int status = 0;
  std::string status_text;
  HeaderList headers;  // names lower-cased, in wire order
  std::string body;
};

class HttpClient {
 public:
  struct Options {
    const DestinationPolicy* policy = nullptr;  // borrowed; must outlive the client
    // The CAs TLS peers are verified against; borrowed, must outlive the client, required
    // (libcurl is never left to parse a CA bundle per connection: see trust_store.h).
    const TrustStore* trust_store = nullptr;
    size_t max_response_bytes = size_t{32} << 20;
    absl::Duration connect_timeout = absl::Seconds(10);
  };

  explicit HttpClient(Options options);
  ~HttpClient();  // abandons unfinished transfers
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Starts a transfer and returns its id. INVALID_ARGUMENT for a URL that is not absolute http(s)
  // or a bad header; the outcome of the exchange itself comes from Run().
  absl::StatusOr<uint64_t> Start(const OutboundRequest& request);

  // Waits up to `max_wait` for network activity, then returns the transfers that finished (in
  // completion order). Failures are PERMISSION_DENIED (destination refused by policy),
  // DEADLINE_EXCEEDED (the request's deadline passed), RESOURCE_EXHAUSTED (response larger than
  // max_response_bytes) and UNAVAILABLE (DNS, connection, TLS or protocol errors), each with a
  // message fit for a script's TypeError.
  std::vector<std::pair<uint64_t, absl::StatusOr<OutboundResponse>>> Run(absl::Duration max_wait);

  // Drops a transfer; its result will not be reported.
  void Cancel(uint64_t id);

  size_t pending() const { return transfers_.size(); }

 private:
  struct Transfer;

  const Options options_;
  void* multi_ = nullptr;  // CURLM*
  uint64_t next_id_ = 1;
  std::map<uint64_t, std::unique_ptr<Transfer>> transfers_;
};

}  // namespace cosmo::v8engine

#endif  // COSMO_ENGINE_V8_FETCH_HTTP_CLIENT_H_
