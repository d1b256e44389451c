// The hand-off between a function's detached response stream and the front end's event loop.
//
// A streamed response whose producer runs without a worker thread (ResponseBodyWriter::
// Detachable(), cosmo/invocation.h) writes its framed bytes here from whatever thread produces
// them; the event loop moves them to the connection's output and the socket as the client takes
// them. The buffer is bounded: while `high_water` bytes or more wait (here and in the
// connection's unsent output), Offer() takes nothing (kFull) and the producer waits for
// WhenWritable(), which fires once what waits has drained to `low_water` or the receiver is gone.
// One piece may exceed the bound by its own size (a piece is never split), so the output of a
// connection holds at most `high_water` plus one piece.
//
// Lifetime and threads: shared (std::shared_ptr) by the response writer, the connection it
// serves and the loop's ready list. The producer side (Offer, Finish, WhenWritable, Gone,
// Complete) may be called from any thread, one call at a time. The loop side (Drain, Release,
// Abandon) is called by the thread that owns the connection (the loop). Signals to the loop go
// through the StreamLoop it was given, which is forgotten once the stream is released or
// abandoned, so a producer that outlives the connection or the front end writes into nothing.
#ifndef COSMO_LIB_HTTP_DETACHED_STREAM_H_
#define COSMO_LIB_HTTP_DETACHED_STREAM_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace cosmo::http {

struct Connection;
class DetachedStream;

// Whom a detached stream tells that it has something for the loop (bytes, or its end).
// Implemented by the front end; called from any thread, never while holding the loop's locks.
class StreamLoop {
 public:
  virtual ~StreamLoop() = default;
  virtual void StreamReady(std::shared_ptr<DetachedStream> stream) = 0;
  // A stream for a response of one of the loop's connections (with the loop's buffer bounds).
  virtual std::shared_ptr<DetachedStream> NewStream() = 0;
};

class DetachedStream : public std::enable_shared_from_this<DetachedStream> {
 public:
  enum class Offered { kTaken, kFull, kGone };
  // What the loop learns when it drains the stream.
  struct Drained {
    bool completed = false;  // Complete() was called (so every byte is in `out` now)
    bool finished = false;   // the body ended cleanly (Finish() before Complete(true))
  };

  DetachedStream(StreamLoop* loop, size_t high_water, size_t low_water)
      : high_water_(high_water), low_water_(low_water), loop_(loop) {}

  // ---- producer side (any thread) ----
  // Appends `bytes` (already framed) when fewer than high_water bytes wait; kFull otherwise,
  // kGone once the receiver is gone. `force` takes them whatever waits (the head, the last chunk).
  Offered Offer(absl::string_view bytes, bool force = false);
  // Calls `wake` once (on this thread when already due, else on the loop's) when Offer() may take
  // bytes again or the receiver is gone. A later call replaces an earlier wake not yet called.
  void WhenWritable(std::function<void()> wake);
  bool Gone() const;
  // Appends the last chunk and marks the body finished (when the receiver is still there).
  void Finish(absl::string_view last_chunk);
  bool finished() const;
  // The producer is done: the body finished cleanly when `body_complete` (else it was cut off and
  // the connection closes after what was taken). The loop is told.
  void Complete(bool body_complete);

  // ---- the worker, before the hand-off ----
  // Takes what waits (the worker writes it itself when the invocation did not detach).
  std::string TakeAll();
  // The connection this stream is written to, set before the loop owns it; Kick() once it does
  // (signals before that reach a loop that cannot act on them yet).
  void AttachTo(Connection* c);
  void Kick();
  // Whether AttachTo() happened: from then on the loop watches the connection (Gone() says).
  bool Attached() const;

  // ---- loop side ----
  // The stream's connection (null once released or abandoned); the stream may signal again.
  Connection* TakeSignal();
  // Appends what waits to `out`, the connection's unsent output.
  Drained Drain(std::string* out);
  // The connection's unsent output after a write: wakes the producer when it drained enough.
  void Sent(size_t unsent);
  // The stream ended and the connection moves on (keep-alive): no more signals.
  void Release();
  // The connection is closing: the receiver is gone; the producer is woken and told kGone.
  void Abandon();

 private:
  void Signal() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const size_t high_water_;
  const size_t low_water_;
  mutable absl::Mutex mu_;
  StreamLoop* loop_ ABSL_GUARDED_BY(mu_);
  Connection* connection_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::string pending_ ABSL_GUARDED_BY(mu_);
  size_t unsent_ ABSL_GUARDED_BY(mu_) = 0;  // in the connection's output, not yet on the wire
  std::function<void()> wake_ ABSL_GUARDED_BY(mu_);
  bool gone_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool completed_ ABSL_GUARDED_BY(mu_) = false;
  bool body_complete_ ABSL_GUARDED_BY(mu_) = false;
  bool attached_ ABSL_GUARDED_BY(mu_) = false;
  bool signalled_ ABSL_GUARDED_BY(mu_) = false;  // on the loop's ready list, not yet drained
};

}  // namespace cosmo::http

#endif  // COSMO_LIB_HTTP_DETACHED_STREAM_H_
