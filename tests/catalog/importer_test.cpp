// Importer behaviour a catalogue operator relies on: imports are idempotent, all or nothing in
// abort mode, and report every bad record with its file and line. Runs on SQLite always and on
// PostgreSQL when LIBROMIND_TEST_PG_URL is set; each test gets a fresh, migrated database.
#include "catalog/importer.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "../store/test_stores.hpp"
#include "catalog/catalog_service.hpp"
#include "store/migrations.hpp"

namespace libromind::catalog {
namespace {

namespace fs = std::filesystem;
using store::testing::Backend;
using store::testing::TestDatabase;

const std::string kSample = LIBROMIND_SOURCE_DIR "/../shared/data/books/sample-200.jsonl";
const std::string kData = LIBROMIND_SOURCE_DIR "/tests/catalog/data/";

std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<nlohmann::json> out;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) {
      out.push_back(nlohmann::json::parse(line));
    }
  }
  return out;
}

std::string to_jsonl(const std::vector<nlohmann::json>& records) {
  std::string out;
  for (const auto& r : records) {
    out += r.dump() + "\n";
  }
  return out;
}

std::string csv_quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    out += c;
    if (c == '"') {
      out += '"';
    }
  }
  return out + "\"";
}

// The CSV form of JSONL records: the same columns, lists joined with "; ", null as empty.
std::string to_csv(const std::vector<nlohmann::json>& records) {
  const std::vector<std::string> columns = {
      "id",    "title",  "authors",   "description", "genres",    "year",  "isbn13",
      "pages", "rating", "downloads", "language",    "cover_url", "source"};
  std::string out;
  for (size_t i = 0; i < columns.size(); ++i) {
    out += (i ? "," : "") + columns[i];
  }
  out += "\n";
  for (const auto& r : records) {
    for (size_t i = 0; i < columns.size(); ++i) {
      if (i) {
        out += ",";
      }
      const auto& v = r.contains(columns[i]) ? r[columns[i]] : nlohmann::json();
      if (v.is_null()) {
        continue;
      }
      if (v.is_array()) {
        std::string joined;
        for (const auto& item : v) {
          joined += (joined.empty() ? "" : "; ") + item.get<std::string>();
        }
        out += csv_quote(joined);
      } else if (v.is_string()) {
        out += csv_quote(v.get<std::string>());
      } else {
        out += v.dump();
      }
    }
    out += "\n";
  }
  return out;
}

std::vector<std::string> author_names(const Book& b) {
  std::vector<std::string> out;
  for (const auto& a : b.authors) {
    out.push_back(a.name);
  }
  return out;
}

std::string describe(const ImportReport& r) {
  std::ostringstream out;
  out << "read=" << r.records_read << " inserted=" << r.inserted << " updated=" << r.updated
      << " unchanged=" << r.unchanged << " failed=" << r.failed << " committed=" << r.committed;
  for (const auto& e : r.errors) {
    out << "\n  " << to_string(e);
  }
  return out.str();
}

class ImporterTest : public ::testing::TestWithParam<Backend> {
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
    tmp_ = fs::temp_directory_path() / ("lm_importer_test_" + store::testing::random_suffix());
    fs::create_directories(tmp_);
  }

  void TearDown() override {
    store_.reset();
    db_.reset();
    std::error_code ec;
    if (!tmp_.empty()) {
      fs::remove_all(tmp_, ec);
    }
  }

  std::string write_file(const std::string& name, const std::string& content) {
    const fs::path p = tmp_ / name;
    std::ofstream out(p, std::ios::binary);
    out << content;
    return p.string();
  }

  // Imports and expects the import itself to succeed (the report may still list errors).
  ImportReport import(const std::vector<std::string>& files, ImportOptions options = {}) {
    auto r = import_files(*store_, files, options);
    EXPECT_TRUE(r) << r.error().message;
    return r ? std::move(*r) : ImportReport{};
  }

  store::Rows query(const std::string& sql, const store::Params& params = {}) {
    auto conn = store_->acquire(store::Access::kRead);
    EXPECT_TRUE(conn) << conn.error().message;
    if (!conn) {
      return {};
    }
    auto rows = (*conn)->query(sql, params);
    EXPECT_TRUE(rows) << sql << ": " << rows.error().message;
    return rows ? std::move(*rows) : store::Rows{};
  }

  int64_t book_count() { return store::as_int(query("SELECT COUNT(*) FROM books").rows.at(0)[0]); }

  int64_t store_change_seq() {
    return store::as_int(query("SELECT change_seq FROM store_meta WHERE id = 1").rows.at(0)[0]);
  }

  std::map<std::string, int64_t> book_change_seqs() {
    std::map<std::string, int64_t> out;
    for (const auto& r : query("SELECT ext_id, change_seq FROM books").rows) {
      out[store::as_string(r[0])] = store::as_int(r[1]);
    }
    return out;
  }

  Book book(const std::string& id) {
    CatalogService catalog(*store_);
    auto b = catalog.get_book(id);
    EXPECT_TRUE(b) << id << ": " << b.error().message;
    return b ? std::move(*b) : Book{};
  }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<store::Store> store_;
  fs::path tmp_;
};

TEST_P(ImporterTest, importing_sample_inserts_every_book) {
  auto report = import({kSample});
  EXPECT_EQ(report.records_read, 200) << describe(report);
  EXPECT_EQ(report.inserted, 200);
  EXPECT_EQ(report.updated, 0);
  EXPECT_EQ(report.unchanged, 0);
  EXPECT_EQ(report.failed, 0);
  EXPECT_TRUE(report.committed);
  EXPECT_TRUE(report.errors.empty());
  EXPECT_EQ(book_count(), 200);

  const auto records = read_jsonl(kSample);
  const auto& first = records.front();
  Book b = book(first["id"].get<std::string>());
  EXPECT_EQ(b.title, first["title"].get<std::string>());
  EXPECT_EQ(b.popularity, first["downloads"].get<int64_t>());
}

TEST_P(ImporterTest, reimporting_same_file_changes_nothing) {
  import({kSample});
  const auto seqs_before = book_change_seqs();
  const int64_t meta_before = store_change_seq();

  auto report = import({kSample});
  EXPECT_EQ(report.records_read, 200) << describe(report);
  EXPECT_EQ(report.unchanged, 200);
  EXPECT_EQ(report.inserted, 0);
  EXPECT_EQ(report.updated, 0);
  EXPECT_EQ(report.failed, 0);
  EXPECT_EQ(book_count(), 200);
  EXPECT_EQ(book_change_seqs(), seqs_before);
  EXPECT_EQ(store_change_seq(), meta_before);
}

TEST_P(ImporterTest, reimporting_in_small_batches_changes_nothing) {
  ImportOptions small;
  small.batch_size = 7;
  auto first = import({kSample}, small);
  EXPECT_EQ(first.inserted, 200) << describe(first);
  const auto seqs_before = book_change_seqs();
  const int64_t meta_before = store_change_seq();

  auto again = import({kSample}, small);
  EXPECT_EQ(again.unchanged, 200) << describe(again);
  EXPECT_EQ(book_change_seqs(), seqs_before);
  EXPECT_EQ(store_change_seq(), meta_before);
}

TEST_P(ImporterTest, changed_record_is_updated_with_higher_change_seq) {
  import({kSample});
  const auto seqs_before = book_change_seqs();
  const int64_t meta_before = store_change_seq();

  auto records = read_jsonl(kSample);
  const std::string changed_id = records[17]["id"].get<std::string>();
  records[17]["description"] = "A new description, written for this test.";
  auto report = import({write_file("changed.jsonl", to_jsonl(records))});
  EXPECT_EQ(report.updated, 1) << describe(report);
  EXPECT_EQ(report.unchanged, 199);
  EXPECT_EQ(report.inserted, 0);
  EXPECT_EQ(book_count(), 200);

  const auto seqs_after = book_change_seqs();
  EXPECT_GT(seqs_after.at(changed_id), seqs_before.at(changed_id));
  EXPECT_GT(store_change_seq(), meta_before);
  EXPECT_EQ(seqs_after.at(changed_id), store_change_seq());
  for (const auto& [id, seq] : seqs_before) {
    if (id != changed_id) {
      EXPECT_EQ(seqs_after.at(id), seq) << id << " changed although its record did not";
    }
  }
  EXPECT_EQ(book(changed_id).description, "A new description, written for this test.");
}

TEST_P(ImporterTest, changed_authors_and_genres_replace_the_old_ones_in_order) {
  import({kData + "small.jsonl"});
  ASSERT_EQ(author_names(book("sm-1")), (std::vector<std::string>{"Zeller, Anna", "Abbott, Ben"}));

  auto records = read_jsonl(kData + "small.jsonl");
  records[0]["authors"] = {"Abbott, Ben", "Newcomer, Nia", "Zeller, Anna"};
  records[0]["genres"] = {"Pastoral", "Science", "Novels"};
  auto report = import({write_file("changed.jsonl", to_jsonl(records))});
  EXPECT_EQ(report.updated, 1) << describe(report);
  EXPECT_EQ(report.unchanged, 7);

  Book b = book("sm-1");
  EXPECT_EQ(author_names(b),
            (std::vector<std::string>{"Abbott, Ben", "Newcomer, Nia", "Zeller, Anna"}));
  EXPECT_EQ(b.genres, (std::vector<std::string>{"Pastoral", "Science", "Novels"}));
  // The other books keep their links.
  EXPECT_EQ(author_names(book("sm-2")), (std::vector<std::string>{"Abbott, Ben"}));
  EXPECT_EQ(book("sm-4").genres, (std::vector<std::string>{"Travel Writing", "Novels"}));
}

TEST_P(ImporterTest, abort_mode_with_one_bad_record_writes_nothing) {
  import({kData + "small.jsonl"});
  const int64_t before = book_count();
  const int64_t meta_before = store_change_seq();

  const std::string file = kData + "one-bad-record.jsonl";
  auto report = import({file});
  EXPECT_FALSE(report.committed) << describe(report);
  EXPECT_EQ(report.records_read, 4);
  EXPECT_EQ(report.failed, 1);
  EXPECT_EQ(report.inserted, 0);
  ASSERT_EQ(report.errors.size(), 1u);
  EXPECT_EQ(report.errors[0].file, file);
  EXPECT_EQ(report.errors[0].line, 3);
  EXPECT_EQ(report.errors[0].field, "year");

  EXPECT_EQ(book_count(), before);
  EXPECT_EQ(store_change_seq(), meta_before);
  CatalogService catalog(*store_);
  auto missing = catalog.get_book("ok-1");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, core::ErrorCode::kNotFound);
}

TEST_P(ImporterTest, abort_mode_writes_nothing_even_when_good_batches_came_first) {
  ImportOptions opts;
  opts.batch_size = 1;  // ok-1 and ok-2 are written before the bad record is read
  auto report = import({kData + "one-bad-record.jsonl"}, opts);
  EXPECT_FALSE(report.committed) << describe(report);
  EXPECT_EQ(report.failed, 1);
  EXPECT_EQ(book_count(), 0);
}

TEST_P(ImporterTest, skip_mode_writes_good_records_and_reports_the_bad_one) {
  ImportOptions opts;
  opts.on_error = OnError::kSkip;
  const std::string file = kData + "one-bad-record.jsonl";
  auto report = import({file}, opts);
  EXPECT_TRUE(report.committed) << describe(report);
  EXPECT_EQ(report.records_read, 4);
  EXPECT_EQ(report.inserted, 3);
  EXPECT_EQ(report.failed, 1);
  ASSERT_EQ(report.errors.size(), 1u);
  EXPECT_EQ(report.errors[0].file, file);
  EXPECT_EQ(report.errors[0].line, 3);

  EXPECT_EQ(book_count(), 3);
  EXPECT_EQ(book("ok-4").title, "Fourth Good Book");
  CatalogService catalog(*store_);
  auto missing = catalog.get_book("bad-3");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, core::ErrorCode::kNotFound);
}

TEST_P(ImporterTest, dry_run_reports_counts_but_writes_nothing) {
  ImportOptions opts;
  opts.dry_run = true;
  auto report = import({kSample}, opts);
  EXPECT_EQ(report.records_read, 200) << describe(report);
  EXPECT_EQ(report.inserted, 200);
  EXPECT_FALSE(report.committed);
  EXPECT_EQ(book_count(), 0);
  EXPECT_EQ(store_change_seq(), 0);

  // On a store that has the books, a dry run of a changed file counts the change only.
  import({kSample});
  const auto seqs = book_change_seqs();
  auto records = read_jsonl(kSample);
  records[3]["title"] = "Retitled";
  auto dry = import({write_file("changed.jsonl", to_jsonl(records))}, opts);
  EXPECT_EQ(dry.updated, 1) << describe(dry);
  EXPECT_EQ(dry.unchanged, 199);
  EXPECT_EQ(book(records[3]["id"].get<std::string>()).title,
            read_jsonl(kSample)[3]["title"].get<std::string>());
  EXPECT_EQ(book_change_seqs(), seqs);
}

TEST_P(ImporterTest, csv_file_imports_the_same_books_as_jsonl) {
  const auto records = read_jsonl(kSample);
  auto csv = import({write_file("sample.csv", to_csv(records))});
  EXPECT_EQ(csv.inserted, 200) << describe(csv);
  EXPECT_EQ(csv.failed, 0);

  // Same content: the JSONL file finds nothing to change.
  auto jsonl = import({kSample});
  EXPECT_EQ(jsonl.unchanged, 200) << describe(jsonl);

  // A book with two `;`-separated authors keeps both, in order.
  for (const auto& r : records) {
    if (r["authors"].size() == 2) {
      EXPECT_EQ(author_names(book(r["id"].get<std::string>())),
                r["authors"].get<std::vector<std::string>>());
    }
  }
}

TEST_P(ImporterTest, csv_fixture_matches_jsonl_fixture_field_for_field) {
  auto csv = import({kData + "small.csv"});
  EXPECT_EQ(csv.inserted, 8) << describe(csv);
  auto jsonl = import({kData + "small.jsonl"});
  EXPECT_EQ(jsonl.unchanged, 8) << describe(jsonl);
  Book b = book("sm-1");
  EXPECT_EQ(author_names(b), (std::vector<std::string>{"Zeller, Anna", "Abbott, Ben"}));
  EXPECT_EQ(b.genres, (std::vector<std::string>{"Novels", "Poetry", "Pastoral"}));
  EXPECT_EQ(b.isbn13, "9780306406157");
  EXPECT_EQ(b.currency, "EUR");
}

TEST_P(ImporterTest, isbn_only_records_are_keyed_by_isbn_and_reimport_updates) {
  auto first = import({kData + "isbn-only.jsonl"});
  EXPECT_EQ(first.inserted, 2) << describe(first);
  EXPECT_EQ(book_count(), 2);
  Book b = book("isbn-9780131103627");
  EXPECT_EQ(b.title, "The C Programming Language");
  EXPECT_EQ(b.isbn13, "9780131103627");

  auto same = import({kData + "isbn-only.jsonl"});
  EXPECT_EQ(same.unchanged, 2) << describe(same);

  auto records = read_jsonl(kData + "isbn-only.jsonl");
  records[0]["title"] = "The C Programming Language, Second Edition";
  auto changed = import({write_file("isbn.jsonl", to_jsonl(records))});
  EXPECT_EQ(changed.updated, 1) << describe(changed);
  EXPECT_EQ(changed.unchanged, 1);
  EXPECT_EQ(changed.inserted, 0);
  EXPECT_EQ(book_count(), 2);
  EXPECT_EQ(book("isbn-9780131103627").title, "The C Programming Language, Second Edition");
}

TEST_P(ImporterTest, isbn_only_record_updates_the_book_that_owns_the_isbn) {
  import({kData + "small.jsonl"});  // sm-1 has isbn 9780306406157
  auto report = import({write_file(
      "isbn.jsonl",
      R"({"isbn13": "9780306406157", "title": "The Quiet Orchard, Revised", "downloads": 1})"
      "\n")});
  EXPECT_EQ(report.updated, 1) << describe(report);
  EXPECT_EQ(report.inserted, 0);
  EXPECT_EQ(book_count(), 8);
  EXPECT_EQ(book("sm-1").title, "The Quiet Orchard, Revised");
}

TEST_P(ImporterTest, second_record_with_same_isbn_but_another_id_is_an_error) {
  // The second record's id sorts before the first's: "second" must mean file order.
  const std::string file = write_file(
      "dup.jsonl",
      R"({"id": "zz-first", "title": "First Owner", "isbn13": "9780201633610", "downloads": 1})"
      "\n"
      R"({"id": "aa-second", "title": "Second Claimant", "isbn13": "9780201633610", "downloads": 2})"
      "\n");
  ImportOptions skip;
  skip.on_error = OnError::kSkip;
  auto report = import({file}, skip);
  EXPECT_EQ(report.failed, 1) << describe(report);
  EXPECT_EQ(report.inserted, 1);
  ASSERT_EQ(report.errors.size(), 1u);
  EXPECT_EQ(report.errors[0].line, 2);
  EXPECT_EQ(report.errors[0].field, "isbn13");
  EXPECT_EQ(book("zz-first").isbn13, "9780201633610");
  CatalogService catalog(*store_);
  auto second = catalog.get_book("aa-second");
  ASSERT_FALSE(second) << "the second claimant of the isbn was written";
  EXPECT_EQ(second.error().code, core::ErrorCode::kNotFound);
}

TEST_P(ImporterTest, same_isbn_in_a_later_batch_is_an_error_and_abort_writes_nothing) {
  const std::string file = write_file(
      "dup.jsonl",
      R"({"id": "b-1", "title": "First Owner", "isbn13": "9780201633610", "downloads": 1})"
      "\n"
      R"({"id": "b-2", "title": "Second Claimant", "isbn13": "978-0-201-63361-0", "downloads": 2})"
      "\n");
  ImportOptions opts;
  opts.batch_size = 1;
  auto report = import({file}, opts);
  EXPECT_FALSE(report.committed) << describe(report);
  EXPECT_EQ(report.failed, 1);
  ASSERT_EQ(report.errors.size(), 1u);
  EXPECT_EQ(report.errors[0].file, file);
  EXPECT_EQ(report.errors[0].line, 2);
  EXPECT_EQ(book_count(), 0);
}

TEST_P(ImporterTest, synthetic_price_and_stock_fill_only_absent_values) {
  import({kData + "small.jsonl"});
  // Explicit values are kept, zero included.
  Book sm1 = book("sm-1");
  EXPECT_EQ(sm1.price_cents, 1299);
  EXPECT_EQ(sm1.stock, 3);
  EXPECT_EQ(sm1.currency, "EUR");
  Book sm2 = book("sm-2");
  EXPECT_EQ(sm2.price_cents, 0);
  EXPECT_EQ(sm2.stock, 0);
  EXPECT_EQ(sm2.currency, "USD");
  // Absent values are synthetic, a function of the id only.
  for (const std::string id : {"sm-3", "sm-4", "sm-5", "sm-6", "sm-7", "sm-8"}) {
    Book b = book(id);
    EXPECT_EQ(b.price_cents, synthetic_price_cents(id)) << id;
    EXPECT_EQ(b.stock, synthetic_stock(id)) << id;
    EXPECT_GE(b.price_cents, 199) << id;
    EXPECT_LE(b.price_cents, 2499) << id;
  }
}

TEST_P(ImporterTest, synthetic_price_and_stock_are_deterministic) {
  EXPECT_EQ(synthetic_price_cents("pg-1342"), synthetic_price_cents("pg-1342"));
  EXPECT_EQ(synthetic_stock("pg-1342"), synthetic_stock("pg-1342"));

  import({kSample});
  std::set<int64_t> prices;
  int64_t out_of_stock = 0;
  for (const auto& r : read_jsonl(kSample)) {
    const std::string id = r["id"].get<std::string>();
    Book b = book(id);
    EXPECT_EQ(b.price_cents, synthetic_price_cents(id)) << id;
    EXPECT_EQ(b.stock, synthetic_stock(id)) << id;
    prices.insert(b.price_cents);
    out_of_stock += b.stock == 0 ? 1 : 0;
  }
  EXPECT_GT(prices.size(), 10u) << "prices should vary between books";
  EXPECT_GT(out_of_stock, 0);
  EXPECT_LT(out_of_stock, 40);
}

TEST_P(ImporterTest, missing_file_fails_before_anything_is_written) {
  auto r = import_files(*store_, {kSample, (tmp_ / "no-such-file.jsonl").string()}, {});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("no-such-file.jsonl"), std::string::npos) << r.error().message;
  EXPECT_EQ(book_count(), 0);
  EXPECT_EQ(store_change_seq(), 0);
}

TEST_P(ImporterTest, unknown_extension_is_an_error) {
  const std::string file = write_file("books.txt", read_jsonl(kSample).front().dump() + "\n");
  auto r = import_files(*store_, {file}, {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find("books.txt"), std::string::npos) << r.error().message;
  EXPECT_EQ(book_count(), 0);
}

INSTANTIATE_TEST_SUITE_P(Stores, ImporterTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return store::testing::backend_name(info.param);
                         });

}  // namespace
}  // namespace libromind::catalog
