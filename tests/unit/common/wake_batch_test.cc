// WakeBatch (common/wake_batch.h): wakes deferred to the end of the calling thread's outermost
// batch, once per target, and immediate outside a batch.
#include "common/wake_batch.h"

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace cosmo {
namespace {

// Appends its name to a shared log when woken.
class LoggingTarget final : public Wakeable {
 public:
  LoggingTarget(std::string name, std::vector<std::string>* log)
      : name_(std::move(name)), log_(log) {}
  void Wake() override { log_->push_back(name_); }

 private:
  const std::string name_;
  std::vector<std::string>* const log_;
};

TEST(WakeBatchTest, OutsideABatchAWakeHappensAtOnce) {
  std::vector<std::string> log;
  auto loop = std::make_shared<LoggingTarget>("loop", &log);
  WakeBatch::WakeOrDefer(loop);
  WakeBatch::WakeOrDefer(loop);
  EXPECT_EQ(log, (std::vector<std::string>{"loop", "loop"}));
}

TEST(WakeBatchTest, InABatchEachTargetIsWokenOnceAtItsEndInTheOrderFirstAsked) {
  std::vector<std::string> log;
  auto a = std::make_shared<LoggingTarget>("a", &log);
  auto b = std::make_shared<LoggingTarget>("b", &log);
  {
    WakeBatch batch;
    WakeBatch::WakeOrDefer(b);
    WakeBatch::WakeOrDefer(a);
    WakeBatch::WakeOrDefer(b);
    WakeBatch::WakeOrDefer(a);
    EXPECT_TRUE(log.empty()) << "nothing is woken before the batch ends";
  }
  EXPECT_EQ(log, (std::vector<std::string>{"b", "a"}));
  // A later batch starts empty.
  {
    WakeBatch batch;
    WakeBatch::WakeOrDefer(a);
  }
  EXPECT_EQ(log, (std::vector<std::string>{"b", "a", "a"}));
}

TEST(WakeBatchTest, OnlyTheOutermostBatchWakes) {
  std::vector<std::string> log;
  auto loop = std::make_shared<LoggingTarget>("loop", &log);
  {
    WakeBatch outer;
    {
      WakeBatch inner;
      WakeBatch::WakeOrDefer(loop);
    }
    EXPECT_TRUE(log.empty());
    WakeBatch::WakeOrDefer(loop);
  }
  EXPECT_EQ(log, (std::vector<std::string>{"loop"}));
}

TEST(WakeBatchTest, ADeferredTargetOutlivesItsOwnersReference) {
  std::vector<std::string> log;
  {
    WakeBatch batch;
    auto loop = std::make_shared<LoggingTarget>("loop", &log);
    WakeBatch::WakeOrDefer(loop);
    std::weak_ptr<LoggingTarget> watch = loop;
    loop.reset();
    EXPECT_FALSE(watch.expired()) << "the batch holds the target until it wakes it";
  }
  EXPECT_EQ(log, (std::vector<std::string>{"loop"}));
}

TEST(WakeBatchTest, ABatchIsTheCallingThreadsOnly) {
  std::vector<std::string> log;
  auto loop = std::make_shared<LoggingTarget>("loop", &log);
  WakeBatch batch;
  std::thread other([&] { WakeBatch::WakeOrDefer(loop); });
  other.join();
  EXPECT_EQ(log, (std::vector<std::string>{"loop"})) << "another thread's wake is not deferred";
}

}  // namespace
}  // namespace cosmo
