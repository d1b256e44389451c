// How a CosmoCompute server process uses memory outside the runtime: glibc's malloc arenas, and
// the pages its start leaves resident. Not for libraries: both change process-wide state, which
// belongs to the program's main().
#ifndef COSMO_HOSTS_COMMON_PROCESS_MEMORY_H_
#define COSMO_HOSTS_COMMON_PROCESS_MEMORY_H_

#include <cstddef>

namespace cosmo::host {

// The malloc arenas a server uses unless the environment says otherwise. glibc otherwise creates
// up to 8 per core as threads first allocate (64 HTTP workers, gRPC, V8's and the runtime's
// threads), and memory freed in one arena stays with it.
inline constexpr int kMallocArenas = 2;

// Caps glibc's malloc arenas at kMallocArenas, unless MALLOC_ARENA_MAX or a GLIBC_TUNABLES
// glibc.malloc.arena_max is set (then that applies). Call first in main(), before any thread
// starts. Returns the cap it set, or 0 when the environment's applies.
int LimitMallocArenas();

// Gives back what starting the server left resident and does not need: free malloc memory
// (malloc_trim), and the resident pages of shared libraries' code and read-only data, which
// startup touched far beyond what serving uses (two startup snapshots built in-process, gRPC,
// TLS and ICU initialisation). Those pages stay in the page cache, so whatever the server runs
// later faults its own back in cheaply (a minor fault, no disk read). Only mappings that cannot
// hold private data are dropped: read-only or executable, private, of a regular file, with no
// page copied on write. Call once the server is listening. Returns the bytes of file pages it
// dropped.
size_t ReleaseStartupMemory();

}  // namespace cosmo::host

#endif  // COSMO_HOSTS_COMMON_PROCESS_MEMORY_H_
