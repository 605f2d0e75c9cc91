// What search needs of a book, read from the store in pages: for the full builds of the
// derived indexes (by primary key) and for following the change feed (by change sequence).
//
//   LM_ASSIGN_OR_RETURN(auto conn, store.acquire(store::Access::kRead));
//   LM_ASSIGN_OR_RETURN(auto page, search::load_docs_by_id(*conn, /*after_id=*/0, 500));
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "store/store.hpp"

namespace libromind::search {

struct SearchDoc {
  int64_t id = 0;      // books.id
  std::string ext_id;  // the public id ("pg-1342")
  std::string title;
  std::string authors;  // "Last, First; Other, Name"
  std::vector<std::string> genres;
  std::string description;
  std::optional<std::string> language;
  std::optional<int64_t> year;
  int64_t price_cents = 0;
  int64_t stock = 0;
  int64_t popularity = 0;
  int64_t change_seq = 0;
};

// The text the embedder sees for a book: title, authors, genres, then the description (the
// encoder truncates it at the model's sequence limit).
std::string embedding_text(const SearchDoc& doc);
// A short hash of embedding_text: a stored vector is stale when the hash differs.
std::string embedding_text_hash(const SearchDoc& doc);

// Books with id > after_id, by id, at most `limit`.
core::Result<std::vector<SearchDoc>> load_docs_by_id(store::Connection& conn, int64_t after_id,
                                                     int limit);
// Books with change_seq > after_seq (and, within after_seq, id > after_id), by (change_seq, id).
core::Result<std::vector<SearchDoc>> load_docs_changed(store::Connection& conn, int64_t after_seq,
                                                       int64_t after_id, int limit);
// Books by primary key (missing ones are left out).
core::Result<std::vector<SearchDoc>> load_docs(store::Connection& conn,
                                               const std::vector<int64_t>& ids);

struct Tombstone {
  std::string ext_id;
  int64_t change_seq = 0;
};
// Deleted books with change_seq > after_seq, by change_seq.
core::Result<std::vector<Tombstone>> load_tombstones(store::Connection& conn, int64_t after_seq);

// The store's current change sequence.
core::Result<int64_t> current_change_seq(store::Connection& conn);
// Number of books in the store.
core::Result<int64_t> count_books(store::Connection& conn);

}  // namespace libromind::search
