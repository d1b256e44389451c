// An aligned text table for cosmoctl's human output: a header row, then rows, columns padded to
// their widest cell and separated by two spaces. Plain value type; thread-compatible.
#ifndef COSMO_HOSTS_COSMOCTL_TABLE_H_
#define COSMO_HOSTS_COSMOCTL_TABLE_H_

#include <string>
#include <vector>

namespace cosmoctl {

class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}

  void AddRow(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  bool empty() const { return rows_.empty(); }

  // The whole table, one line per row, each ending in '\n'. Trailing spaces are trimmed.
  std::string Render() const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace cosmoctl

#endif  // COSMO_HOSTS_COSMOCTL_TABLE_H_
