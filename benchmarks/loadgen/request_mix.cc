#include "loadgen/request_mix.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace cosmo::loadgen {
namespace {

std::string HostHeader(const LoadOptions& options) {
  const bool v6 = options.host.find(':') != std::string::npos;
  return v6 ? absl::StrCat("[", options.host, "]:", options.port)
            : absl::StrCat(options.host, ":", options.port);
}

RequestMix::Request Render(const LoadOptions& options, const TargetSpec& target) {
  RequestMix::Request request;
  request.head = target.method == "HEAD";
  std::string& w = request.wire;
  absl::StrAppend(&w, target.method, " ", target.path, " HTTP/1.1\r\nHost: ", HostHeader(options),
                  "\r\n");
  if (!options.keep_alive) w += "Connection: close\r\n";
  for (const std::string& header : options.headers) absl::StrAppend(&w, header, "\r\n");
  const bool wants_length = !target.body.empty() || target.method == "POST" ||
                            target.method == "PUT" || target.method == "PATCH";
  if (!target.content_type.empty())
    absl::StrAppend(&w, "Content-Type: ", target.content_type, "\r\n");
  if (wants_length) absl::StrAppend(&w, "Content-Length: ", target.body.size(), "\r\n");
  absl::StrAppend(&w, "\r\n", target.body);
  return request;
}

}  // namespace

RequestMix::RequestMix(const LoadOptions& options) {
  std::vector<double> weights;
  if (options.zipf_families > 0) {
    TargetSpec target;
    for (int k = 0; k < options.zipf_families; ++k) {
      target.path = absl::StrReplaceAll(options.zipf_pattern, {{"{}", absl::StrCat(k)}});
      requests_.push_back(Render(options, target));
      weights.push_back(1.0 / std::pow(static_cast<double>(k + 1), options.zipf_s));
    }
  } else {
    for (const TargetSpec& target : options.targets) {
      requests_.push_back(Render(options, target));
      weights.push_back(target.weight);
    }
  }
  if (requests_.size() > 1) {
    double total = 0;
    for (double w : weights) total += w;
    double sum = 0;
    for (double w : weights) {
      sum += w;
      cumulative_.push_back(sum / total);
    }
    cumulative_.back() = 1.0;
  }
}

const RequestMix::Request& RequestMix::Pick(Random& random) const {
  if (cumulative_.empty()) return requests_.front();
  const double u = random.NextDouble();
  const size_t i = static_cast<size_t>(std::upper_bound(cumulative_.begin(), cumulative_.end(), u) -
                                       cumulative_.begin());
  return requests_[std::min(i, requests_.size() - 1)];
}

}  // namespace cosmo::loadgen
