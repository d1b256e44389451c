#include "cosmo/manifest.h"

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "support/files.h"

namespace cosmo {
namespace {

using ::cosmo::testing::ReadFile;
using ::testing::HasSubstr;

nlohmann::json LoadVectors() {
  const std::string path =
      std::string(COSMO_SOURCE_DIR) + "/tests/testdata/manifest/hash_vectors.json";
  return nlohmann::json::parse(ReadFile(path).value());
}

Manifest FromJson(const nlohmann::json& j) {
  Manifest m;
  m.engine = j.at("engine").get<std::string>();
  m.main = j.at("main").get<std::string>();
  for (const auto& [k, v] : j.at("files").items()) m.files[k] = v.get<std::string>();
  for (const auto& [k, v] : j.at("env").items()) m.env[k] = v.get<std::string>();
  for (const auto& [k, v] : j.at("limits").items()) m.limits[k] = v.get<uint64_t>();
  if (j.contains("kv")) {
    for (const auto& [k, v] : j.at("kv").items()) m.kv[k] = v.get<std::string>();
  }
  if (j.contains("crons")) m.crons = j.at("crons").get<std::vector<std::string>>();
  return m;
}

Manifest Hello() {
  Manifest m;
  m.engine = "javascript";
  m.main = "index.js";
  m.files["index.js"] = "export default { fetch() { return 'hi'; } };";
  return m;
}

TEST(ManifestTest, MatchesIndependentCbor2Vectors) {
  const nlohmann::json vectors = LoadVectors().at("vectors");
  ASSERT_GE(vectors.size(), 7u);
  for (const auto& vector : vectors) {
    SCOPED_TRACE(vector.at("name").get<std::string>());
    const Manifest manifest = FromJson(vector.at("manifest"));
    absl::StatusOr<std::string> cbor = EncodeManifest(manifest);
    ASSERT_TRUE(cbor.ok()) << cbor.status();
    if (vector.contains("cbor_hex")) {
      EXPECT_EQ(absl::BytesToHexString(*cbor), vector.at("cbor_hex").get<std::string>());
    }
    EXPECT_EQ(Sha256Hex(*cbor), vector.at("version").get<std::string>());
    absl::StatusOr<std::string> version = ComputeVersion(manifest);
    ASSERT_TRUE(version.ok());
    EXPECT_EQ(*version, vector.at("version").get<std::string>());
  }
}

TEST(ManifestTest, DecodeRoundTripsEveryVector) {
  // Keep the document alive: `.at()` of a temporary would dangle in the range-for.
  const nlohmann::json document = LoadVectors();
  for (const auto& vector : document.at("vectors")) {
    SCOPED_TRACE(vector.at("name").get<std::string>());
    const Manifest manifest = FromJson(vector.at("manifest"));
    absl::StatusOr<std::string> cbor = EncodeManifest(manifest);
    ASSERT_TRUE(cbor.ok());
    absl::StatusOr<Manifest> decoded = DecodeManifest(*cbor);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(*decoded, manifest);
  }
}

TEST(ManifestTest, EmptyMapsArePresentNotOmitted) {
  absl::StatusOr<std::string> cbor = EncodeManifest(Hello());
  ASSERT_TRUE(cbor.ok());
  // "env": {} is the first entry: text(3) "env" then map(0).
  EXPECT_EQ(absl::BytesToHexString(cbor->substr(0, 6)), "a563656e76a0");
}

TEST(ManifestTest, ChangingAnyFieldChangesTheVersion) {
  const std::string base = *ComputeVersion(Hello());
  Manifest m = Hello();
  m.env["A"] = "1";
  EXPECT_NE(*ComputeVersion(m), base);
  m = Hello();
  m.limits["cpu_ms"] = 10;
  EXPECT_NE(*ComputeVersion(m), base);
  m = Hello();
  m.engine = "liquid";
  EXPECT_NE(*ComputeVersion(m), base);
  m = Hello();
  m.files["index.js"] += " ";
  EXPECT_NE(*ComputeVersion(m), base);
  EXPECT_EQ(*ComputeVersion(Hello()), base);
}

// The hello-world manifest's version as every release before KV bindings computed it (the
// "minimal" vector): adding optional keys must never move an existing version.
TEST(ManifestTest, VersionMadeBeforeKvBindingsKeepsItsHash) {
  const nlohmann::json document = LoadVectors();
  Manifest minimal;
  for (const auto& vector : document.at("vectors")) {
    if (vector.at("name") == "minimal") minimal = FromJson(vector.at("manifest"));
  }
  ASSERT_TRUE(minimal.kv.empty());
  EXPECT_EQ(*ComputeVersion(minimal),
            "f93a469f9d82582a39f3e7db74381fbb534c245286e61ce54e1d78b7f0a1107f");
  // An empty binding map is no binding at all: same bytes, same version.
  minimal.kv.clear();
  EXPECT_EQ(EncodeManifest(minimal)->substr(0, 1), "\xa5");
}

TEST(ManifestTest, KvBindingsChangeTheVersionAndRoundTrip) {
  Manifest m = Hello();
  m.kv["COUNTS"] = "counts";
  const std::string bound = *ComputeVersion(m);
  EXPECT_NE(bound, *ComputeVersion(Hello()));
  absl::StatusOr<std::string> cbor = EncodeManifest(m);
  ASSERT_TRUE(cbor.ok());
  // Six entries, and "kv" (the shortest key) first.
  EXPECT_EQ(absl::BytesToHexString(cbor->substr(0, 4)), "a6626b76");
  absl::StatusOr<Manifest> decoded = DecodeManifest(*cbor);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, m);
  m.kv["COUNTS"] = "other";
  EXPECT_NE(*ComputeVersion(m), bound);
  m.kv["COUNTS"] = "bad \xC3\x28";
  EXPECT_THAT(EncodeManifest(m).status().message(), HasSubstr("kv[COUNTS]"));
}

TEST(ManifestTest, DecodeRejectsAnEmptyKvMap) {
  // {"kv": {}} is never written (an empty map is omitted), so stored bytes holding it are corrupt.
  std::string cbor = *EncodeManifest(Hello());
  std::string with_empty_kv = "\xa6" + std::string("\x62kv\xa0", 4) + cbor.substr(1);
  EXPECT_EQ(DecodeManifest(with_empty_kv).status().code(), absl::StatusCode::kDataLoss);
}

TEST(ManifestTest, CronsJoinTheVersionOnlyWhenNotEmpty) {
  const std::string base = *ComputeVersion(Hello());
  Manifest m = Hello();
  m.crons = {};
  EXPECT_EQ(*ComputeVersion(m), base);
  m.crons = {"* * * * *"};
  const std::string one = *ComputeVersion(m);
  EXPECT_NE(one, base);
  m.crons = {"* * * * *", "0 0 * * *"};
  const std::string two = *ComputeVersion(m);
  m.crons = {"0 0 * * *", "* * * * *"};  // the deploy's order is part of the content
  EXPECT_NE(*ComputeVersion(m), two);
  absl::StatusOr<Manifest> decoded = DecodeManifest(*EncodeManifest(m));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->crons, m.crons);
}

TEST(ManifestTest, DecodeRejectsAnEmptyOrMistypedCronsList) {
  Manifest m = Hello();
  m.crons = {"x"};
  const std::string cbor = *EncodeManifest(m);
  // "crons": ["x"] is text(5) "crons", array(1), text(1) "x".
  const std::string list(
      "\x65"
      "crons\x81\x61x",
      9);
  const size_t at = cbor.find(list);
  ASSERT_NE(at, std::string::npos);
  ASSERT_TRUE(DecodeManifest(cbor).ok());
  // An empty list is never written (the key is left out), so it is not canonical.
  std::string empty = cbor;
  empty.replace(at + 6, 3, "\x80");
  EXPECT_EQ(DecodeManifest(empty).status().code(), absl::StatusCode::kDataLoss);
  std::string number = cbor;
  number.replace(at + 7, 2, "\x01");
  EXPECT_EQ(DecodeManifest(number).status().code(), absl::StatusCode::kDataLoss);
  m.crons = {"bad \xC3\x28"};
  EXPECT_THAT(EncodeManifest(m).status().message(), HasSubstr("crons[0]"));
}

TEST(ManifestTest, RejectsInvalidUtf8NamingTheField) {
  Manifest m = Hello();
  m.env["GREETING"] = "bad \xC3\x28 byte";
  absl::StatusOr<std::string> cbor = EncodeManifest(m);
  EXPECT_EQ(cbor.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(cbor.status().message(), HasSubstr("env[GREETING]"));
  EXPECT_THAT(cbor.status().message(), HasSubstr("offset 4"));

  m = Hello();
  m.files["index.js"] = "\xED\xA0\x80";  // an encoded surrogate is not UTF-8
  EXPECT_EQ(EncodeManifest(m).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ManifestTest, DecodeRejectsNonCanonicalAndMalformedBytes) {
  std::string cbor = *EncodeManifest(Hello());
  EXPECT_EQ(DecodeManifest(cbor.substr(0, cbor.size() - 1)).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeManifest(cbor + "x").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeManifest("").status().code(), absl::StatusCode::kDataLoss);
  // An indefinite-length map (0xbf ... 0xff) with the same content is valid CBOR but not
  // canonical.
  std::string indefinite = "\xbf" + cbor.substr(1) + "\xff";
  EXPECT_EQ(DecodeManifest(indefinite).status().code(), absl::StatusCode::kDataLoss);
  // A non-shortest integer: limits {"a": 1} with a 2-byte head (0x19 0x0001).
  Manifest m = Hello();
  m.limits["a"] = 1;
  std::string shortest = *EncodeManifest(m);
  std::string::size_type at = shortest.find("\x61\x61\x01", 0, 3);
  ASSERT_NE(at, std::string::npos);
  std::string longer =
      shortest.substr(0, at + 2) + std::string("\x19\x00\x01", 3) + shortest.substr(at + 3);
  EXPECT_EQ(DecodeManifest(longer).status().code(), absl::StatusCode::kDataLoss);
}

TEST(ManifestTest, Sha256HexMatchesKnownDigests) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(ManifestTest, IsFullVersionAcceptsOnly64LowercaseHex) {
  EXPECT_TRUE(IsFullVersion(std::string(64, 'a')));
  EXPECT_FALSE(IsFullVersion(std::string(63, 'a')));
  EXPECT_FALSE(IsFullVersion(std::string(64, 'A')));
  EXPECT_FALSE(IsFullVersion(std::string(64, 'g')));
}

}  // namespace
}  // namespace cosmo
