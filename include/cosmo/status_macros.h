// Status propagation macros.
//
// Debian's Abseil (20220623) ships no status_macros.h, so CosmoCompute keeps its own two macros
// here and nowhere else. Both evaluate their argument exactly once.
//
//   COSMO_RETURN_IF_ERROR(store->Put(key, value));
//   COSMO_ASSIGN_OR_RETURN(Manifest m, DecodeManifest(bytes));
#ifndef COSMO_STATUS_MACROS_H_
#define COSMO_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define COSMO_STATUS_CONCAT_INNER_(a, b) a##b
#define COSMO_STATUS_CONCAT_(a, b) COSMO_STATUS_CONCAT_INNER_(a, b)

// Returns the status from the enclosing function when `expr` is not OK.
#define COSMO_RETURN_IF_ERROR(expr)                \
  do {                                             \
    ::absl::Status cosmo_status_ = (expr);         \
    if (!cosmo_status_.ok()) return cosmo_status_; \
  } while (0)

// Evaluates `rexpr` (an absl::StatusOr<T>); on error returns its status, otherwise moves the
// value into `lhs`, which may be a declaration. Expands to several statements: brace it when it
// is the body of an `if`.
#define COSMO_ASSIGN_OR_RETURN(lhs, rexpr) \
  COSMO_ASSIGN_OR_RETURN_IMPL_(COSMO_STATUS_CONCAT_(cosmo_statusor_, __LINE__), lhs, rexpr)

#define COSMO_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                 \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

#endif  // COSMO_STATUS_MACROS_H_
