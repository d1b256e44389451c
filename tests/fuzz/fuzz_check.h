// FUZZ_CHECK(cond): abort with a message when an invariant a fuzz target checks is broken, so
// libFuzzer records the input (and the corpus replay fails).
#ifndef COSMO_TESTS_FUZZ_FUZZ_CHECK_H_
#define COSMO_TESTS_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond)                                                                \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)

#endif  // COSMO_TESTS_FUZZ_FUZZ_CHECK_H_
