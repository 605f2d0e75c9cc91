// Explanations of recommendation picks, written by a language model and streamed, one short
// paragraph per book. Each paragraph starts with the book's title (written by us, so every pick
// is named) and the model sees only that book's catalogue details and the shopper's request, so
// it cannot drift to books that were not chosen. Finished explanations are cached in the store
// by (normalised request, book ids, model) with a TTL; a hit streams the stored text at once.
//
//   search::ExplanationCache cache(store, 7 * 24 * 3600, &registry);
//   search::Explainer explainer(&llm_client, &cache, store, {});
//   auto r = explainer.explain(request_text, books, [&](size_t i, std::string_view piece) {
//     return sse.event("token", ...);  // false: the client left, generation stops upstream
//   }, [&] { return sse.closed(); });
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "llm/client.hpp"
#include "search/documents.hpp"
#include "store/store.hpp"

namespace libromind::telemetry {
class Registry;
class Counter;
}  // namespace libromind::telemetry

namespace libromind::search {

class ExplanationCache {
 public:
  ExplanationCache(store::Store& store, int64_t ttl_seconds, telemetry::Registry* metrics);

  // Lower-cased, whitespace collapsed, trimmed: "  Cosy  MYSTERIES" and "cosy mysteries" share
  // an entry.
  static std::string normalise(std::string_view request);
  // sha256 of the normalised request, the ordered book ids and the model.
  static std::string key(std::string_view request, const std::vector<std::string>& book_ids,
                         std::string_view model);

  // The paragraphs stored under `key` while fresh; a store error counts as a miss.
  std::optional<std::vector<std::string>> get(const std::string& key);
  // Stores (or replaces) an entry; expired entries are purged now and then. Errors are logged,
  // never returned: the cache is an optimisation.
  void put(const std::string& key, const std::string& model,
           const std::vector<std::string>& paragraphs);
  int64_t ttl_seconds() const { return ttl_seconds_; }

 private:
  store::Store& store_;
  int64_t ttl_seconds_;
  telemetry::Counter* hits_ = nullptr;
  telemetry::Counter* misses_ = nullptr;
  std::atomic<int64_t> puts_{0};
};

struct ExplainOptions {
  int max_tokens_per_book = 80;
  size_t description_chars = 500;  // of each book's description shown to the model
  double temperature = 0.3;
};

struct ExplainResult {
  std::string model;
  bool cached = false;
  bool cancelled = false;
  int64_t tokens = 0;
  double first_token_ms = 0;  // to the first piece from the model (or the cache)
  // The model server's own time to first token on the first call, as the client measured it
  // from sending the request (0: cached or no token).
  double model_first_token_ms = 0;
  double total_ms = 0;
};

// Receives each piece of book `index`'s paragraph, in order; false stops.
using ExplanationSink = std::function<bool(size_t index, std::string_view piece)>;

class Explainer {
 public:
  // `llm` and `cache` may be null (no model server configured / no cache).
  Explainer(llm::ModelServer* llm, std::string model, ExplanationCache* cache, store::Store& store,
            ExplainOptions options = {});

  bool configured() const { return llm_ != nullptr; }
  const std::string& model() const { return model_; }

  // Streams one paragraph per book of `book_ids` (books.id, in the order shown). Errors are
  // the model server's (llm-unavailable, llm-timeout, ...): the caller reports them as an
  // `error` event after the books it already sent. A cancelled stream is not cached.
  core::Result<ExplainResult> explain(const std::string& request,
                                      const std::vector<int64_t>& book_ids,
                                      const ExplanationSink& sink,
                                      const std::function<bool()>& cancelled = {});

  // The prompt for one book (exposed for tests).
  static llm::ChatRequest prompt(const std::string& request, const SearchDoc& book,
                                 const ExplainOptions& options);

 private:
  llm::ModelServer* llm_;
  std::string model_;
  ExplanationCache* cache_;
  store::Store& store_;
  ExplainOptions options_;
};

}  // namespace libromind::search
