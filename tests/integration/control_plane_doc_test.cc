// docs/control-plane.md cannot drift from what it documents: every rpc, message, field and enum
// value of control.proto (read from the compiled-in descriptor), every cosmo-server flag and every
// cosmoctl subcommand (read from their --help) must be mentioned in it, in backticks.
#include <google/protobuf/descriptor.h>

#include <regex>
#include <set>
#include <string>

#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "cosmo/v1/control.grpc.pb.h"
#include "gtest/gtest.h"
#include "integration/subprocess.h"
#include "support/files.h"

namespace cosmo {
namespace {

using ::cosmo::testing::CosmoctlPath;
using ::cosmo::testing::CosmoServerPath;
using ::cosmo::testing::ReadFile;
using ::cosmo::testing::RunCommand;

std::string ReadDoc() { return ReadFile(COSMO_SOURCE_DIR "/docs/control-plane.md").value(); }

// True when `name` appears in backticks: alone, at the start of a code span (`deploy FAMILY
// FILE`), or qualified by its message (`RollbackResponse.entry`).
bool Mentioned(const std::string& doc, const std::string& name) {
  return doc.find("`" + name + "`") != std::string::npos ||
         doc.find("`" + name + " ") != std::string::npos ||
         std::regex_search(doc, std::regex("`[A-Za-z]+\\." + name + "`"));
}

TEST(ControlPlaneDocTest, MentionsEveryRpcMessageFieldAndEnumValueOfTheProto) {
  const std::string doc = ReadDoc();
  ASSERT_FALSE(doc.empty());
  const google::protobuf::FileDescriptor* file = cosmo::v1::DeployRequest::descriptor()->file();
  ASSERT_NE(file, nullptr);
  std::set<std::string> missing;
  for (int s = 0; s < file->service_count(); ++s) {
    for (int m = 0; m < file->service(s)->method_count(); ++m) {
      if (!Mentioned(doc, file->service(s)->method(m)->name())) {
        missing.insert("rpc " + file->service(s)->method(m)->name());
      }
    }
  }
  std::function<void(const google::protobuf::Descriptor*)> check_message =
      [&](const google::protobuf::Descriptor* message) {
        if (message->options().map_entry()) return;
        if (!Mentioned(doc, message->name())) missing.insert("message " + message->name());
        for (int f = 0; f < message->field_count(); ++f) {
          if (!Mentioned(doc, message->field(f)->name())) {
            missing.insert("field " + message->name() + "." + message->field(f)->name());
          }
        }
        for (int e = 0; e < message->enum_type_count(); ++e) {
          const auto* en = message->enum_type(e);
          if (!Mentioned(doc, en->name())) missing.insert("enum " + en->name());
          for (int v = 0; v < en->value_count(); ++v) {
            if (!Mentioned(doc, en->value(v)->name())) {
              missing.insert("enum value " + en->value(v)->name());
            }
          }
        }
        for (int n = 0; n < message->nested_type_count(); ++n) {
          check_message(message->nested_type(n));
        }
      };
  for (int m = 0; m < file->message_type_count(); ++m) check_message(file->message_type(m));
  for (const std::string& name : missing) ADD_FAILURE() << "docs/control-plane.md lacks " << name;
}

TEST(ControlPlaneDocTest, MentionsEveryServerFlag) {
  const std::string doc = ReadDoc();
  auto help = RunCommand({CosmoServerPath(), "--help"});
  ASSERT_EQ(help.exit_code, 0);
  std::regex flag("--[a-z][a-z-]+");
  int count = 0;
  for (auto it = std::sregex_iterator(help.out.begin(), help.out.end(), flag);
       it != std::sregex_iterator(); ++it) {
    if (it->str() == "--help") continue;
    ++count;
    EXPECT_TRUE(Mentioned(doc, it->str())) << "docs/control-plane.md lacks " << it->str();
  }
  EXPECT_GT(count, 10);
}

TEST(ControlPlaneDocTest, MentionsEveryCosmoctlSubcommand) {
  const std::string doc = ReadDoc();
  auto help = RunCommand({CosmoctlPath(), "--help"});
  ASSERT_EQ(help.exit_code, 0);
  size_t at = help.out.find("Subcommands:");
  ASSERT_NE(at, std::string::npos) << help.out;
  int count = 0;
  for (absl::string_view line : absl::StrSplit(help.out.substr(at), '\n')) {
    if (line.empty() || line.front() != ' ') continue;
    std::string command(absl::StripAsciiWhitespace(
        line.substr(0, line.find_first_of(" ", line.find_first_not_of(' ')))));
    if (command.empty()) continue;
    ++count;
    EXPECT_TRUE(Mentioned(doc, command)) << "docs/control-plane.md lacks cosmoctl " << command;
  }
  EXPECT_EQ(count, 15);
}

}  // namespace
}  // namespace cosmo
