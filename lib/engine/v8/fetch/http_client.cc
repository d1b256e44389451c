#include "engine/v8/fetch/http_client.h"

#include <curl/curl.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace cosmo::v8engine {
namespace {

// Request headers the client decides itself: framing, the connection, and the host (which names
// the destination the policy checked).
bool IsHostControlledHeader(absl::string_view lower) {
  static constexpr absl::string_view kNames[] = {"host",
                                                 "content-length",
                                                 "transfer-encoding",
                                                 "connection",
                                                 "keep-alive",
                                                 "upgrade",
                                                 "expect",
                                                 "te",
                                                 "trailer",
                                                 "proxy-connection"};
  for (absl::string_view name : kNames) {
    if (lower == name) return true;
  }
  return absl::StartsWith(lower, "proxy-");
}

struct CurlUrl {
  CURLU* handle = curl_url();
  ~CurlUrl() { curl_url_cleanup(handle); }
  std::string Part(CURLUPart part, unsigned flags = 0) {
    char* value = nullptr;
    if (curl_url_get(handle, part, &value, flags) != CURLUE_OK || value == nullptr) return "";
    std::string out(value);
    curl_free(value);
    return out;
  }
};

// CURLOPT_SSL_CTX_FUNCTION: a new connection's TLS context verifies against the shared store.
CURLcode UseTrustStore(CURL* /*easy*/, void* ssl_ctx, void* store) {
  SSL_CTX_set1_cert_store(static_cast<SSL_CTX*>(ssl_ctx), static_cast<X509_STORE*>(store));
  return CURLE_OK;
}

}  // namespace

struct HttpClient::Transfer {
  const HttpClient* client = nullptr;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  std::string url;
  std::string host;
  bool allowed = false;
  std::string body;
  std::string refused;
  bool too_large = false;
  OutboundResponse response;
  char error[CURL_ERROR_SIZE] = {};

  ~Transfer() {
    if (easy != nullptr) curl_easy_cleanup(easy);
    curl_slist_free_all(headers);
  }

  static curl_socket_t OpenSocket(void* data, curlsocktype purpose, curl_sockaddr* address) {
    auto* self = static_cast<Transfer*>(data);
    if (!self->allowed) {
      std::optional<std::string> forbidden = DestinationPolicy::ForbiddenClass(&address->addr);
      if (forbidden.has_value()) {
        const std::string text = DestinationPolicy::AddressText(&address->addr);
        std::string what = self->host == text || self->host == absl::StrCat("[", text, "]")
                               ? absl::StrCat(self->host, " is a")
                               : absl::StrCat(self->host, " resolves to ", text, ", a");
        self->refused = absl::StrCat("fetch to ", self->url, " refused: ", what, " ", *forbidden,
                                     " address (the server's --fetch-allow can allow it)");
        return CURL_SOCKET_BAD;
      }
    }
    return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
  }

  static size_t OnHeader(char* data, size_t size, size_t count, void* user) {
    auto* self = static_cast<Transfer*>(user);
    size_t n = size * count;
    absl::string_view line(data, n);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    if (absl::StartsWith(line, "HTTP/")) {
      // A new status line (after an interim 1xx): start over.
      self->response.headers.clear();
      self->response.status_text.clear();
      size_t sp = line.find(' ');
      size_t sp2 = sp == absl::string_view::npos ? sp : line.find(' ', sp + 1);
      if (sp2 != absl::string_view::npos)
        self->response.status_text = std::string(line.substr(sp2 + 1));
      return n;
    }
    if (line.empty()) return n;
    if ((line[0] == ' ' || line[0] == '\t') && !self->response.headers.empty()) {
      absl::StrAppend(&self->response.headers.back().second, " ", absl::StripAsciiWhitespace(line));
      return n;
    }
    size_t colon = line.find(':');
    if (colon == absl::string_view::npos) return n;
    self->response.headers.emplace_back(
        absl::AsciiStrToLower(absl::StripTrailingAsciiWhitespace(line.substr(0, colon))),
        std::string(absl::StripAsciiWhitespace(line.substr(colon + 1))));
    return n;
  }

  static size_t OnBody(char* data, size_t size, size_t count, void* user) {
    auto* self = static_cast<Transfer*>(user);
    size_t n = size * count;
    if (self->response.body.size() + n > self->client->options_.max_response_bytes) {
      self->too_large = true;
      return 0;  // aborts the transfer with CURLE_WRITE_ERROR
    }
    self->response.body.append(data, n);
    return n;
  }
};

HttpClient::HttpClient(Options options) : options_(std::move(options)) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  multi_ = curl_multi_init();
}

HttpClient::~HttpClient() {
  for (auto& [id, transfer] : transfers_) {
    curl_multi_remove_handle(static_cast<CURLM*>(multi_), transfer->easy);
  }
  transfers_.clear();
  curl_multi_cleanup(static_cast<CURLM*>(multi_));
}

absl::StatusOr<uint64_t> HttpClient::Start(const OutboundRequest& request) {
  CurlUrl parsed;
  if (curl_url_set(parsed.handle, CURLUPART_URL, request.url.c_str(), 0) != CURLUE_OK) {
    return absl::InvalidArgumentError(absl::StrCat("fetch: invalid URL '", request.url, "'"));
  }
  std::string scheme = absl::AsciiStrToLower(parsed.Part(CURLUPART_SCHEME));
  if (scheme != "http" && scheme != "https") {
    return absl::InvalidArgumentError(absl::StrCat("fetch: unsupported URL scheme '", scheme,
                                                   ":' (only http: and https: are fetched)"));
  }
  auto transfer = std::make_unique<Transfer>();
  transfer->client = this;
  transfer->url = request.url;
  transfer->host = absl::AsciiStrToLower(parsed.Part(CURLUPART_HOST));
  int port = 0;
  std::string port_text = parsed.Part(CURLUPART_PORT, CURLU_DEFAULT_PORT);
  port = std::atoi(port_text.c_str());
  transfer->allowed = options_.policy != nullptr && options_.policy->Allows(transfer->host, port);

  CURL* easy = curl_easy_init();
  if (easy == nullptr) return absl::ResourceExhaustedError("fetch: out of memory");
  transfer->easy = easy;
  curl_easy_setopt(easy, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(easy, CURLOPT_PRIVATE, transfer.get());
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(easy, CURLOPT_PROXY, "");  // never a proxy from the environment
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, transfer->error);
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, &Transfer::OpenSocket);
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, transfer.get());
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &Transfer::OnHeader);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, transfer.get());
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &Transfer::OnBody);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, transfer.get());
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(options_.connect_timeout)));
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
  // No CA file or directory for libcurl to parse: every connection's TLS context shares the
  // store parsed once (UseTrustStore).
  curl_easy_setopt(easy, CURLOPT_CAINFO, static_cast<char*>(nullptr));
  curl_easy_setopt(easy, CURLOPT_CAPATH, static_cast<char*>(nullptr));
  curl_easy_setopt(easy, CURLOPT_SSL_CTX_FUNCTION, &UseTrustStore);
  curl_easy_setopt(easy, CURLOPT_SSL_CTX_DATA, options_.trust_store->get());
  if (request.deadline != absl::InfiniteFuture()) {
    int64_t ms = absl::ToInt64Milliseconds(request.deadline - absl::Now());
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(std::max<int64_t>(ms, 1)));
  }

  // Headers: "Name: value", or "Name;" for an empty value (curl's syntax for sending it empty).
  transfer->headers = curl_slist_append(transfer->headers, "Expect:");
  for (const auto& [name, value] : request.headers) {
    std::string lower = absl::AsciiStrToLower(name);
    if (IsHostControlledHeader(lower)) continue;
    if (name.find_first_of(":\r\n") != std::string::npos ||
        value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("fetch: invalid header '", name, "'"));
    }
    std::string line = value.empty() ? absl::StrCat(name, ";") : absl::StrCat(name, ": ", value);
    transfer->headers = curl_slist_append(transfer->headers, line.c_str());
  }
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, transfer->headers);

  if (request.method == "HEAD") {
    curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
  } else if (request.method != "GET" || request.has_body) {
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    if (request.has_body || request.method == "POST" || request.method == "PUT" ||
        request.method == "PATCH") {
      transfer->body = request.body;
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(transfer->body.size()));
      curl_easy_setopt(easy, CURLOPT_POSTFIELDS, transfer->body.data());
    }
  }

  if (curl_multi_add_handle(static_cast<CURLM*>(multi_), easy) != CURLM_OK) {
    return absl::InternalError("fetch: could not start the transfer");
  }
  uint64_t id = next_id_++;
  transfers_.emplace(id, std::move(transfer));
  return id;
}

void HttpClient::Cancel(uint64_t id) {
  auto it = transfers_.find(id);
  if (it == transfers_.end()) return;
  curl_multi_remove_handle(static_cast<CURLM*>(multi_), it->second->easy);
  transfers_.erase(it);
}

std::vector<std::pair<uint64_t, absl::StatusOr<OutboundResponse>>> HttpClient::Run(
    absl::Duration max_wait) {
  std::vector<std::pair<uint64_t, absl::StatusOr<OutboundResponse>>> done;
  auto* multi = static_cast<CURLM*>(multi_);
  auto collect = [&] {
    int running = 0;
    curl_multi_perform(multi, &running);
    int left = 0;
    while (CURLMsg* message = curl_multi_info_read(multi, &left)) {
      if (message->msg != CURLMSG_DONE) continue;
      Transfer* transfer = nullptr;
      curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, &transfer);
      auto it = std::find_if(transfers_.begin(), transfers_.end(),
                             [&](const auto& entry) { return entry.second.get() == transfer; });
      if (it == transfers_.end()) continue;
      const CURLcode code = message->data.result;
      absl::StatusOr<OutboundResponse> result;
      if (!transfer->refused.empty()) {
        result = absl::PermissionDeniedError(transfer->refused);
      } else if (transfer->too_large) {
        result = absl::ResourceExhaustedError(absl::StrCat("fetch to ", transfer->url,
                                                           ": the response body exceeds ",
                                                           options_.max_response_bytes, " bytes"));
      } else if (code == CURLE_OPERATION_TIMEDOUT) {
        result =
            absl::DeadlineExceededError(absl::StrCat("fetch to ", transfer->url, " timed out"));
      } else if (code != CURLE_OK) {
        const char* why = transfer->error[0] != '\0' ? transfer->error : curl_easy_strerror(code);
        result = absl::UnavailableError(absl::StrCat("fetch to ", transfer->url, " failed: ", why));
      } else {
        long status = 0;
        curl_easy_getinfo(transfer->easy, CURLINFO_RESPONSE_CODE, &status);
        transfer->response.status = static_cast<int>(status);
        result = std::move(transfer->response);
      }
      curl_multi_remove_handle(multi, transfer->easy);
      done.emplace_back(it->first, std::move(result));
      transfers_.erase(it);
    }
  };
  collect();
  if (!done.empty() || transfers_.empty()) return done;
  int64_t ms = absl::ToInt64Milliseconds(absl::Ceil(max_wait, absl::Milliseconds(1)));
  if (ms > 0) {
    int ready = 0;
    curl_multi_poll(multi, nullptr, 0, static_cast<int>(std::min<int64_t>(ms, 60'000)), &ready);
    collect();
  }
  return done;
}

}  // namespace cosmo::v8engine
