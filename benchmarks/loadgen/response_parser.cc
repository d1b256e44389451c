#include "loadgen/response_parser.h"

#include <algorithm>
#include <cstring>
#include <string_view>

namespace cosmo::loadgen {
namespace {

// A response head larger than this is treated as an error rather than buffered without bound.
constexpr size_t kMaxHeadBytes = 64 * 1024;

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

bool ContainsTokenIgnoreCase(std::string_view value, std::string_view token) {
  size_t start = 0;
  while (start <= value.size()) {
    size_t end = value.find(',', start);
    if (end == std::string_view::npos) end = value.size();
    std::string_view item = value.substr(start, end - start);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (EqualsIgnoreCase(item, token)) return true;
    start = end + 1;
  }
  return false;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

void ResponseParser::Reset(bool head_request) {
  state_ = State::kIncomplete;
  phase_ = Phase::kHead;
  head_request_ = head_request;
  status_ = 0;
  close_after_ = false;
  remaining_ = 0;
  line_.clear();
  error_.clear();
}

void ResponseParser::Fail(std::string message) {
  state_ = State::kError;
  error_ = std::move(message);
}

void ResponseParser::Complete() { state_ = State::kComplete; }

size_t ResponseParser::Feed(const char* data, size_t size) {
  size_t used = 0;
  while (used < size && state_ == State::kIncomplete) {
    const char* p = data + used;
    const size_t left = size - used;
    switch (phase_) {
      case Phase::kHead: {
        // Accumulate until the blank line that ends the head. The common case — the whole head
        // in one read — still copies once, which is cheap next to the syscall that brought it.
        const size_t before = line_.size();
        line_.append(p, left);
        size_t end = line_.find("\r\n\r\n", before >= 3 ? before - 3 : 0);
        if (end == std::string::npos) {
          if (line_.size() > kMaxHeadBytes) Fail("response head over 64 KiB");
          used = size;
          break;
        }
        const size_t head_len = end + 4;
        used += head_len - before;
        line_.resize(head_len);
        if (!ParseHead()) break;
        line_.clear();
        break;
      }
      case Phase::kBody: {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, left));
        remaining_ -= n;
        used += n;
        if (remaining_ == 0) Complete();
        break;
      }
      case Phase::kUntilEof:
        used = size;
        break;
      case Phase::kChunkSize:
      case Phase::kChunkDataEnd:
      case Phase::kTrailers: {
        const void* nl = std::memchr(p, '\n', left);
        const size_t n = nl ? static_cast<size_t>(static_cast<const char*>(nl) - p) + 1 : left;
        line_.append(p, n);
        used += n;
        if (line_.size() > kMaxHeadBytes) {
          Fail("chunk line over 64 KiB");
          break;
        }
        if (!nl) break;
        std::string_view line(line_);
        line.remove_suffix(1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (phase_ == Phase::kChunkSize) {
          if (!ParseChunkSizeLine()) break;
        } else if (phase_ == Phase::kChunkDataEnd) {
          if (!line.empty()) {
            Fail("chunk data not followed by CRLF");
            break;
          }
          phase_ = Phase::kChunkSize;
        } else if (line.empty()) {
          Complete();
        }
        line_.clear();
        break;
      }
      case Phase::kChunkData: {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, left));
        remaining_ -= n;
        used += n;
        if (remaining_ == 0) phase_ = Phase::kChunkDataEnd;
        break;
      }
    }
  }
  return used;
}

bool ResponseParser::ParseChunkSizeLine() {
  std::string_view line(line_);
  line = Trim(line.substr(0, line.find_first_of(";\r\n")));
  if (line.empty() || line.size() > 15) {
    Fail("bad chunk size line");
    return false;
  }
  uint64_t size = 0;
  for (char c : line) {
    int digit;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      digit = c - 'A' + 10;
    } else {
      Fail("bad chunk size");
      return false;
    }
    size = size * 16 + static_cast<uint64_t>(digit);
  }
  if (size == 0) {
    phase_ = Phase::kTrailers;
  } else {
    remaining_ = size;
    phase_ = Phase::kChunkData;
  }
  return true;
}

bool ResponseParser::ParseHead() {
  std::string_view head(line_);
  size_t eol = head.find("\r\n");
  std::string_view status_line = head.substr(0, eol);
  // "HTTP/1.x NNN reason"
  if (status_line.size() < 12 || status_line.substr(0, 7) != "HTTP/1." || status_line[8] != ' ') {
    Fail("not an HTTP/1.x status line");
    return false;
  }
  const bool http10 = status_line[7] == '0';
  int status = 0;
  for (int i = 9; i < 12; ++i) {
    const char c = status_line[i];
    if (c < '0' || c > '9') {
      Fail("bad status code");
      return false;
    }
    status = status * 10 + (c - '0');
  }
  status_ = status;
  close_after_ = http10;

  bool has_length = false;
  bool chunked = false;
  uint64_t length = 0;
  size_t pos = eol + 2;
  while (pos < head.size()) {
    size_t next = head.find("\r\n", pos);
    if (next == std::string_view::npos || next == pos) break;
    std::string_view field = head.substr(pos, next - pos);
    pos = next + 2;
    const size_t colon = field.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = field.substr(0, colon);
    std::string_view value = Trim(field.substr(colon + 1));
    if (EqualsIgnoreCase(name, "content-length")) {
      length = 0;
      if (value.empty() || value.size() > 18) {
        Fail("bad Content-Length");
        return false;
      }
      for (char c : value) {
        if (c < '0' || c > '9') {
          Fail("bad Content-Length");
          return false;
        }
        length = length * 10 + static_cast<uint64_t>(c - '0');
      }
      has_length = true;
    } else if (EqualsIgnoreCase(name, "transfer-encoding")) {
      chunked = ContainsTokenIgnoreCase(value, "chunked");
    } else if (EqualsIgnoreCase(name, "connection")) {
      if (ContainsTokenIgnoreCase(value, "close")) close_after_ = true;
      if (ContainsTokenIgnoreCase(value, "keep-alive")) close_after_ = false;
    }
  }

  if (head_request_ || status_ / 100 == 1 || status_ == 204 || status_ == 304) {
    Complete();
  } else if (chunked) {
    phase_ = Phase::kChunkSize;
  } else if (has_length) {
    remaining_ = length;
    phase_ = Phase::kBody;
    if (length == 0) Complete();
  } else {
    // No length: the body runs to the end of the connection.
    close_after_ = true;
    phase_ = Phase::kUntilEof;
  }
  return true;
}

void ResponseParser::FeedEof() {
  if (state_ != State::kIncomplete) return;
  if (phase_ == Phase::kUntilEof) {
    Complete();
  } else {
    Fail(phase_ == Phase::kHead && line_.empty() ? "connection closed before a response"
                                                 : "connection closed mid-response");
  }
}

}  // namespace cosmo::loadgen
