// The catalogue's read model: what the service returns for books, authors and genres.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace libromind::catalog {

struct AuthorRef {
  int64_t id = 0;
  std::string name;
};

struct Book {
  std::string id;  // public catalogue id ("pg-1342")
  int64_t pk = 0;  // books.id, for joining with derived data; never shown
  std::string title;
  std::vector<AuthorRef> authors;
  std::vector<std::string> genres;
  std::optional<std::string> language;
  std::optional<int64_t> year;
  std::optional<double> rating;
  int64_t popularity = 0;
  std::optional<std::string> cover_url;
  int64_t price_cents = 0;
  std::string currency;
  int64_t stock = 0;
  // Detail-only fields (filled by get_book, left empty in lists).
  bool detailed = false;
  std::string description;
  std::optional<std::string> isbn13;
  std::optional<int64_t> pages;
  std::optional<std::string> source;
  int64_t change_seq = 0;
  std::string created_at;
  std::string updated_at;
};

enum class SortKey { kPopularity, kTitle, kYear, kPrice, kRating };
enum class SortOrder { kAsc, kDesc };

struct BookQuery {
  std::optional<std::string> q;         // substring of title or author names, case-insensitive
  std::optional<std::string> genre;     // exact genre name
  std::optional<int64_t> author;        // author id
  std::optional<std::string> language;  // language code
  std::optional<int64_t> year_min, year_max;
  std::optional<int64_t> price_min, price_max;  // cents
  std::optional<bool> in_stock;
  SortKey sort = SortKey::kPopularity;
  std::optional<SortOrder> order;  // default depends on the sort key
  int limit = 20;                  // 1..100
  std::optional<std::string> cursor;
};

struct BookPage {
  std::vector<Book> items;
  bool has_more = false;
  std::optional<std::string> next_cursor;
};

struct Genre {
  int64_t id = 0;
  std::string name;
  int64_t book_count = 0;
};

struct GenrePage {
  std::vector<Genre> items;
  bool has_more = false;
  std::optional<std::string> next_cursor;
};

struct AuthorDetail {
  int64_t id = 0;
  std::string name;
  int64_t book_count = 0;
  BookPage books;
};

bool parse_sort_key(std::string_view s, SortKey& out);
bool parse_sort_order(std::string_view s, SortOrder& out);
SortOrder default_order(SortKey key);

}  // namespace libromind::catalog
