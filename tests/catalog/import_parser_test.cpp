#include "catalog/import_parser.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace libromind::catalog {
namespace {

std::vector<ParsedRecord> read_all(const std::string& text, Format format,
                                   const std::string& file = "input") {
  std::istringstream in(text);
  auto reader = RecordReader::open(in, format, file);
  EXPECT_TRUE(reader.ok());
  std::vector<ParsedRecord> out;
  if (!reader.ok()) {
    return out;
  }
  while (auto rec = reader->next()) {
    out.push_back(std::move(*rec));
  }
  return out;
}

std::vector<ParsedRecord> jsonl(const std::string& text) {
  return read_all(text, Format::kJsonLines, "books.jsonl");
}
std::vector<ParsedRecord> csv(const std::string& text) {
  return read_all(text, Format::kCsv, "books.csv");
}

std::string describe(const ParsedRecord& rec) {
  if (rec.ok()) {
    return "ok";
  }
  std::string out;
  for (const auto& e : rec.errors()) {
    out += to_string(e) + "\n";
  }
  return out;
}

// The first error of `errors` on `field` whose message contains `needle`, or nullptr.
const FieldError* find_error(const std::vector<FieldError>& errors, const std::string& field,
                             const std::string& needle = "") {
  for (const auto& e : errors) {
    if (e.field == field && e.message.find(needle) != std::string::npos) {
      return &e;
    }
  }
  return nullptr;
}
const FieldError* find_error(const ParsedRecord& rec, const std::string& field,
                             const std::string& needle = "") {
  return rec.ok() ? nullptr : find_error(rec.errors(), field, needle);
}

BookRecord valid_book() {
  BookRecord b;
  b.id = "pg-84";
  b.title = "Frankenstein";
  b.authors = {"Shelley, Mary Wollstonecraft"};
  b.genres = {"Gothic Fiction"};
  return b;
}

bool validates(BookRecord b) { return validate(b).empty(); }

std::string sample_path() {
  const char* env = std::getenv("LIBROMIND_SOURCE_DIR");
  std::string root = env != nullptr ? env : LIBROMIND_SOURCE_DIR;
  return root + "/../shared/data/books/sample-200.jsonl";
}

// ---- detect_format -------------------------------------------------------------------------

TEST(DetectFormat, RecognisesJsonLinesAndCsvExtensionsInAnyCase) {
  EXPECT_EQ(*detect_format("books-000.jsonl"), Format::kJsonLines);
  EXPECT_EQ(*detect_format("a/b.ndjson"), Format::kJsonLines);
  EXPECT_EQ(*detect_format("x.JSON"), Format::kJsonLines);
  EXPECT_EQ(*detect_format("shop.csv"), Format::kCsv);
  EXPECT_EQ(*detect_format("SHOP.CSV"), Format::kCsv);
}

TEST(DetectFormat, RejectsUnknownExtensionNamingTheFile) {
  auto r = detect_format("books.xlsx");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find("books.xlsx"), std::string::npos);
  EXPECT_FALSE(detect_format("csv").ok());
}

TEST(RecordReader, OpenFailsOnAStreamThatCannotBeRead) {
  std::ifstream missing("/nonexistent/books.jsonl");
  auto r = RecordReader::open(missing, Format::kJsonLines, "/nonexistent/books.jsonl");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("/nonexistent/books.jsonl"), std::string::npos);
}

// ---- JSON Lines ----------------------------------------------------------------------------

TEST(ImportJsonl, EveryLineOfTheShippedSampleParsesWithoutError) {
  std::ifstream in(sample_path(), std::ios::binary);
  ASSERT_TRUE(in.is_open()) << sample_path();
  auto reader = RecordReader::open(in, Format::kJsonLines, "sample-200.jsonl");
  ASSERT_TRUE(reader.ok());
  int count = 0;
  while (auto rec = reader->next()) {
    ++count;
    ASSERT_TRUE(rec->ok()) << describe(*rec);
    EXPECT_EQ(rec->line, count);
    const BookRecord& b = rec->record();
    EXPECT_EQ(b.id.rfind("pg-", 0), 0u);
    EXPECT_FALSE(b.title.empty());
    EXPECT_FALSE(b.genres.empty());
    EXPECT_GT(b.downloads, 0);
    EXPECT_EQ(b.source, "project-gutenberg");
  }
  EXPECT_EQ(count, 200);
}

TEST(ImportJsonl, ReadsAllFieldsIncludingShopFields) {
  auto recs =
      jsonl(R"({"id":"b-1","title":"T","authors":["A, B"],"description":"D","genres":["G"],)"
            R"("year":1818,"isbn13":"978-0-306-40615-7","pages":280,"rating":4.5,"downloads":7,)"
            R"("language":"EN","cover_url":"https://x/c.jpg","source":"shop","price_cents":1299,)"
            R"("currency":"EUR","stock":3})"
            "\n");
  ASSERT_EQ(recs.size(), 1u);
  ASSERT_TRUE(recs[0].ok()) << describe(recs[0]);
  const BookRecord& b = recs[0].record();
  EXPECT_EQ(b.id, "b-1");
  EXPECT_EQ(b.authors, std::vector<std::string>{"A, B"});
  EXPECT_EQ(b.description, "D");
  EXPECT_EQ(b.year, 1818);
  EXPECT_EQ(b.isbn13, "9780306406157");
  EXPECT_EQ(b.pages, 280);
  EXPECT_EQ(b.rating, 4.5);
  EXPECT_EQ(b.downloads, 7);
  EXPECT_EQ(b.language, "en");
  EXPECT_EQ(b.cover_url, "https://x/c.jpg");
  EXPECT_EQ(b.source, "shop");
  EXPECT_EQ(b.price_cents, 1299);
  EXPECT_EQ(b.currency, "EUR");
  EXPECT_EQ(b.stock, 3);
}

TEST(ImportJsonl, NullMeansAbsentAndDownloadsDefaultsToZero) {
  auto recs =
      jsonl(R"({"id":"a","title":"T","authors":null,"genres":null,"year":null,"isbn13":null,)"
            R"("pages":null,"rating":null,"downloads":null,"language":null,"cover_url":null,)"
            R"("description":null,"source":null,"price_cents":null,"currency":null,"stock":null})");
  ASSERT_EQ(recs.size(), 1u);
  ASSERT_TRUE(recs[0].ok()) << describe(recs[0]);
  const BookRecord& b = recs[0].record();
  EXPECT_TRUE(b.authors.empty());
  EXPECT_FALSE(b.year || b.isbn13 || b.pages || b.rating || b.language || b.cover_url || b.source ||
               b.price_cents || b.currency || b.stock);
  EXPECT_EQ(b.downloads, 0);
}

TEST(ImportJsonl, UnknownFieldsAreIgnored) {
  auto recs = jsonl(R"({"id":"a","title":"T","publisher":{"deep":[1,2,{"x":null}]}})");
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_TRUE(recs[0].ok()) << describe(recs[0]);
}

TEST(ImportJsonl, BlankLinesAreSkippedAndRecordsKeepTheirLineNumbers) {
  auto recs = jsonl(
      "\n"
      R"({"id":"a","title":"A"})"
      "\n  \n\n"
      R"({"id":"b","title":"B"})"
      "\n\n");
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].line, 2);
  EXPECT_EQ(recs[1].line, 5);
  EXPECT_EQ(recs[1].record().id, "b");
}

TEST(ImportJsonl, CrlfLineEndsAndAByteOrderMarkAreAccepted) {
  auto recs = jsonl(
      "\xEF\xBB\xBF"
      R"({"id":"a","title":"A"})"
      "\r\n"
      R"({"id":"b","title":"B"})"
      "\r\n");
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_TRUE(recs[0].ok()) << describe(recs[0]);
  EXPECT_TRUE(recs[1].ok()) << describe(recs[1]);
  EXPECT_EQ(recs[1].line, 2);
}

TEST(ImportJsonl, LastLineWithoutNewlineIsRead) {
  auto recs = jsonl(R"({"id":"a","title":"A"})");
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_TRUE(recs[0].ok());
}

TEST(ImportJsonl, MalformedJsonIsReportedWithParserMessageAndReadingContinues) {
  auto recs = jsonl(R"({"id":"a","title":"A")"
                    "\n"
                    R"({"id":"b","title":"B"})"
                    "\n");
  ASSERT_EQ(recs.size(), 2u);
  ASSERT_FALSE(recs[0].ok());
  ASSERT_EQ(recs[0].errors().size(), 1u);
  EXPECT_EQ(recs[0].errors()[0].line, 1);
  EXPECT_EQ(recs[0].errors()[0].file, "books.jsonl");
  EXPECT_NE(recs[0].errors()[0].message.find("parse error"), std::string::npos);
  EXPECT_TRUE(recs[1].ok());
}

TEST(ImportJsonl, LineThatIsNotAnObjectIsAnError) {
  auto recs = jsonl("[1,2]\n\"x\"\n");
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_NE(find_error(recs[0], "", "expected a JSON object"), nullptr);
  EXPECT_NE(find_error(recs[1], "", "expected a JSON object"), nullptr);
}

TEST(ImportJsonl, InvalidUtf8LineIsAnError) {
  auto recs = jsonl("{\"id\":\"a\",\"title\":\"\xC3\x28\"}\n{\"id\":\"b\",\"title\":\"B\"}\n");
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_NE(find_error(recs[0], "", "invalid UTF-8"), nullptr);
  EXPECT_TRUE(recs[1].ok());
}

TEST(ImportJsonl, LineOverOneMebibyteIsSkippedAndNextLineIsRead) {
  std::string big =
      R"({"id":"a","title":"A","description":")" + std::string(kMaxRecordBytes, 'x') + "\"}\n";
  auto recs = jsonl(big + R"({"id":"b","title":"B"})"
                          "\n");
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_NE(find_error(recs[0], "", "longer than 1048576 bytes"), nullptr);
  EXPECT_EQ(recs[1].line, 2);
  EXPECT_TRUE(recs[1].ok());
}

TEST(ImportJsonl, LineOfExactlyOneMebibyteIsAccepted) {
  std::string head = R"({"id":"a","title":"A","x":")";
  std::string line = head + std::string(kMaxRecordBytes - head.size() - 2, 'x') + "\"}";
  ASSERT_EQ(line.size(), kMaxRecordBytes);
  auto recs = jsonl(line + "\r\n");
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_TRUE(recs[0].ok()) << describe(recs[0]);
}

TEST(ImportJsonl, WrongTypesAreFieldErrors) {
  auto recs =
      jsonl(R"({"id":7,"title":"T","isbn13":"9780306406157","authors":"Shelley","genres":["ok",1],)"
            R"("year":"1818","pages":1.5,"rating":"4","downloads":true,"language":["en"],)"
            R"("price_cents":{},"stock":"3"})");
  ASSERT_EQ(recs.size(), 1u);
  const auto& r = recs[0];
  ASSERT_FALSE(r.ok());
  EXPECT_NE(find_error(r, "id", "expected string or null"), nullptr);
  EXPECT_NE(find_error(r, "authors", "expected array of strings or null"), nullptr);
  EXPECT_NE(find_error(r, "genres[1]", "expected string"), nullptr);
  EXPECT_NE(find_error(r, "year", "expected integer or null"), nullptr);
  EXPECT_NE(find_error(r, "pages", "expected integer or null"), nullptr);
  EXPECT_NE(find_error(r, "rating", "expected number or null"), nullptr);
  EXPECT_NE(find_error(r, "downloads", "expected integer or null"), nullptr);
  EXPECT_NE(find_error(r, "language", "expected string or null"), nullptr);
  EXPECT_NE(find_error(r, "price_cents", "expected integer or null"), nullptr);
  EXPECT_NE(find_error(r, "stock", "expected integer or null"), nullptr);
  for (const auto& e : r.errors()) {
    EXPECT_EQ(e.line, 1);
    EXPECT_EQ(e.file, "books.jsonl");
  }
}

TEST(ImportJsonl, TitleOfWrongTypeIsReportedOnceNotAlsoAsMissing) {
  auto recs = jsonl(R"({"id":"a","title":5})");
  ASSERT_FALSE(recs.at(0).ok());
  EXPECT_EQ(recs[0].errors().size(), 1u) << describe(recs[0]);
  EXPECT_NE(find_error(recs[0], "title", "expected string or null"), nullptr);
}

TEST(ImportJsonl, IntegersTooLargeForTheFieldAreRangeErrors) {
  auto recs = jsonl(R"({"id":"a","title":"T","year":99999999999,"pages":-99999999999,)"
                    R"("downloads":18446744073709551615})");
  ASSERT_FALSE(recs.at(0).ok());
  EXPECT_NE(find_error(recs[0], "year", "between -5000 and 2100"), nullptr);
  EXPECT_NE(find_error(recs[0], "pages", "between 1 and 100000"), nullptr);
  EXPECT_NE(find_error(recs[0], "downloads", "out of range"), nullptr);
}

TEST(ImportJsonl, ReportsAllErrorsOfARecordNotJustTheFirst) {
  auto recs = jsonl(R"({"title":"","year":3000,"rating":9,"currency":"usd"})");
  ASSERT_FALSE(recs.at(0).ok());
  EXPECT_NE(find_error(recs[0], "title", "required"), nullptr);
  EXPECT_NE(find_error(recs[0], "year"), nullptr);
  EXPECT_NE(find_error(recs[0], "rating"), nullptr);
  EXPECT_NE(find_error(recs[0], "currency"), nullptr);
  EXPECT_NE(find_error(recs[0], "id", "id or isbn13 is required"), nullptr);
}

TEST(ImportJsonl, ErrorsPerRecordAreCapped) {
  std::string genres;
  for (int i = 0; i < 500; ++i) {
    genres += (i ? ",1" : "1");
  }
  auto recs = jsonl(R"({"id":"a","title":"T","genres":[)" + genres + "]}");
  ASSERT_FALSE(recs.at(0).ok());
  EXPECT_EQ(recs[0].errors().size(), kMaxErrorsPerRecord + 1);
  EXPECT_NE(find_error(recs[0], "", "too many errors"), nullptr);
}

TEST(ImportJsonl, EmptyInputHasNoRecords) {
  EXPECT_TRUE(jsonl("").empty());
  EXPECT_TRUE(jsonl("\n\n").empty());
}

TEST(ImportJsonl, ErrorRendersAsFileLineFieldMessage) {
  FieldError e{"books.jsonl", 12, "year", "expected integer or null"};
  EXPECT_EQ(to_string(e), "books.jsonl:12: year: expected integer or null");
  EXPECT_EQ(to_string(FieldError{"", 0, "", "bad"}), "bad");
}

// ---- CSV -----------------------------------------------------------------------------------

TEST(ImportCsv, ReadsRowsByHeaderColumnsInAnyOrder) {
  auto recs =
      csv("title,id,year,downloads,rating,isbn13,price_cents,currency,stock\n"
          "Frankenstein,pg-84,1818,5,4.25,978-0-306-40615-7,999,GBP,4\n");
  ASSERT_EQ(recs.size(), 1u);
  ASSERT_TRUE(recs[0].ok()) << describe(recs[0]);
  const auto& b = recs[0].record();
  EXPECT_EQ(recs[0].line, 2);
  EXPECT_EQ(b.title, "Frankenstein");
  EXPECT_EQ(b.id, "pg-84");
  EXPECT_EQ(b.year, 1818);
  EXPECT_EQ(b.downloads, 5);
  EXPECT_EQ(b.rating, 4.25);
  EXPECT_EQ(b.isbn13, "9780306406157");
  EXPECT_EQ(b.price_cents, 999);
  EXPECT_EQ(b.currency, "GBP");
  EXPECT_EQ(b.stock, 4);
}

TEST(ImportCsv, QuotedCellsMayHoldCommasAndDoubledQuotes) {
  auto recs =
      csv("id,title,description\n"
          "a,\"Hello, World\",\"She said \"\"hi\"\".\"\n"
          "b,\"\",\"\"\"\"\n");
  ASSERT_EQ(recs.size(), 2u);
  ASSERT_TRUE(recs[0].ok()) << describe(recs[0]);
  EXPECT_EQ(recs[0].record().title, "Hello, World");
  EXPECT_EQ(recs[0].record().description, "She said \"hi\".");
  // A quoted empty cell is empty: the title is missing.
  EXPECT_NE(find_error(recs[1], "title", "required"), nullptr);
}

TEST(ImportCsv, MultiLineQuotedCellKeepsNewlinesAndLineNumbersStayRight) {
  auto recs =
      csv("id,title,description\n"
          "a,A,\"line one\nline two\nline three\"\n"
          "b,B,x\n");
  ASSERT_EQ(recs.size(), 2u);
  ASSERT_TRUE(recs[0].ok()) << describe(recs[0]);
  EXPECT_EQ(recs[0].line, 2);
  EXPECT_EQ(recs[0].record().description, "line one\nline two\nline three");
  EXPECT_EQ(recs[1].line, 5);
  EXPECT_EQ(recs[1].record().id, "b");
}

TEST(ImportCsv, ErrorPointsAtTheLineWhereItsCellStarts) {
  auto recs =
      csv("id,title,description,year\n"
          "a,,\"two\nlines\",12x\n");
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].line, 2);
  const FieldError* year = find_error(recs[0], "year", "expected integer");
  ASSERT_NE(year, nullptr) << describe(recs[0]);
  EXPECT_EQ(year->line, 3);
  const FieldError* title = find_error(recs[0], "title", "required");
  ASSERT_NE(title, nullptr);
  EXPECT_EQ(title->line, 2);
}

TEST(ImportCsv, CrlfLineEndsAreAcceptedAndKeptInsideQuotedCells) {
  auto recs = csv("id,title,description\r\na,A,\"x\r\ny\"\r\nb,B,z\r\n");
  ASSERT_EQ(recs.size(), 2u);
  ASSERT_TRUE(recs[0].ok()) << describe(recs[0]);
  EXPECT_EQ(recs[0].record().description, "x\r\ny");
  EXPECT_EQ(recs[1].record().description, "z");
  EXPECT_EQ(recs[1].line, 4);
}

TEST(ImportCsv, ByteOrderMarkBeforeTheHeaderIsSkipped) {
  auto recs = csv("\xEF\xBB\xBFid,title\na,A\n");
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_TRUE(recs[0].ok()) << describe(recs[0]);
}

TEST(ImportCsv, PartialByteOrderMarkIsData) {
  auto recs = csv("\xEF\xBBid,title\na,A\n");
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_FALSE(recs[0].ok());
  EXPECT_EQ(recs[0].line, 1);
}

TEST(ImportCsv, BlankLinesAreSkippedAndLastRowNeedsNoNewline) {
  auto recs = csv("id,title\n\na,A\r\n\r\nb,B");
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].line, 3);
  EXPECT_EQ(recs[1].line, 5);
  EXPECT_EQ(recs[1].record().title, "B");
}

TEST(ImportCsv, EmptyCellsMeanAbsent) {
  auto recs = csv("id,title,year,isbn13,authors,language,downloads\na,A,,,,,\n");
  ASSERT_TRUE(recs.at(0).ok()) << describe(recs[0]);
  const auto& b = recs[0].record();
  EXPECT_FALSE(b.year || b.isbn13 || b.language);
  EXPECT_TRUE(b.authors.empty());
  EXPECT_EQ(b.downloads, 0);
}

TEST(ImportCsv, ListCellsSplitOnSemicolonsOrParseAsJsonArray) {
  auto recs = csv(
      "id,title,authors,genres\n"
      "a,A,\" Shelley, Mary ;; Byron, George ; \",\"[\"\"Gothic; Fiction\"\", \"\"Horror\"\"]\"\n"
      "b,B,\"[1]\",[oops\n");
  ASSERT_EQ(recs.size(), 2u);
  ASSERT_TRUE(recs[0].ok()) << describe(recs[0]);
  EXPECT_EQ(recs[0].record().authors, (std::vector<std::string>{"Shelley, Mary", "Byron, George"}));
  EXPECT_EQ(recs[0].record().genres, (std::vector<std::string>{"Gothic; Fiction", "Horror"}));
  EXPECT_NE(find_error(recs[1], "authors[0]", "expected string"), nullptr) << describe(recs[1]);
  EXPECT_NE(find_error(recs[1], "genres", "invalid JSON array"), nullptr);
}

TEST(ImportCsv, NumericCellsAreParsedStrictly) {
  auto recs =
      csv("id,title,year,pages,rating,downloads\n"
          "a,A, 1818 ,12,4.5,3\n"
          "b,B,1818.0,12pp,four,0x10\n");
  ASSERT_EQ(recs.size(), 2u);
  ASSERT_TRUE(recs[0].ok()) << describe(recs[0]);
  EXPECT_EQ(recs[0].record().year, 1818);
  EXPECT_NE(find_error(recs[1], "year", "expected integer"), nullptr);
  EXPECT_NE(find_error(recs[1], "pages", "expected integer"), nullptr);
  EXPECT_NE(find_error(recs[1], "rating", "expected number"), nullptr);
  EXPECT_NE(find_error(recs[1], "downloads", "expected integer"), nullptr);
}

TEST(ImportCsv, RowWithWrongCellCountIsAnErrorAndReadingContinues) {
  auto recs = csv("id,title\na,A,extra\nb\nc,C\n");
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_NE(find_error(recs[0], "", "expected 2 cells, found 3"), nullptr);
  EXPECT_EQ(recs[0].errors()[0].line, 2);
  EXPECT_NE(find_error(recs[1], "", "expected 2 cells, found 1"), nullptr);
  EXPECT_EQ(recs[1].errors()[0].line, 3);
  ASSERT_TRUE(recs[2].ok());
  EXPECT_EQ(recs[2].record().id, "c");
}

TEST(ImportCsv, UnterminatedQuoteAtEndOfFileNamesItsStartLine) {
  auto recs = csv("id,title\na,A\nb,\"never\nclosed\n");
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_TRUE(recs[0].ok());
  const FieldError* e =
      find_error(recs[1], "title", "unterminated quoted field starting at line 3");
  ASSERT_NE(e, nullptr) << describe(recs[1]);
  EXPECT_EQ(e->line, 3);
  EXPECT_EQ(e->file, "books.csv");
}

TEST(ImportCsv, QuoteInTheMiddleOfAnUnquotedCellIsAnErrorAndReadingContinues) {
  auto recs = csv("id,title\na,The \"Best\" Book\nb,B\n");
  ASSERT_EQ(recs.size(), 2u);
  const FieldError* e = find_error(recs[0], "title", "quote in the middle of an unquoted field");
  ASSERT_NE(e, nullptr) << describe(recs[0]);
  EXPECT_EQ(e->line, 2);
  EXPECT_TRUE(recs[1].ok());
}

TEST(ImportCsv, TextAfterAClosingQuoteIsAnError) {
  auto recs = csv("id,title\na,\"A\"x\nb,B\n");
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_NE(find_error(recs[0], "title", "after closing quote"), nullptr) << describe(recs[0]);
  EXPECT_TRUE(recs[1].ok());
}

TEST(ImportCsv, InvalidUtf8CellIsAFieldError) {
  auto recs = csv("id,title,authors\na,\xFF\xFE,\"Ok; \xC3\"\nb,B,\n");
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_NE(find_error(recs[0], "title", "invalid UTF-8"), nullptr) << describe(recs[0]);
  EXPECT_NE(find_error(recs[0], "authors", "invalid UTF-8"), nullptr);
  EXPECT_TRUE(recs[1].ok());
}

TEST(ImportCsv, RecordOverOneMebibyteIsSkippedAndNextRowIsRead) {
  std::string text = "id,title\na,\"" + std::string(kMaxRecordBytes, 'x') + "\"\nb,B\n";
  auto recs = csv(text);
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_NE(find_error(recs[0], "", "longer than 1048576 bytes"), nullptr);
  EXPECT_EQ(recs[1].line, 3);
  EXPECT_TRUE(recs[1].ok());
}

TEST(ImportCsv, UnknownHeaderColumnIsAnErrorOnTheHeader) {
  auto recs = csv("id,title,publisher\na,A,X\n");
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].line, 1);
  EXPECT_NE(find_error(recs[0], "publisher", "unknown column 'publisher'"), nullptr);
}

TEST(ImportCsv, DuplicatedHeaderColumnIsAnError) {
  auto recs = csv("id,title,id\na,A,b\n");
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_NE(find_error(recs[0], "id", "duplicated column 'id'"), nullptr);
}

TEST(ImportCsv, HeaderWithoutTitleColumnIsAnError) {
  auto recs = csv("id,isbn13\na,9780306406157\n");
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_NE(find_error(recs[0], "title", "missing required column 'title'"), nullptr);
}

TEST(ImportCsv, EmptyFileIsAnErrorBecauseTheHeaderIsMissing) {
  auto recs = csv("");
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_NE(find_error(recs[0], "", "missing the header row"), nullptr);
}

TEST(ImportCsv, HeaderErrorsAreCapped) {
  auto recs = csv(std::string(60, ',') + "x\n");
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].errors().size(), kMaxErrorsPerRecord + 1);
  EXPECT_NE(find_error(recs[0], "", "too many errors"), nullptr);
}

TEST(ImportCsv, HeaderWiderThanAnyValidHeaderIsRejected) {
  auto recs = csv(std::string(100, ',') + "\na\n");
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_NE(find_error(recs[0], "", "more than 64 columns"), nullptr);
}

TEST(ImportCsv, HeaderOnlyFileHasNoRecords) {
  EXPECT_TRUE(csv("id,title\n").empty());
  EXPECT_TRUE(csv(" id , title \r\n").empty());
}

TEST(ImportCsv, ControlCharacterInTitleCellIsRejected) {
  auto recs = csv("isbn13,title\n9780306406157,\"Bad\x01Title\"\n");
  EXPECT_NE(find_error(recs.at(0), "title", "control characters"), nullptr);
}

// ---- validate ------------------------------------------------------------------------------

TEST(Validate, ValidRecordPassesAndStringsAreTrimmed) {
  BookRecord b = valid_book();
  b.title = "  Frankenstein \n";
  b.authors = {" Shelley, Mary "};
  b.description = " D ";
  b.id = " pg-84 ";
  EXPECT_TRUE(validate(b).empty());
  EXPECT_EQ(b.title, "Frankenstein");
  EXPECT_EQ(b.authors[0], "Shelley, Mary");
  EXPECT_EQ(b.description, "D");
  EXPECT_EQ(b.id, "pg-84");
}

TEST(Validate, IdOrIsbn13IsRequired) {
  BookRecord b = valid_book();
  b.id = "";
  auto errors = validate(b);
  EXPECT_NE(find_error(errors, "id", "id or isbn13 is required"), nullptr);
  b.isbn13 = "9780306406157";
  EXPECT_TRUE(validate(b).empty());
}

TEST(Validate, IdAllowsOnlyUpTo100SafeCharacters) {
  BookRecord b = valid_book();
  b.id = "urn:isbn.978_0-3";
  EXPECT_TRUE(validates(b));
  b.id = std::string(100, 'a');
  EXPECT_TRUE(validates(b));
  b.id = std::string(101, 'a');
  EXPECT_NE(find_error(validate(b), "id"), nullptr);
  b.id = "pg 84";
  EXPECT_NE(find_error(validate(b), "id"), nullptr);
  b.id = "pg/84";
  EXPECT_FALSE(validates(b));
}

TEST(Validate, TitleIsRequiredAndCountsCodePointsUpTo1000) {
  BookRecord b = valid_book();
  b.title = "   ";
  EXPECT_NE(find_error(validate(b), "title", "required"), nullptr);
  b.title = "";
  for (int i = 0; i < 1000; ++i) {
    b.title += "\xC3\xA9";  // é: 2 bytes, 1 character
  }
  EXPECT_TRUE(validates(b));
  b.title += "e";
  EXPECT_NE(find_error(validate(b), "title", "at most 1000"), nullptr);
}

TEST(Validate, TitlesAndNamesRejectControlCharactersButAllowTabAndNewline) {
  BookRecord b = valid_book();
  b.title = "A\tB\nC";
  EXPECT_TRUE(validates(b));
  b.title =
      "A\x1B"
      "B";
  EXPECT_NE(find_error(validate(b), "title", "control characters"), nullptr);
  b = valid_book();
  b.title = "A\x7F";
  EXPECT_FALSE(validates(b));
  b = valid_book();
  b.title = "A\xC2\x81";  // U+0081: a C1 control with no Windows-1252 meaning
  EXPECT_FALSE(validates(b));
  b = valid_book();
  b.authors = {"Ok", "Bad\x01"};
  EXPECT_NE(find_error(validate(b), "authors[1]", "control characters"), nullptr);
  b = valid_book();
  b.genres = {"Bad\x02"};
  EXPECT_NE(find_error(validate(b), "genres[0]", "control characters"), nullptr);
}

TEST(Validate, MisDecodedWindows1252PunctuationIsRepairedNotRejected) {
  // As in the shipped catalogue: "Vol. XXXIX.\u0097No. 6" meant an em dash.
  BookRecord b = valid_book();
  b.title = "Vol. XXXIX.\xC2\x97No. 6";
  b.authors = {"Man\xC2\x9Cuvre"};
  EXPECT_TRUE(validate(b).empty());
  EXPECT_EQ(b.title, "Vol. XXXIX.\u2014No. 6");
  EXPECT_EQ(b.authors.at(0), "Man\u0153uvre");
}

TEST(Validate, TextFieldsMustBeValidUtf8) {
  BookRecord b = valid_book();
  b.title = "\xC0\xAF";            // overlong
  b.description = "\xED\xA0\x80";  // surrogate
  b.authors = {"\xFF"};
  b.source = "\xC3";
  auto errors = validate(b);
  EXPECT_NE(find_error(errors, "title", "invalid UTF-8"), nullptr);
  EXPECT_NE(find_error(errors, "description", "invalid UTF-8"), nullptr);
  EXPECT_NE(find_error(errors, "authors[0]", "invalid UTF-8"), nullptr);
  EXPECT_NE(find_error(errors, "source", "invalid UTF-8"), nullptr);
}

TEST(Validate, DescriptionIsAtMost20000Characters) {
  BookRecord b = valid_book();
  b.description = std::string(20000, 'd');
  EXPECT_TRUE(validates(b));
  b.description += "d";
  EXPECT_NE(find_error(validate(b), "description", "at most 20000"), nullptr);
}

TEST(Validate, AuthorsAndGenresAreTrimmedNonEmptyAndAtMost500Characters) {
  BookRecord b = valid_book();
  b.authors = {std::string(500, 'a')};
  EXPECT_TRUE(validates(b));
  b.authors = {std::string(501, 'a')};
  EXPECT_NE(find_error(validate(b), "authors[0]", "at most 500"), nullptr);
  b = valid_book();
  b.genres = {"Horror", "  "};
  EXPECT_NE(find_error(validate(b), "genres[1]", "must not be empty"), nullptr);
}

TEST(Validate, DuplicateAuthorsAndGenresAreDroppedCaseInsensitivelyKeepingTheFirst) {
  BookRecord b = valid_book();
  b.authors = {"Shelley, Mary", "SHELLEY, MARY ", "Byron"};
  b.genres = {"Horror", "Gothic", "horror"};
  EXPECT_TRUE(validate(b).empty());
  EXPECT_EQ(b.authors, (std::vector<std::string>{"Shelley, Mary", "Byron"}));
  EXPECT_EQ(b.genres, (std::vector<std::string>{"Horror", "Gothic"}));
}

TEST(Validate, AtMost50AuthorsAndGenresAfterDuplicatesAreDropped) {
  BookRecord b = valid_book();
  b.genres.clear();
  for (int i = 0; i < 50; ++i) {
    b.genres.push_back("g" + std::to_string(i));
  }
  b.genres.push_back("G0");  // duplicate, dropped
  EXPECT_TRUE(validates(b));
  b.genres.push_back("g50");
  EXPECT_NE(find_error(validate(b), "genres", "at most 50"), nullptr);
  b = valid_book();
  b.authors.assign(51, "");
  for (int i = 0; i < 51; ++i) {
    b.authors[static_cast<size_t>(i)] = "a" + std::to_string(i);
  }
  EXPECT_NE(find_error(validate(b), "authors", "at most 50"), nullptr);
}

TEST(Validate, YearIsBetweenMinus5000And2100) {
  BookRecord b = valid_book();
  for (int y : {-5000, 0, 2100}) {
    b.year = y;
    EXPECT_TRUE(validates(b)) << y;
  }
  for (int y : {-5001, 2101}) {
    b.year = y;
    EXPECT_NE(find_error(validate(b), "year", "between -5000 and 2100"), nullptr) << y;
  }
}

TEST(Validate, Isbn13IsStrippedOfHyphensAndSpacesAndNeedsAValidCheckDigit) {
  BookRecord b = valid_book();
  b.isbn13 = " 978-0 306-40615-7 ";
  EXPECT_TRUE(validate(b).empty());
  EXPECT_EQ(b.isbn13, "9780306406157");
  b.isbn13 = "9780306406158";
  EXPECT_NE(find_error(validate(b), "isbn13", "check digit"), nullptr);
  b.isbn13 = "978030640615";
  EXPECT_NE(find_error(validate(b), "isbn13", "13 digits"), nullptr);
  b.isbn13 = "978030640615X";
  EXPECT_NE(find_error(validate(b), "isbn13", "13 digits"), nullptr);
  b.isbn13 = " - ";
  EXPECT_TRUE(validate(b).empty());
  EXPECT_FALSE(b.isbn13.has_value());
}

TEST(Validate, PagesRatingAndDownloadsRanges) {
  BookRecord b = valid_book();
  b.pages = 1;
  b.rating = 0.0;
  EXPECT_TRUE(validates(b));
  b.pages = 100000;
  b.rating = 5.0;
  EXPECT_TRUE(validates(b));
  b.pages = 0;
  b.rating = 5.01;
  b.downloads = -1;
  auto errors = validate(b);
  EXPECT_NE(find_error(errors, "pages", "between 1 and 100000"), nullptr);
  EXPECT_NE(find_error(errors, "rating", "between 0 and 5"), nullptr);
  EXPECT_NE(find_error(errors, "downloads", ">= 0"), nullptr);
  b = valid_book();
  b.pages = 100001;
  b.rating = -0.5;
  EXPECT_EQ(validate(b).size(), 2u);
}

TEST(Validate, LanguageIsLowerCasedAndMustBe2To8LettersOrHyphens) {
  BookRecord b = valid_book();
  b.language = " EN-gb ";
  EXPECT_TRUE(validate(b).empty());
  EXPECT_EQ(b.language, "en-gb");
  for (const char* bad : {"e", "abcdefghi", "en_GB", "e1"}) {
    b.language = bad;
    EXPECT_NE(find_error(validate(b), "language"), nullptr) << bad;
  }
  b.language = "";
  EXPECT_TRUE(validate(b).empty());
  EXPECT_FALSE(b.language.has_value());
}

TEST(Validate, CoverUrlMustBeHttpOrHttpsAndAtMost2000Characters) {
  BookRecord b = valid_book();
  b.cover_url = "http://a/b.jpg";
  EXPECT_TRUE(validates(b));
  b.cover_url = "https://a/" + std::string(1990, 'x');
  EXPECT_TRUE(validates(b));
  b.cover_url = "https://a/" + std::string(1991, 'x');
  EXPECT_NE(find_error(validate(b), "cover_url", "at most 2000"), nullptr);
  b.cover_url = "ftp://a/b.jpg";
  EXPECT_NE(find_error(validate(b), "cover_url", "http"), nullptr);
  b.cover_url = "javascript:alert(1)";
  EXPECT_FALSE(validates(b));
  b.cover_url = "https://a/b c.jpg";
  EXPECT_FALSE(validates(b));
}

TEST(Validate, PriceCurrencyAndStockRanges) {
  BookRecord b = valid_book();
  b.price_cents = 0;
  b.currency = "USD";
  b.stock = 0;
  EXPECT_TRUE(validates(b));
  b.price_cents = 100'000'000;
  b.stock = 1'000'000;
  EXPECT_TRUE(validates(b));
  b.price_cents = 100'000'001;
  b.stock = 1'000'001;
  b.currency = "usd";
  auto errors = validate(b);
  EXPECT_NE(find_error(errors, "price_cents"), nullptr);
  EXPECT_NE(find_error(errors, "stock"), nullptr);
  EXPECT_NE(find_error(errors, "currency", "3 upper-case letters"), nullptr);
  b = valid_book();
  b.price_cents = -1;
  b.stock = -1;
  b.currency = "EURO";
  EXPECT_EQ(validate(b).size(), 3u);
}

TEST(Validate, SourceIsAtMost100Characters) {
  BookRecord b = valid_book();
  b.source = std::string(100, 's');
  EXPECT_TRUE(validates(b));
  b.source = std::string(101, 's');
  EXPECT_NE(find_error(validate(b), "source", "at most 100"), nullptr);
}

TEST(Validate, EmptyOptionalStringsBecomeAbsent) {
  BookRecord b = valid_book();
  b.cover_url = " ";
  b.currency = "";
  b.source = "\t";
  EXPECT_TRUE(validate(b).empty());
  EXPECT_FALSE(b.cover_url || b.currency || b.source);
}

}  // namespace
}  // namespace libromind::catalog
