// Names the calling thread as `top -H`, `ps -L`, perf and gdb show it. Every long-lived thread
// of the library names itself when it starts (the names are listed in docs/architecture.md,
// "Threads"), so an operator can tell the event loop from a worker or the stream driver.
#ifndef COSMO_LIB_COMMON_THREAD_NAME_H_
#define COSMO_LIB_COMMON_THREAD_NAME_H_

#include <pthread.h>

namespace cosmo {

// `name` is at most 15 characters (Linux's limit); a longer one leaves the name as it was.
inline void NameThisThread(const char* name) { (void)pthread_setname_np(pthread_self(), name); }

}  // namespace cosmo

#endif  // COSMO_LIB_COMMON_THREAD_NAME_H_
