// InstanceReaper: instances handed to it are destroyed on its own thread, promptly and all of
// them (including at its destruction); once kMaxQueued wait behind a slow teardown, Reap()
// destroys what it is given itself instead of queueing more.
#include "runtime/instance_reaper.h"

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace cosmo {
namespace {

// An instance that records which thread destroyed it, and whose destructor can be held until a
// notification (a teardown that takes long).
class RecordedInstance final : public Instance {
 public:
  struct Record {
    std::atomic<int> destroyed{0};
    std::atomic<int> destroyed_on_caller{0};
    std::thread::id caller = std::this_thread::get_id();
  };
  explicit RecordedInstance(Record* record, absl::Notification* hold = nullptr)
      : record_(record), hold_(hold) {}
  ~RecordedInstance() override {
    if (hold_ != nullptr) hold_->WaitForNotification();
    if (std::this_thread::get_id() == record_->caller) record_->destroyed_on_caller++;
    record_->destroyed++;
  }
  InvokeResult Invoke(const HttpRequest&) override { return {}; }
  bool Reusable() const override { return true; }
  size_t MemoryBytes() const override { return 0; }

 private:
  Record* record_;
  absl::Notification* hold_;
};

std::vector<std::unique_ptr<Instance>> Instances(int n, RecordedInstance::Record* record,
                                                 absl::Notification* hold = nullptr) {
  std::vector<std::unique_ptr<Instance>> instances;
  for (int i = 0; i < n; ++i) instances.push_back(std::make_unique<RecordedInstance>(record, hold));
  return instances;
}

// Polls `done` for up to 30 s: the reaper's thread runs when the machine lets it.
template <typename Done>
bool Eventually(Done done) {
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return true;
}

TEST(InstanceReaperTest, DestroysWhatItIsGivenOnItsOwnThread) {
  RecordedInstance::Record record;
  InstanceReaper reaper;
  std::vector<std::unique_ptr<Instance>> instances = Instances(5, &record);
  reaper.Reap(instances);
  EXPECT_TRUE(instances.empty()) << "Reap() takes the instances";
  ASSERT_TRUE(Eventually([&] { return record.destroyed.load() == 5; }))
      << "destroyed: " << record.destroyed.load();
  EXPECT_EQ(record.destroyed_on_caller.load(), 0);
  EXPECT_TRUE(Eventually([&] { return reaper.reaped() == 5; }));
  EXPECT_EQ(reaper.reaped_inline(), 0u);
}

TEST(InstanceReaperTest, ItsDestructorDestroysWhatIsStillQueued) {
  RecordedInstance::Record record;
  absl::Notification hold;
  {
    InstanceReaper reaper;
    std::vector<std::unique_ptr<Instance>> first = Instances(1, &record, &hold);
    reaper.Reap(first);  // the reaper's thread is held in this one's destructor (once it takes it)
    std::vector<std::unique_ptr<Instance>> more = Instances(3, &record);
    reaper.Reap(more);
    EXPECT_EQ(record.destroyed.load(), 0);
    hold.Notify();
  }
  EXPECT_EQ(record.destroyed.load(), 4);
  EXPECT_EQ(record.destroyed_on_caller.load(), 0);
}

TEST(InstanceReaperTest, BehindBySomeIsolatesTheCallerDestroysItsOwn) {
  RecordedInstance::Record record;
  absl::Notification hold;
  InstanceReaper reaper;
  std::vector<std::unique_ptr<Instance>> held = Instances(1, &record, &hold);
  // Whether the reaper's thread has taken it yet (and is held in its destructor) or not, the
  // queue holds at least kMaxQueued after the next batch.
  absl::Cleanup release = [&] {
    if (!hold.HasBeenNotified()) hold.Notify();  // before the reaper joins its thread
  };
  reaper.Reap(held);
  std::vector<std::unique_ptr<Instance>> queued = Instances(InstanceReaper::kMaxQueued, &record);
  reaper.Reap(queued);
  std::vector<std::unique_ptr<Instance>> over = Instances(2, &record);
  reaper.Reap(over);
  EXPECT_TRUE(over.empty());
  EXPECT_EQ(record.destroyed_on_caller.load(), 2) << "the reaper is behind: the caller's go now";
  EXPECT_EQ(reaper.reaped_inline(), 2u);
  hold.Notify();
  ASSERT_TRUE(
      Eventually([&] { return record.destroyed.load() == InstanceReaper::kMaxQueued + 3; }));
  EXPECT_EQ(record.destroyed_on_caller.load(), 2);
  EXPECT_TRUE(Eventually([&] { return reaper.reaped() == InstanceReaper::kMaxQueued + 3; }));
}

}  // namespace
}  // namespace cosmo
