#include "http/streamed_request_body.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "http/request_guard.h"

namespace cosmo::http {
namespace {

// A chunk-size line (with extensions) or a trailer line longer than this is malformed.
constexpr size_t kMaxFramingLine = 4096;
// All trailer lines together.
constexpr size_t kMaxTrailerBytes = 16 << 10;

// Why a read of the body's bytes returned none.
absl::Status ReadFailure(bool timed_out) {
  if (timed_out) return absl::DeadlineExceededError("the request body stopped arriving");
  return absl::UnavailableError("the client went away before the request body ended");
}

}  // namespace

StreamedRequestBody StreamedRequestBody::WithLength(ConnectionStream* stream, uint64_t length,
                                                    size_t limit) {
  StreamedRequestBody body(stream, length == 0 ? State::kDone : State::kLength, length, limit);
  if (length > limit) {
    body.Fail(absl::ResourceExhaustedError(BodyTooLargeMessage(limit))).IgnoreError();
  }
  return body;
}

StreamedRequestBody StreamedRequestBody::Chunked(ConnectionStream* stream, size_t limit) {
  return StreamedRequestBody(stream, State::kChunkSize, 0, limit);
}

absl::Status StreamedRequestBody::Fail(absl::Status error) {
  state_ = State::kFailed;
  error_ = std::move(error);
  return error_;
}

absl::StatusOr<char> StreamedRequestBody::ReadByte(absl::Duration wait) {
  char byte;
  bool timed_out = false;
  ssize_t n = stream_->ReadFor(&byte, 1, wait, &timed_out);
  if (n == 1) return byte;
  return ReadFailure(timed_out);
}

absl::Status StreamedRequestBody::ReadLine(std::string* line, absl::Duration wait) {
  const absl::Time deadline = absl::Now() + wait;
  line->clear();
  for (;;) {
    absl::StatusOr<char> byte = ReadByte(std::max(deadline - absl::Now(), absl::Milliseconds(1)));
    if (!byte.ok()) return byte.status();
    if (*byte == '\n') break;
    if (line->size() >= kMaxFramingLine) {
      return absl::InvalidArgumentError("a chunk-size or trailer line of the request is too long");
    }
    line->push_back(*byte);
  }
  if (!line->empty() && line->back() == '\r') line->pop_back();
  return absl::OkStatus();
}

absl::StatusOr<std::string> StreamedRequestBody::ReadData(size_t max, absl::Duration wait) {
  std::string data(static_cast<size_t>(std::min<uint64_t>(max, remaining_)), '\0');
  bool timed_out = false;
  ssize_t n = stream_->ReadFor(data.data(), data.size(), wait, &timed_out);
  if (n <= 0) return ReadFailure(timed_out);
  data.resize(static_cast<size_t>(n));
  remaining_ -= data.size();
  bytes_read_ += data.size();
  return data;
}

absl::StatusOr<std::string> StreamedRequestBody::Read(size_t max, absl::Duration wait) {
  const absl::Time deadline = absl::Now() + wait;
  auto left = [&] { return std::max(deadline - absl::Now(), absl::Milliseconds(1)); };
  std::string line;
  for (;;) {
    switch (state_) {
      case State::kDone:
        return std::string();
      case State::kFailed:
        return error_;
      case State::kLength: {
        absl::StatusOr<std::string> data = ReadData(max, left());
        if (!data.ok()) return Fail(data.status());
        if (remaining_ == 0) state_ = State::kDone;
        return data;
      }
      case State::kChunkSize: {
        if (absl::Status s = ReadLine(&line, left()); !s.ok()) return Fail(s);
        absl::string_view size_text = line;
        size_text = size_text.substr(0, size_text.find(';'));
        size_text = absl::StripAsciiWhitespace(size_text);
        uint64_t size = 0;
        if (size_text.empty() || size_text.size() > 16 || !absl::SimpleHexAtoi(size_text, &size)) {
          return Fail(absl::InvalidArgumentError(
              absl::StrCat("the request's chunked body has a malformed chunk size '",
                           absl::CHexEscape(line.substr(0, 32)), "'")));
        }
        if (size == 0) {
          state_ = State::kTrailers;
          break;
        }
        if (size > limit_ - std::min<uint64_t>(bytes_read_, limit_)) {
          return Fail(absl::ResourceExhaustedError(BodyTooLargeMessage(limit_)));
        }
        remaining_ = size;
        state_ = State::kChunkData;
        break;
      }
      case State::kChunkData: {
        absl::StatusOr<std::string> data = ReadData(max, left());
        if (!data.ok()) return Fail(data.status());
        if (remaining_ == 0) state_ = State::kChunkEnd;
        return data;
      }
      case State::kChunkEnd:
        if (absl::Status s = ReadLine(&line, left()); !s.ok()) return Fail(s);
        if (!line.empty()) {
          return Fail(absl::InvalidArgumentError(
              "the request's chunked body has data beyond a chunk's declared size"));
        }
        state_ = State::kChunkSize;
        break;
      case State::kTrailers: {
        size_t trailer_bytes = 0;
        do {
          if (absl::Status s = ReadLine(&line, left()); !s.ok()) return Fail(s);
          trailer_bytes += line.size();
          if (trailer_bytes > kMaxTrailerBytes) {
            return Fail(absl::InvalidArgumentError("the request's chunked trailers are too long"));
          }
        } while (!line.empty());
        state_ = State::kDone;
        return std::string();
      }
    }
  }
}

}  // namespace cosmo::http
