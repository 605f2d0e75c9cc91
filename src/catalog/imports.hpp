// Bulk catalogue uploads: the `imports` table (migration 0005), the live progress of the imports
// this process runs, and the `import_file` job that runs one.
//
//   catalog::Imports imports(store, {.upload_dir = "var/uploads"});
//   LM_ASSIGN_OR_RETURN(auto rec, imports.create(file_on_disk, {...}));  // moves the file, queues
//   jobs::Handlers h;
//   imports.register_handler(h);  // the worker runs import_file
//   LM_ASSIGN_OR_RETURN(auto now, imports.get(rec.id));  // state, counts, errors, embeddings
//
// The job validates and upserts the file in batches inside one transaction (catalog/importer),
// so by default a file with a bad row imports nothing; with on_error = skip the good rows are
// imported and the bad ones reported. In the same transaction it records the outcome and queues
// the new or changed books' embed_books jobs, so a crash never leaves a half-import or books
// that are never embedded. Running the job twice has the effect of running it once: a finished
// import is not run again.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "catalog/import_parser.hpp"
#include "catalog/importer.hpp"
#include "core/result.hpp"
#include "jobs/worker.hpp"
#include "store/store.hpp"

namespace libromind::catalog {

struct ImportRecord {
  int64_t id = 0;
  std::string state;     // queued, running, succeeded, failed
  std::string format;    // jsonl, csv
  std::string on_error;  // abort, skip
  std::string file_name;
  int64_t bytes = 0;
  int64_t rows_read = 0;
  int64_t inserted = 0, updated = 0, unchanged = 0, failed = 0;
  int64_t embeddings_total = 0;  // books queued for embedding
  int64_t embeddings_done = 0;
  std::vector<FieldError> errors;  // the first 1,000
  std::string error;               // why the import failed as a whole
  int64_t job_id = 0;
  std::optional<int64_t> created_by = std::nullopt;
  int64_t created_at_ms = 0;
  std::optional<int64_t> started_at_ms = std::nullopt;
  std::optional<int64_t> finished_at_ms = std::nullopt;

  bool finished() const { return state == "succeeded" || state == "failed"; }
  // Finished, and every queued embedding done (or nothing to embed): the books are searchable.
  bool complete() const {
    return state == "failed" || (state == "succeeded" && embeddings_done >= embeddings_total);
  }
  nlohmann::ordered_json to_json() const;
};

struct ImportsOptions {
  std::string upload_dir = "var/uploads";  // uploads wait here for their job
  size_t max_reported_errors = 1000;
  jobs::Queue* queue = nullptr;  // woken after a commit that queued work (optional)
};

struct NewImport {
  Format format = Format::kJsonLines;
  OnError on_error = OnError::kAbort;
  std::string file_name = {};  // as the client named it (shown back; never used as a path)
  std::optional<int64_t> created_by = std::nullopt;
};

class Imports {
 public:
  Imports(store::Store& store, ImportsOptions options = {});

  // Takes the uploaded file (renamed into the upload dir), records the import and enqueues its
  // job in one transaction. The file must be valid UTF-8 (else kUnprocessable naming the line).
  core::Result<ImportRecord> create(const std::string& uploaded_path, const NewImport& what);
  core::Result<ImportRecord> get(int64_t id) const;
  // Newest first; before_id pages.
  core::Result<std::vector<ImportRecord>> list(int64_t before_id, int64_t limit) const;

  void register_handler(jobs::Handlers& handlers);
  core::Result<nlohmann::json> run(jobs::JobContext& ctx);  // the import_file handler

 private:
  store::Store& store_;
  ImportsOptions options_;
  // Rows read so far by the imports running in this process: the import's transaction holds
  // the store's write lock on SQLite, so its progress cannot go through the store.
  mutable std::mutex mu_;
  std::map<int64_t, int64_t> live_rows_;
};

// Counts an embed_books job's books for its import, once per job (inside the job's transaction).
core::Result<void> record_import_embeds(store::Connection& tx, int64_t import_id, int64_t job_id,
                                        int64_t books);

// The first line that is not valid UTF-8 (1-based), or 0 when the file is clean.
core::Result<int64_t> first_invalid_utf8_line(const std::string& path);

}  // namespace libromind::catalog
