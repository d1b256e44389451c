// ThreadSanitizer builds only: teaches TSan about absl::Mutex and absl::Notification.
//
// Debian's Abseil is a prebuilt shared library without TSan instrumentation, so TSan cannot see
// the happens-before edges its locks create and reports every access guarded by an absl::Mutex
// as a race. With COSMO_SANITIZE=thread, the build links our code with `-Wl,--wrap=<symbol>` for
// the lock entry points below (cmake/CosmoCompilerOptions.cmake); each wrapper calls the real
// function and tells TSan "acquire" after taking a lock or being notified, "release" before
// dropping a lock or notifying. Await* drops and retakes the lock inside, so it releases before
// and acquires after. Reader locks use the same edges (conservative: readers never race each
// other on writes they do not make).
//
// The wrappers also report a read of the mutex's word to TSan, ordered before the release of an
// unlock and after the acquire of a lock: Abseil's own accesses to it are invisible, so without
// these TSan could not see a mutex freed by one thread while another was still unlocking it (the
// HTTP loop once freed a connection whose worker was handing it back). Reads never race with
// each other, only with the free (or a write) of the mutex's memory.
//
// Inside Await* and Unlock, Abseil evaluates waiters' Conditions — our predicates, reading state
// under the lock — at moments the wrappers cannot annotate. Those reads are ignored
// (__tsan_ignore_thread_begin/end): they are predicate reads under the lock, and every write to
// the state they read is still checked.
#include <sanitizer/tsan_interface.h>

#include <atomic>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

// Mangled names of the wrapped members (Abseil 20220623, inline namespace debian3).
#define COSMO_MUTEX(name) _ZN4absl7debian35Mutex##name
#define COSMO_NOTIFICATION(name) _ZN4absl7debian312Notification##name
#define COSMO_NOTIFICATION_CONST(name) _ZNK4absl7debian312Notification##name

#define COSMO_WRAP_(sym) __wrap_##sym
#define COSMO_WRAP(sym) COSMO_WRAP_(sym)
#define COSMO_REAL_(sym) __real_##sym
#define COSMO_REAL(sym) COSMO_REAL_(sym)

using absl::Condition;
using absl::Duration;
using absl::Mutex;
using absl::Notification;
using absl::Time;

extern "C" {

// Exported by libtsan; not declared in GCC 12's sanitizer/tsan_interface.h.
void __tsan_ignore_thread_begin();
void __tsan_ignore_thread_end();

// The instrumentation's entry point for an 8-byte read: exported by libtsan, not declared in GCC
// 12's sanitizer/tsan_interface.h.
void __tsan_read8(void* addr);

// A read of the mutex's word (its first 8 bytes), as Abseil's code does it.
static void TouchWord(Mutex* mu) { __tsan_read8(mu); }

// Declarations of the real functions (resolved by the linker's --wrap).
void COSMO_REAL(COSMO_MUTEX(4LockEv))(Mutex*);
void COSMO_REAL(COSMO_MUTEX(6UnlockEv))(Mutex*);
void COSMO_REAL(COSMO_MUTEX(10ReaderLockEv))(Mutex*);
void COSMO_REAL(COSMO_MUTEX(12ReaderUnlockEv))(Mutex*);
bool COSMO_REAL(COSMO_MUTEX(7TryLockEv))(Mutex*);
bool COSMO_REAL(COSMO_MUTEX(13ReaderTryLockEv))(Mutex*);
void COSMO_REAL(COSMO_MUTEX(5AwaitERKNS0_9ConditionE))(Mutex*, const Condition&);
bool COSMO_REAL(COSMO_MUTEX(16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE))(Mutex*,
                                                                                 const Condition&,
                                                                                 Duration);
bool COSMO_REAL(COSMO_MUTEX(17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE))(Mutex*,
                                                                              const Condition&,
                                                                              Time);
void COSMO_REAL(COSMO_NOTIFICATION(6NotifyEv))(Notification*);
bool COSMO_REAL(COSMO_NOTIFICATION(23HasBeenNotifiedInternalEPKSt6atomicIbE))(
    const std::atomic<bool>*);
void COSMO_REAL(COSMO_NOTIFICATION_CONST(19WaitForNotificationEv))(const Notification*);
bool COSMO_REAL(COSMO_NOTIFICATION_CONST(30WaitForNotificationWithTimeoutENS0_8DurationE))(
    const Notification*, Duration);
bool COSMO_REAL(COSMO_NOTIFICATION_CONST(31WaitForNotificationWithDeadlineENS0_4TimeE))(
    const Notification*, Time);

void COSMO_WRAP(COSMO_MUTEX(4LockEv))(Mutex* mu) {
  COSMO_REAL(COSMO_MUTEX(4LockEv))(mu);
  __tsan_acquire(mu);
  TouchWord(mu);
}

void COSMO_WRAP(COSMO_MUTEX(6UnlockEv))(Mutex* mu) {
  TouchWord(mu);
  __tsan_release(mu);
  __tsan_ignore_thread_begin();
  COSMO_REAL(COSMO_MUTEX(6UnlockEv))(mu);
  __tsan_ignore_thread_end();
}

void COSMO_WRAP(COSMO_MUTEX(10ReaderLockEv))(Mutex* mu) {
  COSMO_REAL(COSMO_MUTEX(10ReaderLockEv))(mu);
  __tsan_acquire(mu);
  TouchWord(mu);
}

void COSMO_WRAP(COSMO_MUTEX(12ReaderUnlockEv))(Mutex* mu) {
  TouchWord(mu);
  __tsan_release(mu);
  __tsan_ignore_thread_begin();
  COSMO_REAL(COSMO_MUTEX(12ReaderUnlockEv))(mu);
  __tsan_ignore_thread_end();
}

bool COSMO_WRAP(COSMO_MUTEX(7TryLockEv))(Mutex* mu) {
  const bool locked = COSMO_REAL(COSMO_MUTEX(7TryLockEv))(mu);
  if (locked) {
    __tsan_acquire(mu);
    TouchWord(mu);
  }
  return locked;
}

bool COSMO_WRAP(COSMO_MUTEX(13ReaderTryLockEv))(Mutex* mu) {
  const bool locked = COSMO_REAL(COSMO_MUTEX(13ReaderTryLockEv))(mu);
  if (locked) {
    __tsan_acquire(mu);
    TouchWord(mu);
  }
  return locked;
}

void COSMO_WRAP(COSMO_MUTEX(5AwaitERKNS0_9ConditionE))(Mutex* mu, const Condition& cond) {
  __tsan_release(mu);
  __tsan_ignore_thread_begin();
  COSMO_REAL(COSMO_MUTEX(5AwaitERKNS0_9ConditionE))(mu, cond);
  __tsan_ignore_thread_end();
  __tsan_acquire(mu);
}

bool COSMO_WRAP(COSMO_MUTEX(16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE))(
    Mutex* mu, const Condition& cond, Duration timeout) {
  __tsan_release(mu);
  __tsan_ignore_thread_begin();
  const bool met = COSMO_REAL(COSMO_MUTEX(16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE))(
      mu, cond, timeout);
  __tsan_ignore_thread_end();
  __tsan_acquire(mu);
  return met;
}

bool COSMO_WRAP(COSMO_MUTEX(17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE))(Mutex* mu,
                                                                              const Condition& cond,
                                                                              Time deadline) {
  __tsan_release(mu);
  __tsan_ignore_thread_begin();
  const bool met =
      COSMO_REAL(COSMO_MUTEX(17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE))(mu, cond, deadline);
  __tsan_ignore_thread_end();
  __tsan_acquire(mu);
  return met;
}

void COSMO_WRAP(COSMO_NOTIFICATION(6NotifyEv))(Notification* n) {
  __tsan_release(n);
  COSMO_REAL(COSMO_NOTIFICATION(6NotifyEv))(n);
}

// HasBeenNotified() is inline and calls this with &notified_yet_, the Notification's first member,
// so its address is the Notification's.
bool COSMO_WRAP(COSMO_NOTIFICATION(23HasBeenNotifiedInternalEPKSt6atomicIbE))(
    const std::atomic<bool>* notified_yet) {
  const bool notified =
      COSMO_REAL(COSMO_NOTIFICATION(23HasBeenNotifiedInternalEPKSt6atomicIbE))(notified_yet);
  if (notified) __tsan_acquire(const_cast<std::atomic<bool>*>(notified_yet));
  return notified;
}

void COSMO_WRAP(COSMO_NOTIFICATION_CONST(19WaitForNotificationEv))(const Notification* n) {
  COSMO_REAL(COSMO_NOTIFICATION_CONST(19WaitForNotificationEv))(n);
  __tsan_acquire(const_cast<Notification*>(n));
}

bool COSMO_WRAP(COSMO_NOTIFICATION_CONST(30WaitForNotificationWithTimeoutENS0_8DurationE))(
    const Notification* n, Duration timeout) {
  const bool notified = COSMO_REAL(
      COSMO_NOTIFICATION_CONST(30WaitForNotificationWithTimeoutENS0_8DurationE))(n, timeout);
  if (notified) __tsan_acquire(const_cast<Notification*>(n));
  return notified;
}

bool COSMO_WRAP(COSMO_NOTIFICATION_CONST(31WaitForNotificationWithDeadlineENS0_4TimeE))(
    const Notification* n, Time deadline) {
  const bool notified = COSMO_REAL(
      COSMO_NOTIFICATION_CONST(31WaitForNotificationWithDeadlineENS0_4TimeE))(n, deadline);
  if (notified) __tsan_acquire(const_cast<Notification*>(n));
  return notified;
}

}  // extern "C"
