// The data plane's event-driven front end: connections without a thread each.
//
// One event-loop thread (Linux epoll, edge-triggered) accepts connections, reads request heads
// and small bodies into per-connection buffers, and enforces the connection-level limits: a
// deadline for the whole request head, the idle keep-alive timeout, the write timeout, a cap on
// open connections (beyond it a connection is answered 503 and closed), a cap on head size (431).
// A request that is buffered whole (or whose body the parser must read itself) goes to the worker
// pool, where `serve` parses and runs it (cpp-httplib's request processing over a
// ConnectionStream). The worker writes the response without waiting for the client; what the
// socket cannot take at once is written by the loop. Idle keep-alive connections hold a few
// hundred bytes and no thread.
//
// On the wire a keep-alive request costs one read (loop) and one write (worker) when the client
// keeps up; pipelined requests already buffered run on the same worker in order.
//
// A streamed response whose invocation returned `stream_pending` (the request handler sets
// ConnectionState::detached) does not keep its worker: the connection passes to the loop in the
// streaming phase, and the producer's thread hands bytes over through the DetachedStream
// (detached_stream.h), which signals the loop through the eventfd (StreamReady). The loop writes
// them with EPOLLOUT, wakes the producer when the output drained, closes the connection when the
// client leaves or stops taking bytes for the write timeout, and, once the producer completed,
// goes on to the next request (keep-alive) or closes.
//
// Ownership: the FrontEnd owns the listening descriptor it is given, every connection and the
// worker pool. Thread-safe: Start() and Stop() may be called from any thread; `serve` is called
// on worker threads, one request at a time per connection.
#ifndef COSMO_LIB_HTTP_FRONT_END_H_
#define COSMO_LIB_HTTP_FRONT_END_H_

#include <httplib.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/wake_batch.h"
#include "http/connection.h"
#include "http/detached_stream.h"
#include "http/http_metrics.h"
#include "http/request_framer.h"
#include "http/worker_pool.h"

namespace cosmo::http {

struct FrontEndOptions {
  size_t worker_threads = 64;
  size_t max_queued_requests = 1024;
  size_t shed_workers = 4;
  size_t max_connections = 10000;
  absl::Duration head_timeout = absl::Seconds(10);
  absl::Duration read_timeout = absl::Seconds(5);
  absl::Duration write_timeout = absl::Seconds(5);
  absl::Duration keep_alive_timeout = absl::Seconds(5);
  size_t keep_alive_max_requests = 10000;
  FramingLimits framing;
  // For the 431 answer to a head over framing.max_head_bytes (the guard's wording).
  size_t max_header_count = 100;
  size_t max_header_bytes = size_t{32} << 10;
  // The Keep-Alive header value and Retry-After seconds the library writes, so the loop's own
  // answers look like the others.
  std::string keep_alive_header = "timeout=5, max=10000";
  int retry_after_seconds = 1;
  // The address connections arrive on, when the listener is bound to one (else asked per
  // connection).
  std::string local_ip;
  int local_port = 0;
  // A detached response stream's output bound: its producer is refused (kFull) while this much
  // waits to be written, and woken once it drained to the low-water mark.
  size_t stream_high_water = size_t{64} << 10;
  size_t stream_low_water = size_t{16} << 10;
};

class FrontEnd final : public StreamLoop {
 public:
  // Runs one request read from `stream` (cpp-httplib's process_request); false when the
  // connection must close after the response. `connection_closed` is set when the request asked
  // to close.
  using ServeFunction =
      std::function<bool(httplib::Stream& stream, bool close_connection, bool& connection_closed)>;

  // `listen_fd` is bound and listening; `gauges` and `shed_counter` outlive the FrontEnd.
  FrontEnd(FrontEndOptions options, int listen_fd, ServeFunction serve, ConnectionGauges* gauges,
           std::atomic<uint64_t>* shed_counter);
  ~FrontEnd();

  FrontEnd(const FrontEnd&) = delete;
  FrontEnd& operator=(const FrontEnd&) = delete;

  // Sets up the event loop on the listening socket; UNAVAILABLE when the system refuses.
  absl::Status Prepare();
  // Starts the event-loop thread. Idempotent; does nothing before a successful Prepare().
  void Start();
  // Stops accepting, lets requests being run finish, closes every connection and joins the
  // threads. Detached streams still being written are cut off (their producers see kGone).
  // Idempotent.
  void Stop();

  // Tests only: when set, called by a worker handing a connection back to the loop, between the
  // hand-back and the release of the connection's lock. The loop may close the connection in
  // that window; a pause here makes the window wide enough for a test to hit it.
  static inline std::atomic<void (*)()> hand_back_hook_for_testing{nullptr};

  // StreamLoop: a detached stream of one of this front end's connections has bytes or its end.
  void StreamReady(std::shared_ptr<DetachedStream> stream) override;
  std::shared_ptr<DetachedStream> NewStream() override;

 private:
  void Loop();
  void Accept();
  void OnEvent(Connection* c, uint32_t events);
  void ReadFromLoop(Connection* c);
  void AfterRead(Connection* c, bool drained);
  void Dispatch(Connection* c, bool drained);
  void WriteFromLoop(Connection* c);
  // A response went out whole on a kept-alive connection: reads or runs the next request.
  void AwaitNextRequest(Connection* c);
  // The 414/431 answer to a head over the size cap, as the parser and the guard would give it.
  std::string HeadTooLargeResponse(const Framing& framing) const;
  void CloseFromLoop(Connection* c);
  // A closing connection's detached stream, if any: its producer hears kGone.
  void AbandonStream(Connection* c);
  void Sweep(SteadyTime now);
  void ReapClosed();

  // Detached response streams (phase kStreaming), on the loop thread. Each returns false when
  // it closed the connection (which is then freed).
  void ServeReadyStreams();
  void OnStreamEvent(Connection* c, uint32_t events);
  bool ReadWhileStreaming(Connection* c);
  // Moves what the producer offered to the socket, wakes it when the output drained, and ends
  // the stream once it completed and everything went out.
  bool PumpStream(Connection* c);
  // The stream completed and its bytes are out: the next request (keep-alive) or close.
  void EndStream(Connection* c, bool finished);

  void Serve(Connection* c, bool shed);
  // After a response went out whole on a kept-alive connection: true when another request is
  // ready for this worker; otherwise the connection is back with the loop (or closed).
  bool NextOrRelease(Connection* c);
  // The worker could not write everything: the loop finishes the write, unless the socket
  // drained meanwhile and the worker finished it (true).
  bool WriteOrRelease(Connection* c, bool close_after);
  // Gives the connection (whose lock the worker holds) to the loop and releases the lock.
  void HandBackAndUnlock(Connection* c) ABSL_UNLOCK_FUNCTION(c->mu);
  void CloseFromWorker(Connection* c);
  // The invocation returned while its response stream goes on: the connection goes to the loop
  // in the streaming phase (or closes when the client is gone already).
  void HandStreamToLoop(Connection* c, std::shared_ptr<DetachedStream> stream, bool close_after);
  // Reads what the socket has without waiting; false when the connection failed.
  bool ReadAvailable(Connection* c, bool* drained);
  // Whether `c` holds a request to serve now; scans it into c.framing.
  bool RequestReady(Connection& c) const;

  void SetPhase(Connection* c, Connection::Phase phase);
  std::atomic<int64_t>* GaugeFor(Connection::Phase phase);

  const FrontEndOptions options_;
  const ServeFunction serve_;
  ConnectionGauges* const gauges_;
  const size_t read_cap_;  // most bytes buffered by the loop for one request
  int listen_fd_;
  int epoll_fd_ = -1;
  // The loop's eventfd, which producers of detached streams write through waker_: a wake
  // deferred by a WakeBatch may arrive after Stop() closed it (the waker then does nothing).
  class LoopWaker;
  std::shared_ptr<LoopWaker> waker_;
  int wake_fd_ = -1;            // read by the loop; owned by waker_
  bool listen_paused_ = false;  // loop thread only: out of descriptors, accepting resumes later
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  std::unique_ptr<WorkerPool> pool_;

  // Loop thread only.
  std::vector<std::unique_ptr<Connection>> connections_;
  std::unique_ptr<char[]> scratch_;

  absl::Mutex ready_mu_;
  // Streams that signalled since the loop last looked (each at most once: DetachedStream).
  std::vector<std::shared_ptr<DetachedStream>> ready_ ABSL_GUARDED_BY(ready_mu_);

  absl::Mutex closed_mu_;
  std::vector<Connection*> closed_ ABSL_GUARDED_BY(closed_mu_);  // closed by workers, to free

  absl::Mutex lifecycle_mu_;
  bool started_ ABSL_GUARDED_BY(lifecycle_mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(lifecycle_mu_) = false;
};

}  // namespace cosmo::http

#endif  // COSMO_LIB_HTTP_FRONT_END_H_
