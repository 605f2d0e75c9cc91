// Imports catalogue files (JSON Lines or CSV) into the store: streams and validates every
// record, upserts by id (or isbn13) in batches inside one transaction, so an import is all or
// nothing, and importing the same file twice changes nothing.
//
//   catalog::ImportOptions opts;  // on_error = kAbort: one bad record writes nothing
//   LM_ASSIGN_OR_RETURN(auto report, catalog::import_files(store, {"books.jsonl"}, opts));
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "catalog/book_record.hpp"
#include "catalog/import_parser.hpp"
#include "core/result.hpp"
#include "store/store.hpp"

namespace libromind::catalog {

enum class OnError { kAbort, kSkip };

struct ImportReport;

struct ImportOptions {
  bool dry_run = false;                // validate and write inside a transaction, then roll back
  OnError on_error = OnError::kAbort;  // abort: any bad record means nothing is written
  size_t batch_size = 500;             // records per upsert statement batch
  size_t max_reported_errors = 1000;   // errors kept in the report (all are counted)
  std::function<void(int64_t records_read)> progress;  // called after each batch
  // Checked after each batch: once true, the import rolls back and fails with kUnavailable
  // (a job's worker is stopping; the whole import runs again later).
  const std::atomic<bool>* stop = nullptr;
  // Runs inside the import's transaction just before it commits (not on a dry run or an
  // aborted import): what must commit with the books, e.g. their embedding jobs.
  std::function<core::Result<void>(store::Connection&, const ImportReport&)> before_commit;
};

struct ImportReport {
  int64_t records_read = 0;
  int64_t inserted = 0;
  int64_t updated = 0;
  int64_t unchanged = 0;
  int64_t failed = 0;  // records with errors
  bool committed = false;
  std::vector<FieldError> errors;         // the first max_reported_errors
  std::vector<int64_t> changed_book_ids;  // store ids of the books inserted or updated
};

core::Result<ImportReport> import_files(store::Store& store, const std::vector<std::string>& files,
                                        const ImportOptions& options);

// The synthetic price and stock of a book that has none (see README: both are synthetic in the
// shipped catalogue). Deterministic: a function of the book's id only.
int64_t synthetic_price_cents(std::string_view id);
int64_t synthetic_stock(std::string_view id);

// Upserts already validated records inside the caller's transaction, with the import's rules
// and effects (synthetic price/stock when absent, names, links, change sequence). Records that
// clash with the store (an isbn13 owned by another book) come back as errors, unwritten.
struct WriteOutcome {
  int64_t inserted = 0;
  int64_t updated = 0;
  int64_t unchanged = 0;
  std::vector<FieldError> errors;
  std::vector<int64_t> changed_book_ids;  // store ids of the books inserted or updated
};
core::Result<WriteOutcome> write_records(store::Connection& conn, std::vector<BookRecord> records);

// Number of books in the store.
core::Result<int64_t> count_books(store::Store& store);

// Takes the next value of the store's change sequence (inside the caller's transaction).
core::Result<int64_t> next_change_seq(store::Connection& conn);

}  // namespace libromind::catalog
