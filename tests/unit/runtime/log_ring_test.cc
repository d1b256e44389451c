// The per-family log ring's two bounds: records and bytes.
#include "runtime/log_ring.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "common/utf8.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cosmo {
namespace {

using ::testing::EndsWith;

LogRecord Record(std::string text) {
  LogRecord record;
  record.time = absl::Now();
  record.family = "loud";
  record.version = std::string(64, 'a');
  record.request_id = "7f3a9c0e12b4-000042";
  record.text = std::move(text);
  return record;
}

size_t HeldBytes(const LogBatch& batch) {
  size_t bytes = 0;
  for (const LogRecord& record : batch.records) bytes += LogRing::RecordBytes(record);
  return bytes;
}

TEST(LogRingTest, KeepsTheNewestRecordsWithinTheRecordBound) {
  LogRing ring(/*max_records=*/5, /*max_bytes=*/1 << 20);
  for (int i = 0; i < 8; ++i) ring.Append(Record("x"));
  LogBatch batch = ring.Read(0, 0);
  ASSERT_EQ(batch.records.size(), 5u);
  EXPECT_EQ(batch.records.front().sequence, 4u);
  EXPECT_EQ(batch.records.back().sequence, 8u);
  EXPECT_EQ(batch.dropped, 3u);
  EXPECT_EQ(batch.last_sequence, 8u);
}

TEST(LogRingTest, DropsTheOldestRecordsWhenTheyWouldHoldMoreThanTheByteBound) {
  const size_t max_bytes = 64 << 10;
  LogRing ring(/*max_records=*/1000, max_bytes);
  for (int i = 0; i < 20; ++i) ring.Append(Record(std::string(10 << 10, 'x')));
  LogBatch batch = ring.Read(0, 0);
  // Six records of a little over 10 KiB fit in 64 KiB, a seventh would not.
  ASSERT_EQ(batch.records.size(), 6u);
  EXPECT_LE(HeldBytes(batch), max_bytes);
  EXPECT_EQ(batch.records.back().sequence, 20u);
  EXPECT_EQ(batch.dropped, 14u);
  for (const LogRecord& record : batch.records) EXPECT_EQ(record.text.size(), 10u << 10);

  // Small records then refill the ring up to the record bound's worth of bytes, no further.
  for (int i = 0; i < 2000; ++i) ring.Append(Record("tick"));
  batch = ring.Read(0, 0);
  EXPECT_LE(HeldBytes(batch), max_bytes);
  EXPECT_EQ(batch.records.back().sequence, 2020u);
  EXPECT_EQ(batch.records.back().text, "tick");
}

TEST(LogRingTest, CutsTheTextOfARecordLargerThanTheWholeBound) {
  const size_t max_bytes = 16 << 10;
  LogRing ring(/*max_records=*/1000, max_bytes);
  ring.Append(Record("before"));
  // Two-byte characters, so an arbitrary cut would likely split one.
  std::string huge;
  for (int i = 0; i < 50000; ++i) huge += "\xC3\xA9";  // é
  ring.Append(Record(huge));
  LogBatch batch = ring.Read(0, 0);
  ASSERT_EQ(batch.records.size(), 1u) << "the cut record fills the bound; the older one goes";
  const LogRecord& cut = batch.records[0];
  EXPECT_EQ(cut.sequence, 2u);
  EXPECT_THAT(cut.text, EndsWith(" [log record cut: 100000 bytes]"));
  EXPECT_TRUE(absl::StartsWith(cut.text, "\xC3\xA9\xC3\xA9"));
  EXPECT_TRUE(IsValidUtf8(cut.text)) << "the cut must fall between characters";
  EXPECT_LE(LogRing::RecordBytes(cut), max_bytes);
  EXPECT_GT(LogRing::RecordBytes(cut), max_bytes - 8) << "the text should use the room it has";
}

TEST(LogRingTest, RaisesBoundsBelowTheMinimum) {
  LogRing ring(/*max_records=*/0, /*max_bytes=*/1);
  ring.Append(Record(std::string(1000, 'x')));
  ring.Append(Record(std::string(1000, 'y')));
  LogBatch batch = ring.Read(0, 0);
  ASSERT_EQ(batch.records.size(), 1u);
  EXPECT_EQ(batch.records[0].text, std::string(1000, 'y')) << "1000 bytes fit in kMinBytes uncut";
}

}  // namespace
}  // namespace cosmo
