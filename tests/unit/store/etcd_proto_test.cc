// proto/etcd/'s declarations of etcd's wire format against etcd's own .proto files, as Debian's
// golang-etcd-server-dev ships them (scripts/setup unpacks that package's .deb into
// /var/cache/cosmo/golang-etcd-server-dev without installing it). Both sides are parsed with
// libprotoc's parser and never resolved: etcd's files import gogoproto and google/api, which are
// not installed, so type names are matched by protobuf's scoping rules within the parsed files.
//
// Ours are a subset of etcd's: every message, field, enum value, service and rpc we declare must be
// declared the same way by etcd (field number, label, type, oneof; value number; request and
// response types and streaming). What only etcd declares is ignored.
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "google/protobuf/compiler/parser.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "gtest/gtest.h"
#include "support/files.h"

namespace cosmo {
namespace {

namespace fs = std::filesystem;
using ::google::protobuf::DescriptorProto;
using ::google::protobuf::EnumDescriptorProto;
using ::google::protobuf::FieldDescriptor;
using ::google::protobuf::FieldDescriptorProto;
using ::google::protobuf::FileDescriptorProto;
using ::google::protobuf::MethodDescriptorProto;
using ::google::protobuf::ServiceDescriptorProto;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Where scripts/setup unpacks golang-etcd-server-dev.
constexpr char kDefaultReference[] = "/var/cache/cosmo/golang-etcd-server-dev";
// Where the package puts etcd's sources, below the root it is unpacked (or installed) in.
constexpr char kPackagedEtcd[] = "usr/share/gocode/src/go.etcd.io/etcd";
// Each of our files (below proto/) and etcd's file it declares a subset of (below etcd 3.4's
// source root).
constexpr std::pair<const char*, const char*> kFiles[] = {
    {"etcd/mvccpb/kv.proto", "mvcc/mvccpb/kv.proto"},
    {"etcd/etcdserverpb/rpc.proto", "etcdserver/etcdserverpb/rpc.proto"},
};

// Parser and tokenizer errors as "line:column: message".
class ErrorList : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    errors_.push_back(absl::StrCat(line + 1, ":", column + 1, ": ", message));
  }
  bool empty() const { return errors_.empty(); }
  std::string Joined() const { return absl::StrJoin(errors_, "; "); }

 private:
  std::vector<std::string> errors_;
};

// Parses .proto text into a FileDescriptorProto called `name`, leaving imports and type names
// unresolved.
absl::StatusOr<FileDescriptorProto> ParseProto(absl::string_view text, absl::string_view name) {
  google::protobuf::io::ArrayInputStream input(text.data(), static_cast<int>(text.size()));
  ErrorList errors;
  google::protobuf::io::Tokenizer tokenizer(&input, &errors);
  google::protobuf::compiler::Parser parser;
  parser.RecordErrorsTo(&errors);
  FileDescriptorProto file;
  if (!parser.Parse(&tokenizer, &file) || !errors.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": ", errors.Joined()));
  }
  file.set_name(std::string(name));
  return file;
}

absl::StatusOr<FileDescriptorProto> ParseProtoFile(const fs::path& path, absl::string_view name) {
  absl::StatusOr<std::string> text = ::cosmo::testing::ReadFile(path);
  if (!text.ok()) return text.status();
  return ParseProto(*text, name);
}

// One side's declarations by full name (".package.Outer.Inner"), each with the file declaring it.
// Points into the FileDescriptorProtos it was built from.
struct Declarations {
  template <typename T>
  struct In {
    const T* proto;
    std::string file;
  };
  std::map<std::string, In<DescriptorProto>> messages;
  std::map<std::string, In<EnumDescriptorProto>> enums;
  std::map<std::string, In<ServiceDescriptorProto>> services;
  std::map<std::string, std::string> syntax_by_package;

  explicit Declarations(const std::vector<FileDescriptorProto>& files) {
    for (const FileDescriptorProto& file : files) {
      std::string scope = file.package().empty() ? "" : absl::StrCat(".", file.package());
      // A file without a syntax statement is proto2.
      syntax_by_package[scope] = file.syntax().empty() ? "proto2" : file.syntax();
      for (const DescriptorProto& m : file.message_type()) AddMessage(scope, m, file.name());
      for (const EnumDescriptorProto& e : file.enum_type()) {
        enums[absl::StrCat(scope, ".", e.name())] = {&e, file.name()};
      }
      for (const ServiceDescriptorProto& s : file.service()) {
        services[absl::StrCat(scope, ".", s.name())] = {&s, file.name()};
      }
    }
  }

  // The full name `name` refers to from inside `scope`: the innermost enclosing scope that declares
  // it, as protoc resolves names; nullopt when it is declared nowhere here.
  std::optional<std::string> Resolve(absl::string_view scope, const std::string& name) const {
    if (absl::StartsWith(name, ".")) return name;
    while (true) {
      std::string candidate = absl::StrCat(scope, ".", name);
      if (messages.contains(candidate) || enums.contains(candidate)) return candidate;
      if (scope.empty()) return std::nullopt;
      size_t dot = scope.rfind('.');
      scope = dot == absl::string_view::npos ? "" : scope.substr(0, dot);
    }
  }

 private:
  void AddMessage(const std::string& scope, const DescriptorProto& m, const std::string& file) {
    std::string full_name = absl::StrCat(scope, ".", m.name());
    messages[full_name] = {&m, file};
    for (const DescriptorProto& nested : m.nested_type()) AddMessage(full_name, nested, file);
    for (const EnumDescriptorProto& e : m.enum_type()) {
      enums[absl::StrCat(full_name, ".", e.name())] = {&e, file};
    }
  }
};

absl::string_view Printable(absl::string_view full_name) {
  return absl::StartsWith(full_name, ".") ? full_name.substr(1) : full_name;
}

// A named (message or enum) field type, as opposed to a scalar. The parser leaves `type` unset for
// names it cannot resolve, which is every name here.
bool HasNamedType(const FieldDescriptorProto& f) {
  return !f.has_type() || f.type() == FieldDescriptorProto::TYPE_MESSAGE ||
         f.type() == FieldDescriptorProto::TYPE_ENUM;
}

std::string OneofOf(const DescriptorProto& m, const FieldDescriptorProto& f) {
  return f.has_oneof_index() && f.oneof_index() < m.oneof_decl_size()
             ? m.oneof_decl(f.oneof_index()).name()
             : "";
}

// A field as it is written in a .proto file, e.g. "repeated mvccpb.KeyValue kvs = 2;" or
// "int64 version = 4; (in oneof target_union)".
std::string DescribeField(const DescriptorProto& m, const FieldDescriptorProto& f) {
  std::string label = f.label() == FieldDescriptorProto::LABEL_REPEATED   ? "repeated "
                      : f.label() == FieldDescriptorProto::LABEL_REQUIRED ? "required "
                      : f.proto3_optional()                               ? "optional "
                                                                          : "";
  std::string type = HasNamedType(f)
                         ? f.type_name()
                         : FieldDescriptor::TypeName(static_cast<FieldDescriptor::Type>(f.type()));
  std::string oneof = OneofOf(m, f);
  return absl::StrCat(label, type, " ", f.name(), " = ", f.number(), ";",
                      oneof.empty() ? "" : absl::StrCat(" (in oneof ", oneof, ")"));
}

// The element of `declarations` (fields, enum values, rpcs) called `name`, or nullptr.
template <typename T>
const T* FindByName(const google::protobuf::RepeatedPtrField<T>& declarations,
                    const std::string& name) {
  for (const T& declaration : declarations) {
    if (declaration.name() == name) return &declaration;
  }
  return nullptr;
}

// "number differs", "number, type differ".
std::string AspectsDiffer(const std::vector<std::string>& aspects) {
  return absl::StrCat(absl::StrJoin(aspects, ", "), aspects.size() == 1 ? " differs" : " differ");
}

std::string DescribeMethod(const MethodDescriptorProto& m) {
  return absl::StrCat("rpc ", m.name(), "(", m.client_streaming() ? "stream " : "", m.input_type(),
                      ") returns (", m.server_streaming() ? "stream " : "", m.output_type(), ")");
}

struct Comparison {
  // One line per way ours declares something differently from the reference, naming the
  // declaration and quoting both sides. Empty when ours is a faithful subset of the reference.
  std::vector<std::string> differences;
  int declarations_compared = 0;  // fields, enum values and rpcs
};

class Comparer {
 public:
  Comparer(const Declarations& ours, const Declarations& reference)
      : ours_(ours), reference_(reference) {}

  Comparison Run() {
    for (const auto& [package, syntax] : ours_.syntax_by_package) {
      auto it = reference_.syntax_by_package.find(package);
      if (it != reference_.syntax_by_package.end() && it->second != syntax) {
        Report(absl::StrCat("package ", Printable(package), ": ours is ", syntax,
                            ", the reference is ", it->second));
      }
    }
    for (const auto& [name, ours] : ours_.messages) CompareMessage(name, ours);
    for (const auto& [name, ours] : ours_.enums) CompareEnum(name, ours);
    for (const auto& [name, ours] : ours_.services) CompareService(name, ours);
    return std::move(result_);
  }

 private:
  // Whether `ours` and `theirs`, both written in `scope`, name the same type. A name one side does
  // not declare (ours may leave out a type its fields never use; etcd's import files not parsed
  // here) is looked up in the other side's declarations, and failing that compared as written.
  bool SameType(absl::string_view scope, const std::string& ours, const std::string& theirs) const {
    auto resolve = [&](const Declarations& first, const Declarations& second,
                       const std::string& name) {
      return first.Resolve(scope, name).value_or(second.Resolve(scope, name).value_or(name));
    };
    return resolve(ours_, reference_, ours) == resolve(reference_, ours_, theirs);
  }

  void Report(std::string difference) { result_.differences.push_back(std::move(difference)); }

  // The reference's declaration of the `kind` (message, enum, service) called `name`, or nullptr
  // after reporting that it has none.
  template <typename T>
  const Declarations::In<T>* FindInReference(
      const std::map<std::string, Declarations::In<T>>& reference, absl::string_view kind,
      const std::string& name, const Declarations::In<T>& ours) {
    auto it = reference.find(name);
    if (it != reference.end()) return &it->second;
    Report(absl::StrCat(kind, " ", Printable(name), " (", ours.file,
                        "): the reference declares no such ", kind));
    return nullptr;
  }

  void CompareMessage(const std::string& name, const Declarations::In<DescriptorProto>& ours) {
    const Declarations::In<DescriptorProto>* found =
        FindInReference(reference_.messages, "message", name, ours);
    if (found == nullptr) return;
    const Declarations::In<DescriptorProto>& theirs = *found;
    for (const FieldDescriptorProto& field : ours.proto->field()) {
      ++result_.declarations_compared;
      std::string where = absl::StrCat("message ", Printable(name), " field ", field.name());
      std::string ours_text =
          absl::StrCat("`", DescribeField(*ours.proto, field), "` (", ours.file, ")");
      const FieldDescriptorProto* same_name = FindByName(theirs.proto->field(), field.name());
      if (same_name == nullptr) {
        const FieldDescriptorProto* same_number = nullptr;
        for (const FieldDescriptorProto& f : theirs.proto->field()) {
          if (f.number() == field.number()) same_number = &f;
        }
        Report(absl::StrCat(where, ": ours ", ours_text, ", the reference has no such field",
                            same_number == nullptr
                                ? ""
                                : absl::StrCat(" (its field ", field.number(), " is `",
                                               DescribeField(*theirs.proto, *same_number), "`)")));
        continue;
      }
      std::vector<std::string> aspects;
      if (same_name->number() != field.number()) aspects.push_back("number");
      if (same_name->label() != field.label() ||
          same_name->proto3_optional() != field.proto3_optional()) {
        aspects.push_back("label");
      }
      if (HasNamedType(*same_name) != HasNamedType(field) ||
          (HasNamedType(field) ? !SameType(name, field.type_name(), same_name->type_name())
                               : same_name->type() != field.type())) {
        aspects.push_back("type");
      }
      if (OneofOf(*theirs.proto, *same_name) != OneofOf(*ours.proto, field)) {
        aspects.push_back("oneof");
      }
      if (!aspects.empty()) {
        Report(absl::StrCat(where, ": ", AspectsDiffer(aspects), ": ours ", ours_text,
                            ", the reference `", DescribeField(*theirs.proto, *same_name), "` (",
                            theirs.file, ")"));
      }
    }
  }

  void CompareEnum(const std::string& name, const Declarations::In<EnumDescriptorProto>& ours) {
    const Declarations::In<EnumDescriptorProto>* found =
        FindInReference(reference_.enums, "enum", name, ours);
    if (found == nullptr) return;
    const Declarations::In<EnumDescriptorProto>& theirs = *found;
    for (const auto& value : ours.proto->value()) {
      ++result_.declarations_compared;
      std::string where = absl::StrCat("enum ", Printable(name), " value ", value.name());
      std::string ours_text =
          absl::StrCat("`", value.name(), " = ", value.number(), ";` (", ours.file, ")");
      const auto* same = FindByName(theirs.proto->value(), value.name());
      if (same == nullptr) {
        Report(absl::StrCat(where, ": ours ", ours_text, ", the reference has no such value"));
      } else if (same->number() != value.number()) {
        Report(absl::StrCat(where, ": number differs: ours ", ours_text, ", the reference `",
                            same->name(), " = ", same->number(), ";` (", theirs.file, ")"));
      }
    }
  }

  void CompareService(const std::string& name,
                      const Declarations::In<ServiceDescriptorProto>& ours) {
    const Declarations::In<ServiceDescriptorProto>* found =
        FindInReference(reference_.services, "service", name, ours);
    if (found == nullptr) return;
    const Declarations::In<ServiceDescriptorProto>& theirs = *found;
    // Request and response types are resolved in the service's package.
    std::string package = name.substr(0, name.rfind('.'));
    for (const MethodDescriptorProto& method : ours.proto->method()) {
      ++result_.declarations_compared;
      std::string where = absl::StrCat("service ", Printable(name), " rpc ", method.name());
      std::string ours_text = absl::StrCat("`", DescribeMethod(method), "` (", ours.file, ")");
      const MethodDescriptorProto* same = FindByName(theirs.proto->method(), method.name());
      if (same == nullptr) {
        Report(absl::StrCat(where, ": ours ", ours_text, ", the reference has no such rpc"));
        continue;
      }
      std::vector<std::string> aspects;
      if (!SameType(package, method.input_type(), same->input_type())) {
        aspects.push_back("request type");
      }
      if (!SameType(package, method.output_type(), same->output_type())) {
        aspects.push_back("response type");
      }
      if (same->client_streaming() != method.client_streaming()) {
        aspects.push_back("request streaming");
      }
      if (same->server_streaming() != method.server_streaming()) {
        aspects.push_back("response streaming");
      }
      if (!aspects.empty()) {
        Report(absl::StrCat(where, ": ", AspectsDiffer(aspects), ": ours ", ours_text,
                            ", the reference `", DescribeMethod(*same), "` (", theirs.file, ")"));
      }
    }
  }

  const Declarations& ours_;
  const Declarations& reference_;
  Comparison result_;
};

// Compares everything `ours` declares with what `reference` declares under the same full names.
Comparison CompareDeclarations(const std::vector<FileDescriptorProto>& ours,
                               const std::vector<FileDescriptorProto>& reference) {
  Declarations our_declarations(ours);
  Declarations reference_declarations(reference);
  return Comparer(our_declarations, reference_declarations).Run();
}

// The root of an etcd 3.4 source tree under `dir`: an unpacked (or installed)
// golang-etcd-server-dev, or such a tree itself.
std::optional<fs::path> EtcdSourceTree(const fs::path& dir) {
  for (const fs::path& root : {dir / kPackagedEtcd, dir}) {
    std::error_code error;
    if (fs::is_regular_file(root / kFiles[1].second, error)) return root;
  }
  return std::nullopt;
}

TEST(EtcdProtoTest, OurDeclarationsMatchEtcds) {
  std::optional<fs::path> etcd;
  const char* env = std::getenv("COSMO_ETCD_PROTO_REFERENCE");
  if (env != nullptr && *env != '\0') {
    etcd = EtcdSourceTree(env);
    ASSERT_TRUE(etcd.has_value()) << "COSMO_ETCD_PROTO_REFERENCE=" << env << " holds neither "
                                  << kPackagedEtcd << "/" << kFiles[1].second
                                  << " (an unpacked golang-etcd-server-dev) nor "
                                  << kFiles[1].second << " (an etcd 3.4 source tree)";
  } else {
    etcd = EtcdSourceTree(kDefaultReference);
    if (!etcd.has_value()) etcd = EtcdSourceTree("/");
    if (!etcd.has_value()) {
      GTEST_SKIP() << "etcd's .proto files are in neither " << kDefaultReference << " nor /"
                   << kPackagedEtcd << ": run scripts/setup (as root; it unpacks Debian's "
                   << "golang-etcd-server-dev there), or set COSMO_ETCD_PROTO_REFERENCE=/path to "
                   << "an unpacked golang-etcd-server-dev or an etcd 3.4 source tree";
    }
  }

  std::vector<FileDescriptorProto> ours;
  std::vector<FileDescriptorProto> reference;
  for (const auto& [our_file, etcd_file] : kFiles) {
    absl::StatusOr<FileDescriptorProto> parsed =
        ParseProtoFile(fs::path(COSMO_SOURCE_DIR) / "proto" / our_file, our_file);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    ours.push_back(*std::move(parsed));
    parsed = ParseProtoFile(*etcd / etcd_file, (*etcd / etcd_file).string());
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    reference.push_back(*std::move(parsed));
  }

  Comparison comparison = CompareDeclarations(ours, reference);
  for (const std::string& difference : comparison.differences) ADD_FAILURE() << difference;
  EXPECT_GT(comparison.declarations_compared, 0);
  std::cout << "compared " << comparison.declarations_compared
            << " fields, enum values and rpcs with " << etcd->string() << "\n";
}

// The comparison itself, on small inline files: it must be able to fail.

constexpr char kReference[] = R"pb(
  syntax = "proto3"
  ;
  package demo;
  import "gogoproto/gogo.proto";
  service KV {
    rpc Range(RangeRequest) returns (RangeResponse) { option (google.api.http) = { post: "/r" }; }
    rpc Watch(stream RangeRequest) returns (stream RangeResponse);
  }
  message RangeRequest {
    enum SortOrder { NONE = 0; ASCEND = 1; }
    bytes key = 1 [(gogoproto.nullable) = false];
    int64 limit = 3;
    SortOrder sort_order = 5;
    oneof target { int64 version = 4; bytes value = 7; }
  }
  message RangeResponse {
    repeated other.KeyValue kvs = 2;
    bool more = 3;
  }
)pb";

Comparison CompareWithReference(absl::string_view ours_text) {
  absl::StatusOr<FileDescriptorProto> ours = ParseProto(ours_text, "ours.proto");
  absl::StatusOr<FileDescriptorProto> reference = ParseProto(kReference, "reference.proto");
  EXPECT_TRUE(ours.ok()) << ours.status();
  EXPECT_TRUE(reference.ok()) << reference.status();
  if (!ours.ok() || !reference.ok()) return {};
  return CompareDeclarations({*ours}, {*reference});
}

TEST(EtcdProtoTest, ASubsetWithOtherwiseQualifiedTypeNamesMatches) {
  Comparison comparison = CompareWithReference(R"pb(
    syntax = "proto3"
    ;
    package demo;
    service KV { rpc Range(demo.RangeRequest) returns (.demo.RangeResponse); }
    message RangeRequest {
      enum SortOrder { NONE = 0; }
      bytes key = 1;
      RangeRequest.SortOrder sort_order = 5;
      oneof target { int64 version = 4; }
    }
    message RangeResponse { repeated other.KeyValue kvs = 2; }
  )pb");
  EXPECT_THAT(comparison.differences, IsEmpty());
  EXPECT_EQ(comparison.declarations_compared, 6);
}

TEST(EtcdProtoTest, AFieldNumberThatDiffersIsReportedWithBothDeclarations) {
  Comparison comparison = CompareWithReference(R"pb(
    syntax = "proto3"
    ;
    package demo;
    message RangeResponse { repeated other.KeyValue kvs = 3; }
  )pb");
  EXPECT_THAT(comparison.differences,
              ElementsAre("message demo.RangeResponse field kvs: number differs: ours "
                          "`repeated other.KeyValue kvs = 3;` (ours.proto), the reference "
                          "`repeated other.KeyValue kvs = 2;` (reference.proto)"));
}

TEST(EtcdProtoTest, TypeLabelAndOneofDifferencesAreReported) {
  Comparison comparison = CompareWithReference(R"pb(
    syntax = "proto3"
    ;
    package demo;
    message RangeRequest {
      bytes limit = 3;
      repeated bytes key = 1;
      int64 version = 4;
      int64 sort_order = 5;
    }
    message RangeResponse { repeated KeyValue kvs = 2; }
    message KeyValue {}
  )pb");
  EXPECT_THAT(comparison.differences,
              ElementsAre(HasSubstr("message demo.KeyValue (ours.proto): the reference declares "
                                    "no such message"),
                          HasSubstr("field limit: type differs: ours `bytes limit = 3;`"),
                          HasSubstr("field key: label differs"), HasSubstr("field version: oneof"),
                          HasSubstr("field sort_order: type differs"),
                          // demo.KeyValue is not the reference's other.KeyValue.
                          HasSubstr("field kvs: type differs")));
}

TEST(EtcdProtoTest, MissingFieldsEnumValuesAndRpcDifferencesAreReported) {
  Comparison comparison = CompareWithReference(R"pb(
    syntax = "proto3"
    ;
    package demo;
    service KV {
      rpc Range(RangeRequest) returns (stream RangeResponse);
      rpc Watch(stream RangeResponse) returns (stream RangeResponse);
      rpc Put(RangeRequest) returns (RangeResponse);
    }
    message RangeRequest {
      enum SortOrder { NONE = 0; ASCEND = 2; DESCEND = 3; }
      int64 count = 3;
    }
  )pb");
  EXPECT_THAT(
      comparison.differences,
      ElementsAre(
          "message demo.RangeRequest field count: ours `int64 count = 3;` (ours.proto), the "
          "reference has no such field (its field 3 is `int64 limit = 3;`)",
          HasSubstr("enum demo.RangeRequest.SortOrder value ASCEND: number differs: ours "
                    "`ASCEND = 2;`"),
          HasSubstr("value DESCEND: ours `DESCEND = 3;` (ours.proto), the reference has no "
                    "such value"),
          "service demo.KV rpc Range: response streaming differs: ours `rpc Range(RangeRequest) "
          "returns (stream RangeResponse)` (ours.proto), the reference `rpc Range(RangeRequest) "
          "returns (RangeResponse)` (reference.proto)",
          HasSubstr("rpc Watch: request type differs"), HasSubstr("rpc Put: ours")));
}

}  // namespace
}  // namespace cosmo
