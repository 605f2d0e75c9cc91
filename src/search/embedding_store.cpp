#include "search/embedding_store.hpp"

#include <cstring>

#include "catalog/importer.hpp"
#include "core/text.hpp"
#include "telemetry/log.hpp"

namespace libromind::search {
namespace {

static_assert(sizeof(float) == 4);

std::vector<StoredEmbedding> from_rows(const store::Rows& rows) {
  std::vector<StoredEmbedding> out;
  out.reserve(rows.size());
  for (const auto& r : rows.rows) {
    StoredEmbedding e;
    e.book_id = store::as_int(r[0]);
    e.text_hash = store::as_string(r[1]);
    e.change_seq = store::as_int(r[4]);
    auto v = decode_vector(store::as_string(r[3]), static_cast<int32_t>(store::as_int(r[2])));
    if (!v) {
      // A damaged row is skipped (and recomputed by the next `libromind index`), not fatal.
      telemetry::log_warn("embedding_unreadable",
                          {{"book_id", e.book_id}, {"error", v.error().message}});
      continue;
    }
    e.vector = std::move(*v);
    out.push_back(std::move(e));
  }
  return out;
}

constexpr const char* kColumns = "book_id, text_hash, dim, vector, change_seq";

}  // namespace

std::string encode_vector(const std::vector<float>& v) {
  std::string bytes(v.size() * 4, '\0');
  for (size_t i = 0; i < v.size(); ++i) {
    uint32_t u;
    std::memcpy(&u, &v[i], 4);
    for (int b = 0; b < 4; ++b) bytes[i * 4 + b] = static_cast<char>((u >> (8 * b)) & 0xff);
  }
  return core::base64url_encode(bytes);
}

core::Result<std::vector<float>> decode_vector(std::string_view text, int32_t dim) {
  auto bytes = core::base64url_decode(text);
  if (!bytes) return core::Error::invalid("embedding is not base64url");
  if (dim <= 0 || bytes->size() != static_cast<size_t>(dim) * 4) {
    return core::Error::invalid("embedding has " + std::to_string(bytes->size()) +
                                " bytes, expected " + std::to_string(dim) + " floats");
  }
  std::vector<float> v(dim);
  for (int32_t i = 0; i < dim; ++i) {
    uint32_t u = 0;
    for (int b = 0; b < 4; ++b)
      u |= uint32_t{static_cast<unsigned char>((*bytes)[i * 4 + b])} << (8 * b);
    std::memcpy(&v[i], &u, 4);
  }
  return v;
}

core::Result<std::unordered_map<int64_t, std::string>> EmbeddingStore::load_hashes() {
  LM_ASSIGN_OR_RETURN(auto conn, store_.acquire(store::Access::kRead));
  LM_ASSIGN_OR_RETURN(auto rows, conn->query("SELECT book_id, text_hash FROM book_embeddings "
                                             "WHERE model = $1",
                                             {model_id_}));
  std::unordered_map<int64_t, std::string> out;
  out.reserve(rows.size());
  for (const auto& r : rows.rows) out.emplace(store::as_int(r[0]), store::as_string(r[1]));
  return out;
}

core::Result<int64_t> EmbeddingStore::write(
    const std::vector<StoredEmbedding>& batch,
    const std::function<core::Result<void>(store::Connection&)>& also) {
  int64_t seq = 0;
  LM_TRY(store::with_transaction(store_, [&](store::Connection& conn) -> core::Result<void> {
    LM_ASSIGN_OR_RETURN(seq, catalog::next_change_seq(conn));
    const std::string now = telemetry::utc_timestamp();
    for (const auto& e : batch) {
      // INSERT ... SELECT skips a book deleted since it was read (no foreign-key failure).
      LM_TRY(conn.exec(
          "INSERT INTO book_embeddings (book_id, model, text_hash, dim, vector, change_seq, "
          "updated_at) SELECT id, $2, $3, $4, $5, $6, $7 FROM books WHERE id = $1 "
          "ON CONFLICT (book_id, model) DO UPDATE SET text_hash = excluded.text_hash, dim = "
          "excluded.dim, vector = excluded.vector, change_seq = excluded.change_seq, "
          "updated_at = excluded.updated_at",
          {e.book_id, model_id_, e.text_hash, static_cast<int64_t>(e.vector.size()),
           encode_vector(e.vector), seq, now}));
    }
    if (also) LM_TRY(also(conn));
    return core::ok();
  }));
  return seq;
}

core::Result<std::vector<StoredEmbedding>> EmbeddingStore::load_changed(store::Connection& conn,
                                                                        int64_t after_seq,
                                                                        int64_t after_book,
                                                                        int limit) const {
  LM_ASSIGN_OR_RETURN(
      auto rows,
      conn.query(std::string("SELECT ") + kColumns +
                     " FROM book_embeddings WHERE model = $1 AND (change_seq > $2 OR "
                     "(change_seq = $2 AND book_id > $3)) ORDER BY change_seq, book_id LIMIT $4",
                 {model_id_, after_seq, after_book, int64_t{limit}}));
  return from_rows(rows);
}

core::Result<std::vector<StoredEmbedding>> EmbeddingStore::load(
    store::Connection& conn, const std::vector<int64_t>& book_ids) const {
  if (book_ids.empty()) return std::vector<StoredEmbedding>{};
  store::Params params{model_id_};
  for (int64_t id : book_ids) params.emplace_back(id);
  LM_ASSIGN_OR_RETURN(auto rows, conn.query(std::string("SELECT ") + kColumns +
                                                " FROM book_embeddings WHERE model = $1 AND "
                                                "book_id IN " +
                                                store::placeholder_list(2, book_ids.size()),
                                            params));
  return from_rows(rows);
}

core::Result<int64_t> EmbeddingStore::count() {
  LM_ASSIGN_OR_RETURN(auto conn, store_.acquire(store::Access::kRead));
  LM_ASSIGN_OR_RETURN(
      auto rows, conn->query("SELECT COUNT(*) FROM book_embeddings WHERE model = $1", {model_id_}));
  return store::as_int(rows.rows[0][0]);
}

}  // namespace libromind::search
