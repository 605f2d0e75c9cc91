#include "catalog/imports.hpp"

#include <filesystem>
#include <fstream>
#include <system_error>

#include "core/text.hpp"
#include "jobs/kinds.hpp"
#include "jobs/queue.hpp"
#include "telemetry/log.hpp"

namespace libromind::catalog {

namespace fs = std::filesystem;
using store::as_int;
using store::as_string;
using store::is_null;
using store::Value;

namespace {

constexpr const char* kColumns =
    "id, state, format, on_error, file_name, path, bytes, rows_read, inserted, updated, "
    "unchanged, failed, embeddings_total, errors, error, created_by, job_id, created_at, "
    "started_at, finished_at";

std::optional<int64_t> opt_int(const Value& v) {
  if (is_null(v)) return std::nullopt;
  return as_int(v);
}

nlohmann::ordered_json opt_time(const std::optional<int64_t>& ms) {
  return ms ? nlohmann::ordered_json(telemetry::utc_timestamp_ms(*ms))
            : nlohmann::ordered_json(nullptr);
}

struct Row {
  ImportRecord rec;
  std::string path;
};

Row from_row(const std::vector<Value>& r) {
  Row out;
  ImportRecord& i = out.rec;
  i.id = as_int(r[0]);
  i.state = as_string(r[1]);
  i.format = as_string(r[2]);
  i.on_error = as_string(r[3]);
  i.file_name = as_string(r[4]);
  out.path = as_string(r[5]);
  i.bytes = as_int(r[6]);
  i.rows_read = as_int(r[7]);
  i.inserted = as_int(r[8]);
  i.updated = as_int(r[9]);
  i.unchanged = as_int(r[10]);
  i.failed = as_int(r[11]);
  i.embeddings_total = as_int(r[12]);
  if (!is_null(r[13])) {
    auto j = nlohmann::json::parse(as_string(r[13]), nullptr, false);
    if (j.is_array()) {
      for (const auto& e : j) {
        i.errors.push_back({"", e.value("line", int64_t{0}), e.value("field", std::string()),
                            e.value("message", std::string())});
      }
    }
  }
  i.error = as_string(r[14]);
  i.created_by = opt_int(r[15]);
  i.job_id = is_null(r[16]) ? 0 : as_int(r[16]);
  i.created_at_ms = as_int(r[17]);
  i.started_at_ms = opt_int(r[18]);
  i.finished_at_ms = opt_int(r[19]);
  return out;
}

std::string errors_json(const std::vector<FieldError>& errors) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& e : errors) {
    a.push_back({{"line", e.line}, {"field", e.field}, {"message", e.message}});
  }
  return a.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

const char* format_name(Format f) { return f == Format::kCsv ? "csv" : "jsonl"; }

void remove_quietly(const std::string& path) {
  std::error_code ec;
  fs::remove(path, ec);
}

// Moves the upload into place (a rename on one file system, else a copy).
core::Result<void> move_file(const std::string& from, const std::string& to) {
  std::error_code ec;
  fs::rename(from, to, ec);
  if (!ec) return core::ok();
  fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
  if (ec) return core::Error::internal("cannot keep the upload in " + to + ": " + ec.message());
  remove_quietly(from);
  return core::ok();
}

core::Result<Row> load(store::Connection& conn, int64_t id) {
  LM_ASSIGN_OR_RETURN(
      auto rows,
      conn.query(std::string("SELECT ") + kColumns + " FROM imports WHERE id = $1", {Value{id}}));
  if (rows.empty()) return core::Error::not_found("no import with id " + std::to_string(id));
  Row row = from_row(rows.rows[0]);
  LM_ASSIGN_OR_RETURN(auto done, conn.query("SELECT COALESCE(SUM(books), 0) FROM import_embeds "
                                            "WHERE import_id = $1",
                                            {Value{id}}));
  row.rec.embeddings_done = as_int(done.rows[0][0]);
  return row;
}

}  // namespace

nlohmann::ordered_json ImportRecord::to_json() const {
  nlohmann::ordered_json errs = nlohmann::ordered_json::array();
  for (const auto& e : errors) {
    errs.push_back({{"line", e.line},
                    {"field", e.field.empty() ? nlohmann::ordered_json(nullptr)
                                              : nlohmann::ordered_json(e.field)},
                    {"message", e.message}});
  }
  return {
      {"id", id},
      {"state", state},
      {"complete", complete()},
      {"format", format},
      {"on_error", on_error},
      {"file_name", file_name},
      {"bytes", bytes},
      {"rows",
       {{"read", rows_read},
        {"imported", inserted + updated + unchanged},
        {"inserted", inserted},
        {"updated", updated},
        {"unchanged", unchanged},
        {"failed", failed}}},
      {"embeddings", {{"total", embeddings_total}, {"done", embeddings_done}}},
      {"errors", errs},
      {"error", error.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(error)},
      {"job_id", job_id > 0 ? nlohmann::ordered_json(job_id) : nlohmann::ordered_json(nullptr)},
      {"created_at", telemetry::utc_timestamp_ms(created_at_ms)},
      {"started_at", opt_time(started_at_ms)},
      {"finished_at", opt_time(finished_at_ms)}};
}

core::Result<int64_t> first_invalid_utf8_line(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::Error::internal("cannot read " + path);
  std::string line;
  int64_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (!core::is_valid_utf8(line)) return n;
  }
  return int64_t{0};
}

core::Result<void> record_import_embeds(store::Connection& tx, int64_t import_id, int64_t job_id,
                                        int64_t books) {
  return store::run(
      tx,
      "INSERT INTO import_embeds (import_id, job_id, books) SELECT $1, $2, $3 WHERE EXISTS "
      "(SELECT 1 FROM imports WHERE id = $1) ON CONFLICT (import_id, job_id) DO NOTHING",
      {Value{import_id}, Value{job_id}, Value{books}});
}

Imports::Imports(store::Store& store, ImportsOptions options)
    : store_(store), options_(std::move(options)) {}

core::Result<ImportRecord> Imports::create(const std::string& uploaded_path,
                                           const NewImport& what) {
  std::error_code ec;
  const auto bytes = fs::file_size(uploaded_path, ec);
  if (ec) return core::Error::internal("cannot read the upload: " + ec.message());
  if (bytes == 0) return core::Error::invalid("the file is empty", "file");
  LM_ASSIGN_OR_RETURN(int64_t bad_line, first_invalid_utf8_line(uploaded_path));
  if (bad_line > 0) {
    return core::Error::make(core::ErrorCode::kUnprocessable,
                             "the file is not valid UTF-8 (first at line " +
                                 std::to_string(bad_line) + "); save it as UTF-8 and upload again",
                             "invalid-encoding");
  }
  fs::create_directories(options_.upload_dir, ec);
  if (ec)
    return core::Error::internal("cannot create " + options_.upload_dir + ": " + ec.message());
  const std::string file_name =
      what.file_name.empty() ? std::string("upload.") + format_name(what.format) : what.file_name;
  const int64_t now = jobs::Queue::now_ms();
  int64_t id = 0;
  std::string path;
  auto r = store::with_transaction(store_, [&](store::Connection& tx) -> core::Result<void> {
    LM_ASSIGN_OR_RETURN(
        auto rows,
        tx.query("INSERT INTO imports (state, format, on_error, file_name, path, bytes, "
                 "created_by, created_at, updated_at) VALUES ('queued', $1, $2, $3, '', $4, $5, "
                 "$6, $6) RETURNING id",
                 {Value{format_name(what.format)},
                  Value{what.on_error == OnError::kSkip ? "skip" : "abort"}, Value{file_name},
                  Value{static_cast<int64_t>(bytes)},
                  what.created_by ? Value{*what.created_by} : Value{nullptr}, Value{now}}));
    id = as_int(rows.rows[0][0]);
    path = (fs::path(options_.upload_dir) /
            ("import-" + std::to_string(id) + "." + format_name(what.format)))
               .string();
    LM_ASSIGN_OR_RETURN(auto job, jobs::enqueue(tx, jobs::import_file(id), now));
    LM_TRY(tx.exec("UPDATE imports SET path = $1, job_id = $2 WHERE id = $3",
                   {Value{path}, Value{job.id}, Value{id}}));
    // Last: a failure above leaves the upload where it was (the server removes it).
    return move_file(uploaded_path, path);
  });
  if (!r) {
    if (!path.empty()) remove_quietly(path);
    return r.error();
  }
  if (options_.queue) options_.queue->notify();
  return get(id);
}

core::Result<ImportRecord> Imports::get(int64_t id) const {
  LM_ASSIGN_OR_RETURN(auto conn, store_.acquire(store::Access::kRead));
  LM_ASSIGN_OR_RETURN(auto row, load(*conn, id));
  if (row.rec.state == "running") {
    std::lock_guard lock(mu_);
    if (auto it = live_rows_.find(id); it != live_rows_.end()) row.rec.rows_read = it->second;
  }
  return row.rec;
}

core::Result<std::vector<ImportRecord>> Imports::list(int64_t before_id, int64_t limit) const {
  LM_ASSIGN_OR_RETURN(auto conn, store_.acquire(store::Access::kRead));
  LM_ASSIGN_OR_RETURN(auto rows,
                      conn->query(std::string("SELECT id FROM imports WHERE ($1 = 0 OR id < $1) "
                                              "ORDER BY id DESC LIMIT $2"),
                                  {Value{before_id}, Value{limit}}));
  std::vector<ImportRecord> out;
  for (const auto& r : rows.rows) {
    LM_ASSIGN_OR_RETURN(auto row, load(*conn, as_int(r[0])));
    out.push_back(std::move(row.rec));
  }
  return out;
}

void Imports::register_handler(jobs::Handlers& handlers) {
  handlers.add(jobs::kImportFile, [this](jobs::JobContext& ctx) { return run(ctx); });
}

core::Result<nlohmann::json> Imports::run(jobs::JobContext& ctx) {
  const auto& payload = ctx.job().payload;
  if (!payload.contains("import_id") || !payload["import_id"].is_number_integer()) {
    return core::Error::invalid("the payload needs import_id", "import_id");
  }
  const int64_t id = payload["import_id"].get<int64_t>();
  Row row;
  {
    LM_ASSIGN_OR_RETURN(auto conn, store_.acquire(store::Access::kRead));
    LM_ASSIGN_OR_RETURN(row, load(*conn, id));
  }
  auto summary = [&](const ImportRecord& r) {
    return nlohmann::json{{"import_id", id},          {"state", r.state},
                          {"rows_read", r.rows_read}, {"inserted", r.inserted},
                          {"updated", r.updated},     {"failed", r.failed}};
  };
  if (row.rec.finished()) return summary(row.rec);  // a second run changes nothing
  if (!fs::exists(row.path)) {
    return core::Error::not_found("the uploaded file of import " + std::to_string(id) +
                                  " is gone (" + row.path + ")");
  }
  LM_TRY(store::with_transaction(store_, [&](store::Connection& tx) {
    const int64_t now = jobs::Queue::now_ms();
    return store::run(tx,
                      "UPDATE imports SET state = 'running', started_at = $1, updated_at = $1 "
                      "WHERE id = $2",
                      {Value{now}, Value{id}});
  }));
  {
    std::lock_guard lock(mu_);
    live_rows_[id] = 0;
  }
  struct Forget {
    Imports* self;
    int64_t id;
    ~Forget() {
      std::lock_guard lock(self->mu_);
      self->live_rows_.erase(id);
    }
  } forget{this, id};

  ImportOptions opts;
  opts.on_error = row.rec.on_error == "skip" ? OnError::kSkip : OnError::kAbort;
  opts.max_reported_errors = options_.max_reported_errors;
  opts.stop = &ctx.stop_flag();  // a stopping worker's import rolls back and runs again later
  opts.progress = [&](int64_t read) {
    std::lock_guard lock(mu_);
    live_rows_[id] = read;
  };
  int64_t embed_total = 0;
  opts.before_commit = [&](store::Connection& tx, const ImportReport& rep) -> core::Result<void> {
    // On SQLite this transaction held the only write lock, so the heartbeat could not renew the
    // lease meanwhile: renew it here, or a reclaimer waiting for the lock would find it expired.
    LM_TRY(ctx.renew_lease(tx));
    const auto& ids = rep.changed_book_ids;
    for (size_t i = 0; i < ids.size(); i += jobs::kEmbedBatch) {
      std::vector<int64_t> batch(ids.begin() + i,
                                 ids.begin() + std::min(ids.size(), i + jobs::kEmbedBatch));
      LM_TRY(jobs::enqueue(tx, jobs::embed_books(std::move(batch), id)));
    }
    embed_total = static_cast<int64_t>(ids.size());
    const int64_t now = jobs::Queue::now_ms();
    return store::run(
        tx,
        "UPDATE imports SET state = 'succeeded', rows_read = $1, inserted = $2, updated = $3, "
        "unchanged = $4, failed = $5, embeddings_total = $6, errors = $7, finished_at = $8, "
        "updated_at = $8 WHERE id = $9",
        {Value{rep.records_read}, Value{rep.inserted}, Value{rep.updated}, Value{rep.unchanged},
         Value{rep.failed}, Value{embed_total}, Value{errors_json(rep.errors)}, Value{now},
         Value{id}});
  };
  auto report = import_files(store_, {row.path}, opts);
  if (!report && ctx.should_stop()) {
    // The worker is stopping (or lost the claim): nothing was written, the job runs again.
    (void)store::with_transaction(store_, [&](store::Connection& tx) {
      return store::run(tx,
                        "UPDATE imports SET state = 'queued', updated_at = $1 WHERE id = $2 AND "
                        "state = 'running'",
                        {Value{jobs::Queue::now_ms()}, Value{id}});
    });
    return report.error();
  }
  if (!report) {
    const bool last =
        ctx.job().attempts >= ctx.job().max_attempts || jobs::is_permanent(report.error());
    if (last) {
      (void)store::with_transaction(store_, [&](store::Connection& tx) {
        const int64_t now = jobs::Queue::now_ms();
        return store::run(tx,
                          "UPDATE imports SET state = 'failed', error = $1, finished_at = $2, "
                          "updated_at = $2 WHERE id = $3",
                          {Value{report.error().message}, Value{now}, Value{id}});
      });
      remove_quietly(row.path);
    }
    return report.error();
  }
  if (options_.queue) options_.queue->notify();  // the embeddings it queued
  if (!report->committed) {
    // Bad rows in abort mode: nothing was written; the import failed, its job did its work.
    const std::string why = std::to_string(report->failed) + " of " +
                            std::to_string(report->records_read) +
                            " rows have errors, so nothing was imported (on_error=skip imports "
                            "the good rows and reports the rest)";
    LM_TRY(store::with_transaction(store_, [&](store::Connection& tx) {
      const int64_t now = jobs::Queue::now_ms();
      return store::run(
          tx,
          "UPDATE imports SET state = 'failed', rows_read = $1, failed = $2, errors = $3, "
          "error = $4, finished_at = $5, updated_at = $5 WHERE id = $6",
          {Value{report->records_read}, Value{report->failed}, Value{errors_json(report->errors)},
           Value{why}, Value{now}, Value{id}});
    }));
  }
  remove_quietly(row.path);
  telemetry::log_info("import_finished", {{"import_id", id},
                                          {"committed", report->committed},
                                          {"rows_read", report->records_read},
                                          {"inserted", report->inserted},
                                          {"updated", report->updated},
                                          {"failed", report->failed},
                                          {"embeddings_queued", embed_total}});
  LM_ASSIGN_OR_RETURN(auto now, get(id));
  return summary(now);
}

}  // namespace libromind::catalog
