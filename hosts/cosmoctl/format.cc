#include "format.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/reflection.h>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"

namespace cosmoctl {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

absl::Time ToTime(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

nlohmann::ordered_json FieldValue(const Message& message, const FieldDescriptor* field, int index) {
  const Reflection* r = message.GetReflection();
  const bool repeated = field->is_repeated();
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return repeated ? r->GetRepeatedInt32(message, field, index) : r->GetInt32(message, field);
    case FieldDescriptor::CPPTYPE_INT64:
      return repeated ? r->GetRepeatedInt64(message, field, index) : r->GetInt64(message, field);
    case FieldDescriptor::CPPTYPE_UINT32:
      return repeated ? r->GetRepeatedUInt32(message, field, index) : r->GetUInt32(message, field);
    case FieldDescriptor::CPPTYPE_UINT64:
      return repeated ? r->GetRepeatedUInt64(message, field, index) : r->GetUInt64(message, field);
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return repeated ? r->GetRepeatedDouble(message, field, index) : r->GetDouble(message, field);
    case FieldDescriptor::CPPTYPE_FLOAT:
      return repeated ? r->GetRepeatedFloat(message, field, index) : r->GetFloat(message, field);
    case FieldDescriptor::CPPTYPE_BOOL:
      return repeated ? r->GetRepeatedBool(message, field, index) : r->GetBool(message, field);
    case FieldDescriptor::CPPTYPE_ENUM:
      return repeated ? r->GetRepeatedEnum(message, field, index)->name()
                      : r->GetEnum(message, field)->name();
    case FieldDescriptor::CPPTYPE_STRING:
      return repeated ? r->GetRepeatedString(message, field, index) : r->GetString(message, field);
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      const Message& sub =
          repeated ? r->GetRepeatedMessage(message, field, index) : r->GetMessage(message, field);
      if (sub.GetDescriptor()->full_name() == "google.protobuf.Timestamp") {
        if (!repeated && !r->HasField(message, field)) return nullptr;
        return Rfc3339(static_cast<const google::protobuf::Timestamp&>(sub));
      }
      return ToJson(sub);
    }
  }
  return nullptr;
}

}  // namespace

std::string ShortVersion(const std::string& version) {
  if (version.empty()) return "-";
  return version.substr(0, 12);
}

std::string HumanBytes(uint64_t bytes) {
  if (bytes < 1024) return absl::StrFormat("%d B", bytes);
  const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes) / 1024;
  int unit = 0;
  while (value >= 1024 && unit < 3) {
    value /= 1024;
    ++unit;
  }
  return absl::StrFormat(value < 10 ? "%.1f %s" : "%.0f %s", value, units[unit]);
}

std::string HumanMicros(uint64_t micros) {
  if (micros < 1000) return absl::StrFormat("%d µs", micros);
  if (micros < 1000000) return absl::StrFormat("%.1f ms", static_cast<double>(micros) / 1e3);
  return absl::StrFormat("%.2f s", static_cast<double>(micros) / 1e6);
}

std::string HumanTime(const google::protobuf::Timestamp& time) {
  if (time.seconds() == 0 && time.nanos() == 0) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S", ToTime(time), absl::LocalTimeZone());
}

std::string Rfc3339(const google::protobuf::Timestamp& time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", ToTime(time), absl::UTCTimeZone());
}

nlohmann::ordered_json ToJson(const Message& message) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  const Reflection* r = message.GetReflection();
  const auto* descriptor = message.GetDescriptor();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    if (field->is_map()) {
      nlohmann::ordered_json map = nlohmann::ordered_json::object();
      const FieldDescriptor* key = field->message_type()->map_key();
      const FieldDescriptor* value = field->message_type()->map_value();
      for (int j = 0; j < r->FieldSize(message, field); ++j) {
        const Message& entry = r->GetRepeatedMessage(message, field, j);
        map[entry.GetReflection()->GetString(entry, key)] = FieldValue(entry, value, -1);
      }
      out[field->name()] = std::move(map);
    } else if (field->is_repeated()) {
      nlohmann::ordered_json list = nlohmann::ordered_json::array();
      for (int j = 0; j < r->FieldSize(message, field); ++j) {
        list.push_back(FieldValue(message, field, j));
      }
      out[field->name()] = std::move(list);
    } else if (field->has_presence() && !r->HasField(message, field) &&
               field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
      out[field->name()] = nullptr;
    } else {
      out[field->name()] = FieldValue(message, field, -1);
    }
  }
  return out;
}

}  // namespace cosmoctl
