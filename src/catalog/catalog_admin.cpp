#include "catalog/catalog_admin.hpp"

#include <nlohmann/json.hpp>
#include <sstream>

#include "catalog/importer.hpp"
#include "core/crypto.hpp"
#include "jobs/kinds.hpp"
#include "telemetry/log.hpp"

namespace libromind::catalog {
namespace {

core::Error field_problem(std::vector<FieldError>* out, std::vector<FieldError> errors) {
  std::string first = errors.empty() ? "invalid book" : errors.front().message;
  std::string field = errors.empty() ? "" : errors.front().field;
  if (out) *out = std::move(errors);
  return core::Error::invalid(first, field);
}

}  // namespace

core::Result<std::string> CatalogAdmin::write(nlohmann::json j, const std::string& path_id,
                                              bool must_exist,
                                              std::vector<FieldError>* field_errors) {
  if (!j.is_object()) {
    return core::Error::invalid("the body must be a JSON object describing one book");
  }
  if (!path_id.empty()) {
    if (j.contains("id") && !(j["id"].is_string() && j["id"] == path_id)) {
      return core::Error::invalid("the body's id must match the path (or be left out)", "id");
    }
    j["id"] = path_id;
  } else if (!j.contains("id") || j["id"].is_null()) {
    j["id"] = "lm-" + core::random_token(9);
  }
  // One JSON line through the import's reader: the same field rules as a bulk import.
  std::istringstream in(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict) + "\n");
  auto reader = RecordReader::open(in, Format::kJsonLines, "body");
  if (!reader) return reader.error();
  auto rec = reader->next();
  if (!rec) return core::Error::invalid("the body must describe one book");
  if (!rec->ok()) return field_problem(field_errors, rec->errors());
  BookRecord record = std::move(rec->record());
  const std::string id = record.id;
  if (id.empty()) return core::Error::invalid("id must not be empty", "id");

  LM_TRY(store::with_transaction(store_, [&](store::Connection& conn) -> core::Result<void> {
    LM_ASSIGN_OR_RETURN(auto rows, conn.query("SELECT 1 FROM books WHERE ext_id = $1", {id}));
    if (must_exist && rows.empty()) return core::Error::not_found("no book with id '" + id + "'");
    if (!must_exist && !rows.empty()) {
      return core::Error::make(core::ErrorCode::kConflict,
                               "a book with id '" + id + "' already exists", "book-exists");
    }
    std::vector<BookRecord> records;
    records.push_back(std::move(record));
    LM_ASSIGN_OR_RETURN(auto outcome, write_records(conn, std::move(records)));
    if (!outcome.errors.empty()) {
      auto e = field_problem(field_errors, outcome.errors);
      e.code = core::ErrorCode::kConflict;
      e.type = "isbn-taken";
      return e;
    }
    // Its vector, computed by a worker; committed with the book, so never lost.
    if (!outcome.changed_book_ids.empty()) {
      LM_TRY(jobs::enqueue(conn, jobs::embed_books(outcome.changed_book_ids)));
    }
    return core::ok();
  }));
  telemetry::log_info(must_exist ? "book_replaced" : "book_created", {{"book_id", id}});
  return id;
}

core::Result<std::string> CatalogAdmin::create(const nlohmann::json& book,
                                               std::vector<FieldError>* field_errors) {
  return write(book, "", false, field_errors);
}

core::Result<std::string> CatalogAdmin::replace(const std::string& id, const nlohmann::json& book,
                                                std::vector<FieldError>* field_errors) {
  return write(book, id, true, field_errors);
}

core::Result<void> CatalogAdmin::patch(const std::string& id, const BookPatch& patch) {
  if (!patch.price_cents && !patch.stock) {
    return core::Error::invalid("give price_cents and/or stock");
  }
  if (patch.price_cents && (*patch.price_cents < 0 || *patch.price_cents > 100000000)) {
    return core::Error::invalid("price_cents must be 0..100000000", "price_cents");
  }
  if (patch.stock && (*patch.stock < 0 || *patch.stock > 1000000)) {
    return core::Error::invalid("stock must be 0..1000000", "stock");
  }
  LM_TRY(store::with_transaction(store_, [&](store::Connection& conn) -> core::Result<void> {
    const std::string ts = telemetry::utc_timestamp();
    // The book row first, then the change-sequence row: the lock order checkout uses too.
    LM_ASSIGN_OR_RETURN(
        int64_t n,
        conn.exec("UPDATE books SET price_cents = COALESCE($2, price_cents), stock = "
                  "COALESCE($3, stock), updated_at = $4 WHERE ext_id = $1",
                  {id, patch.price_cents ? store::Value(*patch.price_cents) : store::Value(nullptr),
                   patch.stock ? store::Value(*patch.stock) : store::Value(nullptr), ts}));
    if (n == 0) return core::Error::not_found("no book with id '" + id + "'");
    LM_ASSIGN_OR_RETURN(int64_t seq, next_change_seq(conn));
    LM_TRY(conn.exec("UPDATE books SET change_seq = $2 WHERE ext_id = $1", {id, seq}));
    return core::ok();
  }));
  telemetry::log_info("book_patched", {{"book_id", id}});
  return core::ok();
}

core::Result<void> CatalogAdmin::remove(const std::string& id) {
  LM_TRY(store::with_transaction(store_, [&](store::Connection& conn) -> core::Result<void> {
    LM_ASSIGN_OR_RETURN(int64_t n, conn.exec("DELETE FROM books WHERE ext_id = $1", {id}));
    if (n == 0) return core::Error::not_found("no book with id '" + id + "'");
    LM_ASSIGN_OR_RETURN(int64_t seq, next_change_seq(conn));
    LM_TRY(
        conn.exec("INSERT INTO book_tombstones (ext_id, change_seq, deleted_at) VALUES ($1, "
                  "$2, $3) ON CONFLICT (ext_id) DO UPDATE SET change_seq = excluded.change_seq, "
                  "deleted_at = excluded.deleted_at",
                  {id, seq, telemetry::utc_timestamp()}));
    return core::ok();
  }));
  telemetry::log_info("book_deleted", {{"book_id", id}});
  return core::ok();
}

}  // namespace libromind::catalog
