// An ArrayBuffer allocator that charges one isolate's memory budget.
//
// ArrayBuffer contents live outside the V8 heap, so the heap limit alone would let a script hold
// gigabytes in buffers. Every isolate gets its own LimitedAllocator with the isolate's memory
// budget; an allocation that would take heap-in-use plus buffers over the budget is refused
// (nullptr), which V8 turns into a catchable RangeError. Allocations of 64 bytes or less are never
// refused: V8 does not expect them to fail and would crash the process.
//
// Thread-safe (V8 may free buffers from its background GC threads).
#ifndef COSMO_ENGINE_V8_LIMITED_ALLOCATOR_H_
#define COSMO_ENGINE_V8_LIMITED_ALLOCATOR_H_

#include <v8.h>

#include <atomic>
#include <cstddef>

namespace cosmo::v8engine {

class LimitedAllocator final : public v8::ArrayBuffer::Allocator {
 public:
  explicit LimitedAllocator(size_t budget_bytes) : budget_bytes_(budget_bytes) {}

  void* Allocate(size_t length) override;
  void* AllocateUninitialized(size_t length) override;
  void Free(void* data, size_t length) override;

  // Whether `length` more bytes would currently be granted. Native code checks this before
  // creating buffers itself, because V8's C++ API aborts the process when an allocation it
  // makes on our behalf is refused.
  bool WouldFit(size_t length) const;

  // Bytes of buffers alive now.
  size_t allocated_bytes() const { return allocated_.load(std::memory_order_relaxed); }
  // The isolate's heap in use, refreshed by the owner after each GC and request (between whole
  // readings of the heap, from the young generation's growth alone: what V8 placed directly in
  // the old generation since the last one, at most 16 requests back, shows at the next).
  void set_heap_used_bytes(size_t bytes) { heap_used_.store(bytes, std::memory_order_relaxed); }

 private:
  bool Charge(size_t length);

  const size_t budget_bytes_;
  std::atomic<size_t> allocated_{0};
  std::atomic<size_t> heap_used_{0};
};

}  // namespace cosmo::v8engine

#endif  // COSMO_ENGINE_V8_LIMITED_ALLOCATOR_H_
