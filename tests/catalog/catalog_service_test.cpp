// What a shopper sees when browsing the catalogue: pages that walk the whole catalogue without
// gaps or repeats in every sort order, filters that match what they say, detail pages with every
// field. Runs on SQLite always and on PostgreSQL when LIBROMIND_TEST_PG_URL is set; each test
// gets a fresh, migrated database with the 200-book sample (or a small fixture) imported.
#include "catalog/catalog_service.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "../store/test_stores.hpp"
#include "catalog/importer.hpp"
#include "core/text.hpp"
#include "store/migrations.hpp"

namespace libromind::catalog {
namespace {

using store::testing::Backend;
using store::testing::TestDatabase;

const std::string kSample = LIBROMIND_SOURCE_DIR "/../shared/data/books/sample-200.jsonl";
const std::string kSmall = LIBROMIND_SOURCE_DIR "/tests/catalog/data/small.jsonl";

// One record of an import file, as the test expects to see it in the catalogue.
struct Expected {
  std::string id;
  std::string title;
  std::vector<std::string> authors;
  std::vector<std::string> genres;
  int64_t downloads = 0;
  int64_t price_cents = 0;
  int64_t stock = 0;
};

std::vector<Expected> read_expected(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<Expected> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) {
      continue;
    }
    auto j = nlohmann::json::parse(line);
    Expected e;
    e.id = j["id"].get<std::string>();
    e.title = j["title"].get<std::string>();
    e.authors = j["authors"].get<std::vector<std::string>>();
    e.genres = j["genres"].get<std::vector<std::string>>();
    e.downloads = j["downloads"].get<int64_t>();
    e.price_cents =
        j.contains("price_cents") ? j["price_cents"].get<int64_t>() : synthetic_price_cents(e.id);
    e.stock = j.contains("stock") ? j["stock"].get<int64_t>() : synthetic_stock(e.id);
    out.push_back(std::move(e));
  }
  return out;
}

BookQuery limited(int limit) {
  BookQuery q;
  q.limit = limit;
  return q;
}

std::string lower(std::string s) { return core::to_lower_ascii(s); }

// What the `q` filter promises: a case-insensitive substring of the title or of an author name.
bool matches_q(const Expected& e, const std::string& q) {
  const std::string needle = lower(q);
  if (lower(e.title).find(needle) != std::string::npos) {
    return true;
  }
  return std::any_of(e.authors.begin(), e.authors.end(), [&](const std::string& a) {
    return lower(a).find(needle) != std::string::npos;
  });
}

std::set<std::string> ids_where(const std::vector<Expected>& all,
                                const std::function<bool(const Expected&)>& pred) {
  std::set<std::string> out;
  for (const auto& e : all) {
    if (pred(e)) {
      out.insert(e.id);
    }
  }
  return out;
}

std::vector<std::string> ids_of(const std::vector<Book>& books) {
  std::vector<std::string> out;
  for (const auto& b : books) {
    out.push_back(b.id);
  }
  return out;
}

std::set<std::string> id_set(const std::vector<Book>& books) {
  std::set<std::string> out;
  for (const auto& b : books) {
    out.insert(b.id);
  }
  return out;
}

const char* key_name(SortKey k) {
  switch (k) {
    case SortKey::kPopularity:
      return "popularity";
    case SortKey::kTitle:
      return "title";
    case SortKey::kYear:
      return "year";
    case SortKey::kPrice:
      return "price";
    case SortKey::kRating:
      return "rating";
  }
  return "?";
}

// Checks that `books` are in `order` by `key`, with missing years and ratings last.
void expect_sorted(const std::vector<Book>& books, SortKey key, SortOrder order) {
  const bool desc = order == SortOrder::kDesc;
  for (size_t i = 1; i < books.size(); ++i) {
    const Book& a = books[i - 1];
    const Book& b = books[i];
    std::string where = std::string(key_name(key)) + (desc ? " desc" : " asc") + " at " +
                        std::to_string(i) + ": " + a.id + " then " + b.id;
    auto check = [&](const auto& x, const auto& y) {
      if (desc) {
        EXPECT_GE(x, y) << where;
      } else {
        EXPECT_LE(x, y) << where;
      }
    };
    auto check_nullable = [&](const auto& x, const auto& y) {
      if (!x.has_value()) {
        EXPECT_FALSE(y.has_value()) << where << ": a missing value sorts last";
      } else if (y.has_value()) {
        check(*x, *y);
      }
    };
    switch (key) {
      case SortKey::kPopularity:
        check(a.popularity, b.popularity);
        break;
      case SortKey::kTitle:
        check(title_sort_key(a.title), title_sort_key(b.title));
        break;
      case SortKey::kPrice:
        check(a.price_cents, b.price_cents);
        break;
      case SortKey::kYear:
        check_nullable(a.year, b.year);
        break;
      case SortKey::kRating:
        check_nullable(a.rating, b.rating);
        break;
    }
  }
}

class CatalogServiceTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (auto reason = store::testing::skip_reason(GetParam())) {
      GTEST_SKIP() << *reason;
    }
    auto db = TestDatabase::create(GetParam());
    ASSERT_TRUE(db) << db.error().message;
    db_ = std::move(*db);
    auto s = db_->open();
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
    auto m = store::migrate(*store_);
    ASSERT_TRUE(m) << m.error().message;
    catalog_ = std::make_unique<CatalogService>(*store_);
  }

  void TearDown() override {
    catalog_.reset();
    store_.reset();
    db_.reset();
  }

  // Imports `file` and returns what the test expects from it.
  std::vector<Expected> load(const std::string& file) {
    auto report = import_files(*store_, {file}, {});
    EXPECT_TRUE(report) << report.error().message;
    if (report) {
      EXPECT_TRUE(report->committed);
      EXPECT_EQ(report->failed, 0);
    }
    return read_expected(file);
  }

  BookPage page(const BookQuery& q) {
    auto p = catalog_->list_books(q);
    EXPECT_TRUE(p) << p.error().message;
    return p ? std::move(*p) : BookPage{};
  }

  // Follows next_cursor from the first page to the last and returns every book seen.
  std::vector<Book> walk(BookQuery q) {
    std::vector<Book> all;
    q.cursor.reset();
    for (int pages = 0; pages < 1000; ++pages) {
      auto p = catalog_->list_books(q);
      EXPECT_TRUE(p) << p.error().message;
      if (!p) {
        break;
      }
      all.insert(all.end(), p->items.begin(), p->items.end());
      EXPECT_EQ(p->has_more, p->next_cursor.has_value());
      if (!p->has_more) {
        EXPECT_LE(static_cast<int>(p->items.size()), q.limit);
        return all;
      }
      EXPECT_EQ(static_cast<int>(p->items.size()), q.limit) << "a page before the last is full";
      q.cursor = p->next_cursor;
    }
    ADD_FAILURE() << "paging did not end";
    return all;
  }

  int64_t author_id(const std::string& name) {
    BookQuery q;
    q.q = name;
    q.limit = 100;
    for (const auto& b : page(q).items) {
      for (const auto& a : b.authors) {
        if (a.name == name) {
          return a.id;
        }
      }
    }
    ADD_FAILURE() << "no author " << name;
    return -1;
  }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<CatalogService> catalog_;
};

// ---- Sorting and paging ---------------------------------------------------------------------

TEST_P(CatalogServiceTest, default_list_is_most_popular_first) {
  auto all = load(kSample);
  std::vector<int64_t> downloads;
  for (const auto& e : all) {
    downloads.push_back(e.downloads);
  }
  std::sort(downloads.rbegin(), downloads.rend());

  BookPage p = page({});
  ASSERT_EQ(p.items.size(), 20u);
  EXPECT_TRUE(p.has_more);
  EXPECT_TRUE(p.next_cursor.has_value());
  for (size_t i = 0; i < p.items.size(); ++i) {
    EXPECT_EQ(p.items[i].popularity, downloads[i]) << "position " << i;
  }
  expect_sorted(p.items, SortKey::kPopularity, SortOrder::kDesc);
}

TEST_P(CatalogServiceTest, paging_walks_every_book_once_for_every_sort_and_order) {
  auto all = load(kSample);
  std::set<std::string> every_id;
  for (const auto& e : all) {
    every_id.insert(e.id);
  }
  for (SortKey key :
       {SortKey::kPopularity, SortKey::kTitle, SortKey::kPrice, SortKey::kYear, SortKey::kRating}) {
    for (SortOrder order : {SortOrder::kAsc, SortOrder::kDesc}) {
      SCOPED_TRACE(std::string(key_name(key)) + (order == SortOrder::kAsc ? " asc" : " desc"));
      BookQuery q;
      q.sort = key;
      q.order = order;
      q.limit = 7;  // 200 is not a multiple of 7: the last page is partial
      auto small_pages = walk(q);
      EXPECT_EQ(small_pages.size(), 200u);
      EXPECT_EQ(id_set(small_pages), every_id) << "a book is missing or repeated";
      expect_sorted(small_pages, key, order);

      // Paging must not change the order: small pages read the same as large ones.
      q.limit = 100;
      EXPECT_EQ(ids_of(walk(q)), ids_of(small_pages));
    }
  }
}

TEST_P(CatalogServiceTest, paging_one_book_at_a_time_walks_every_book) {
  auto all = load(kSample);
  BookQuery q;
  q.sort = SortKey::kPrice;  // many ties: the id breaks them
  q.limit = 1;
  auto books = walk(q);
  EXPECT_EQ(books.size(), all.size());
  EXPECT_EQ(id_set(books).size(), all.size());
}

TEST_P(CatalogServiceTest, default_order_is_ascending_for_title_and_price) {
  load(kSample);
  for (SortKey key : {SortKey::kTitle, SortKey::kPrice}) {
    BookQuery implicit;
    implicit.sort = key;
    implicit.limit = 50;
    BookQuery asc = implicit;
    asc.order = SortOrder::kAsc;
    EXPECT_EQ(ids_of(page(implicit).items), ids_of(page(asc).items)) << key_name(key);
  }
}

TEST_P(CatalogServiceTest, title_sort_ignores_leading_articles_and_case) {
  load(kSample);
  BookQuery q;
  q.sort = SortKey::kTitle;
  q.limit = 100;
  auto books = walk(q);
  // "The King James Version of the Bible" files under K: before every title starting with T.
  auto king = std::find_if(books.begin(), books.end(), [](const Book& b) {
    return b.title == "The King James Version of the Bible";
  });
  ASSERT_NE(king, books.end());
  auto first_t = std::find_if(books.begin(), books.end(), [](const Book& b) {
    return lower(b.title).rfind("t", 0) == 0 && lower(b.title).rfind("the ", 0) != 0;
  });
  ASSERT_NE(first_t, books.end());
  EXPECT_LT(king - books.begin(), first_t - books.begin()) << first_t->title;
}

TEST_P(CatalogServiceTest, year_and_rating_sorts_put_missing_values_last_in_both_orders) {
  load(kSmall);
  using Years = std::vector<std::optional<int64_t>>;
  using Ratings = std::vector<std::optional<double>>;
  const std::optional<int64_t> no_year;
  const std::optional<double> no_rating;
  const Years years_desc = {2024, 1999, 1901, 1850, 1850, -500, no_year, no_year};
  const Years years_asc = {-500, 1850, 1850, 1901, 1999, 2024, no_year, no_year};
  const Ratings ratings_desc = {5.0, 4.5, 4.5, 3.7, 2.25, 0.0, no_rating, no_rating};
  const Ratings ratings_asc = {0.0, 2.25, 3.7, 4.5, 4.5, 5.0, no_rating, no_rating};

  for (int limit : {1, 2, 3, 100}) {
    SCOPED_TRACE("limit " + std::to_string(limit));
    for (SortOrder order : {SortOrder::kAsc, SortOrder::kDesc}) {
      const bool desc = order == SortOrder::kDesc;
      BookQuery q;
      q.limit = limit;
      q.order = order;

      q.sort = SortKey::kYear;
      auto by_year = walk(q);
      EXPECT_EQ(id_set(by_year).size(), 8u);
      Years years;
      for (const auto& b : by_year) {
        years.push_back(b.year);
      }
      EXPECT_EQ(years, desc ? years_desc : years_asc);

      q.sort = SortKey::kRating;
      auto by_rating = walk(q);
      EXPECT_EQ(id_set(by_rating).size(), 8u);
      Ratings ratings;
      for (const auto& b : by_rating) {
        ratings.push_back(b.rating);
      }
      EXPECT_EQ(ratings, desc ? ratings_desc : ratings_asc);
    }
  }
  // Without an order, years and ratings list the highest first.
  BookQuery q;
  q.sort = SortKey::kRating;
  EXPECT_EQ(page(q).items.at(0).id, "sm-8");
  q.sort = SortKey::kYear;
  EXPECT_EQ(page(q).items.at(0).id, "sm-8");
}

// ---- Cursors ----------------------------------------------------------------------------------

TEST_P(CatalogServiceTest, cursor_from_another_query_is_rejected) {
  load(kSample);
  BookQuery first;
  first.limit = 5;
  auto p = page(first);
  ASSERT_TRUE(p.next_cursor.has_value());

  BookQuery same = first;
  same.cursor = p.next_cursor;
  same.order = SortOrder::kDesc;  // the default order, spelled out
  EXPECT_TRUE(catalog_->list_books(same)) << "the same query accepts its own cursor";
  same.limit = 50;
  EXPECT_TRUE(catalog_->list_books(same)) << "a different page size is the same query";

  std::vector<std::pair<std::string, std::function<void(BookQuery&)>>> changes = {
      {"sort", [](BookQuery& q) { q.sort = SortKey::kTitle; }},
      {"order", [](BookQuery& q) { q.order = SortOrder::kAsc; }},
      {"q", [](BookQuery& q) { q.q = "the"; }},
      {"genre", [](BookQuery& q) { q.genre = "Novels"; }},
      {"author", [](BookQuery& q) { q.author = 1; }},
      {"language", [](BookQuery& q) { q.language = "en"; }},
      {"year_min", [](BookQuery& q) { q.year_min = 1800; }},
      {"price_max", [](BookQuery& q) { q.price_max = 1000; }},
      {"in_stock", [](BookQuery& q) { q.in_stock = true; }},
  };
  for (const auto& [name, change] : changes) {
    BookQuery other = first;
    change(other);
    other.cursor = p.next_cursor;
    auto r = catalog_->list_books(other);
    ASSERT_FALSE(r) << "a cursor was accepted by a query with another " << name;
    EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument) << name;
    EXPECT_EQ(r.error().field, "cursor") << name;
  }
}

TEST_P(CatalogServiceTest, garbage_cursor_is_invalid_argument) {
  load(kSample);
  auto real = page(limited(5)).next_cursor.value_or("");
  std::string flipped = real;
  flipped[flipped.size() / 2] = flipped[flipped.size() / 2] == 'A' ? 'B' : 'A';
  for (const std::string& cursor :
       {std::string("garbage!!"), std::string(""), std::string("====="),
        core::base64url_encode("{}"), core::base64url_encode("[1, 2, 3]"),
        core::base64url_encode("not json"),
        core::base64url_encode(R"({"f": "0000000000000000", "i": 1, "k": 100})"), real + "x",
        flipped}) {
    BookQuery q;
    q.limit = 5;
    q.cursor = cursor;
    auto r = catalog_->list_books(q);
    ASSERT_FALSE(r) << "accepted cursor '" << cursor << "'";
    EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument) << cursor;
  }
}

TEST_P(CatalogServiceTest, forged_cursor_with_wrong_key_type_is_invalid_argument) {
  load(kSample);
  for (SortKey key : {SortKey::kPopularity, SortKey::kTitle, SortKey::kRating}) {
    BookQuery q;
    q.sort = key;
    q.limit = 5;
    auto real = page(q).next_cursor;
    ASSERT_TRUE(real.has_value());
    auto raw = core::base64url_decode(*real);
    ASSERT_TRUE(raw.has_value());
    auto j = nlohmann::json::parse(*raw);
    j["k"] = key == SortKey::kTitle ? nlohmann::json(12) : nlohmann::json("abc");
    q.cursor = core::base64url_encode(j.dump());
    auto r = catalog_->list_books(q);
    ASSERT_FALSE(r) << key_name(key) << ": a cursor whose key has the wrong type was accepted";
    EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument)
        << key_name(key) << ": " << r.error().message;
  }
}

// ---- Filters ----------------------------------------------------------------------------------

TEST_P(CatalogServiceTest, q_matches_title_substring_case_insensitively) {
  auto all = load(kSample);
  for (const std::string q : {"wonderland", "WONDERLAND", "bIbLe", "of the", "Thesaurus"}) {
    BookQuery query;
    query.q = q;
    query.limit = 100;
    auto expected = ids_where(all, [&](const Expected& e) { return matches_q(e, q); });
    EXPECT_FALSE(expected.empty()) << q;
    EXPECT_EQ(id_set(walk(query)), expected) << q;
  }
}

TEST_P(CatalogServiceTest, q_matches_author_names) {
  auto all = load(kSample);
  for (const std::string q : {"twain", "Nietzsche", "MARTINEAU, HARRIET"}) {
    BookQuery query;
    query.q = q;
    query.limit = 100;
    auto expected = ids_where(all, [&](const Expected& e) { return matches_q(e, q); });
    EXPECT_FALSE(expected.empty()) << q;
    EXPECT_EQ(id_set(walk(query)), expected) << q;
  }
}

TEST_P(CatalogServiceTest, q_with_sql_metacharacters_matches_literally) {
  auto all = load(kSample);
  for (const std::string q :
       {"%", "_", "'", "\\", "%%", "a%e", "s_t", "'s", "\"", "\"; DROP TABLE books; --",
        "'; DROP TABLE books; --", "' OR '1'='1", "\\%", "[a-z]", "*"}) {
    BookQuery query;
    query.q = q;
    query.limit = 100;
    auto r = catalog_->list_books(query);
    ASSERT_TRUE(r) << q << ": " << r.error().message;
    auto expected = ids_where(all, [&](const Expected& e) { return matches_q(e, q); });
    EXPECT_EQ(id_set(walk(query)), expected) << "q = " << q;
  }
  EXPECT_EQ(walk(limited(100)).size(), 200u) << "the books are all still there";
}

TEST_P(CatalogServiceTest, q_does_not_match_text_spanning_title_and_author) {
  auto all = load(kSample);
  // "... in Wonderland" by "Carroll, Lewis": neither the title nor the author contains this.
  for (const std::string q : {"wonderland carroll", "; "}) {
    BookQuery query;
    query.q = q;
    query.limit = 100;
    auto expected = ids_where(all, [&](const Expected& e) { return matches_q(e, q); });
    EXPECT_EQ(id_set(walk(query)), expected) << "q = '" << q << "'";
  }
}

TEST_P(CatalogServiceTest, genre_filter_matches_exact_name_only) {
  auto all = load(kSample);
  BookQuery q;
  q.genre = "Classics of Literature";
  q.limit = 10;
  auto books = walk(q);
  auto expected = ids_where(all, [](const Expected& e) {
    return std::count(e.genres.begin(), e.genres.end(), "Classics of Literature") > 0;
  });
  EXPECT_EQ(expected.size(), 26u);
  EXPECT_EQ(id_set(books), expected);
  EXPECT_EQ(books.size(), expected.size());
  expect_sorted(books, SortKey::kPopularity, SortOrder::kDesc);

  for (const std::string name : {"No Such Genre", "Classics of", "classics of literature", ""}) {
    BookQuery unknown;
    unknown.genre = name;
    BookPage p = page(unknown);
    EXPECT_TRUE(p.items.empty()) << "'" << name << "'";
    EXPECT_FALSE(p.has_more);
    EXPECT_FALSE(p.next_cursor.has_value());
  }
}

TEST_P(CatalogServiceTest, author_filter_lists_that_authors_books) {
  auto all = load(kSample);
  const int64_t various = author_id("Various");
  BookQuery q;
  q.author = various;
  q.limit = 3;
  auto expected = ids_where(all, [](const Expected& e) {
    return std::count(e.authors.begin(), e.authors.end(), "Various") > 0;
  });
  EXPECT_EQ(expected.size(), 8u);
  EXPECT_EQ(id_set(walk(q)), expected);

  BookQuery nobody;
  nobody.author = 987654321;
  EXPECT_TRUE(page(nobody).items.empty());
}

TEST_P(CatalogServiceTest, language_filter_matches_the_language_code) {
  load(kSmall);
  auto ids = [&](const std::string& language) {
    BookQuery q;
    q.language = language;
    return id_set(page(q).items);
  };
  EXPECT_EQ(ids("fr"), (std::set<std::string>{"sm-2"}));
  EXPECT_EQ(ids("de"), (std::set<std::string>{"sm-3"}));
  EXPECT_EQ(ids("en"), (std::set<std::string>{"sm-1", "sm-4", "sm-6", "sm-7", "sm-8"}));
  EXPECT_TRUE(ids("xx").empty());
}

TEST_P(CatalogServiceTest, price_range_includes_both_bounds) {
  auto all = load(kSample);
  for (auto [lo, hi] : {std::pair<int64_t, int64_t>{999, 1499},
                        {199, 199},
                        {2499, 100000},
                        {0, 198},
                        {1000, 1098}}) {
    BookQuery q;
    q.price_min = lo;
    q.price_max = hi;
    q.sort = SortKey::kPrice;
    q.limit = 11;
    auto expected = ids_where(
        all, [&](const Expected& e) { return e.price_cents >= lo && e.price_cents <= hi; });
    EXPECT_EQ(id_set(walk(q)), expected) << lo << ".." << hi;
  }
  // The bounds are inclusive: the sample has books at exactly 9.99 and 14.99.
  EXPECT_FALSE(ids_where(all, [](const Expected& e) { return e.price_cents == 999; }).empty());
  EXPECT_FALSE(ids_where(all, [](const Expected& e) { return e.price_cents == 1499; }).empty());

  BookQuery only_min;
  only_min.price_min = 2000;
  only_min.limit = 100;
  EXPECT_EQ(id_set(walk(only_min)),
            ids_where(all, [](const Expected& e) { return e.price_cents >= 2000; }));
}

TEST_P(CatalogServiceTest, in_stock_filter_splits_the_catalogue) {
  auto all = load(kSample);
  BookQuery in;
  in.in_stock = true;
  in.limit = 100;
  BookQuery out = in;
  out.in_stock = false;
  auto expected_in = ids_where(all, [](const Expected& e) { return e.stock > 0; });
  auto expected_out = ids_where(all, [](const Expected& e) { return e.stock == 0; });
  ASSERT_FALSE(expected_out.empty());
  auto got_in = walk(in);
  auto got_out = walk(out);
  EXPECT_EQ(id_set(got_in), expected_in);
  EXPECT_EQ(id_set(got_out), expected_out);
  for (const auto& b : got_out) {
    EXPECT_EQ(b.stock, 0) << b.id;
  }
}

TEST_P(CatalogServiceTest, year_filter_excludes_books_without_a_year) {
  load(kSample);  // the sample has no years
  BookQuery q;
  q.year_min = -5000;
  EXPECT_TRUE(page(q).items.empty());
  q = {};
  q.year_max = 2100;
  EXPECT_TRUE(page(q).items.empty());

  load(kSmall);
  BookQuery range;
  range.year_min = 1850;
  range.year_max = 1901;
  EXPECT_EQ(id_set(page(range).items), (std::set<std::string>{"sm-1", "sm-2", "sm-5"}));
  BookQuery from;
  from.year_min = 1900;
  EXPECT_EQ(id_set(page(from).items), (std::set<std::string>{"sm-1", "sm-4", "sm-8"}));
  BookQuery until;
  until.year_max = 0;
  EXPECT_EQ(id_set(page(until).items), (std::set<std::string>{"sm-6"}));
}

TEST_P(CatalogServiceTest, combined_filters_page_through_all_matches) {
  auto all = load(kSample);
  BookQuery q;
  q.q = "e";
  q.in_stock = true;
  q.price_max = 1999;
  q.sort = SortKey::kTitle;
  q.order = SortOrder::kDesc;
  q.limit = 6;
  auto books = walk(q);
  auto expected = ids_where(all, [](const Expected& e) {
    return matches_q(e, "e") && e.stock > 0 && e.price_cents <= 1999;
  });
  EXPECT_EQ(id_set(books), expected);
  EXPECT_EQ(books.size(), expected.size());
  expect_sorted(books, SortKey::kTitle, SortOrder::kDesc);
}

// ---- Book details -----------------------------------------------------------------------------

TEST_P(CatalogServiceTest, get_book_returns_every_detail_field) {
  load(kSmall);
  auto r = catalog_->get_book("sm-1");
  ASSERT_TRUE(r) << r.error().message;
  const Book& b = *r;
  EXPECT_TRUE(b.detailed);
  EXPECT_EQ(b.id, "sm-1");
  EXPECT_EQ(b.title, "The Quiet Orchard");
  ASSERT_EQ(b.authors.size(), 2u);
  EXPECT_EQ(b.authors[0].name, "Zeller, Anna");  // file order, not alphabetical
  EXPECT_EQ(b.authors[1].name, "Abbott, Ben");
  EXPECT_NE(b.authors[0].id, b.authors[1].id);
  EXPECT_EQ(b.genres, (std::vector<std::string>{"Novels", "Poetry", "Pastoral"}));
  EXPECT_EQ(b.description, "A slow novel about an orchard and the people who tend it.");
  EXPECT_EQ(b.year, 1901);
  EXPECT_EQ(b.isbn13, "9780306406157");
  EXPECT_EQ(b.pages, 320);
  EXPECT_EQ(b.rating, 4.5);
  EXPECT_EQ(b.popularity, 50);
  EXPECT_EQ(b.language, "en");
  EXPECT_EQ(b.cover_url, "https://example.com/covers/sm-1.jpg");
  EXPECT_EQ(b.price_cents, 1299);
  EXPECT_EQ(b.currency, "EUR");
  EXPECT_EQ(b.stock, 3);
  EXPECT_EQ(b.source, "fixture");
  EXPECT_GT(b.change_seq, 0);
  EXPECT_EQ(b.created_at.size(), 20u) << b.created_at;  // 2026-01-02T03:04:05Z
  EXPECT_EQ(b.updated_at.size(), 20u) << b.updated_at;
  EXPECT_LE(b.created_at, b.updated_at);

  // The same author is the same author in every book.
  auto other = catalog_->get_book("sm-2");
  ASSERT_TRUE(other) << other.error().message;
  ASSERT_EQ(other->authors.size(), 1u);
  EXPECT_EQ(other->authors[0].id, b.authors[1].id);
}

TEST_P(CatalogServiceTest, get_book_leaves_absent_fields_absent) {
  load(kSmall);
  auto r = catalog_->get_book("sm-3");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->authors.empty());
  EXPECT_FALSE(r->year.has_value());
  EXPECT_FALSE(r->isbn13.has_value());
  EXPECT_FALSE(r->pages.has_value());
  EXPECT_FALSE(r->cover_url.has_value());
  EXPECT_EQ(r->description, "");
  EXPECT_EQ(r->currency, "USD");
}

TEST_P(CatalogServiceTest, list_items_carry_authors_and_genres_in_order) {
  auto all = load(kSample);
  std::map<std::string, const Expected*> by_id;
  for (const auto& e : all) {
    by_id[e.id] = &e;
  }
  for (const auto& b : walk(limited(100))) {
    const Expected& e = *by_id.at(b.id);
    EXPECT_EQ(b.title, e.title);
    std::vector<std::string> names;
    for (const auto& a : b.authors) {
      names.push_back(a.name);
    }
    EXPECT_EQ(names, e.authors) << b.id;
    EXPECT_EQ(b.genres, e.genres) << b.id;
    EXPECT_EQ(b.price_cents, e.price_cents) << b.id;
  }
}

TEST_P(CatalogServiceTest, unknown_book_is_not_found) {
  load(kSmall);
  for (const std::string id : {"pg-999999999", "", "sm-1 ", "SM-1", "' OR 1=1 --"}) {
    auto r = catalog_->get_book(id);
    ASSERT_FALSE(r) << "'" << id << "'";
    EXPECT_EQ(r.error().code, core::ErrorCode::kNotFound) << "'" << id << "'";
  }
}

// ---- Genres -----------------------------------------------------------------------------------

TEST_P(CatalogServiceTest, genres_are_counted_and_ordered_by_count_then_name) {
  auto all = load(kSample);
  std::map<std::string, int64_t> counts;
  for (const auto& e : all) {
    for (const auto& g : e.genres) {
      ++counts[g];
    }
  }
  std::vector<std::pair<std::string, int64_t>> expected(counts.begin(), counts.end());
  std::sort(expected.begin(), expected.end(), [](const auto& a, const auto& b) {
    return std::tie(b.second, a.first) < std::tie(a.second, b.first);
  });

  std::vector<std::pair<std::string, int64_t>> got;
  std::set<int64_t> genre_ids;
  std::optional<std::string> cursor;
  for (int pages = 0; pages < 1000; ++pages) {
    auto p = catalog_->list_genres(std::nullopt, 10, cursor);
    ASSERT_TRUE(p) << p.error().message;
    for (const auto& g : p->items) {
      got.emplace_back(g.name, g.book_count);
      genre_ids.insert(g.id);
    }
    EXPECT_EQ(p->has_more, p->next_cursor.has_value());
    if (!p->has_more) {
      break;
    }
    EXPECT_EQ(p->items.size(), 10u);
    cursor = p->next_cursor;
  }
  EXPECT_EQ(got, expected);
  EXPECT_EQ(genre_ids.size(), counts.size());
  EXPECT_EQ(got.front(), (std::pair<std::string, int64_t>{"Classics of Literature", 26}));
}

TEST_P(CatalogServiceTest, genre_search_pages_and_rejects_foreign_cursors) {
  auto all = load(kSample);
  std::set<std::string> expected;
  for (const auto& e : all) {
    for (const auto& g : e.genres) {
      if (lower(g).find("history") != std::string::npos) {
        expected.insert(g);
      }
    }
  }
  std::set<std::string> got;
  std::optional<std::string> cursor;
  std::optional<std::string> some_cursor;
  for (int pages = 0; pages < 1000; ++pages) {
    auto p = catalog_->list_genres("HISTORY", 4, cursor);
    ASSERT_TRUE(p) << p.error().message;
    for (const auto& g : p->items) {
      EXPECT_TRUE(got.insert(g.name).second) << "repeated " << g.name;
    }
    if (!p->has_more) {
      break;
    }
    cursor = some_cursor = p->next_cursor;
  }
  EXPECT_EQ(got, expected);
  ASSERT_TRUE(some_cursor.has_value());

  auto other_q = catalog_->list_genres("poetry", 4, some_cursor);
  ASSERT_FALSE(other_q);
  EXPECT_EQ(other_q.error().code, core::ErrorCode::kInvalidArgument);
  auto garbage = catalog_->list_genres(std::nullopt, 4, std::string("garbage"));
  ASSERT_FALSE(garbage);
  EXPECT_EQ(garbage.error().code, core::ErrorCode::kInvalidArgument);
  auto book_cursor = page(limited(1)).next_cursor;
  auto mixed = catalog_->list_genres(std::nullopt, 4, book_cursor);
  ASSERT_FALSE(mixed);
  EXPECT_EQ(mixed.error().code, core::ErrorCode::kInvalidArgument);
}

// ---- Authors ----------------------------------------------------------------------------------

TEST_P(CatalogServiceTest, get_author_returns_books_and_count) {
  auto all = load(kSample);
  const int64_t twain = author_id("Twain, Mark");
  auto r = catalog_->get_author(twain, 20, std::nullopt);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->id, twain);
  EXPECT_EQ(r->name, "Twain, Mark");
  EXPECT_EQ(r->book_count, 2);
  auto expected = ids_where(all, [](const Expected& e) {
    return std::count(e.authors.begin(), e.authors.end(), "Twain, Mark") > 0;
  });
  EXPECT_EQ(id_set(r->books.items), expected);
  EXPECT_FALSE(r->books.has_more);
}

TEST_P(CatalogServiceTest, get_author_pages_through_many_books) {
  auto all = load(kSample);
  const int64_t various = author_id("Various");
  std::vector<Book> books;
  std::optional<std::string> cursor;
  for (int pages = 0; pages < 100; ++pages) {
    auto r = catalog_->get_author(various, 3, cursor);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->book_count, 8);
    books.insert(books.end(), r->books.items.begin(), r->books.items.end());
    if (!r->books.has_more) {
      break;
    }
    cursor = r->books.next_cursor;
  }
  EXPECT_EQ(books.size(), 8u);
  EXPECT_EQ(id_set(books), ids_where(all, [](const Expected& e) {
              return std::count(e.authors.begin(), e.authors.end(), "Various") > 0;
            }));
  expect_sorted(books, SortKey::kPopularity, SortOrder::kDesc);
}

TEST_P(CatalogServiceTest, unknown_author_is_not_found) {
  load(kSmall);
  for (int64_t id : {int64_t{987654321}, int64_t{0}, int64_t{-1}}) {
    auto r = catalog_->get_author(id, 20, std::nullopt);
    ASSERT_FALSE(r) << id;
    EXPECT_EQ(r.error().code, core::ErrorCode::kNotFound) << id;
  }
}

INSTANTIATE_TEST_SUITE_P(Stores, CatalogServiceTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return store::testing::backend_name(info.param);
                         });

}  // namespace
}  // namespace libromind::catalog
