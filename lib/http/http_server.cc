// HttpServer: the event-driven front end (front_end.h) for connections, cpp-httplib 0.11.4 as
// Debian 12 builds it (a prebuilt .so whose compile-time defaults we cannot change; docs/http.md,
// "What the layer adds to cpp-httplib 0.11.4") for parsing and writing each request. The library
// never touches a socket: it binds the listening socket (so its own "shutting down" check stays
// false) and its process_request runs over a ConnectionStream of the bytes the front end
// buffered. What this file does about that library:
//
// - Every request passes RequestGuard in the pre-routing handler, which runs after the head is
//   parsed and before any body byte is read or any route regex is matched.
// - Bodies are only read through a content reader with our own byte counter, which sees decoded
//   bytes (chunked and gzip/deflate/br), so the body limit holds for all of them.
// - When we answer a request whose framing we distrust, the connection must close: the
//   connection is marked poisoned, and the front end closes a poisoned connection once the
//   response is written. (Such responses also carry their body through a content provider that
//   reports failure after writing it all, which is what makes the library itself stop.)
// - The library would compress responses on its own (text types, when the request accepts gzip
//   or br, even when the script set its own Content-Encoding) and apply Range requests to them:
//   Accept-Encoding and Range are taken off its Request before it writes (and handed to the
//   function, whose business they are).
// - An exception handler is always set, so no exception text reaches the wire.
#include "cosmo/http_server.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/host_port.h"
#include "cosmo/registry.h"
#include "http/connection.h"
#include "http/connection_stream.h"
#include "http/front_end.h"
#include "http/http_metrics.h"
#include "http/outcome_status.h"
#include "http/request_guard.h"
#include "http/response_headers.h"
#include "http/streamed_request_body.h"

namespace cosmo {

absl::Status HttpServerOptions::Validate() const {
  if (listen_address.empty()) return absl::InvalidArgumentError("http: listen_address is empty");
  if (worker_threads == 0) return absl::InvalidArgumentError("http: worker_threads must be > 0");
  if (read_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("http: read_timeout must be positive");
  }
  if (write_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("http: write_timeout must be positive");
  }
  if (keep_alive_timeout < absl::Seconds(1)) {
    return absl::InvalidArgumentError("http: keep_alive_timeout must be at least 1s");
  }
  if (keep_alive_max_requests == 0) {
    return absl::InvalidArgumentError("http: keep_alive_max_requests must be > 0");
  }
  if (max_request_body_bytes == 0) {
    return absl::InvalidArgumentError("http: max_request_body_bytes must be > 0");
  }
  if (max_header_count == 0 || max_header_bytes == 0) {
    return absl::InvalidArgumentError("http: max_header_count and max_header_bytes must be > 0");
  }
  if (max_path_bytes == 0) return absl::InvalidArgumentError("http: max_path_bytes must be > 0");
  if (listen_backlog <= 0) return absl::InvalidArgumentError("http: listen_backlog must be > 0");
  if (max_connections == 0) return absl::InvalidArgumentError("http: max_connections must be > 0");
  if (request_head_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("http: request_head_timeout must be positive");
  }
  return absl::OkStatus();
}

namespace {

using http::CurrentConnection;
using http::ErrorStatus;
using http::Rejection;
using httplib::Server;

// cpp-httplib's request processing, reachable for a stream the front end provides.
class RequestProcessor final : public Server {
 public:
  bool Serve(httplib::Stream& stream, bool close_connection, bool& connection_closed) {
    return process_request(stream, close_connection, connection_closed, nullptr);
  }
};

// Raises the soft limit on open descriptors toward what `connections` need (the hard limit caps
// it) and returns how many connections fit: room is kept for the store, the control plane and
// fetch().
size_t ConnectionsThatFit(size_t connections) {
  constexpr rlim_t kReserved = 256;
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return connections;
  const rlim_t wanted = static_cast<rlim_t>(connections) + kReserved;
  if (limit.rlim_cur < wanted) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max == RLIM_INFINITY ? wanted : std::min(wanted, limit.rlim_max);
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  if (limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur >= wanted) return connections;
  return limit.rlim_cur > 2 * kReserved ? static_cast<size_t>(limit.rlim_cur - kReserved)
                                        : static_cast<size_t>(limit.rlim_cur / 2);
}

time_t WholeSeconds(absl::Duration d) { return static_cast<time_t>(absl::ToInt64Seconds(d)); }
time_t RemainderMicros(absl::Duration d) {
  return static_cast<time_t>(absl::ToInt64Microseconds(d) % 1000000);
}

bool IsValidHostHeader(absl::string_view host) {
  if (host.empty() || host.size() > 255) return false;
  for (char c : host) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) &&
        absl::string_view(".-_:[]").find(c) == absl::string_view::npos) {
      return false;
    }
  }
  return true;
}

// The reason phrase of the statuses functions commonly send; clients ignore it, so others get none.
absl::string_view ReasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 203:
      return "Non-Authoritative Information";
    case 206:
      return "Partial Content";
    case 300:
      return "Multiple Choices";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "";
  }
}

// Where detached streams report their end (ChunkedBodyWriter::Completed), which may come after
// the server stopped: the server waits a while in Stop() for the detached writers still alive
// and then forgets itself here, so a late completion records nothing. Thread-safe.
class StreamCompletions {
 public:
  // Records the request of `family` that began at `start` and ended with `result`.
  using RecordFunction =
      std::function<void(absl::string_view family, absl::Time start, const InvokeResult& result)>;

  explicit StreamCompletions(RecordFunction record) : record_(std::move(record)) {}

  // A detachable writer started streaming / was deleted after it had.
  void Opened() {
    absl::MutexLock lock(&mu_);
    ++open_;
  }
  void Record(absl::string_view family, absl::Time start, const InvokeResult& result) {
    absl::MutexLock lock(&mu_);
    if (!closed_) record_(family, start, result);
  }
  void Closed() {
    absl::MutexLock lock(&mu_);
    --open_;
  }
  // Waits up to `wait` for the open streams, then records nothing more.
  void Close(absl::Duration wait) {
    absl::MutexLock lock(&mu_);
    if (closed_) return;
    mu_.AwaitWithTimeout(absl::Condition(
                             +[](int* open) { return *open == 0; }, &open_),
                         wait);
    closed_ = true;
  }

 private:
  const RecordFunction record_;
  absl::Mutex mu_;
  int open_ ABSL_GUARDED_BY(mu_) = 0;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

// The head of a chunked response: INVALID_ARGUMENT when the script's headers cannot be sent.
absl::StatusOr<std::string> ChunkedHead(int status, const HeaderList& headers,
                                        absl::string_view version) {
  HttpResponse head{.status = status, .headers = headers};
  absl::StatusOr<HeaderList> clean = http::SanitizeScriptResponse(head);
  if (!clean.ok()) return absl::InvalidArgumentError(clean.status().message());
  std::string out = absl::StrCat("HTTP/1.1 ", status, " ", ReasonPhrase(status), "\r\n");
  bool typed = false;
  for (const auto& [name, value] : *clean) {
    if (http::IsVersionHeader(name)) continue;
    typed = typed || absl::EqualsIgnoreCase(name, "Content-Type");
    absl::StrAppend(&out, name, ": ", value, "\r\n");
  }
  if (!version.empty()) absl::StrAppend(&out, http::kVersionHeader, ": ", version, "\r\n");
  if (!typed) out += "Content-Type: application/octet-stream\r\n";
  out += "Transfer-Encoding: chunked\r\n\r\n";
  return out;
}

std::string Chunk(absl::string_view bytes) {
  return absl::StrCat(absl::Hex(bytes.size()), "\r\n", bytes, "\r\n");
}

constexpr absl::string_view kLastChunk = "0\r\n\r\n";

// A function's streamed response body onto the connection as it is produced: chunked transfer
// encoding. Without a stream loop, written through the connection's stream with its
// backpressure window on the worker thread running the request. With one (the front end's
// connections), the writer is Detachable(): once the response starts (Start(), on the invoking
// thread) every byte goes through a DetachedStream, which the worker flushes itself when the
// invocation returns with the body done, and the event loop writes when the invocation returned
// `stream_pending` (the producer then calls TryWrite, WhenWritable, Finish and Completed from its
// own thread; Completed deletes the writer). A response that never streams makes no
// DetachedStream and registers nothing: the writer is all a buffered response costs.
class ChunkedBodyWriter final : public ResponseBodyWriter {
 public:
  explicit ChunkedBodyWriter(http::ConnectionStream* stream) : stream_(stream) {}
  ~ChunkedBodyWriter() override {
    if (detached_ != nullptr) completions_->Closed();
  }

  // Makes the writer detachable: when the response starts, its DetachedStream comes from `loop`
  // and is stored in `*detached` (the caller's, read after the invocation returns), and the end
  // of a detached invocation is recorded through `completions` for `family` (whose bytes must
  // stay valid until Start()) begun at `start`.
  void AllowDetach(http::StreamLoop* loop, std::shared_ptr<http::DetachedStream>* detached,
                   std::shared_ptr<StreamCompletions> completions, absl::string_view family,
                   absl::Time start) {
    loop_ = loop;
    detached_out_ = detached;
    completions_ = std::move(completions);
    family_view_ = family;
    start_ = start;
    fd_ = CurrentConnectionFd();
  }

  absl::Status Start(int status, const HeaderList& headers) override {
    absl::StatusOr<std::string> head = ChunkedHead(status, headers, version_);
    if (!head.ok()) return head.status();
    started_ = true;
    if (loop_ != nullptr) {
      // On the invoking thread, before anything can detach (the engine detaches only once the
      // response started).
      detached_ = loop_->NewStream();
      *detached_out_ = detached_;
      family_ = std::string(family_view_);
      completions_->Opened();
    }
    // The head goes out at once, so the client sees the response begin before its first piece.
    if (!stream_->WriteThrough(*head)) {
      failed_ = true;
      return absl::UnavailableError("the client is gone");
    }
    return absl::OkStatus();
  }

  bool Write(absl::string_view bytes) override {
    if (bytes.empty()) return !failed_;  // an empty chunk would end the body
    if (detached_ == nullptr) return stream_->WriteThrough(Chunk(bytes));
    // Before any detachment (the invoking thread): out through the connection's stream, in order
    // after what TryWrite() left.
    detached_->Offer(Chunk(bytes), /*force=*/true);
    failed_ = failed_ || !stream_->WriteThrough(detached_->TakeAll());
    return !failed_;
  }

  void Finish() override {
    if (detached_ != nullptr) {
      detached_->Finish(kLastChunk);
    } else {
      finished_ = stream_->WriteThrough(kLastChunk);
    }
  }

  bool ReceiverGone() override {
    if (detached_ == nullptr) return loop_ == nullptr ? stream_->PeerGone() : PeerHungUp();
    if (detached_->Gone()) return true;
    // Until the loop has the connection nobody watches it: look at the socket (open while the
    // worker owns the connection; a hand-over that finds the client gone marks the stream gone
    // before it closes the socket).
    if (detached_->Attached()) return false;
    return PeerHungUp();
  }

  void SetVersion(absl::string_view version) override {
    version_ = http::VersionHeaderValue(version);
  }

  bool Detachable() const override { return loop_ != nullptr; }

  Offered TryWrite(absl::string_view bytes) override {
    if (detached_ == nullptr) return ResponseBodyWriter::TryWrite(bytes);  // not started
    if (bytes.empty()) return detached_->Gone() ? Offered::kGone : Offered::kTaken;
    switch (detached_->Offer(Chunk(bytes))) {
      case http::DetachedStream::Offered::kTaken:
        return Offered::kTaken;
      case http::DetachedStream::Offered::kFull:
        return Offered::kFull;
      case http::DetachedStream::Offered::kGone:
        break;
    }
    return Offered::kGone;
  }

  void WhenWritable(std::function<void()> wake) override {
    if (detached_ == nullptr) {
      wake();
      return;
    }
    detached_->WhenWritable(std::move(wake));
  }

  void Completed(InvokeResult&& result) override {
    if (detached_ == nullptr) return;
    completions_->Record(family_, start_, result);
    detached_->Complete(result.outcome == Outcome::kOk && result.response.stream_complete);
    delete this;  // the last call (the front end holds the stream itself)
  }

  // After an invocation that returned without detaching: writes what waits in the stream.
  void FlushAttached() {
    if (detached_ == nullptr || failed_) return;
    std::string rest = detached_->TakeAll();
    failed_ = !rest.empty() && !stream_->WriteThrough(rest);
  }

  bool started() const { return started_; }
  bool finished() const {
    return detached_ != nullptr ? detached_->finished() && !failed_ : finished_;
  }

 private:
  static int CurrentConnectionFd() {
    http::ConnectionStream* stream = CurrentConnection().stream;
    return stream != nullptr ? stream->fd() : -1;
  }
  // The client shut its side or the socket failed (looked at without waiting).
  bool PeerHungUp() const {
    pollfd p{.fd = fd_, .events = POLLRDHUP, .revents = 0};
    return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
  }

  http::ConnectionStream* const stream_;
  // Set by AllowDetach().
  http::StreamLoop* loop_ = nullptr;
  std::shared_ptr<http::DetachedStream>* detached_out_ = nullptr;
  std::shared_ptr<StreamCompletions> completions_;
  absl::string_view family_view_;
  absl::Time start_;
  int fd_ = -1;
  // Made by Start() when detachable.
  std::shared_ptr<http::DetachedStream> detached_;
  std::string family_;
  std::string version_;
  bool started_ = false;
  bool finished_ = false;
  bool failed_ = false;  // a write through the connection's stream failed (before detaching)
};

// The first line of `text`, at most 512 bytes: enough to say what failed, never a stack dump.
std::string FirstLine(absl::string_view text) {
  text = text.substr(0, text.find('\n'));
  return std::string(text.substr(0, 512));
}

// When the request started, for the latency histogram (set in pre-routing, read on the same
// thread by the handler that finishes the request).
thread_local absl::Time t_request_start;
// The request's Accept-Encoding fields, taken off the library's Request in PreRouting (so it
// never compresses a response on its own) and handed to the function in Dispatch.
thread_local std::vector<std::string> t_accept_encoding;

// Dashboard API bodies are a few bytes of JSON (a rollback's version).
constexpr size_t kMaxDashboardBodyBytes = size_t{64} << 10;

// Reads the request body into `body`, stopping (and setting `over`) past `limit` bytes. False when
// the body could not be read whole.
bool ReadWholeBody(const httplib::ContentReader& reader, size_t limit, std::string* body,
                   bool* over) {
  return reader([&](const char* data, size_t length) {
    if (length > limit - body->size()) {
      *over = true;
      return false;
    }
    body->append(data, length);
    return true;
  });
}

// The paths HttpServerOptions::dashboard answers.
bool IsDashboardPath(absl::string_view path) {
  return path == "/_cosmo/ui" || absl::StartsWith(path, "/_cosmo/ui/") ||
         absl::StartsWith(path, "/_cosmo/api/");
}

class HttpServerImpl final : public HttpServer {
 public:
  HttpServerImpl(HttpServerOptions options, Runtime* runtime, InvokeFunction invoke)
      : options_(std::move(options)),
        runtime_(runtime),
        invoke_(std::move(invoke)),
        guard_(http::GuardLimits{.max_request_body_bytes = options_.max_request_body_bytes,
                                 .max_header_count = options_.max_header_count,
                                 .max_header_bytes = options_.max_header_bytes,
                                 .max_path_bytes = options_.max_path_bytes}) {}

  ~HttpServerImpl() override { Stop(); }

  absl::Status Bind();
  void Start() override;
  void Stop() override;
  int port() const override { return port_; }
  std::string address() const override { return HostPort{host_, port_}.ToString(); }

 private:
  void Configure();
  Server::HandlerResponse PreRouting(const httplib::Request& req, httplib::Response& res);
  void HandleWithBody(const httplib::Request& req, httplib::Response& res,
                      const httplib::ContentReader& reader);
  int Expect100(const httplib::Request& req, httplib::Response& res);
  Server::HandlerResponse LibraryError(const httplib::Request& req, httplib::Response& res);
  void HostEndpoint(const httplib::Request& req, absl::string_view path, httplib::Response& res);
  // Hands a request for the dashboard's paths to options_.dashboard.
  void DashboardEndpoint(const httplib::Request& req, std::string body, httplib::Response& res);
  // `streamed_body`, when set, is the body still arriving (`body` is then empty).
  void Dispatch(const httplib::Request& req, const std::string& family, std::string body,
                bool body_decoded, http::StreamedRequestBody* streamed_body,
                httplib::Response& res);

  // Answers with the JSON error of `status`. `close` ends the connection after the response.
  // `inline_body`: the body goes in res.body (the Expect: 100-continue answer is written without
  // content providers), so the connection closes only once the client sends anything more.
  void WriteError(httplib::Response& res, const ErrorStatus& status, absl::string_view message,
                  bool close, bool inline_body = false);
  // Answers with `rejection`, records it, and closes when `close`.
  void Reject(httplib::Response& res, Rejection rejection, absl::string_view message, bool close,
              bool inline_body = false);
  // Sets a body of known length; with `close_after`, the connection closes once it is written.
  static void SetBody(httplib::Response& res, std::string body, const std::string& content_type,
                      bool close_after);
  // Cosmo-Version: the first 12 hex digits of the version that served (none when none did).
  static void SetVersionHeader(httplib::Response& res, absl::string_view version) {
    if (!version.empty()) {
      res.headers.emplace(std::string(http::kVersionHeader), http::VersionHeaderValue(version));
    }
  }
  void Record(absl::string_view family, Outcome outcome, int64_t cpu_us = 0,
              absl::string_view version = {}) {
    metrics_.Record(family, outcome, absl::Now() - t_request_start, cpu_us, version);
  }
  // An invocation of `family` begun at `start` that answered with a streamed response: counted
  // under the status its outcome maps to (an unknown family under none).
  void RecordInvocation(absl::string_view family, absl::Time start, const InvokeResult& result) {
    const Outcome outcome = result.outcome;
    metrics_.Record(
        outcome == Outcome::kNotFound ? "" : family,
        outcome == Outcome::kOk ? Outcome::kOk : http::StatusForOutcome(outcome).outcome,
        absl::Now() - start, result.usage.cpu_us, result.version);
  }

  const HttpServerOptions options_;
  Runtime* const runtime_;
  const InvokeFunction invoke_;
  const http::RequestGuard guard_;
  http::HttpMetrics metrics_;
  RequestProcessor server_;
  std::string host_;
  int port_ = 0;
  int listen_fd_ = -1;
  std::unique_ptr<http::FrontEnd> front_end_;  // made by Bind(), owns listen_fd_
  // Detached streams report their end here (it may outlive the server).
  const std::shared_ptr<StreamCompletions> completions_ = std::make_shared<StreamCompletions>(
      [this](absl::string_view family, absl::Time start, const InvokeResult& result) {
        RecordInvocation(family, start, result);
      });
};

absl::Status HttpServerImpl::Bind() {
  absl::StatusOr<HostPort> listen =
      ParseHostPort(options_.listen_address, {.allow_ephemeral_port = true});
  if (!listen.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--http-listen: ", listen.status().message(), "; e.g. 127.0.0.1:8080"));
  }
  host_ = listen->host;
  const int port = listen->port;
  Configure();
  bool bound = port == 0 ? server_.bind_to_any_port(host_) > 0 : server_.bind_to_port(host_, port);
  if (!bound || listen_fd_ < 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options_.listen_address,
                                               " (--http-listen): address in use or not local"));
  }
  // The library listened with a backlog of 5; a burst of connections would overflow it and wait
  // for SYN retransmits (0.2-1.6 s). Listening again on a listening socket updates the backlog.
  if (::listen(listen_fd_, options_.listen_backlog) != 0) {
    return absl::UnavailableError(absl::StrCat("listen(", options_.listen_address, ") failed"));
  }
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  if (getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return absl::UnavailableError("getsockname failed on the HTTP socket");
  }
  port_ = addr.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port)
                                     : ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  const bool wildcard = host_ == "0.0.0.0" || host_ == "::" || host_ == "[::]";
  std::string local_ip = host_;
  if (local_ip.size() > 2 && local_ip.front() == '[')
    local_ip = local_ip.substr(1, local_ip.size() - 2);
  const int keep_alive_seconds =
      static_cast<int>(std::max<int64_t>(1, absl::ToInt64Seconds(options_.keep_alive_timeout)));
  http::FrontEndOptions front{
      .worker_threads = options_.worker_threads,
      .max_queued_requests = options_.max_queued_requests,
      .max_connections = ConnectionsThatFit(options_.max_connections),
      .head_timeout = options_.request_head_timeout,
      .read_timeout = options_.read_timeout,
      .write_timeout = options_.write_timeout,
      .keep_alive_timeout = options_.keep_alive_timeout,
      .keep_alive_max_requests = options_.keep_alive_max_requests,
      // A head the guard could accept fits: the request line (the parser takes 8 KiB), the
      // header fields (counted as name + value + 4, which is their size on the wire when the
      // values are not padded), and as much again for padding and the final CRLF.
      .framing = {.max_head_bytes = 2 * options_.max_header_bytes + (size_t{16} << 10)},
      .max_header_count = options_.max_header_count,
      .max_header_bytes = options_.max_header_bytes,
      .keep_alive_header =
          absl::StrCat("timeout=", keep_alive_seconds, ", max=", options_.keep_alive_max_requests),
      .retry_after_seconds =
          static_cast<int>(std::max<int64_t>(1, absl::ToInt64Seconds(options_.retry_after))),
      .local_ip = wildcard ? "" : local_ip,
      .local_port = port_,
  };
  front_end_ = std::make_unique<http::FrontEnd>(
      std::move(front), listen_fd_,
      [this](httplib::Stream& stream, bool close_connection, bool& connection_closed) {
        return server_.Serve(stream, close_connection, connection_closed);
      },
      &metrics_.connections(), &metrics_.connections_shed());
  listen_fd_ = -1;  // the front end's now
  return front_end_->Prepare();
}

void HttpServerImpl::Configure() {
  // Called for the listening socket before bind(); the last call is the socket that bound.
  server_.set_socket_options([this](socket_t fd) {
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    listen_fd_ = fd;
  });
  server_.set_tcp_nodelay(true);
  server_.set_keep_alive_max_count(options_.keep_alive_max_requests);
  server_.set_keep_alive_timeout(WholeSeconds(options_.keep_alive_timeout));
  server_.set_read_timeout(WholeSeconds(options_.read_timeout),
                           RemainderMicros(options_.read_timeout));
  server_.set_write_timeout(WholeSeconds(options_.write_timeout),
                            RemainderMicros(options_.write_timeout));
  server_.set_payload_max_length(options_.max_request_body_bytes);

  server_.set_pre_routing_handler(
      [this](const httplib::Request& req, httplib::Response& res) { return PreRouting(req, res); });
  server_.set_expect_100_continue_handler(
      [this](const httplib::Request& req, httplib::Response& res) { return Expect100(req, res); });
  auto body_handler = [this](const httplib::Request& req, httplib::Response& res,
                             const httplib::ContentReader& reader) {
    HandleWithBody(req, res, reader);
  };
  // Any path: the guard already bounded its length (libstdc++'s std::regex recurses per
  // character), and [\s\S] also matches the newlines a percent-decoded path may hold.
  const std::string any = "[\\s\\S]*";
  server_.Post(any, body_handler);
  server_.Put(any, body_handler);
  server_.Patch(any, body_handler);
  server_.Delete(any, body_handler);
  server_.set_error_handler(
      Server::HandlerWithResponse([this](const httplib::Request& req, httplib::Response& res) {
        return LibraryError(req, res);
      }));
  server_.set_exception_handler(
      [this](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        // Never the exception's text: it may hold anything.
        res.headers.clear();
        Reject(res, Rejection::kInternal, "internal error", /*close=*/true);
      });
  server_.set_logger([](const httplib::Request&, const httplib::Response&) {
    CurrentConnection().host_response = false;
  });
}

void HttpServerImpl::Start() {
  if (front_end_ != nullptr) front_end_->Start();
}

void HttpServerImpl::Stop() {
  if (front_end_ != nullptr) front_end_->Stop();
  // Their connections are closed and their producers told the client is gone: their
  // completions come soon, unless the producer is stuck (the server stops anyway).
  completions_->Close(options_.write_timeout);
  if (listen_fd_ >= 0) ::close(listen_fd_);  // Bind() failed before the front end took it
  listen_fd_ = -1;
}

void HttpServerImpl::SetBody(httplib::Response& res, std::string body,
                             const std::string& content_type, bool close_after) {
  if (body.empty() || !close_after) {
    // The library frames res.body itself (Content-Length); Accept-Encoding and Range were taken
    // off the request in PreRouting, so it neither compresses nor slices it.
    if (!content_type.empty()) res.set_header("Content-Type", content_type);
    res.body = std::move(body);
    return;
  }
  auto shared = std::make_shared<std::string>(std::move(body));
  size_t size = shared->size();
  res.set_content_provider(size, content_type.empty() ? "application/octet-stream" : content_type,
                           [shared](size_t offset, size_t length, httplib::DataSink& sink) {
                             sink.write(shared->data() + offset, length);
                             // false after a complete write: the library then ends the connection.
                             return false;
                           });
}

void HttpServerImpl::WriteError(httplib::Response& res, const ErrorStatus& status,
                                absl::string_view message, bool close, bool inline_body) {
  CurrentConnection().host_response = true;
  res.status = status.http_status;
  if (status.retry_after) {
    res.set_header("Retry-After",
                   absl::StrCat(std::max<int64_t>(1, absl::ToInt64Seconds(options_.retry_after))));
  }
  if (close) {
    res.set_header("Connection", "close");
    CurrentConnection().poisoned = true;
  }
  if (inline_body) {
    std::string body = http::ErrorJson(status.code, message);
    // This answer is written without the library's framing step: it needs its own length.
    res.set_header("Content-Length", absl::StrCat(body.size()));
    res.set_content(std::move(body), "application/json");
    return;
  }
  SetBody(res, http::ErrorJson(status.code, message), "application/json", close);
}

void HttpServerImpl::Reject(httplib::Response& res, Rejection rejection, absl::string_view message,
                            bool close, bool inline_body) {
  ErrorStatus status = http::StatusForRejection(rejection);
  WriteError(res, status, message, close, inline_body);
  Record("", status.outcome);
}

Server::HandlerResponse HttpServerImpl::PreRouting(const httplib::Request& req,
                                                   httplib::Response& res) {
  t_request_start = absl::Now();
  http::ConnectionState& connection = CurrentConnection();
  connection.host_response = false;
  // cpp-httplib applies Range headers to whatever a handler answers; a function's response is
  // the function's, so Range is left to it (the header still reaches the script). The Request is
  // the library's own mutable object, handed to us as const.
  auto& mutable_req = const_cast<httplib::Request&>(req);
  mutable_req.ranges.clear();
  t_accept_encoding.clear();
  for (auto [it, end] = mutable_req.headers.equal_range("Accept-Encoding"); it != end;) {
    t_accept_encoding.push_back(std::move(it->second));
    it = mutable_req.headers.erase(it);
  }
  if (connection.shed) {
    Reject(res, Rejection::kOverloaded, "the server is at capacity; retry later", true);
    return Server::HandlerResponse::Handled;
  }
  if (connection.poisoned) {
    Reject(res, Rejection::kBadRequest, "the connection is closing after a framing error", true);
    return Server::HandlerResponse::Handled;
  }
  if (auto error = guard_.Check(req)) {
    Reject(res, error->rejection, error->message, true);
    return Server::HandlerResponse::Handled;
  }
  // Anything answered here leaves a declared body unread: close after it.
  const bool unread_body = http::RequestGuard::DeclaresBody(req);
  absl::string_view path = req.target;
  path = path.substr(0, path.find('?'));
  if (path == "/_cosmo" || absl::StartsWith(path, "/_cosmo/")) {
    if (options_.dashboard && IsDashboardPath(path) &&
        http::RequestGuard::MethodReadsBody(req.method)) {
      return Server::HandlerResponse::Unhandled;  // HandleWithBody reads the (small) body
    }
    HostEndpoint(req, path, res);
    if (unread_body) {
      res.set_header("Connection", "close");
      connection.poisoned = true;
    }
    return Server::HandlerResponse::Handled;
  }
  absl::string_view rest = path.substr(1);
  std::string family(rest.substr(0, rest.find('/')));
  if (!options_.serve_families || !IsValidFamilyName(family)) {
    Reject(res, Rejection::kNotFound,
           family.empty() ? "no function here: request /{family}/..."
                          : "no function is deployed at this path",
           unread_body);
    return Server::HandlerResponse::Handled;
  }
  if (http::RequestGuard::MethodReadsBody(req.method)) {
    return Server::HandlerResponse::Unhandled;  // HandleWithBody reads the body, then dispatches
  }
  Dispatch(req, family, std::string(), false, nullptr, res);
  return Server::HandlerResponse::Handled;
}

void HttpServerImpl::HostEndpoint(const httplib::Request& req, absl::string_view path,
                                  httplib::Response& res) {
  if (options_.dashboard && IsDashboardPath(path)) {
    DashboardEndpoint(req, std::string(), res);
    return;
  }
  bool known = path == "/_cosmo/healthz" || path == "/_cosmo/metrics";
  if (!known) {
    Reject(res, Rejection::kNotFound, "no such host endpoint", false);
    return;
  }
  if (req.method != "GET" && req.method != "HEAD") {
    Reject(res, Rejection::kMethodNotAllowed, "use GET", false);
    res.set_header("Allow", "GET, HEAD");
    return;
  }
  CurrentConnection().host_response = true;
  res.status = http::kHttpOk;
  if (path == "/_cosmo/healthz") {
    SetBody(res, "{\"status\":\"ok\"}", "application/json", false);
  } else {
    SetBody(res, metrics_.Render(runtime_), "text/plain; version=0.0.4; charset=utf-8", false);
  }
  Record("", Outcome::kOk);
}

void HttpServerImpl::DashboardEndpoint(const httplib::Request& req, std::string body,
                                       httplib::Response& res) {
  HostRequest request;
  request.method = req.method;
  absl::string_view target = req.target;
  const size_t query = target.find('?');
  request.path = std::string(target.substr(0, query));
  if (query != absl::string_view::npos) request.query = std::string(target.substr(query + 1));
  request.params.assign(req.params.begin(), req.params.end());
  request.headers.reserve(req.headers.size());
  for (const auto& [name, value] : req.headers) {
    if (!http::IsTransportPseudoHeader(name)) request.headers.emplace_back(name, value);
  }
  // Taken off the library's Request in PreRouting; the dashboard gzips its files itself.
  for (const std::string& value : t_accept_encoding) {
    request.headers.emplace_back("Accept-Encoding", value);
  }
  request.body = std::move(body);
  request.peer_ip = req.remote_addr;
  request.listen_address = address();
  HostResponse response = options_.dashboard(request);
  CurrentConnection().host_response = true;
  res.status = response.status;
  for (auto& [name, value] : response.headers) res.set_header(name, value);
  SetBody(res, std::move(response.body), response.content_type, false);
  Record("", response.status < 400 ? Outcome::kOk : Outcome::kBadRequest);
}

int HttpServerImpl::Expect100(const httplib::Request& req, httplib::Response& res) {
  // Runs before pre-routing, when the client waits for a go-ahead: refuse here, before it sends
  // the body, with the same checks.
  t_request_start = absl::Now();
  std::optional<http::GuardError> error;
  if (CurrentConnection().shed) {
    error = http::GuardError{Rejection::kOverloaded, "the server is at capacity; retry later"};
  } else if (CurrentConnection().poisoned) {
    error =
        http::GuardError{Rejection::kBadRequest, "the connection is closing after a framing error"};
  } else {
    error = guard_.Check(req);
  }
  if (!error) return 100;
  Reject(res, error->rejection, error->message, true, /*inline_body=*/true);
  return res.status;
}

Server::HandlerResponse HttpServerImpl::LibraryError(const httplib::Request& req,
                                                     httplib::Response& res) {
  http::ConnectionState& connection = CurrentConnection();
  if (connection.host_response) return Server::HandlerResponse::Unhandled;  // ours, complete
  // A status the library chose itself: a request line or header it could not parse (400), a URI
  // over its 8 KiB cap (414), a Range it could not parse (416), no handler (404). The library
  // keeps such connections open; after a parse failure the rest of the stream is not trusted.
  Rejection rejection = http::RejectionForLibraryStatus(res.status);
  res.headers.clear();
  Reject(res, rejection, "the request could not be parsed", true);
  return Server::HandlerResponse::Handled;
}

void HttpServerImpl::HandleWithBody(const httplib::Request& req, httplib::Response& res,
                                    const httplib::ContentReader& reader) {
  if (absl::StartsWith(req.target, "/_cosmo/")) {  // a dashboard call (PreRouting sent it here)
    std::string body;
    bool over = false;
    bool ok = ReadWholeBody(reader, kMaxDashboardBodyBytes, &body, &over);
    if (over || !ok) {
      res.headers.clear();
      Reject(res, over ? Rejection::kPayloadTooLarge : Rejection::kBadRequest,
             over ? http::BodyTooLargeMessage(kMaxDashboardBodyBytes)
                  : "the request body could not be read",
             true);
      return;
    }
    DashboardEndpoint(req, std::move(body), res);
    return;
  }
  absl::string_view path = req.target;
  path = path.substr(1, path.find('?') - 1);
  std::string family(path.substr(0, path.find('/')));
  std::string body;
  bool decoded = false;
  http::ConnectionState& connection = CurrentConnection();
  if (http::RequestGuard::DeclaresBody(req) && !connection.body_buffered &&
      connection.stream != nullptr && !req.has_header("Content-Encoding")) {
    // Still arriving: the function reads it as it comes.
    const size_t limit = options_.max_request_body_bytes;
    // The guard let through exactly one framing: `Transfer-Encoding: chunked` or a length.
    http::StreamedRequestBody streamed =
        req.has_header("Transfer-Encoding")
            ? http::StreamedRequestBody::Chunked(connection.stream, limit)
            : http::StreamedRequestBody::WithLength(
                  connection.stream, req.get_header_value<uint64_t>("Content-Length"), limit);
    Dispatch(req, family, std::string(), false, &streamed, res);
    return;
  }
  if (http::RequestGuard::DeclaresBody(req)) {
    const size_t limit = options_.max_request_body_bytes;
    bool over = false;
    // With a multipart Content-Type the library would feed the body to its own form parser and
    // call the (absent) multipart receivers; the function gets the raw body instead, so the type
    // is hidden from the library while the body is read.
    auto& headers = const_cast<httplib::Headers&>(req.headers);
    auto content_type = headers.find("Content-Type");
    std::string saved_type;
    if (content_type != headers.end() && req.is_multipart_form_data()) {
      saved_type = std::exchange(content_type->second, "application/octet-stream");
    }
    bool ok = ReadWholeBody(reader, limit, &body, &over);
    if (!saved_type.empty()) content_type->second = std::move(saved_type);
    if (over) {
      Reject(res, Rejection::kPayloadTooLarge, http::BodyTooLargeMessage(limit), true);
      return;
    }
    if (!ok) {
      // A malformed chunk, a truncated body, an undecodable Content-Encoding (the library left
      // its status in res.status).
      Rejection rejection = http::RejectionForLibraryStatus(res.status);
      res.headers.clear();
      Reject(res, rejection,
             rejection == Rejection::kUnsupportedMediaType
                 ? "the request's Content-Encoding is not supported"
                 : "the request body could not be read",
             true);
      return;
    }
    std::string encoding = req.get_header_value("Content-Encoding");
    decoded = encoding == "gzip" || encoding == "deflate" || absl::StrContains(encoding, "br");
  }
  Dispatch(req, family, std::move(body), decoded, nullptr, res);
}

void HttpServerImpl::Dispatch(const httplib::Request& req, const std::string& family,
                              std::string body, bool body_decoded,
                              http::StreamedRequestBody* streamed_body, httplib::Response& res) {
  HttpRequest request;
  request.method = req.method;
  std::string host = req.get_header_value("Host");
  if (!IsValidHostHeader(host)) {
    host = HostPort{req.local_addr, req.local_port}.ToString();
  }
  request.url = absl::StrCat("http://", host, req.target);
  request.headers.reserve(req.headers.size());
  for (const auto& [name, value] : req.headers) {
    if (http::IsTransportPseudoHeader(name) || absl::EqualsIgnoreCase(name, "Transfer-Encoding")) {
      continue;
    }
    if (body_decoded && (absl::EqualsIgnoreCase(name, "Content-Encoding") ||
                         absl::EqualsIgnoreCase(name, "Content-Length"))) {
      continue;
    }
    request.headers.emplace_back(name, value);
  }
  for (std::string& value : t_accept_encoding) {
    request.headers.emplace_back("Accept-Encoding", std::move(value));
  }
  if (body_decoded) request.headers.emplace_back("Content-Length", absl::StrCat(body.size()));
  request.body = std::move(body);
  request.body_reader = streamed_body;
  request.remote_addr = req.remote_addr;  // the socket's peer, never a header
  // Streamed bodies go out as they are produced, chunked (HTTP/1.1 clients only). Detachable
  // unless the request body is still arriving (its reader needs this worker's connection stream).
  http::ConnectionState& connection = CurrentConnection();
  std::unique_ptr<ChunkedBodyWriter> writer;
  std::shared_ptr<http::DetachedStream> detached;  // set when a detachable writer starts
  if (connection.stream != nullptr && req.version == "HTTP/1.1") {
    writer = std::make_unique<ChunkedBodyWriter>(connection.stream);
    if (connection.stream_loop != nullptr && streamed_body == nullptr) {
      writer->AllowDetach(connection.stream_loop, &detached, completions_, family, t_request_start);
    }
    request.body_writer = writer.get();
  }

  InvokeResult result = invoke_ ? invoke_(family, request) : runtime_->Invoke(family, request);
  if (result.response.stream_pending && detached != nullptr) {
    // The body goes on without this worker: the front end hands the connection to its loop,
    // which writes what the producer offers; Completed() records the request and deletes the
    // writer (perhaps already, on another thread: it is not touched here any more).
    (void)writer.release();
    connection.detached = std::move(detached);
    connection.response_sent = true;
    connection.host_response = true;
    return;
  }
  if (writer != nullptr) writer->FlushAttached();
  if (streamed_body != nullptr && !streamed_body->complete()) {
    // The rest of the body is still on the connection: nothing can follow it there.
    connection.poisoned = true;
    // A body over the limit or with broken framing is the client's fault, whatever the function
    // made of it — unless its answer is on the wire already.
    const absl::Status& error = streamed_body->error();
    if ((absl::IsResourceExhausted(error) || absl::IsInvalidArgument(error)) &&
        !(writer != nullptr && writer->started())) {
      res.headers.clear();
      Reject(
          res,
          absl::IsResourceExhausted(error) ? Rejection::kPayloadTooLarge : Rejection::kBadRequest,
          error.message(), true);
      return;
    }
    res.set_header("Connection", "close");
  }

  if (writer != nullptr && writer->started()) {
    // The response is on the wire already; what the library writes after this is dropped. A
    // stream that did not end cleanly is cut off by closing the connection (no last chunk), so
    // the client sees an incomplete body rather than a complete wrong one.
    connection.response_sent = true;
    connection.host_response = true;
    if (!writer->finished()) connection.poisoned = true;
    if (result.outcome != Outcome::kOk) {
      result.console.clear();
    }
    RecordInvocation(family, t_request_start, result);
    return;
  }

  if (result.outcome == Outcome::kOk) {
    absl::StatusOr<HeaderList> headers = http::SanitizeScriptResponse(result.response);
    if (headers.ok()) {
      CurrentConnection().host_response = true;
      res.status = result.response.status;
      std::string content_type;
      for (auto& [name, value] : *headers) {
        if (absl::EqualsIgnoreCase(name, "Content-Type")) {
          if (content_type.empty()) content_type = std::move(value);
          continue;
        }
        // The host names the serving version; a script cannot claim another.
        if (http::IsVersionHeader(name)) continue;
        res.headers.emplace(std::move(name), std::move(value));
      }
      SetVersionHeader(res, result.version);
      std::string& out = result.response.body;
      if (http::StatusForbidsBody(res.status)) out.clear();
      // Bytes of no declared type are octets (the library would call them text/plain).
      if (content_type.empty() && !out.empty()) content_type = "application/octet-stream";
      SetBody(res, std::move(out), content_type, false);
      Record(family, Outcome::kOk, result.usage.cpu_us, result.version);
      return;
    }
    result.outcome = Outcome::kException;
    result.error = std::string(headers.status().message());
  }
  ErrorStatus status = http::StatusForOutcome(result.outcome);
  std::string message = FirstLine(result.error);
  if (message.empty()) message = std::string(OutcomeName(result.outcome));
  WriteError(res, status, message, false);
  SetVersionHeader(res, result.version);
  // Unknown families share one label, so probing paths cannot grow the metrics without bound.
  Record(result.outcome == Outcome::kNotFound ? "" : family, status.outcome, result.usage.cpu_us,
         result.version);
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpServer>> NewHttpServer(HttpServerOptions options,
                                                          Runtime* runtime,
                                                          HttpServer::InvokeFunction invoke) {
  if (absl::Status valid = options.Validate(); !valid.ok()) return valid;
  if (runtime == nullptr && !invoke) {
    return absl::InvalidArgumentError("http: a runtime or an invoke function is required");
  }
  auto server = std::make_unique<HttpServerImpl>(std::move(options), runtime, std::move(invoke));
  if (absl::Status bound = server->Bind(); !bound.ok()) return bound;
  return server;
}

}  // namespace cosmo
