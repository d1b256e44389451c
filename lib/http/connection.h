// One client connection of the HTTP front end, and who may touch it when.
//
// A connection is owned by exactly one thread at a time: the event loop (accepting, reading a
// request head, writing what a worker could not, waiting while idle) or one worker (running the
// requests it was handed). Ownership moves under `mu`; the fields after the pending flags are
// read and written only by the owner. The loop learns of socket readiness through edge-triggered
// epoll; events that arrive while a worker owns the connection are remembered in `pending_*` so the
// worker acts on them before it hands the connection back (no wake-up is lost).
//
// A connection streaming a detached response (Phase::kStreaming) is the loop's; the thread
// producing the body never touches it, only its DetachedStream.
//
// ConnectionState is the part of a connection the request handlers see (CurrentConnection()).
#ifndef COSMO_LIB_HTTP_CONNECTION_H_
#define COSMO_LIB_HTTP_CONNECTION_H_

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "http/detached_stream.h"
#include "http/request_framer.h"

namespace cosmo::http {

class ConnectionStream;

// What the request handlers know of the connection whose request they are serving.
struct ConnectionState {
  bool shed = false;           // answer 503 and close: the pool was full when it arrived
  bool poisoned = false;       // a framing error was answered: refuse whatever follows and close
  bool host_response = false;  // the response being written was produced by our handlers
  // The running request's stream, for a handler that writes a response itself (a streamed
  // body); after it did, `response_sent` makes the stream drop what the library writes.
  ConnectionStream* stream = nullptr;
  bool response_sent = false;
  // The running request's body is buffered whole (else it is still arriving on the socket).
  bool body_buffered = false;
  // Where a detached response stream signals (the front end), and the stream when the
  // invocation returned while its body goes on (the front end then hands the connection to the
  // loop in the streaming phase instead of finishing the request).
  StreamLoop* stream_loop = nullptr;
  std::shared_ptr<DetachedStream> detached;
};

// The state of the connection the calling worker thread is serving. Only valid inside a request
// handler (the front end binds it around each request it runs).
ConnectionState& CurrentConnection();

using SteadyTime = std::chrono::steady_clock::time_point;

struct Connection {
  enum class Owner : uint8_t { kLoop, kWorker, kClosed };
  // What the loop is waiting for while it owns the connection.
  enum class Phase : uint8_t {
    kIdle,     // between requests (keep-alive): nothing buffered; the idle timeout runs
    kHead,     // part of a request is buffered; the head deadline runs
    kBody,     // the head is complete and a small body is still arriving; the head deadline runs
    kWriting,  // a response is being written; the write timeout runs
    // A detached response stream is being written as its producer offers it; nothing more is
    // read as a request until it completes. The write timeout runs while output waits.
    kStreaming,
    kWorker,  // handed to a worker
  };

  int fd = -1;
  std::string peer_ip;
  int peer_port = 0;
  std::string local_ip;
  int local_port = 0;

  absl::Mutex mu;
  // Changed only under `mu`; the loop may read it without `mu` (acquire), since only the loop
  // moves a connection away from itself: reading kLoop means it stays the loop's. A worker
  // handing it back stores kLoop before it unlocks `mu`, so the loop takes `mu` before it frees
  // a connection.
  std::atomic<Owner> owner{Owner::kLoop};
  bool pending_read ABSL_GUARDED_BY(mu) = false;   // readable (or closed) while a worker owned it
  bool pending_write ABSL_GUARDED_BY(mu) = false;  // writable while a worker owned it

  // Owner-only from here on.
  Phase phase = Phase::kIdle;
  std::string in;   // received bytes not yet consumed by a request
  std::string out;  // response bytes not yet written
  size_t out_offset = 0;
  bool close_after_write = false;
  bool peer_closed = false;    // the peer shut its side (a read returned 0)
  bool read_deferred = false;  // readable while the loop was writing: read once the write is done
  // The detached response stream being written (phase kStreaming), and whether the connection
  // closes once it completes (the request asked to, or the keep-alive limit was reached).
  std::shared_ptr<DetachedStream> detached;
  bool close_after_stream = false;
  // How the request at the start of `in` is framed, as its owner last scanned it: the loop
  // before a hand-over, the worker before it serves a pipelined request (one scan per request).
  Framing framing;
  SteadyTime deadline{};  // of the current phase
  size_t requests = 0;    // served on this connection
  size_t index = 0;       // in the loop's list of connections
  ConnectionState state;
};

}  // namespace cosmo::http

#endif  // COSMO_LIB_HTTP_CONNECTION_H_
