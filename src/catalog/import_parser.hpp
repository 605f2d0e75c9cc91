// Streaming reader for catalogue import files (JSON Lines or CSV, see
// ../shared/data/books/README.md): one BookRecord or one list of FieldErrors per record, in
// constant memory, plus the validation and normalisation rules that every imported record obeys.
//
//   std::ifstream in(path, std::ios::binary);
//   LM_ASSIGN_OR_RETURN(auto format, catalog::detect_format(path));
//   LM_ASSIGN_OR_RETURN(auto reader, catalog::RecordReader::open(in, format, path));
//   while (auto rec = reader.next()) {
//     if (rec->ok()) { write(rec->record()); } else { report(rec->errors()); }
//   }
#pragma once

#include <cstddef>
#include <cstdint>
#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "catalog/book_record.hpp"
#include "core/result.hpp"

namespace libromind::catalog {

enum class Format { kJsonLines, kCsv };

// By extension: .jsonl / .ndjson / .json are JSON Lines, .csv is CSV (case-insensitive);
// anything else is an error naming the file.
core::Result<Format> detect_format(std::string_view file_name);

// A JSONL line or a CSV record (which may span lines) longer than this is an error and is
// skipped without being held in memory.
inline constexpr size_t kMaxRecordBytes = size_t{1} << 20;
// Errors reported per record; past this one last error says that more were dropped.
inline constexpr size_t kMaxErrorsPerRecord = 50;

struct FieldError {
  std::string file;     // file name given to RecordReader::open (empty from validate())
  int64_t line = 0;     // 1-based line of the problem (0 from validate())
  std::string field;    // "title", "authors[2]", ...; empty for record-level problems
  std::string message;  // e.g. "expected integer or null"
};

// "books.csv:12: year: expected integer or null"
std::string to_string(const FieldError& e);

struct ParsedRecord {
  int64_t line = 0;  // 1-based line where the record starts
  std::variant<BookRecord, std::vector<FieldError>> result;

  bool ok() const { return result.index() == 0; }
  BookRecord& record() { return std::get<0>(result); }
  const BookRecord& record() const { return std::get<0>(result); }
  const std::vector<FieldError>& errors() const { return std::get<1>(result); }
};

// Checks every field rule of BookRecord and normalises in place: strings trimmed, empty
// optional strings made absent, isbn13 stripped of hyphens and spaces, language lower-cased,
// duplicate authors/genres dropped (case-insensitive, first kept). Returns all problems found
// (file and line left empty; the reader fills them in).
std::vector<FieldError> validate(BookRecord& record);

// Reads records one at a time from a stream that must outlive the reader. A leading UTF-8 BOM
// is skipped. Problems in one record never stop the reader; the next record is read.
// CSV: the first row names the columns (the JSONL field names). When the header itself is bad
// (unknown, duplicated or missing `title` column), next() returns one record with the header
// errors and then ends, since no row can be interpreted.
class RecordReader {
 public:
  // Fails only when the stream cannot be read at all.
  static core::Result<RecordReader> open(std::istream& in, Format format, std::string file_name);

  // The next record, or nullopt at the end of the input.
  std::optional<ParsedRecord> next();

  Format format() const { return format_; }
  const std::string& file_name() const { return file_name_; }

 private:
  RecordReader(std::istream& in, Format format, std::string file_name);

  // One CSV record split into cells; `errors` holds syntax problems.
  struct CsvRow {
    int64_t line = 0;
    std::vector<std::string> cells;
    std::vector<int64_t> cell_lines;  // line where each kept cell starts
    size_t cell_count = 0;  // may exceed cells.size(): cells past `max_cells` are only counted
    std::vector<FieldError> errors;
  };

  std::optional<ParsedRecord> next_jsonl();
  std::optional<ParsedRecord> next_csv();
  bool read_csv_row(CsvRow& row, size_t max_cells);
  bool read_header();
  int get();   // next byte as unsigned char, or EOF
  int peek();  // same without consuming
  FieldError error_at(int64_t line, std::string field, std::string message) const;

  std::istream* in_;
  Format format_;
  std::string file_name_;
  std::string pending_;  // bytes given back (a partial BOM, a lone CR), read before the stream
  size_t pending_pos_ = 0;
  int64_t line_ = 1;  // line of the next unread byte
  bool header_read_ = false;
  bool done_ = false;
  int64_t header_line_ = 1;           // CSV header row (blank lines may precede it)
  std::vector<std::string> columns_;  // CSV header, in file order
  std::vector<FieldError> header_errors_;
};

}  // namespace libromind::catalog
