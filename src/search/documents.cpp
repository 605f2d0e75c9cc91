#include "search/documents.hpp"

#include <unordered_map>

#include "core/crypto.hpp"

namespace libromind::search {
namespace {

constexpr const char* kColumns =
    "id, ext_id, title, authors_text, description, language, year, price_cents, stock, "
    "popularity, change_seq";

std::vector<SearchDoc> docs_from_rows(const store::Rows& rows) {
  std::vector<SearchDoc> out;
  out.reserve(rows.size());
  for (const auto& r : rows.rows) {
    SearchDoc d;
    d.id = store::as_int(r[0]);
    d.ext_id = store::as_string(r[1]);
    d.title = store::as_string(r[2]);
    d.authors = store::as_string(r[3]);
    d.description = store::as_string(r[4]);
    if (!store::is_null(r[5])) d.language = store::as_string(r[5]);
    if (!store::is_null(r[6])) d.year = store::as_int(r[6]);
    d.price_cents = store::as_int(r[7]);
    d.stock = store::as_int(r[8]);
    d.popularity = store::as_int(r[9]);
    d.change_seq = store::as_int(r[10]);
    out.push_back(std::move(d));
  }
  return out;
}

// Fills each doc's genres (in their catalogue order) with one query for the page.
core::Result<void> attach_genres(store::Connection& conn, std::vector<SearchDoc>& docs) {
  if (docs.empty()) return core::ok();
  store::Params params;
  std::unordered_map<int64_t, size_t> at;
  for (size_t i = 0; i < docs.size(); ++i) {
    params.emplace_back(docs[i].id);
    at.emplace(docs[i].id, i);
  }
  LM_ASSIGN_OR_RETURN(auto rows, conn.query("SELECT bg.book_id, g.name FROM book_genres bg JOIN "
                                            "genres g ON g.id = bg.genre_id WHERE bg.book_id IN " +
                                                store::placeholder_list(1, params.size()) +
                                                " ORDER BY bg.book_id, bg.position",
                                            params));
  for (const auto& r : rows.rows) {
    auto it = at.find(store::as_int(r[0]));
    if (it != at.end()) docs[it->second].genres.push_back(store::as_string(r[1]));
  }
  return core::ok();
}

}  // namespace

std::string embedding_text(const SearchDoc& doc) {
  std::string text = doc.title;
  if (!doc.authors.empty()) text += ". By " + doc.authors;
  if (!doc.genres.empty()) {
    text += ". ";
    for (size_t i = 0; i < doc.genres.size(); ++i) {
      if (i) text += ", ";
      text += doc.genres[i];
    }
  }
  if (!doc.description.empty()) text += ". " + doc.description;
  return text;
}

std::string embedding_text_hash(const SearchDoc& doc) {
  return core::sha256_hex(embedding_text(doc)).substr(0, 32);
}

core::Result<std::vector<SearchDoc>> load_docs_by_id(store::Connection& conn, int64_t after_id,
                                                     int limit) {
  LM_ASSIGN_OR_RETURN(auto rows, conn.query(std::string("SELECT ") + kColumns +
                                                " FROM books WHERE id > $1 ORDER BY id LIMIT $2",
                                            {after_id, int64_t{limit}}));
  auto docs = docs_from_rows(rows);
  LM_TRY(attach_genres(conn, docs));
  return docs;
}

core::Result<std::vector<SearchDoc>> load_docs_changed(store::Connection& conn, int64_t after_seq,
                                                       int64_t after_id, int limit) {
  LM_ASSIGN_OR_RETURN(
      auto rows,
      conn.query(std::string("SELECT ") + kColumns +
                     " FROM books WHERE change_seq > $1 OR (change_seq = $1 AND id > $2) "
                     "ORDER BY change_seq, id LIMIT $3",
                 {after_seq, after_id, int64_t{limit}}));
  auto docs = docs_from_rows(rows);
  LM_TRY(attach_genres(conn, docs));
  return docs;
}

core::Result<std::vector<SearchDoc>> load_docs(store::Connection& conn,
                                               const std::vector<int64_t>& ids) {
  if (ids.empty()) return std::vector<SearchDoc>{};
  store::Params params(ids.begin(), ids.end());
  LM_ASSIGN_OR_RETURN(auto rows,
                      conn.query(std::string("SELECT ") + kColumns + " FROM books WHERE id IN " +
                                     store::placeholder_list(1, params.size()),
                                 params));
  auto docs = docs_from_rows(rows);
  LM_TRY(attach_genres(conn, docs));
  return docs;
}

core::Result<std::vector<Tombstone>> load_tombstones(store::Connection& conn, int64_t after_seq) {
  LM_ASSIGN_OR_RETURN(auto rows, conn.query("SELECT ext_id, change_seq FROM book_tombstones WHERE "
                                            "change_seq > $1 ORDER BY change_seq",
                                            {after_seq}));
  std::vector<Tombstone> out;
  for (const auto& r : rows.rows) out.push_back({store::as_string(r[0]), store::as_int(r[1])});
  return out;
}

core::Result<int64_t> current_change_seq(store::Connection& conn) {
  LM_ASSIGN_OR_RETURN(auto rows, conn.query("SELECT change_seq FROM store_meta WHERE id = 1"));
  if (rows.empty()) return core::Error::internal("store_meta row is missing");
  return store::as_int(rows.rows[0][0]);
}

core::Result<int64_t> count_books(store::Connection& conn) {
  LM_ASSIGN_OR_RETURN(auto rows, conn.query("SELECT COUNT(*) FROM books"));
  return store::as_int(rows.rows[0][0]);
}

}  // namespace libromind::search
