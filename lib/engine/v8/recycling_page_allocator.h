// The page allocator V8's heaps get their memory from: it keeps the heap pages of torn-down
// isolates for the next isolates instead of giving them back to the kernel.
//
// Why: under a memory budget smaller than the families in use, every activation builds an isolate
// and every unload tears one down. V8 maps each heap page (a 256 KiB chunk) with mmap, changes its
// protection with mprotect, faults its 4 KiB pages in one by one as it deserialises the snapshot
// into them, and unmaps it at teardown; on these machines (a virtual machine with 2 cores) the
// page faults and the TLB shootdowns of munmap and mprotect were a third of the server's CPU under
// the density benchmark's Zipf mix (docs/performance.md, "Recycling V8's heap pages"). A recycled
// chunk is already mapped, writable and resident: handing it out again costs no system call and no
// page fault.
//
// What it recycles: exactly the allocations of one V8 heap page (kChunkSize bytes, kChunkSize
// aligned, asked for inaccessible or read-write; V8 makes them read-write at once), freed whole
// while read-write or inaccessible. Anything else (large objects, the code range and every
// executable page, pages V8 shrank or whose protection it changed in part) goes to the system
// allocator unchanged. A whole heap page V8 makes inaccessible (a semi-space page it keeps in its
// own pool) stays read-write instead: narrowing a protection is a TLB shootdown, and V8 makes the
// page read-write again before it touches it (docs/security.md).
//
// Contents: a chunk is zeroed when it enters the pool, on the thread that frees it (a reaper or
// V8's unmapper, not a request): its resident pages are cleared, the rest dropped, so an isolate
// finds what mmap would give it, zero-filled memory, and never another isolate's data.
//
// Bounded: at most max_pooled_bytes wait in the pool, and a chunk unused for `linger` is unmapped
// by Trim(), which the platform runs on a V8 worker thread while anything is pooled — an idle
// server keeps no pooled memory beyond that. The runtime's idle release trims everything at once
// (Engine::ReleaseIdleMemory), so a host that has just unloaded its families holds none.
//
// Thread-safe: V8 calls it from every thread that builds, collects or tears down an isolate.
// Owned by the process's platform (V8Platform), which never goes away.
#ifndef COSMO_LIB_ENGINE_V8_RECYCLING_PAGE_ALLOCATOR_H_
#define COSMO_LIB_ENGINE_V8_RECYCLING_PAGE_ALLOCATOR_H_

#include <v8-platform.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace cosmo::v8engine {

class RecyclingPageAllocator final : public v8::PageAllocator {
 public:
  // V8 10.2's heap page (MemoryChunk): 1 << kPageSizeBits, kPageSizeBits = 18.
  static constexpr size_t kChunkSize = size_t{256} << 10;

  struct Options {
    size_t max_pooled_bytes = size_t{32} << 20;
    absl::Duration linger = absl::Seconds(1);
    // Asked to run Trim() after `delay`, once while anything is pooled (the platform posts a
    // delayed worker task). May be empty: then only explicit Trim() calls unmap pooled chunks.
    std::function<void(absl::Duration delay)> schedule_trim;
  };

  struct Stats {
    uint64_t recycled = 0;    // allocations served from the pool
    uint64_t pooled = 0;      // frees kept in the pool
    uint64_t trimmed = 0;     // pooled chunks unmapped after lingering (or by Trim())
    size_t pooled_bytes = 0;  // in the pool now
  };

  // `system` does the real mapping (V8's default page allocator); not owned, must outlive this.
  RecyclingPageAllocator(v8::PageAllocator* system, Options options);
  ~RecyclingPageAllocator() override;
  RecyclingPageAllocator(const RecyclingPageAllocator&) = delete;
  RecyclingPageAllocator& operator=(const RecyclingPageAllocator&) = delete;

  // Unmaps the pooled chunks that entered the pool before now - linger (all of them with
  // absl::InfiniteFuture()), and asks for the next Trim() while some remain. Returns how many
  // remain.
  size_t Trim(absl::Time now);

  Stats stats() const;

  // v8::PageAllocator.
  size_t AllocatePageSize() override { return system_->AllocatePageSize(); }
  size_t CommitPageSize() override { return system_->CommitPageSize(); }
  void SetRandomMmapSeed(int64_t seed) override { system_->SetRandomMmapSeed(seed); }
  void* GetRandomMmapAddr() override { return system_->GetRandomMmapAddr(); }
  void* AllocatePages(void* hint, size_t length, size_t alignment, Permission permissions) override;
  bool FreePages(void* address, size_t length) override;
  bool ReleasePages(void* address, size_t length, size_t new_length) override;
  bool SetPermissions(void* address, size_t length, Permission permissions) override;
  bool DiscardSystemPages(void* address, size_t size) override;
  bool DecommitPages(void* address, size_t size) override;
  bool ReserveForSharedMemoryMapping(void* address, size_t size) override {
    return system_->ReserveForSharedMemoryMapping(address, size);
  }
  std::unique_ptr<SharedMemory> AllocateSharedPages(size_t length,
                                                    const void* original_address) override {
    return system_->AllocateSharedPages(length, original_address);
  }
  bool CanAllocateSharedPages() override { return system_->CanAllocateSharedPages(); }

 private:
  struct Pooled {
    void* address;
    absl::Time since;
  };

  static bool IsChunk(const void* address, size_t length) {
    return length == kChunkSize && reinterpret_cast<uintptr_t>(address) % kChunkSize == 0;
  }
  // The recorded protection of the chunk handed out at exactly [address, address + length), or
  // null when that range is not one whole tracked chunk. Valid until chunks_ next changes.
  Permission* TrackedChunk(const void* address, size_t length) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Forgets the chunk holding [address, address + length) when the range is only part of it or
  // spans more: its protection or size is no longer one we know.
  void ForgetChunksTouchedInPart(const void* address, size_t length)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ScheduleTrimLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Makes a read-write chunk read as zero, as a fresh mapping does.
  void ZeroLikeAFreshMapping(void* chunk);

  v8::PageAllocator* const system_;
  const Options options_;

  mutable absl::Mutex mu_;
  // Chunks handed out that may come back to the pool, with the protection they have as a whole.
  absl::flat_hash_map<uintptr_t, Permission> chunks_ ABSL_GUARDED_BY(mu_);
  std::vector<Pooled> pool_ ABSL_GUARDED_BY(mu_);  // zeroed, read-write; newest last
  bool trim_scheduled_ ABSL_GUARDED_BY(mu_) = false;
  Stats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cosmo::v8engine

#endif  // COSMO_LIB_ENGINE_V8_RECYCLING_PAGE_ALLOCATOR_H_
