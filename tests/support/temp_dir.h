// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
#ifndef COSMO_TESTS_SUPPORT_TEMP_DIR_H_
#define COSMO_TESTS_SUPPORT_TEMP_DIR_H_

#include <string>

namespace cosmo::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace cosmo::testing

#endif  // COSMO_TESTS_SUPPORT_TEMP_DIR_H_
