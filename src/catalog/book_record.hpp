// One catalogue record as read from an import file (JSON Lines or CSV), before it is written.
// Field names follow ../shared/data/books/README.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace libromind::catalog {

struct BookRecord {
  std::string id;                     // public id, e.g. "pg-1342"; may be empty when isbn13 is set
  std::string title;                  // required, 1..1000 chars
  std::vector<std::string> authors;   // "Last, First"; may be empty
  std::string description;            // may be empty, at most 20,000 chars
  std::vector<std::string> genres;    // may be empty
  std::optional<int32_t> year;        // -5000..2100
  std::optional<std::string> isbn13;  // 13 digits with a valid check digit (hyphens stripped)
  std::optional<int32_t> pages;       // 1..100,000
  std::optional<double> rating;       // 0..5
  int64_t downloads = 0;              // popularity, >= 0
  std::optional<std::string> language;   // lower-case code, 2..8 chars [a-z-]
  std::optional<std::string> cover_url;  // http(s) URL, at most 2,000 chars
  std::optional<int64_t> price_cents;    // >= 0; synthetic when absent (catalog/pricing.hpp)
  std::optional<std::string> currency;   // ISO 4217, 3 upper-case letters; "USD" when absent
  std::optional<int64_t> stock;          // >= 0; synthetic when absent
  std::optional<std::string> source;     // free text, at most 100 chars
};

}  // namespace libromind::catalog
