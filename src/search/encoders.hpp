// Pools of the ML engine's models for the request path. A SentenceEmbedder or CrossEncoder
// instance reuses its activation buffers and so serves one call at a time; a pool holds a few
// (they share the memory-mapped weights) and lends them out.
//
//   LM_ASSIGN_OR_RETURN(auto pool, search::EmbedderPool::load(dir + "/embedder", options, 2));
//   LM_ASSIGN_OR_RETURN(std::vector<float> v, pool->embed("a sad novel about memory"));
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "ml/embedder.hpp"

namespace libromind::search {

class EmbedderPool {
 public:
  static core::Result<std::unique_ptr<EmbedderPool>> load(const std::string& model_dir,
                                                          const ml::EncoderOptions& options,
                                                          int instances);
  core::Result<std::vector<float>> embed(const std::string& text);
  core::Result<std::vector<std::vector<float>>> embed_many(const std::vector<std::string>& texts);
  int32_t dim() const { return dim_; }

 private:
  EmbedderPool() = default;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<ml::SentenceEmbedder>> free_;
  int32_t dim_ = 0;
};

class RerankerPool {
 public:
  static core::Result<std::unique_ptr<RerankerPool>> load(const std::string& model_dir,
                                                          const ml::EncoderOptions& options,
                                                          int instances);
  // Logits of (query, doc) pairs, in input order.
  core::Result<std::vector<float>> score(const std::string& query,
                                         const std::vector<std::string>& docs);

 private:
  RerankerPool() = default;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<ml::CrossEncoder>> free_;
};

}  // namespace libromind::search
