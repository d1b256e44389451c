#include "engine/v8/limited_allocator.h"

#include <cstdlib>

namespace cosmo::v8engine {
namespace {

// V8 allocates small buffers (typed arrays up to 64 bytes) on paths that treat failure as fatal.
constexpr size_t kNeverRefuseBytes = 64;

}  // namespace

bool LimitedAllocator::WouldFit(size_t length) const {
  size_t used =
      allocated_.load(std::memory_order_relaxed) + heap_used_.load(std::memory_order_relaxed);
  return length <= budget_bytes_ && used <= budget_bytes_ - length;
}

bool LimitedAllocator::Charge(size_t length) {
  if (length > kNeverRefuseBytes && !WouldFit(length)) return false;
  allocated_.fetch_add(length, std::memory_order_relaxed);
  return true;
}

void* LimitedAllocator::Allocate(size_t length) {
  if (!Charge(length)) return nullptr;
  void* data = std::calloc(length == 0 ? 1 : length, 1);
  if (data == nullptr) allocated_.fetch_sub(length, std::memory_order_relaxed);
  return data;
}

void* LimitedAllocator::AllocateUninitialized(size_t length) {
  if (!Charge(length)) return nullptr;
  void* data = std::malloc(length == 0 ? 1 : length);
  if (data == nullptr) allocated_.fetch_sub(length, std::memory_order_relaxed);
  return data;
}

void LimitedAllocator::Free(void* data, size_t length) {
  if (data == nullptr) return;
  std::free(data);
  allocated_.fetch_sub(length, std::memory_order_relaxed);
}

}  // namespace cosmo::v8engine
