// Result<T>: a value or an Error, returned across module boundaries (in the spirit of
// absl::StatusOr). Errors carry a stable code that http/ maps to a status and problem type.
//
//   core::Result<Book> r = catalog.get_book("pg-84");
//   if (!r) { return to_problem(r.error()); }
//   use(*r);
#pragma once

#include <cassert>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace libromind::core {

enum class ErrorCode {
  kInvalidArgument,       // bad input from a caller (400)
  kNotFound,              // no such object (404)
  kUnauthenticated,       // no valid credentials (401)
  kForbidden,             // authenticated, but not allowed (403)
  kConflict,              // state does not allow it (409)
  kUnprocessable,         // well-formed, but cannot be processed as asked (422)
  kPaymentRequired,       // the payment was declined (402)
  kTooManyRequests,       // throttled; retry after `retry_after_seconds` (429)
  kPayloadTooLarge,       // body or field over a limit (413)
  kUnsupportedMediaType,  // a body in a format the route does not take (415)
  kUnavailable,           // a dependency is down or overloaded, retry later (503)
  kInternal,              // a bug or an unexpected failure (500)
};

const char* to_string(ErrorCode code);

struct Error {
  Error() = default;
  Error(ErrorCode c, std::string m, std::string f = {})
      : code(c), message(std::move(m)), field(std::move(f)) {}

  ErrorCode code = ErrorCode::kInternal;
  std::string message;  // human readable, safe to show to the caller
  std::string field;    // the offending input field, when there is one
  // A more specific problem type than the code's default ("out-of-stock"), when there is one.
  std::string type;
  int64_t retry_after_seconds = 0;  // for kTooManyRequests / kUnavailable

  static Error make(ErrorCode code, std::string message, std::string type = {}) {
    Error e(code, std::move(message));
    e.type = std::move(type);
    return e;
  }

  static Error invalid(std::string message, std::string field = {}) {
    return {ErrorCode::kInvalidArgument, std::move(message), std::move(field)};
  }
  static Error not_found(std::string message) {
    return {ErrorCode::kNotFound, std::move(message), {}};
  }
  static Error unavailable(std::string message) {
    return {ErrorCode::kUnavailable, std::move(message), {}};
  }
  static Error internal(std::string message) {
    return {ErrorCode::kInternal, std::move(message), {}};
  }
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : e_(std::move(error)) {}  // NOLINT
  bool ok() const { return !e_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const { return *e_; }

 private:
  std::optional<Error> e_;
};

inline Result<void> ok() { return {}; }

}  // namespace libromind::core

// Propagates an error from an expression returning Result<...>.
#define LM_TRY(expr)                          \
  do {                                        \
    auto lm_try_r_ = (expr);                  \
    if (!lm_try_r_) return lm_try_r_.error(); \
  } while (0)

#define LM_CONCAT_INNER(a, b) a##b
#define LM_CONCAT(a, b) LM_CONCAT_INNER(a, b)
// Declares `decl` from the value of a Result<T> expression, or returns its error.
#define LM_ASSIGN_OR_RETURN(decl, expr) \
  LM_ASSIGN_OR_RETURN_IMPL(LM_CONCAT(lm_r_, __LINE__), decl, expr)
#define LM_ASSIGN_OR_RETURN_IMPL(tmp, decl, expr) \
  auto tmp = (expr);                              \
  if (!tmp) return tmp.error();                   \
  decl = std::move(tmp).value()
