// Shared by the ML tests: where the installed models and the repository's fixtures are, and the
// skip-or-fail rule for tests that need them.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#ifndef LIBROMIND_SOURCE_DIR
#define LIBROMIND_SOURCE_DIR "."
#endif

// In `make test` (LIBROMIND_REQUIRE_MODELS=1) a missing model or fixture fails the test instead
// of skipping it, so the parity checks cannot silently stop running.
#define LM_SKIP_OR_FAIL(msg)                       \
  do {                                             \
    if (std::getenv("LIBROMIND_REQUIRE_MODELS")) { \
      FAIL() << msg;                               \
    } else {                                       \
      GTEST_SKIP() << msg;                         \
    }                                              \
  } while (0)

namespace libromind::ml::testing {

// The repository root (LIBROMIND_SOURCE_DIR from the environment, else from the build).
inline std::string source_dir() {
  const char* env = std::getenv("LIBROMIND_SOURCE_DIR");
  return env != nullptr && *env != '\0' ? env : LIBROMIND_SOURCE_DIR;
}

// Where scripts/fetch-models.sh installs the models.
inline std::string model_root() {
  const char* env = std::getenv("LIBROMIND_MODEL_DIR");
  if (env != nullptr && *env != '\0') return env;
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : "") + "/.cache/libromind/models";
}

}  // namespace libromind::ml::testing
