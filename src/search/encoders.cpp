#include "search/encoders.hpp"

#include <algorithm>

namespace libromind::search {
namespace {

// Borrows one instance for the scope of a call.
template <typename T>
class Lease {
 public:
  Lease(std::mutex& m, std::condition_variable& cv, std::vector<std::unique_ptr<T>>& free)
      : m_(m), cv_(cv), free_(free) {
    std::unique_lock lock(m_);
    cv_.wait(lock, [&] { return !free_.empty(); });
    item_ = std::move(free_.back());
    free_.pop_back();
  }
  ~Lease() {
    {
      std::lock_guard lock(m_);
      free_.push_back(std::move(item_));
    }
    cv_.notify_one();
  }
  T& operator*() { return *item_; }
  T* operator->() { return item_.get(); }

 private:
  std::mutex& m_;
  std::condition_variable& cv_;
  std::vector<std::unique_ptr<T>>& free_;
  std::unique_ptr<T> item_;
};

}  // namespace

core::Result<std::unique_ptr<EmbedderPool>> EmbedderPool::load(const std::string& model_dir,
                                                               const ml::EncoderOptions& options,
                                                               int instances) {
  std::unique_ptr<EmbedderPool> pool(new EmbedderPool());
  for (int i = 0; i < std::max(1, instances); ++i) {
    LM_ASSIGN_OR_RETURN(ml::SentenceEmbedder e, ml::SentenceEmbedder::load(model_dir, options));
    pool->dim_ = e.dim();
    pool->free_.push_back(std::make_unique<ml::SentenceEmbedder>(std::move(e)));
  }
  return pool;
}

core::Result<std::vector<float>> EmbedderPool::embed(const std::string& text) {
  Lease<ml::SentenceEmbedder> e(mutex_, cv_, free_);
  LM_ASSIGN_OR_RETURN(auto v, e->embed({text}));
  return std::move(v[0]);
}

core::Result<std::vector<std::vector<float>>> EmbedderPool::embed_many(
    const std::vector<std::string>& texts) {
  Lease<ml::SentenceEmbedder> e(mutex_, cv_, free_);
  return e->embed(texts);
}

core::Result<std::unique_ptr<RerankerPool>> RerankerPool::load(const std::string& model_dir,
                                                               const ml::EncoderOptions& options,
                                                               int instances) {
  std::unique_ptr<RerankerPool> pool(new RerankerPool());
  for (int i = 0; i < std::max(1, instances); ++i) {
    LM_ASSIGN_OR_RETURN(ml::CrossEncoder c, ml::CrossEncoder::load(model_dir, options));
    pool->free_.push_back(std::make_unique<ml::CrossEncoder>(std::move(c)));
  }
  return pool;
}

core::Result<std::vector<float>> RerankerPool::score(const std::string& query,
                                                     const std::vector<std::string>& docs) {
  Lease<ml::CrossEncoder> c(mutex_, cv_, free_);
  LM_ASSIGN_OR_RETURN(auto s, c->score(query, docs));
  return std::move(s.logits);
}

}  // namespace libromind::search
