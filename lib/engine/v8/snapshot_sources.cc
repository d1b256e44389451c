#include "engine/v8/snapshot_sources.h"

#include <algorithm>

#include "engine/v8/natives.h"

namespace cosmo::v8engine {

// A script's bytes, shared by every isolate of the engine. V8 calls Dispose() when a string over
// it dies or its isolate is torn down; the resource belongs to SnapshotSources, so that does
// nothing.
class SnapshotSources::Resource final : public v8::String::ExternalOneByteStringResource {
 public:
  explicit Resource(const std::string& text) : text_(text) {}
  const char* data() const override { return text_.data(); }
  size_t length() const override { return text_.size(); }

 protected:
  void Dispose() override {}

 private:
  const std::string& text_;
};

SnapshotSources::SnapshotSources(std::vector<std::string> scripts) : scripts_(std::move(scripts)) {
  for (const intptr_t* reference = Natives::ExternalReferences(); *reference != 0; ++reference) {
    references_.push_back(*reference);
  }
  for (const std::string& script : scripts_) {
    const bool ascii = std::all_of(script.begin(), script.end(),
                                   [](char c) { return static_cast<unsigned char>(c) < 0x80; });
    resources_.push_back(ascii ? std::make_unique<Resource>(script) : nullptr);
    if (ascii) references_.push_back(reinterpret_cast<intptr_t>(resources_.back().get()));
  }
  references_.push_back(0);
}

SnapshotSources::~SnapshotSources() = default;

v8::MaybeLocal<v8::String> SnapshotSources::Source(v8::Isolate* isolate, size_t i) const {
  if (resources_[i] != nullptr) return v8::String::NewExternalOneByte(isolate, resources_[i].get());
  const std::string& text = scripts_[i];
  return v8::String::NewFromUtf8(isolate, text.data(), v8::NewStringType::kNormal,
                                 static_cast<int>(text.size()));
}

}  // namespace cosmo::v8engine
