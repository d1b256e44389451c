#include "common/utf8.h"

#include "gtest/gtest.h"

namespace cosmo {
namespace {

TEST(Utf8Test, AcceptsWellFormedText) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(
      IsValidUtf8("gr\xC3\xBC\xC3\x9F"
                  "e \xE4\xB8\x96 \xF0\x9F\x98\x80"));
  EXPECT_TRUE(IsValidUtf8("\xF4\x8F\xBF\xBF"));  // U+10FFFF
  EXPECT_TRUE(IsValidUtf8(absl::string_view("nul\0inside", 10)));
}

TEST(Utf8Test, RejectsIllFormedSequencesAtTheirOffset) {
  struct Case {
    absl::string_view text;
    size_t offset;
  } cases[] = {
      {"\x80", 0},              // lone continuation
      {"ab\xC0\xAF", 2},        // overlong '/'
      {"\xE0\x80\xAF", 0},      // overlong 3-byte
      {"x\xED\xA0\x80", 1},     // surrogate U+D800
      {"\xF4\x90\x80\x80", 0},  // past U+10FFFF
      {"\xF5\x80\x80\x80", 0},  // invalid lead
      {"ok\xE4\xB8", 2},        // truncated at end
      {"\xC3\x28", 0},          // bad continuation
  };
  for (const Case& c : cases) {
    size_t offset = 99;
    EXPECT_FALSE(IsValidUtf8(c.text, &offset)) << testing::PrintToString(c.text);
    EXPECT_EQ(offset, c.offset) << testing::PrintToString(c.text);
  }
}

TEST(Utf8PrefixLengthTest, NeverSplitsASequence) {
  const std::string text = "a\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80";  // a é 中 😀
  EXPECT_EQ(Utf8PrefixLength(text, 100), text.size());
  EXPECT_EQ(Utf8PrefixLength(text, 0), 0u);
  EXPECT_EQ(Utf8PrefixLength(text, 1), 1u);
  EXPECT_EQ(Utf8PrefixLength(text, 2), 1u);  // inside é
  EXPECT_EQ(Utf8PrefixLength(text, 3), 3u);
  EXPECT_EQ(Utf8PrefixLength(text, 5), 3u);  // inside 中
  EXPECT_EQ(Utf8PrefixLength(text, 6), 6u);
  EXPECT_EQ(Utf8PrefixLength(text, 9), 6u);  // inside 😀
  for (size_t limit = 0; limit <= text.size(); ++limit) {
    EXPECT_TRUE(IsValidUtf8(text.substr(0, Utf8PrefixLength(text, limit)))) << limit;
  }
}

}  // namespace
}  // namespace cosmo
