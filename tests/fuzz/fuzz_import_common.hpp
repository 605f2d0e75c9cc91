// Shared body of the import fuzzers: feeds the bytes through RecordReader until it is exhausted
// and checks the invariants that must hold for any input. A broken invariant aborts, which
// libFuzzer reports as a crash with the input that caused it.
//
//   extern "C" int LLVMFuzzerTestOneInput(const uint8_t* d, size_t n) {
//     return libromind::fuzz::fuzz_import(d, n, libromind::catalog::Format::kCsv);
//   }
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>

#include "catalog/import_parser.hpp"

namespace libromind::fuzz {

inline void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
  }
}

inline int fuzz_import(const uint8_t* data, size_t size, catalog::Format format) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  auto reader = catalog::RecordReader::open(in, format, "fuzz");
  check(reader.ok(), "open fails on a readable stream");
  size_t records = 0;
  int64_t last_line = 0;
  while (auto rec = reader->next()) {
    // Every record consumes input, so the reader cannot loop forever.
    check(++records <= size + 1, "more records than input bytes");
    check(rec->line > last_line, "record lines increase");
    last_line = rec->line;
    if (rec->ok()) {
      // Normalisation is idempotent: a valid record stays valid and unchanged.
      catalog::BookRecord copy = rec->record();
      check(catalog::validate(copy).empty(), "a valid record validates again");
      check(copy.title == rec->record().title && copy.authors == rec->record().authors &&
                copy.genres == rec->record().genres && copy.isbn13 == rec->record().isbn13 &&
                copy.language == rec->record().language,
            "validate is idempotent");
      check(!copy.title.empty() && (!copy.id.empty() || copy.isbn13), "required fields present");
    } else {
      check(!rec->errors().empty(), "a failed record carries errors");
      check(rec->errors().size() <= catalog::kMaxErrorsPerRecord + 1, "errors are capped");
      for (const auto& e : rec->errors()) {
        check(e.line >= rec->line, "error lines are at or after the record start");
        check(!e.message.empty(), "errors have a message");
      }
    }
  }
  check(!reader->next().has_value(), "an exhausted reader stays exhausted");
  return 0;
}

}  // namespace libromind::fuzz
