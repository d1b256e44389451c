#include "http/front_end.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/thread_name.h"
#include "http/connection_stream.h"
#include "http/outcome_status.h"

namespace cosmo::http {

namespace {

thread_local ConnectionState* t_connection = nullptr;

// Marks what an epoll event is about when it is not a connection.
char kListenTag;
char kWakeTag;

constexpr size_t kScratchBytes = size_t{64} << 10;
constexpr int kMaxEvents = 256;
// Deadlines are checked this often (they are seconds long; a tenth of a second late is fine).
constexpr auto kSweepInterval = std::chrono::milliseconds(100);

SteadyTime Now() { return std::chrono::steady_clock::now(); }

std::chrono::steady_clock::duration ToSteady(absl::Duration d) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      absl::ToChronoNanoseconds(d));
}

// The peer's address as cpp-httplib reports it (numeric host, port).
void DescribeAddress(const sockaddr_storage& addr, std::string* ip, int* port) {
  char text[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&addr);
    inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof(text));
    *port = ntohs(a->sin6_port);
  } else {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&addr);
    inet_ntop(AF_INET, &a->sin_addr, text, sizeof(text));
    *port = ntohs(a->sin_port);
  }
  *ip = text;
}

void CloseSocket(int fd) {
  ::shutdown(fd, SHUT_RDWR);
  ::close(fd);
}

}  // namespace

ConnectionState& CurrentConnection() {
  // Outside a request (never expected) a throwaway state keeps callers safe.
  thread_local ConnectionState unbound;
  return t_connection != nullptr ? *t_connection : unbound;
}

FrontEnd::FrontEnd(FrontEndOptions options, int listen_fd, ServeFunction serve,
                   ConnectionGauges* gauges, std::atomic<uint64_t>* shed_counter)
    : options_(std::move(options)),
      serve_(std::move(serve)),
      gauges_(gauges),
      read_cap_(options_.framing.max_head_bytes + options_.framing.max_buffered_body_bytes +
                kScratchBytes),
      listen_fd_(listen_fd),
      pool_(std::make_unique<WorkerPool>(options_.worker_threads, options_.max_queued_requests,
                                         options_.shed_workers, shed_counter)),
      scratch_(new char[kScratchBytes]) {
  gauges_->limit.store(static_cast<int64_t>(options_.max_connections));
}

// Writes the loop's eventfd until Close(); thread-safe.
class FrontEnd::LoopWaker final : public Wakeable {
 public:
  explicit LoopWaker(int fd) : fd_(fd) {}
  ~LoopWaker() override { Close(); }
  void Wake() override {
    absl::MutexLock lock(&mu_);
    if (fd_ < 0) return;
    uint64_t one = 1;
    (void)!::write(fd_, &one, sizeof(one));
  }
  void Close() {
    absl::MutexLock lock(&mu_);
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  absl::Mutex mu_;
  int fd_ ABSL_GUARDED_BY(mu_);
};

FrontEnd::~FrontEnd() { Stop(); }

absl::Status FrontEnd::Prepare() {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ >= 0) waker_ = std::make_shared<LoopWaker>(wake_fd_);
  if (epoll_fd_ < 0 || wake_fd_ < 0) {
    return absl::UnavailableError(
        absl::StrCat("http: cannot create the event loop: ", std::strerror(errno)));
  }
  int flags = 1;
  ::ioctl(listen_fd_, FIONBIO, &flags);
  epoll_event listen_event{.events = EPOLLIN, .data = {.ptr = &kListenTag}};
  epoll_event wake_event{.events = EPOLLIN, .data = {.ptr = &kWakeTag}};
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &listen_event) != 0 ||
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &wake_event) != 0) {
    return absl::UnavailableError(absl::StrCat("http: epoll_ctl: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

void FrontEnd::Start() {
  absl::MutexLock lock(&lifecycle_mu_);
  if (started_ || stopped_ || epoll_fd_ < 0) return;
  started_ = true;
  thread_ = std::thread([this] {
    NameThisThread("cosmo-http-loop");
    Loop();
  });
}

void FrontEnd::Stop() {
  {
    absl::MutexLock lock(&lifecycle_mu_);
    if (stopped_) return;
    stopped_ = true;
  }
  stopping_.store(true);
  if (thread_.joinable()) {
    waker_->Wake();
    thread_.join();
  }
  if (listen_fd_ >= 0) ::close(listen_fd_);
  listen_fd_ = -1;
  // Requests being run finish (their connections then close: stopping_ is set).
  pool_->Shutdown();
  ReapClosed();
  {
    absl::MutexLock lock(&ready_mu_);
    ready_.clear();
  }
  for (auto& c : connections_) {
    AbandonStream(c.get());
    GaugeFor(c->phase)->fetch_sub(1, std::memory_order_relaxed);
    gauges_->open.fetch_sub(1, std::memory_order_relaxed);
    CloseSocket(c->fd);
  }
  connections_.clear();
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
  if (waker_ != nullptr) waker_->Close();
  epoll_fd_ = wake_fd_ = -1;
}

std::atomic<int64_t>* FrontEnd::GaugeFor(Connection::Phase phase) {
  switch (phase) {
    case Connection::Phase::kIdle:
      return &gauges_->idle;
    case Connection::Phase::kHead:
    case Connection::Phase::kBody:
      return &gauges_->reading;
    case Connection::Phase::kWriting:
      return &gauges_->writing;
    case Connection::Phase::kStreaming:
      return &gauges_->streaming;
    case Connection::Phase::kWorker:
      return &gauges_->active;
  }
  return &gauges_->idle;
}

void FrontEnd::SetPhase(Connection* c, Connection::Phase phase) {
  if (c->phase == phase) return;
  std::atomic<int64_t>* from = GaugeFor(c->phase);
  std::atomic<int64_t>* to = GaugeFor(phase);
  if (from != to) {
    from->fetch_sub(1, std::memory_order_relaxed);
    to->fetch_add(1, std::memory_order_relaxed);
  }
  c->phase = phase;
}

// ---- the event loop ---------------------------------------------------------------------------

void FrontEnd::Loop() {
  epoll_event events[kMaxEvents];
  SteadyTime next_sweep = Now() + kSweepInterval;
  while (!stopping_.load(std::memory_order_relaxed)) {
    int n = ::epoll_wait(
        epoll_fd_, events, kMaxEvents,
        static_cast<int>(
            std::chrono::duration_cast<std::chrono::milliseconds>(kSweepInterval).count()));
    if (n < 0 && errno != EINTR) break;
    bool streams_ready = false;
    for (int i = 0; i < n; ++i) {
      void* tag = events[i].data.ptr;
      if (tag == &kListenTag) {
        Accept();
      } else if (tag == &kWakeTag) {
        uint64_t value;
        (void)!::read(wake_fd_, &value, sizeof(value));
        streams_ready = true;
      } else {
        OnEvent(static_cast<Connection*>(tag), events[i].events);
      }
    }
    // After the batch: writing a stream may close its connection, whose event may be later in
    // this batch.
    if (streams_ready) ServeReadyStreams();
    ReapClosed();
    SteadyTime now = Now();
    if (now >= next_sweep) {
      Sweep(now);
      next_sweep = now + kSweepInterval;
    }
  }
}

void FrontEnd::Accept() {
  for (;;) {
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Out of descriptors or memory: the listener would stay readable and spin the loop.
        // It rests until the next sweep; the kernel's backlog holds the waiting connections.
        ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, listen_fd_, nullptr);
        listen_paused_ = true;
      }
      return;  // EAGAIN: accepted everything
    }
    gauges_->accepted.fetch_add(1, std::memory_order_relaxed);
    if (connections_.size() >= options_.max_connections) {
      gauges_->refused.fetch_add(1, std::memory_order_relaxed);
      std::string body = ErrorJson("unavailable", "too many open connections; retry later");
      std::string response = absl::StrCat(
          "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: ", body.size(),
          "\r\nContent-Type: application/json\r\nRetry-After: ", options_.retry_after_seconds,
          "\r\n\r\n", body);
      (void)!::send(fd, response.data(), response.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      CloseSocket(fd);
      continue;
    }
    auto c = std::make_unique<Connection>();
    c->fd = fd;
    DescribeAddress(addr, &c->peer_ip, &c->peer_port);
    if (options_.local_ip.empty()) {
      sockaddr_storage local{};
      socklen_t local_len = sizeof(local);
      if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) == 0) {
        DescribeAddress(local, &c->local_ip, &c->local_port);
      }
    } else {
      c->local_ip = options_.local_ip;
      c->local_port = options_.local_port;
    }
    // A connection that has not sent a whole head by the deadline is closed, first one included.
    c->phase = Connection::Phase::kHead;
    c->deadline = Now() + ToSteady(options_.head_timeout);
    epoll_event event{.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                      .data = {.ptr = c.get()}};
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0) {
      CloseSocket(fd);
      continue;
    }
    gauges_->open.fetch_add(1, std::memory_order_relaxed);
    gauges_->reading.fetch_add(1, std::memory_order_relaxed);
    c->index = connections_.size();
    connections_.push_back(std::move(c));
  }
}

void FrontEnd::OnEvent(Connection* c, uint32_t events) {
  if (c->owner.load(std::memory_order_acquire) != Connection::Owner::kLoop) {
    // A worker has it, or is handing it back right now: decide under its lock.
    absl::MutexLock lock(&c->mu);
    Connection::Owner owner = c->owner.load(std::memory_order_relaxed);
    if (owner == Connection::Owner::kClosed) return;
    if (owner == Connection::Owner::kWorker) {
      if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) c->pending_read = true;
      if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) c->pending_write = true;
      return;
    }
  }
  if (c->phase == Connection::Phase::kStreaming) {
    OnStreamEvent(c, events);
    return;
  }
  if (c->phase == Connection::Phase::kWriting && (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))) {
    if (events & (EPOLLIN | EPOLLRDHUP)) c->read_deferred = true;
    WriteFromLoop(c);
    return;
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) ReadFromLoop(c);
}

void FrontEnd::ReadFromLoop(Connection* c) {
  if (c->phase == Connection::Phase::kWriting) {
    // Responses go out in order: the next request is read once this one is written.
    c->read_deferred = true;
    return;
  }
  bool drained = false;
  while (c->in.size() < read_cap_) {
    ssize_t n = ::recv(c->fd, scratch_.get(), kScratchBytes, 0);
    if (n > 0) {
      c->in.append(scratch_.get(), static_cast<size_t>(n));
      // A short read emptied the socket; edge-triggered epoll reports the next arrival.
      if (static_cast<size_t>(n) < kScratchBytes) {
        drained = true;
        break;
      }
      continue;
    }
    if (n == 0) {
      c->peer_closed = true;
      drained = true;
      break;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      drained = true;
      break;
    }
    CloseFromLoop(c);
    return;
  }
  AfterRead(c, drained);
}

void FrontEnd::AfterRead(Connection* c, bool drained) {
  if (c->in.empty()) {
    if (c->peer_closed) CloseFromLoop(c);
    return;
  }
  c->framing = ScanRequest(c->in, options_.framing);
  const Framing& framing = c->framing;
  switch (framing.status) {
    case Framing::Status::kComplete:
    case Framing::Status::kDispatchHead:
      Dispatch(c, drained);
      return;
    case Framing::Status::kHeadTooLarge:
      c->out = HeadTooLargeResponse(framing);
      c->out_offset = 0;
      c->in.clear();
      c->close_after_write = true;
      SetPhase(c, Connection::Phase::kWriting);
      c->deadline = Now() + ToSteady(options_.write_timeout);
      WriteFromLoop(c);
      return;
    case Framing::Status::kNeedMore:
      // A request cut short by the peer is the parser's to answer (as if read from the socket).
      if (c->peer_closed) {
        Dispatch(c, drained);
        return;
      }
      if (c->phase == Connection::Phase::kIdle) {
        SetPhase(c, Connection::Phase::kHead);
        c->deadline = Now() + ToSteady(options_.head_timeout);
      }
      return;
  }
}

void FrontEnd::Dispatch(Connection* c, bool drained) {
  SetPhase(c, Connection::Phase::kWorker);
  {
    absl::MutexLock lock(&c->mu);
    c->owner.store(Connection::Owner::kWorker, std::memory_order_release);
    // Bytes may be left in the socket (the loop stopped at its buffer cap): the worker reads them.
    if (!drained) c->pending_read = true;
  }
  pool_->Submit([this, c](bool shed) { Serve(c, shed); });
}

void FrontEnd::WriteFromLoop(Connection* c) {
  if (!SendPending(c)) {
    CloseFromLoop(c);
    return;
  }
  if (!c->out.empty()) return;  // the next EPOLLOUT edge continues
  if (c->close_after_write) {
    CloseFromLoop(c);
    return;
  }
  AwaitNextRequest(c);
}

void FrontEnd::AwaitNextRequest(Connection* c) {
  SetPhase(c, c->in.empty() ? Connection::Phase::kIdle : Connection::Phase::kHead);
  c->deadline =
      Now() + ToSteady(c->in.empty() ? options_.keep_alive_timeout : options_.head_timeout);
  if (c->read_deferred) {
    c->read_deferred = false;
    ReadFromLoop(c);
  } else if (!c->in.empty()) {
    AfterRead(c, /*drained=*/true);
  }
}

std::string FrontEnd::HeadTooLargeResponse(const Framing& framing) const {
  // What the parser and the guard would answer had the head been read whole.
  int status = 431;
  absl::string_view reason = "Request Header Fields Too Large";
  absl::string_view code = "headers_too_large";
  std::string message;
  if (!framing.request_line_complete) {
    status = 414;
    reason = "URI Too Long";
    code = "uri_too_long";
    message = "the request could not be parsed";
  } else if (framing.header_lines > options_.max_header_count) {
    message = absl::StrCat("more than ", options_.max_header_count, " header fields");
  } else {
    message =
        absl::StrCat("header fields larger than ", options_.max_header_bytes, " bytes in total");
  }
  std::string body = ErrorJson(code, message);
  return absl::StrCat(
      "HTTP/1.1 ", status, " ", reason, "\r\nConnection: close\r\nContent-Length: ", body.size(),
      "\r\nContent-Type: application/json\r\nKeep-Alive: ", options_.keep_alive_header, "\r\n\r\n",
      body);
}

void FrontEnd::CloseFromLoop(Connection* c) {
  // A worker that just handed the connection back may still be releasing its lock (it stores
  // kLoop before it unlocks, so that no event arriving meanwhile is lost): freeing the mutex
  // under it would corrupt whatever is allocated there next. Taking the lock waits it out; no
  // worker takes it again once the loop owns the connection.
  { absl::MutexLock wait_for_hand_back(&c->mu); }
  GaugeFor(c->phase)->fetch_sub(1, std::memory_order_relaxed);
  gauges_->open.fetch_sub(1, std::memory_order_relaxed);
  AbandonStream(c);
  CloseSocket(c->fd);
  size_t index = c->index;
  if (index + 1 != connections_.size()) {
    connections_[index] = std::move(connections_.back());
    connections_[index]->index = index;
  }
  connections_.pop_back();
}

void FrontEnd::AbandonStream(Connection* c) {
  // After the gauges (a producer told the client is gone may look at them) and before the
  // socket closes (a producer not yet handed over looks at the socket unless the stream is gone).
  if (c->detached == nullptr) return;
  c->detached->Abandon();
  c->detached.reset();
}

void FrontEnd::Sweep(SteadyTime now) {
  if (listen_paused_) {
    epoll_event listen_event{.events = EPOLLIN, .data = {.ptr = &kListenTag}};
    listen_paused_ = ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &listen_event) != 0;
  }
  // Backwards: closing moves the last connection into the closed one's slot.
  for (size_t i = connections_.size(); i-- > 0;) {
    Connection* c = connections_[i].get();
    if (c->owner.load(std::memory_order_acquire) != Connection::Owner::kLoop) continue;
    if (now >= c->deadline) {
      gauges_->timed_out.fetch_add(1, std::memory_order_relaxed);
      CloseFromLoop(c);
    }
  }
}

void FrontEnd::ReapClosed() {
  std::vector<Connection*> closed;
  {
    absl::MutexLock lock(&closed_mu_);
    closed.swap(closed_);
  }
  for (Connection* c : closed) {
    size_t index = c->index;
    if (index + 1 != connections_.size()) {
      connections_[index] = std::move(connections_.back());
      connections_[index]->index = index;
    }
    connections_.pop_back();
  }
}

// ---- detached response streams (loop thread) ------------------------------------------------

void FrontEnd::StreamReady(std::shared_ptr<DetachedStream> stream) {
  bool first;
  {
    absl::MutexLock lock(&ready_mu_);
    first = ready_.empty();
    ready_.push_back(std::move(stream));
  }
  // One wake-up per batch: the loop takes the whole list when it reads the eventfd. A producer
  // turning many streams in one pass (the stream driver) defers it to the pass's end.
  if (first) WakeBatch::WakeOrDefer(waker_);
}

std::shared_ptr<DetachedStream> FrontEnd::NewStream() {
  return std::make_shared<DetachedStream>(this, options_.stream_high_water,
                                          options_.stream_low_water);
}

void FrontEnd::ServeReadyStreams() {
  std::vector<std::shared_ptr<DetachedStream>> ready;
  {
    absl::MutexLock lock(&ready_mu_);
    ready.swap(ready_);
  }
  for (const std::shared_ptr<DetachedStream>& stream : ready) {
    // Non-null only while the connection is open: the loop forgets it (Release, Abandon) before
    // freeing a connection, and only this thread frees them.
    Connection* c = stream->TakeSignal();
    if (c == nullptr) continue;
    // Still with the worker that is handing it over: its Kick() signals again afterwards.
    if (c->owner.load(std::memory_order_acquire) != Connection::Owner::kLoop) continue;
    if (c->phase != Connection::Phase::kStreaming || c->detached != stream) continue;
    PumpStream(c);
  }
}

void FrontEnd::OnStreamEvent(Connection* c, uint32_t events) {
  // A client that shuts its side or resets is gone: the producer is told at once (kGone) rather
  // than when output next fails to leave.
  if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
    CloseFromLoop(c);
    return;
  }
  if ((events & EPOLLIN) && !ReadWhileStreaming(c)) return;
  if (events & EPOLLOUT) PumpStream(c);
}

bool FrontEnd::ReadWhileStreaming(Connection* c) {
  // Pipelined requests are buffered (up to the cap) and served once the stream completes.
  while (c->in.size() < read_cap_) {
    ssize_t n = ::recv(c->fd, scratch_.get(), kScratchBytes, 0);
    if (n > 0) {
      c->in.append(scratch_.get(), static_cast<size_t>(n));
      if (static_cast<size_t>(n) < kScratchBytes) return true;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    CloseFromLoop(c);  // closed or failed
    return false;
  }
  c->read_deferred = true;  // at the cap: the rest is read after the stream
  return true;
}

bool FrontEnd::PumpStream(Connection* c) {
  DetachedStream& stream = *c->detached;
  const size_t waiting = c->out.size() - c->out_offset;
  const DetachedStream::Drained drained = stream.Drain(&c->out);
  const size_t offered = c->out.size() - c->out_offset;
  if (!SendPending(c)) {
    CloseFromLoop(c);
    return false;
  }
  const size_t unsent = c->out.size() - c->out_offset;
  // The write timeout counts from the last progress while output waits; a stream waiting for
  // its producer has none.
  if (unsent == 0) {
    c->deadline = SteadyTime::max();
  } else if (unsent < offered || waiting == 0) {
    c->deadline = Now() + ToSteady(options_.write_timeout);
  }
  stream.Sent(unsent);
  if (drained.completed && unsent == 0) {
    EndStream(c, drained.finished);
    return false;
  }
  return true;
}

void FrontEnd::EndStream(Connection* c, bool finished) {
  c->detached->Release();
  c->detached.reset();
  // A body cut off closes the connection without its last chunk: the client sees it incomplete.
  if (!finished || c->close_after_stream || c->peer_closed ||
      stopping_.load(std::memory_order_relaxed)) {
    CloseFromLoop(c);
    return;
  }
  AwaitNextRequest(c);
}

// ---- the worker side --------------------------------------------------------------------------

void FrontEnd::Serve(Connection* c, bool shed) {
  t_connection = &c->state;
  c->state.shed = shed;
  c->state.stream_loop = this;
  for (;;) {
    bool close = false;
    const Framing& framing = c->framing;  // scanned by AfterRead or RequestReady
    if (framing.status == Framing::Status::kHeadTooLarge) {
      // Found after a previous response (pipelined): refused here as the loop would.
      c->out += HeadTooLargeResponse(framing);
      c->in.clear();
      close = true;
    } else {
      ConnectionStream stream(c, options_.read_timeout, options_.write_timeout);
      c->state.stream = &stream;
      c->state.response_sent = false;
      c->state.body_buffered = framing.status == Framing::Status::kComplete;
      const bool close_connection = stopping_.load(std::memory_order_relaxed) ||
                                    c->requests + 1 >= options_.keep_alive_max_requests;
      bool connection_closed = false;
      bool ok = serve_(stream, close_connection, connection_closed);
      ++c->requests;
      c->in.erase(0, stream.consumed());
      c->state.host_response = false;
      c->state.stream = nullptr;
      c->state.response_sent = false;
      close = !ok || stream.failed() || connection_closed || close_connection || shed ||
              c->state.poisoned;
      if (c->state.detached != nullptr) {
        HandStreamToLoop(c, std::move(c->state.detached), close);
        break;
      }
    }
    if (!SendPending(c)) {
      CloseFromWorker(c);
      break;
    }
    if (!c->out.empty() && !WriteOrRelease(c, close)) break;
    if (close) {
      CloseFromWorker(c);
      break;
    }
    if (!NextOrRelease(c)) break;
  }
  t_connection = nullptr;
}

bool FrontEnd::RequestReady(Connection& c) const {
  if (c.in.empty()) return false;
  c.framing = ScanRequest(c.in, options_.framing);
  return c.framing.status != Framing::Status::kNeedMore || c.peer_closed;
}

bool FrontEnd::ReadAvailable(Connection* c, bool* drained) {
  *drained = false;
  char buffer[16 << 10];
  while (c->in.size() < read_cap_) {
    ssize_t n = ::recv(c->fd, buffer, sizeof(buffer), 0);
    if (n > 0) {
      c->in.append(buffer, static_cast<size_t>(n));
      if (static_cast<size_t>(n) < sizeof(buffer)) {
        *drained = true;
        return true;
      }
      continue;
    }
    if (n == 0) {
      c->peer_closed = true;
      *drained = true;
      return true;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      *drained = true;
      return true;
    }
    return false;
  }
  return true;
}

bool FrontEnd::NextOrRelease(Connection* c) {
  if (RequestReady(*c)) return true;  // pipelined: already buffered
  for (;;) {
    c->mu.Lock();
    if (c->pending_read) {
      // Bytes arrived while this worker had the connection; no new edge will announce them.
      c->pending_read = false;
      c->mu.Unlock();
      bool drained = false;
      if (!ReadAvailable(c, &drained)) {
        CloseFromWorker(c);
        return false;
      }
      if (RequestReady(*c)) return true;
      if (c->peer_closed) {
        CloseFromWorker(c);
        return false;
      }
      if (!drained) {
        absl::MutexLock lock(&c->mu);
        c->pending_read = true;
      }
      continue;
    }
    c->pending_write = false;
    const bool idle = c->in.empty();
    SetPhase(c, idle ? Connection::Phase::kIdle : Connection::Phase::kHead);
    c->deadline = Now() + ToSteady(idle ? options_.keep_alive_timeout : options_.head_timeout);
    HandBackAndUnlock(c);
    return false;
  }
}

bool FrontEnd::WriteOrRelease(Connection* c, bool close_after) {
  for (;;) {
    c->mu.Lock();
    if (c->pending_write) {
      // The socket drained while this worker had the connection; no new edge will say so.
      c->pending_write = false;
      c->mu.Unlock();
      if (!SendPending(c)) {
        CloseFromWorker(c);
        return false;
      }
      if (c->out.empty()) return true;
      continue;
    }
    if (c->pending_read) {
      c->pending_read = false;
      c->read_deferred = true;
    }
    c->close_after_write = close_after;
    SetPhase(c, Connection::Phase::kWriting);
    c->deadline = Now() + ToSteady(options_.write_timeout);
    HandBackAndUnlock(c);
    return false;
  }
}

void FrontEnd::HandStreamToLoop(Connection* c, std::shared_ptr<DetachedStream> stream,
                                bool close_after) {
  c->close_after_stream = close_after;
  c->detached = stream;
  if (!SendPending(c)) {
    CloseFromWorker(c);  // tells the producer: kGone
    return;
  }
  for (;;) {
    c->mu.Lock();
    if (c->pending_read) {
      // Bytes (a pipelined request) or the client's close arrived meanwhile; no new edge will
      // announce them.
      c->pending_read = false;
      c->mu.Unlock();
      bool drained = false;
      if (!ReadAvailable(c, &drained) || c->peer_closed) {
        CloseFromWorker(c);
        return;
      }
      if (!drained) c->read_deferred = true;
      continue;
    }
    // A missed EPOLLOUT edge does not matter: the Kick below has the loop write what waits.
    c->pending_write = false;
    SetPhase(c, Connection::Phase::kStreaming);
    c->deadline = c->out.empty() ? SteadyTime::max() : Now() + ToSteady(options_.write_timeout);
    stream->AttachTo(c);
    HandBackAndUnlock(c);
    break;
  }
  stream->Kick();
}

void FrontEnd::HandBackAndUnlock(Connection* c) {
  c->owner.store(Connection::Owner::kLoop, std::memory_order_release);
  // From here the loop may close and free the connection; CloseFromLoop waits for this unlock.
  if (void (*hook)() = hand_back_hook_for_testing.load(std::memory_order_relaxed)) hook();
  c->mu.Unlock();
}

void FrontEnd::CloseFromWorker(Connection* c) {
  GaugeFor(c->phase)->fetch_sub(1, std::memory_order_relaxed);
  c->phase = Connection::Phase::kIdle;
  gauges_->open.fetch_sub(1, std::memory_order_relaxed);
  AbandonStream(c);
  CloseSocket(c->fd);
  {
    absl::MutexLock lock(&c->mu);
    c->owner.store(Connection::Owner::kClosed, std::memory_order_release);
  }
  absl::MutexLock lock(&closed_mu_);
  closed_.push_back(c);
}

}  // namespace cosmo::http
