// Reads "EXPRESSION<TAB>START_SECONDS" lines on stdin and writes, for each, "ok" and the next
// five fire times in epoch seconds, or "error" and the parse error: the side of
// croniter_differential.py that runs our CronExpression.
#include <cstdint>
#include <iostream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "cron/cron_expression.h"

int main() {
  std::ios::sync_with_stdio(false);
  std::string line;
  std::string out;
  while (std::getline(std::cin, line)) {
    const size_t tab = line.rfind('\t');
    int64_t start = 0;
    if (tab == std::string::npos || !absl::SimpleAtoi(line.substr(tab + 1), &start)) {
      std::cerr << "cron_next_tool: malformed line: " << line << "\n";
      return 2;
    }
    absl::StatusOr<cosmo::CronExpression> cron =
        cosmo::CronExpression::Parse(absl::string_view(line).substr(0, tab));
    if (!cron.ok()) {
      absl::StrAppend(&out, "error ", cron.status().message(), "\n");
      continue;
    }
    out.append("ok");
    int64_t t = start * 1'000'000;
    for (int i = 0; i < 5; ++i) {
      t = cron->NextAfterMicros(t);
      out.append(" ").append(std::to_string(t / 1'000'000));
    }
    out.append("\n");
  }
  std::cout << out;
  return 0;
}
