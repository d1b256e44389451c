// The calling thread's stack as JavaScript uses it: the limit V8 is given on that thread, and the
// pages a deep run of JavaScript leaves resident there.
//
// A stack page stays resident once touched; the kernel never takes it back while the thread
// lives. A script that recurses until V8's limit touches up to kMaxJsStack (2 MiB) of the thread
// that ran it, and the host's HTTP workers are long-lived (64 of them), so such scripts would
// leave up to 128 MiB resident that nothing uses, growing one worker at a time as they reach new
// workers. A ThreadStack::Scope around each run of JavaScript gives those pages back, and costs a
// run that stays shallow no system call:
//
//   * the constructor writes probe words into one page kShallowBytes below the caller's frame;
//   * JavaScript that goes deeper than that writes its frames over them;
//   * the destructor, seeing a probe changed, madvise(MADV_DONTNEED)s the stack below the probe
//     page down to the end of JavaScript's share (JsLimit() minus the reserve V8's C++ uses past
//     it). Those addresses are below every live frame; the next deep run faults them in again as
//     zero pages.
//
// A frame can leave a probe word unwritten (an uninitialised spill slot), so the probes are
// several words spread over the page: a deep run that misses all of them only delays the release
// to the next deep run that does not.
//
// Single-thread: everything applies to the calling thread. A Scope is constructed and destroyed
// on the thread that runs the JavaScript, in one function (not moved, not heap-allocated).
#ifndef COSMO_ENGINE_V8_THREAD_STACK_H_
#define COSMO_ENGINE_V8_THREAD_STACK_H_

#include <cstddef>
#include <cstdint>

namespace cosmo::v8engine {

class ThreadStack {
 public:
  // JavaScript may use at most this much of a thread's stack below the frame that first asked
  // for JsLimit() on it, and never the last kStackReserve bytes, which V8's own C++ (and ours)
  // needs after the JavaScript limit is reached.
  static constexpr uintptr_t kMaxJsStack = uintptr_t{2} << 20;
  static constexpr uintptr_t kStackReserve = uintptr_t{256} << 10;
  // Stack a run may use without its pages being given back afterwards, and so at most what stays
  // resident per thread between runs: 64 workers hold at most 4.25 MiB. Ordinary requests use
  // 8 to 16 KiB (a handler parsing its URL, building JSON, awaiting; a Liquid page with loops and
  // a partial: thread_stack_test and liquid_engine_test pin it), so they never pay for a release;
  // a deeper run pays an madvise and faults its pages in again the next time.
  static constexpr uintptr_t kShallowBytes = uintptr_t{64} << 10;

  // The stack limit to give V8 (v8::Isolate::SetStackLimit) on the calling thread.
  static uintptr_t JsLimit();

  // Gives back the stack pages a deep run of JavaScript inside it touched (see above).
  class Scope {
   public:
    Scope();
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    // The probed page; 0 when the thread's stack has no room for one below the caller.
    uintptr_t probe_page_ = 0;
  };

  // How many Scopes gave pages back, process-wide since start. Thread-safe.
  static uint64_t releases();
};

}  // namespace cosmo::v8engine

#endif  // COSMO_ENGINE_V8_THREAD_STACK_H_
