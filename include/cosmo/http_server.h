// The HTTP data plane: an HTTP/1.1 server that routes `/{family}/{rest}` to a family's function.
//
// A request for `/{family}/...` becomes an HttpRequest (method, absolute URL, headers, body, the
// peer's address) handed to the family's FamilyHandle::Invoke (or to a custom invoke function,
// which is how cosmo-gateway fills its runtime from the control plane first); the InvokeResult
// comes back as the response. Paths under `/_cosmo/` belong to the host: `/_cosmo/healthz` and
// `/_cosmo/metrics` (Prometheus text format). Every error is JSON `{"error": CODE, "message":
// TEXT}`; the codes and statuses are listed in docs/http.md.
//
// In front of dispatch sits a guard for what the HTTP library does not enforce itself: the body
// limit counted on decoded bytes (chunked and compressed bodies included), 411 for a POST, PUT or
// PATCH without a length, request-smuggling shapes (duplicate Content-Length, Content-Length with
// Transfer-Encoding, transfer codings other than chunked, a body on a method other than POST,
// PUT, PATCH or DELETE), long paths, header floods, header values that decode to CR/LF/NUL. Such
// requests are answered and their connection is closed, so nothing after them on the connection
// is ever executed.
//
// Connections are held by an event loop (epoll), not by threads: an idle keep-alive connection or
// a client sending its request slowly costs memory only. A request that has arrived whole runs on
// a bounded pool of worker threads; when every worker is busy and the queue is full, it is
// answered 503 with Retry-After (load shedding). Beyond max_connections open connections, new
// ones are answered 503 and closed; a request head not complete within request_head_timeout, an
// idle connection past keep_alive_timeout and a client not taking the response within
// write_timeout are closed. A streamed response whose function detaches it is written by the event
// loop from a bounded buffer as it is produced, holding no worker.
//
//   auto http = cosmo::NewHttpServer({.listen_address = "127.0.0.1:8080"}, runtime.get());
//   (*http)->Start();
//   ...
//   (*http)->Stop();
//
// Ownership: borrows the Runtime (when given), which must outlive the server. Thread-safe: Start()
// and Stop() may be called from any thread; requests are served on the server's own threads.
#ifndef COSMO_HTTP_SERVER_H_
#define COSMO_HTTP_SERVER_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "cosmo/invocation.h"
#include "cosmo/runtime.h"

namespace cosmo {

// A request for the dashboard's paths (`/_cosmo/ui`, `/_cosmo/api/...`), handed whole to
// HttpServerOptions::dashboard. Plain value type.
struct HostRequest {
  std::string method;
  std::string path;   // as sent, without the query
  std::string query;  // after '?', as sent
  // The query's parameters, percent-decoded, in order.
  std::vector<std::pair<std::string, std::string>> params;
  // Header fields as sent (names in their original case), transport fields excluded.
  std::vector<std::pair<std::string, std::string>> headers;
  // At most 64 KiB (413 beyond, before the handler runs).
  std::string body;
  std::string peer_ip;         // the client's address
  std::string listen_address;  // HOST:PORT the server is bound to (HttpServer::address())
};

// The handler's answer. Plain value type.
struct HostResponse {
  int status = 200;
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct HttpServerOptions {
  // HOST:PORT or [V6]:PORT. Port 0 picks a free port (see HttpServer::port()).
  std::string listen_address = "127.0.0.1:8080";
  // Threads running requests (a thread is busy only while a request runs).
  size_t worker_threads = 64;
  // Requests that may wait for a worker; beyond that they are shed (503).
  size_t max_queued_requests = 1024;
  // Open connections; beyond this new ones are answered 503 and closed. Lowered at bind time to
  // what the process's descriptor limit allows (which is raised toward it first).
  size_t max_connections = 10000;
  // The whole request head (and a body of up to 64 KiB) must arrive within this from its first
  // byte (or from the connection's opening); otherwise the connection is closed.
  absl::Duration request_head_timeout = absl::Seconds(10);
  // Longest wait for the next bytes of a request body the server reads before the function runs
  // (one with a Content-Encoding; a body streamed to the function waits within its wall limit
  // instead), and for the peer to take response bytes.
  absl::Duration read_timeout = absl::Seconds(5);
  absl::Duration write_timeout = absl::Seconds(5);
  // How long an idle keep-alive connection is kept, and how many requests it may carry.
  absl::Duration keep_alive_timeout = absl::Seconds(5);
  size_t keep_alive_max_requests = 10000;
  // Largest request body after transfer and content decoding (413 beyond). Enforced here, while
  // the body is read: the Runtime and the engines take whatever body they are given.
  size_t max_request_body_bytes = size_t{10} << 20;
  // Most request header fields, and their total size (name + value + 4 per field) (431 beyond).
  size_t max_header_count = 100;
  size_t max_header_bytes = size_t{32} << 10;
  // Longest request path, query excluded (414 beyond).
  size_t max_path_bytes = 1024;
  // listen(2) backlog of the bound socket.
  int listen_backlog = 4096;
  // Value of Retry-After on 503 answers that ask the client to come back.
  absl::Duration retry_after = absl::Seconds(1);

  // Answers `/_cosmo/ui` and `/_cosmo/api/...` (the dashboard, docs/dashboard.md) when set;
  // those paths are 404 otherwise. Called on a worker thread; must be thread-safe.
  std::function<HostResponse(const HostRequest&)> dashboard;
  // Routes `/{family}/...` to functions. False for a listener of the host's own paths only
  // (cosmo-server --admin-listen): every other path is then 404.
  bool serve_families = true;

  // Checks every field; the error names the field.
  absl::Status Validate() const;
};

// The server described at the top of this file; made by NewHttpServer(). Thread-safe.
class HttpServer {
 public:
  // Runs one routed request for `family`. The default calls Runtime::Invoke. Called on a worker
  // thread; must be thread-safe. When `request.body_writer` is Detachable() (HTTP/1.1 requests
  // whose body is not still arriving), it may start the writer and return `stream_pending`: the
  // worker is then free at once, the event loop writes what the producer offers, and the
  // request is recorded when the producer calls Completed() (docs/http.md, "Streamed
  // responses").
  using InvokeFunction =
      std::function<InvokeResult(absl::string_view family, const HttpRequest& request)>;

  // Stops the server if it is running.
  virtual ~HttpServer() = default;

  // Starts accepting connections on a background thread. Idempotent.
  virtual void Start() = 0;

  // Stops accepting, lets requests in flight finish (bounded by the timeouts), and joins every
  // thread. Idempotent.
  virtual void Stop() = 0;

  // The bound port (the chosen one when listen_address had port 0).
  virtual int port() const = 0;
  // HOST:PORT actually bound, e.g. "127.0.0.1:43121".
  virtual std::string address() const = 0;
};

// Validates `options` and binds the listening socket (so the port is known and taken before
// Start). INVALID_ARGUMENT for bad options or address, or when there is neither a `runtime` nor
// an `invoke`; UNAVAILABLE when the address cannot be bound. `runtime` is borrowed; it runs the
// requests unless `invoke` is given, and supplies the activation gauges of /_cosmo/metrics (none
// when it is null).
absl::StatusOr<std::unique_ptr<HttpServer>> NewHttpServer(
    HttpServerOptions options, Runtime* runtime, HttpServer::InvokeFunction invoke = nullptr);

}  // namespace cosmo

#endif  // COSMO_HTTP_SERVER_H_
