#ifndef COSMO_BENCHMARKS_LOADGEN_LOAD_WORKER_H_
#define COSMO_BENCHMARKS_LOADGEN_LOAD_WORKER_H_

#include <sys/socket.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <vector>

#include "loadgen/latency_histogram.h"
#include "loadgen/request_mix.h"
#include "loadgen/response_parser.h"

namespace cosmo::loadgen {

// What every worker of one run shares. The main thread sets `stop`; workers read it.
struct RunControl {
  sockaddr_storage address{};
  socklen_t address_len = 0;
  // Responses completing before this steady-clock time (ns) are not recorded (the warm-up).
  int64_t record_from_ns = 0;
  // Requests still to be sent when the run is bounded by a count; unused otherwise.
  bool counted = false;
  std::atomic<long long> budget{0};
  std::atomic<bool> stop{false};
  int64_t request_timeout_ns = 5'000'000'000;
  // Without keep-alive every request gets a fresh connection.
  bool keep_alive = true;
};

// Counts of one worker (or, merged, of the run).
struct LoadResult {
  enum Error { kConnect, kRead, kWrite, kTimeout, kParse, kErrorKinds };

  LatencyHistogram latency;
  std::array<uint64_t, 600> status{};  // responses by status code
  std::array<uint64_t, kErrorKinds> errors{};
  uint64_t bytes_read = 0;

  void Merge(const LoadResult& other);
  uint64_t responses() const;
  // Responses with status >= 400 plus transport errors.
  uint64_t error_count() const;
};

// Drives a share of the run's connections from one thread with epoll and non-blocking
// sockets: each connection sends a request, reads its whole response, records the latency
// (from the first byte written to the last byte read) and sends the next; no pipelining.
// A connection the server closes, or that fails, is replaced after counting the error.
//
// Thread-compatible: Run() on one thread; `completed()` may be read from any thread.
class LoadWorker {
 public:
  LoadWorker(const RequestMix& mix, RunControl& control, int connections, uint64_t seed);
  ~LoadWorker();
  LoadWorker(const LoadWorker&) = delete;
  LoadWorker& operator=(const LoadWorker&) = delete;

  // Returns when `control.stop` is set, or when a counted run has no requests left and every
  // connection of this worker is idle.
  void Run();

  const LoadResult& result() const { return result_; }
  // Responses recorded so far, for progress.
  uint64_t completed() const { return completed_.load(std::memory_order_relaxed); }
  uint64_t failed() const { return failed_.load(std::memory_order_relaxed); }

 private:
  enum class ConnState { kIdle, kWaitRetry, kConnecting, kWriting, kReading, kDone };
  struct Connection {
    int fd = -1;
    ConnState state = ConnState::kIdle;
    const RequestMix::Request* request = nullptr;
    size_t written = 0;
    int64_t started_ns = 0;
    int64_t retry_at_ns = 0;
    int64_t backoff_ns = 0;
    bool want_write = false;
    // Bumped whenever the socket changes, so a stale epoll event of an old socket is ignored.
    uint32_t generation = 0;
    ResponseParser parser;
  };

  void Connect(Connection& c, int64_t now);
  void OnConnected(Connection& c, int64_t now);
  void StartRequest(Connection& c, int64_t now);
  void WriteSome(Connection& c, int64_t now);
  void ReadSome(Connection& c, int64_t now);
  void Finish(Connection& c, int64_t now);
  void Fail(Connection& c, LoadResult::Error kind, int64_t now);
  void CloseFd(Connection& c);
  void SetWantWrite(Connection& c, bool on);
  void CheckTimers(int64_t now);
  bool TakeBudget();

  const RequestMix& mix_;
  RunControl& control_;
  RequestMix::Random random_;
  int epoll_fd_ = -1;
  std::vector<Connection> connections_;
  std::vector<char> buffer_;
  LoadResult result_;
  alignas(64) std::atomic<uint64_t> completed_{0};
  std::atomic<uint64_t> failed_{0};
};

}  // namespace cosmo::loadgen

#endif  // COSMO_BENCHMARKS_LOADGEN_LOAD_WORKER_H_
