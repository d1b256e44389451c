#include "engine/v8/recycling_page_allocator.h"

#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

namespace cosmo::v8engine {

RecyclingPageAllocator::RecyclingPageAllocator(v8::PageAllocator* system, Options options)
    : system_(system), options_(std::move(options)) {}

RecyclingPageAllocator::~RecyclingPageAllocator() { Trim(absl::InfiniteFuture()); }

void* RecyclingPageAllocator::AllocatePages(void* hint, size_t length, size_t alignment,
                                            Permission permissions) {
  const bool chunk = length == kChunkSize && alignment != 0 && kChunkSize % alignment == 0 &&
                     (permissions == kNoAccess || permissions == kReadWrite);
  if (chunk) {
    absl::MutexLock lock(&mu_);
    if (!pool_.empty()) {
      // The most recently freed: its lines are the likeliest still in a cache.
      void* address = pool_.back().address;
      pool_.pop_back();
      stats_.pooled_bytes -= kChunkSize;
      ++stats_.recycled;
      // Read-write already: V8 asks for an inaccessible reservation only to make it read-write
      // before its first use (MemoryAllocator::AllocateAlignedMemory), and SetPermissions() then
      // finds nothing to change.
      chunks_[reinterpret_cast<uintptr_t>(address)] = kReadWrite;
      return address;
    }
  }
  void* address = system_->AllocatePages(hint, length, alignment, permissions);
  if (chunk && address != nullptr && IsChunk(address, length)) {
    absl::MutexLock lock(&mu_);
    chunks_[reinterpret_cast<uintptr_t>(address)] = permissions;
  }
  return address;
}

bool RecyclingPageAllocator::FreePages(void* address, size_t length) {
  if (IsChunk(address, length)) {  // else not a heap page: never pooled
    bool keep = false;
    Permission protection = kNoAccess;
    {
      absl::MutexLock lock(&mu_);
      if (const Permission* tracked = TrackedChunk(address, length)) {
        protection = *tracked;
        keep = (protection == kReadWrite || protection == kNoAccess) &&
               stats_.pooled_bytes + kChunkSize <= options_.max_pooled_bytes;
        chunks_.erase(reinterpret_cast<uintptr_t>(address));
        // Counted now, so that frees racing this one do not overfill the pool while it is zeroed.
        if (keep) stats_.pooled_bytes += kChunkSize;
      }
    }
    // A chunk V8 decommitted (or never committed) is made writable first: widening a protection
    // costs the kernel no TLB shootdown, unlike the munmap it saves.
    if (keep && protection == kNoAccess &&
        !system_->SetPermissions(address, kChunkSize, kReadWrite)) {
      absl::MutexLock lock(&mu_);
      stats_.pooled_bytes -= kChunkSize;
      keep = false;
    }
    if (keep) {
      ZeroLikeAFreshMapping(address);  // outside the lock
      absl::MutexLock lock(&mu_);
      pool_.push_back({address, absl::Now()});
      ++stats_.pooled;
      ScheduleTrimLocked();
      return true;
    }
  } else {
    absl::MutexLock lock(&mu_);
    ForgetChunksTouchedInPart(address, length);
  }
  return system_->FreePages(address, length);
}

bool RecyclingPageAllocator::ReleasePages(void* address, size_t length, size_t new_length) {
  {
    absl::MutexLock lock(&mu_);
    ForgetChunksTouchedInPart(address, length);  // no longer one chunk
  }
  return system_->ReleasePages(address, length, new_length);
}

bool RecyclingPageAllocator::SetPermissions(void* address, size_t length, Permission permissions) {
  {
    absl::MutexLock lock(&mu_);
    if (IsChunk(address, length)) {
      if (Permission* tracked = TrackedChunk(address, length)) {
        // Nothing to change: a recycled chunk made read-write again.
        if (*tracked == permissions) return true;
        // A heap page V8 uncommits (a semi-space page going back to its isolate's own pool,
        // MemoryAllocator::UncommitMemory) stays readable and writable: narrowing the protection
        // is an mprotect and a TLB shootdown to every core, V8 makes the page read-write again
        // before it uses it, and the contents are the same either way (mprotect keeps them). Only
        // a stray access to the uncommitted page no longer faults; docs/security.md.
        if (*tracked == kReadWrite && permissions == kNoAccess) return true;
        // Recorded before the call: were it to fail, V8 treats the chunk as unusable anyway.
        *tracked = permissions;
      }
    } else {
      ForgetChunksTouchedInPart(address, length);
    }
  }
  return system_->SetPermissions(address, length, permissions);
}

bool RecyclingPageAllocator::DiscardSystemPages(void* address, size_t size) {
  // The contents may become zero or stay; the protection is unchanged, so the chunk stays ours.
  return system_->DiscardSystemPages(address, size);
}

bool RecyclingPageAllocator::DecommitPages(void* address, size_t size) {
  {
    absl::MutexLock lock(&mu_);
    if (IsChunk(address, size)) {
      if (Permission* tracked = TrackedChunk(address, size)) *tracked = kNoAccess;
    } else {
      ForgetChunksTouchedInPart(address, size);
    }
  }
  return system_->DecommitPages(address, size);
}

void RecyclingPageAllocator::ZeroLikeAFreshMapping(void* chunk) {
  // Only the resident pages are written: memset over pages V8 never touched (most of a young
  // page, the tail of an old-space one) would fault them in one by one, the cost this allocator
  // exists to save, and make them resident for nothing. The others are handed to the kernel
  // (MADV_DONTNEED), which makes them read as zero; for a page that was never touched there is
  // nothing to drop and no TLB to flush, and a page swapped out loses its contents too.
  const size_t page = CommitPageSize();
  auto* base = static_cast<unsigned char*>(chunk);
  std::array<unsigned char, kChunkSize / 4096> resident;
  if (page != 4096 || mincore(chunk, kChunkSize, resident.data()) != 0) {
    std::memset(chunk, 0, kChunkSize);
    return;
  }
  size_t run_start = 0;
  bool in_run = false;  // a run of pages that are not resident
  for (size_t i = 0; i <= resident.size(); ++i) {
    const bool absent = i < resident.size() && (resident[i] & 1) == 0;
    if (absent && !in_run) {
      run_start = i;
      in_run = true;
    } else if (!absent && in_run) {
      madvise(base + run_start * page, (i - run_start) * page, MADV_DONTNEED);
      in_run = false;
    }
    if (i < resident.size() && !absent) std::memset(base + i * page, 0, page);
  }
}

size_t RecyclingPageAllocator::Trim(absl::Time now) {
  std::vector<Pooled> expired;
  size_t remaining;
  {
    absl::MutexLock lock(&mu_);
    trim_scheduled_ = false;
    const absl::Time cutoff = now - options_.linger;  // infinite for InfiniteFuture()
    // pool_ is in the order chunks entered it, oldest first.
    auto first_kept = std::find_if(pool_.begin(), pool_.end(),
                                   [&](const Pooled& p) { return p.since >= cutoff; });
    expired.assign(pool_.begin(), first_kept);
    pool_.erase(pool_.begin(), first_kept);
    stats_.pooled_bytes -= expired.size() * kChunkSize;
    stats_.trimmed += expired.size();
    remaining = pool_.size();
    if (remaining > 0) ScheduleTrimLocked();
  }
  for (const Pooled& p : expired) system_->FreePages(p.address, kChunkSize);
  return remaining;
}

RecyclingPageAllocator::Stats RecyclingPageAllocator::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

RecyclingPageAllocator::Permission* RecyclingPageAllocator::TrackedChunk(const void* address,
                                                                         size_t length) {
  if (!IsChunk(address, length)) return nullptr;
  auto it = chunks_.find(reinterpret_cast<uintptr_t>(address));
  return it == chunks_.end() ? nullptr : &it->second;
}

void RecyclingPageAllocator::ForgetChunksTouchedInPart(const void* address, size_t length) {
  if (chunks_.empty() || length == 0) return;
  const uintptr_t begin = reinterpret_cast<uintptr_t>(address);
  chunks_.erase(begin - begin % kChunkSize);
  const uintptr_t last = begin + length - 1;
  chunks_.erase(last - last % kChunkSize);
}

void RecyclingPageAllocator::ScheduleTrimLocked() {
  if (trim_scheduled_ || !options_.schedule_trim) return;
  trim_scheduled_ = true;
  options_.schedule_trim(options_.linger);
}

}  // namespace cosmo::v8engine
