// Book embeddings in the store: one row per (book, model) with the hash of the text it was
// computed from, written in batches that each take one change sequence (so the serving
// processes' vector indexes pick them up from the change feed, in commit order).
//
//   search::EmbeddingStore es(store, "minilm-53aa51172d142c89");
//   LM_TRY(es.write({{book_id, hash, vector}}));
//   LM_ASSIGN_OR_RETURN(auto page, es.load_changed(conn, after_seq, after_book, 1000));
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/result.hpp"
#include "store/store.hpp"

namespace libromind::search {

struct StoredEmbedding {
  int64_t book_id = 0;
  std::string text_hash;
  std::vector<float> vector;
  int64_t change_seq = 0;
};

// Vectors travel as base64url text of little-endian float32s (the same in both dialects).
std::string encode_vector(const std::vector<float>& v);
core::Result<std::vector<float>> decode_vector(std::string_view text, int32_t dim);

class EmbeddingStore {
 public:
  EmbeddingStore(store::Store& store, std::string model_id)
      : store_(store), model_id_(std::move(model_id)) {}

  const std::string& model_id() const { return model_id_; }

  // book id -> text hash of every stored vector of this model.
  core::Result<std::unordered_map<int64_t, std::string>> load_hashes();
  // Upserts a batch in one transaction with one new change sequence (returned). Books deleted
  // meanwhile are skipped. `also` runs in the same transaction (a job's bookkeeping).
  core::Result<int64_t> write(
      const std::vector<StoredEmbedding>& batch,
      const std::function<core::Result<void>(store::Connection&)>& also = {});
  // This model's vectors with change_seq > after_seq (or = after_seq and book_id > after_book),
  // by (change_seq, book_id).
  core::Result<std::vector<StoredEmbedding>> load_changed(store::Connection& conn,
                                                          int64_t after_seq, int64_t after_book,
                                                          int limit) const;
  // The vectors of the given books (missing ones are left out).
  core::Result<std::vector<StoredEmbedding>> load(store::Connection& conn,
                                                  const std::vector<int64_t>& book_ids) const;
  // Number of stored vectors of this model.
  core::Result<int64_t> count();

 private:
  store::Store& store_;
  std::string model_id_;
};

}  // namespace libromind::search
