#include "cosmo/manifest.h"

#include <cbor.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/utf8.h"

namespace cosmo {
namespace {

// Owns one reference to a libcbor item.
struct CborDeleter {
  void operator()(cbor_item_t* item) const { cbor_decref(&item); }
};
using CborPtr = std::unique_ptr<cbor_item_t, CborDeleter>;

// RFC 8949 §4.2.1 orders map keys by their encoded bytes. For definite-length text strings that
// is shortest first, then bytewise: the head grows monotonically with the length.
bool CanonicalKeyLess(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return a.size() < b.size();
  return a < b;
}

CborPtr Text(absl::string_view s) { return CborPtr(cbor_build_stringn(s.data(), s.size())); }

// The shortest head for `value` (RFC 8949 §4.2.1 "preferred serialization" of integers).
CborPtr Unsigned(uint64_t value) {
  if (value <= 0xFF) return CborPtr(cbor_build_uint8(static_cast<uint8_t>(value)));
  if (value <= 0xFFFF) return CborPtr(cbor_build_uint16(static_cast<uint16_t>(value)));
  if (value <= 0xFFFFFFFF) return CborPtr(cbor_build_uint32(static_cast<uint32_t>(value)));
  return CborPtr(cbor_build_uint64(value));
}

absl::Status CheckText(absl::string_view field, absl::string_view text) {
  size_t offset = 0;
  if (!IsValidUtf8(text, &offset)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " is not valid UTF-8 (first bad byte at offset ", offset, ")"));
  }
  return absl::OkStatus();
}

// Builds a definite map from (key, value) pairs, adding them in canonical key order.
template <typename Map, typename MakeValue>
absl::StatusOr<CborPtr> CanonicalMap(absl::string_view field, const Map& map,
                                     MakeValue make_value) {
  std::vector<const typename Map::value_type*> entries;
  entries.reserve(map.size());
  for (const auto& entry : map) {
    if (absl::Status s = CheckText(absl::StrCat(field, " key"), entry.first); !s.ok()) return s;
    entries.push_back(&entry);
  }
  std::sort(entries.begin(), entries.end(),
            [](const auto* a, const auto* b) { return CanonicalKeyLess(a->first, b->first); });
  CborPtr out(cbor_new_definite_map(entries.size()));
  if (out == nullptr) return absl::ResourceExhaustedError("out of memory encoding manifest");
  for (const auto* entry : entries) {
    absl::StatusOr<CborPtr> value = make_value(entry->first, entry->second);
    if (!value.ok()) return value.status();
    CborPtr key = Text(entry->first);
    if (key == nullptr || *value == nullptr ||
        !cbor_map_add(out.get(), cbor_pair{.key = key.get(), .value = value->get()})) {
      return absl::ResourceExhaustedError("out of memory encoding manifest");
    }
  }
  return out;
}

absl::StatusOr<CborPtr> TextMap(absl::string_view field,
                                const std::map<std::string, std::string>& map) {
  return CanonicalMap(
      field, map, [&](const std::string& key, const std::string& value) -> absl::StatusOr<CborPtr> {
        if (absl::Status s = CheckText(absl::StrCat(field, "[", key, "]"), value); !s.ok()) {
          return s;
        }
        return Text(value);
      });
}

absl::StatusOr<CborPtr> TextArray(absl::string_view field, const std::vector<std::string>& list) {
  CborPtr out(cbor_new_definite_array(list.size()));
  if (out == nullptr) return absl::ResourceExhaustedError("out of memory encoding manifest");
  for (size_t i = 0; i < list.size(); ++i) {
    if (absl::Status s = CheckText(absl::StrCat(field, "[", i, "]"), list[i]); !s.ok()) return s;
    CborPtr item = Text(list[i]);
    if (item == nullptr || !cbor_array_push(out.get(), item.get())) {
      return absl::ResourceExhaustedError("out of memory encoding manifest");
    }
  }
  return out;
}

absl::Status Corrupt(absl::string_view what) {
  return absl::DataLossError(absl::StrCat("stored manifest is malformed: ", what));
}

// Walks the CBOR heads of `bytes` without allocating, accepting only what a manifest can contain —
// definite maps and arrays nested at most two deep, definite text strings, unsigned integers — with
// every declared length within the input. libcbor's decoder trusts declared lengths and allocates
// for them up front (a 40-byte input can ask for 32 GB), so bytes reach it only after this check.
bool HasManifestShape(absl::string_view bytes) {
  size_t pos = 0;
  // Items still to read at each nesting level; level 0 is the single top-level item.
  uint64_t pending[4] = {1, 0, 0, 0};
  int depth = 0;
  while (depth >= 0) {
    if (pending[depth] == 0) {
      --depth;
      continue;
    }
    --pending[depth];
    if (pos >= bytes.size()) return false;
    const auto initial = static_cast<uint8_t>(bytes[pos++]);
    const int major = initial >> 5;
    const int info = initial & 0x1F;
    uint64_t value = 0;
    if (info < 24) {
      value = static_cast<uint64_t>(info);
    } else if (info <= 27) {
      const size_t width = size_t{1} << (info - 24);
      if (bytes.size() - pos < width) return false;
      for (size_t i = 0; i < width; ++i) value = (value << 8) | static_cast<uint8_t>(bytes[pos++]);
    } else {
      return false;  // indefinite lengths and reserved values never occur in a manifest
    }
    const uint64_t remaining = bytes.size() - pos;
    switch (major) {
      case 0:  // unsigned integer
        break;
      case 3:  // text string
        if (value > remaining) return false;
        pos += static_cast<size_t>(value);
        break;
      case 4:  // array: each item takes at least one byte
        if (depth >= 2 || value > remaining) return false;
        pending[++depth] = value;
        break;
      case 5:  // map: each entry takes at least two bytes
        if (depth >= 2 || value > remaining / 2) return false;
        pending[++depth] = value * 2;
        break;
      default:
        return false;
    }
  }
  return pos == bytes.size();
}

absl::StatusOr<std::string> TextOf(const cbor_item_t* item, absl::string_view what) {
  if (!cbor_isa_string(item) || !cbor_string_is_definite(item)) {
    return Corrupt(absl::StrCat(what, " is not a definite text string"));
  }
  return std::string(reinterpret_cast<const char*>(cbor_string_handle(item)),
                     cbor_string_length(item));
}

}  // namespace

size_t Manifest::SourceBytes() const {
  size_t total = 0;
  for (const auto& [name, source] : files) total += name.size() + source.size();
  return total;
}

absl::StatusOr<std::string> EncodeManifest(const Manifest& manifest) {
  if (absl::Status s = CheckText("engine", manifest.engine); !s.ok()) return s;
  if (absl::Status s = CheckText("main", manifest.main); !s.ok()) return s;
  absl::StatusOr<CborPtr> files = TextMap("files", manifest.files);
  if (!files.ok()) return files.status();
  absl::StatusOr<CborPtr> env = TextMap("env", manifest.env);
  if (!env.ok()) return env.status();
  absl::StatusOr<CborPtr> limits = CanonicalMap(
      "limits", manifest.limits, [](const std::string&, uint64_t value) -> absl::StatusOr<CborPtr> {
        return Unsigned(value);
      });
  if (!limits.ok()) return limits.status();
  absl::StatusOr<CborPtr> kv = TextMap("kv", manifest.kv);
  if (!kv.ok()) return kv.status();

  CborPtr engine = Text(manifest.engine);
  CborPtr main = Text(manifest.main);
  std::vector<std::pair<absl::string_view, cbor_item_t*>> fields = {
      {"env", env->get()},      {"main", main.get()},      {"files", files->get()},
      {"engine", engine.get()}, {"limits", limits->get()},
  };
  // Keys added after the first five are written only when not empty, so every version made
  // before them keeps its hash.
  if (!manifest.kv.empty()) fields.emplace_back("kv", kv->get());
  absl::StatusOr<CborPtr> crons = TextArray("crons", manifest.crons);
  if (!crons.ok()) return crons.status();
  if (!manifest.crons.empty()) fields.emplace_back("crons", crons->get());
  std::sort(fields.begin(), fields.end(),
            [](const auto& a, const auto& b) { return CanonicalKeyLess(a.first, b.first); });
  CborPtr root(cbor_new_definite_map(fields.size()));
  if (root == nullptr || engine == nullptr || main == nullptr) {
    return absl::ResourceExhaustedError("out of memory encoding manifest");
  }
  for (const auto& [name, value] : fields) {
    CborPtr key = Text(name);
    if (key == nullptr || !cbor_map_add(root.get(), cbor_pair{.key = key.get(), .value = value})) {
      return absl::ResourceExhaustedError("out of memory encoding manifest");
    }
  }

  unsigned char* buffer = nullptr;
  size_t capacity = 0;
  const size_t length = cbor_serialize_alloc(root.get(), &buffer, &capacity);
  std::unique_ptr<unsigned char, decltype(&std::free)> owned(buffer, &std::free);
  if (length == 0) return absl::ResourceExhaustedError("out of memory encoding manifest");
  return std::string(reinterpret_cast<const char*>(buffer), length);
}

absl::StatusOr<Manifest> DecodeManifest(absl::string_view cbor) {
  if (!HasManifestShape(cbor)) return Corrupt("not a CBOR map of text and unsigned integers");
  cbor_load_result result;
  CborPtr root(
      cbor_load(reinterpret_cast<const unsigned char*>(cbor.data()), cbor.size(), &result));
  if (root == nullptr || result.error.code != CBOR_ERR_NONE) return Corrupt("not valid CBOR");
  if (result.read != cbor.size()) return Corrupt("trailing bytes after the manifest");
  // Five required entries, plus "kv" and "crons" when they are not empty.
  if (!cbor_isa_map(root.get()) || !cbor_map_is_definite(root.get()) ||
      cbor_map_size(root.get()) < 5 || cbor_map_size(root.get()) > 7) {
    return Corrupt("top level is not a definite map of 5 to 7 entries");
  }
  Manifest manifest;
  bool seen[6] = {};
  const cbor_pair* pairs = cbor_map_handle(root.get());
  for (size_t i = 0; i < cbor_map_size(root.get()); ++i) {
    absl::StatusOr<std::string> key = TextOf(pairs[i].key, "a top-level key");
    if (!key.ok()) return key.status();
    const cbor_item_t* value = pairs[i].value;
    if (*key == "crons") {
      if (!cbor_isa_array(value) || !cbor_array_is_definite(value)) {
        return Corrupt("crons is not a definite array");
      }
      for (size_t j = 0; j < cbor_array_size(value); ++j) {
        absl::StatusOr<std::string> text = TextOf(cbor_array_handle(value)[j], "a cron");
        if (!text.ok()) return text.status();
        manifest.crons.push_back(*std::move(text));
      }
      continue;
    }
    if (*key == "engine" || *key == "main") {
      absl::StatusOr<std::string> text = TextOf(value, *key);
      if (!text.ok()) return text.status();
      (*key == "engine" ? manifest.engine : manifest.main) = *std::move(text);
      seen[*key == "engine" ? 0 : 1] = true;
      continue;
    }
    const int slot = *key == "files"    ? 2
                     : *key == "env"    ? 3
                     : *key == "limits" ? 4
                     : *key == "kv"     ? 5
                                        : -1;
    if (slot < 0) return Corrupt(absl::StrCat("unexpected key '", *key, "'"));
    seen[slot] = true;
    if (!cbor_isa_map(value) || !cbor_map_is_definite(value)) {
      return Corrupt(absl::StrCat(*key, " is not a definite map"));
    }
    const cbor_pair* entries = cbor_map_handle(value);
    for (size_t j = 0; j < cbor_map_size(value); ++j) {
      absl::StatusOr<std::string> name = TextOf(entries[j].key, absl::StrCat(*key, " key"));
      if (!name.ok()) return name.status();
      if (slot == 4) {
        if (!cbor_isa_uint(entries[j].value)) return Corrupt("a limit is not unsigned");
        manifest.limits[*name] = cbor_get_int(entries[j].value);
      } else {
        absl::StatusOr<std::string> text = TextOf(entries[j].value, *key);
        if (!text.ok()) return text.status();
        (slot == 2   ? manifest.files
         : slot == 3 ? manifest.env
                     : manifest.kv)[*name] = *std::move(text);
      }
    }
  }
  for (int slot = 0; slot < 5; ++slot) {
    if (!seen[slot]) return Corrupt("a required key is missing");
  }
  // Only canonical bytes are ever stored; anything else was not written by EncodeManifest().
  absl::StatusOr<std::string> canonical = EncodeManifest(manifest);
  if (!canonical.ok() || *canonical != cbor) return Corrupt("not in canonical form");
  return manifest;
}

std::string Sha256Hex(absl::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &digest_length, EVP_sha256(), nullptr);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), digest_length));
}

absl::StatusOr<std::string> ComputeVersion(const Manifest& manifest) {
  absl::StatusOr<std::string> cbor = EncodeManifest(manifest);
  if (!cbor.ok()) return cbor.status();
  return Sha256Hex(*cbor);
}

bool IsFullVersion(absl::string_view version) {
  return version.size() == 64 && std::all_of(version.begin(), version.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

}  // namespace cosmo
