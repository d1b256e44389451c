#include "http/request_framer.h"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <optional>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"

namespace cosmo::http {
namespace {

// Methods whose body cpp-httplib reads; the others are served (or refused) from the head alone.
bool MethodReadsBody(absl::string_view request_line) {
  for (absl::string_view m : {"POST ", "PUT ", "PATCH ", "DELETE "}) {
    if (absl::StartsWith(request_line, m)) return true;
  }
  return false;
}

struct BodyFraming {
  size_t content_lengths = 0;
  size_t transfer_encodings = 0;
  std::optional<size_t> content_length;  // when the one value is all digits and fits
  bool chunked = false;
  bool expect_continue = false;
};

// The header fields that decide framing, as cpp-httplib's parse_header splits a line: the name up
// to ':', the value with spaces and tabs trimmed.
void NoteHeader(absl::string_view line, BodyFraming* framing) {
  size_t colon = line.find(':');
  if (colon == absl::string_view::npos) return;
  absl::string_view name = line.substr(0, colon);
  absl::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (absl::EqualsIgnoreCase(name, "Content-Length")) {
    ++framing->content_lengths;
    size_t n = 0;
    bool digits = !value.empty() && value.size() <= 18;
    for (char c : value) {
      if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) digits = false;
      n = n * 10 + static_cast<size_t>(c - '0');
    }
    if (digits) framing->content_length = n;
  } else if (absl::EqualsIgnoreCase(name, "Transfer-Encoding")) {
    ++framing->transfer_encodings;
    framing->chunked = absl::EqualsIgnoreCase(value, "chunked");
  } else if (absl::EqualsIgnoreCase(name, "Expect")) {
    framing->expect_continue = value == "100-continue";
  }
}

// The end of a chunked body starting at `body`, read as cpp-httplib 0.11.4's read_content_chunked
// reads it; nullopt while incomplete; SIZE_MAX when the framing is for the parser to judge (it
// does not parse, or the body would be larger than `limit`).
std::optional<size_t> ChunkedEnd(absl::string_view body, size_t limit) {
  size_t pos = 0;
  auto next_line = [&](absl::string_view* line) {
    size_t lf = body.find('\n', pos);
    if (lf == absl::string_view::npos) return false;
    *line = body.substr(pos, lf + 1 - pos);
    pos = lf + 1;
    return true;
  };
  absl::string_view line;
  if (!next_line(&line)) return std::nullopt;
  for (;;) {
    std::string size_text(line.substr(0, 32));
    char* end = nullptr;
    errno = 0;
    unsigned long size = std::strtoul(size_text.c_str(), &end, 16);
    if (end == size_text.c_str() || size == ULONG_MAX || errno != 0) return SIZE_MAX;
    if (size == 0) break;
    if (size >= limit || pos + size >= limit) return SIZE_MAX;
    if (pos + size + 2 > body.size()) return std::nullopt;
    pos += size;
    if (!next_line(&line)) return std::nullopt;
    if (line != "\r\n") return pos;  // the library ends the body here
    if (!next_line(&line)) return std::nullopt;
  }
  if (!next_line(&line)) return std::nullopt;
  return line == "\r\n" ? pos : SIZE_MAX;
}

}  // namespace

Framing ScanRequest(absl::string_view buffered, const FramingLimits& limits) {
  Framing f;
  size_t first_lf = buffered.find('\n');
  if (first_lf == absl::string_view::npos) {
    if (buffered.size() > limits.max_head_bytes) f.status = Framing::Status::kHeadTooLarge;
    return f;
  }
  f.request_line_complete = true;
  absl::string_view request_line = buffered.substr(0, first_lf + 1);
  BodyFraming body;
  size_t pos = first_lf + 1;
  for (;;) {
    size_t lf = buffered.find('\n', pos);
    if (lf == absl::string_view::npos || lf + 1 > limits.max_head_bytes) {
      if (buffered.size() > limits.max_head_bytes) f.status = Framing::Status::kHeadTooLarge;
      if (pos < buffered.size()) ++f.header_lines;
      return f;
    }
    absl::string_view line = buffered.substr(pos, lf + 1 - pos);
    pos = lf + 1;
    if (line == "\r\n") break;
    ++f.header_lines;
    if (line.size() >= 2 && line[line.size() - 2] == '\r') {
      NoteHeader(line.substr(0, line.size() - 2), &body);
    }
  }
  f.head_bytes = pos;
  if (!MethodReadsBody(request_line)) {
    f.status = Framing::Status::kComplete;
    f.request_bytes = pos;
    return f;
  }
  if (body.expect_continue || body.content_lengths > 1 || body.transfer_encodings > 1 ||
      (body.content_lengths > 0 && body.transfer_encodings > 0)) {
    f.status = Framing::Status::kDispatchHead;
    return f;
  }
  absl::string_view rest = buffered.substr(pos);
  if (body.chunked) {
    std::optional<size_t> end =
        ChunkedEnd(rest.substr(0, limits.max_buffered_body_bytes), limits.max_buffered_body_bytes);
    if (end.has_value() && *end != SIZE_MAX) {
      f.status = Framing::Status::kComplete;
      f.request_bytes = pos + *end;
    } else {
      // Still arriving (an upload of unknown length, perhaps a long one): the function reads it
      // as it comes rather than the loop holding it back.
      f.status = Framing::Status::kDispatchHead;
    }
    return f;
  }
  if (body.transfer_encodings > 0 || (body.content_lengths > 0 && !body.content_length)) {
    f.status = Framing::Status::kDispatchHead;  // refused by the guard, from the head alone
    return f;
  }
  const size_t length = body.content_length.value_or(0);
  if (length > limits.max_buffered_body_bytes) {
    f.status = Framing::Status::kDispatchHead;
  } else if (rest.size() >= length) {
    f.status = Framing::Status::kComplete;
    f.request_bytes = pos + length;
  }
  return f;
}

}  // namespace cosmo::http
