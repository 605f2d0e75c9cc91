#include "search/embed_jobs.hpp"

#include "catalog/imports.hpp"
#include "jobs/kinds.hpp"
#include "telemetry/log.hpp"

namespace libromind::search {

namespace {

core::Result<std::vector<int64_t>> book_ids_of(const nlohmann::json& payload) {
  const auto it = payload.find("book_ids");
  if (it == payload.end() || !it->is_array()) {
    return core::Error::invalid("the payload needs book_ids, an array of book ids", "book_ids");
  }
  std::vector<int64_t> ids;
  for (const auto& v : *it) {
    if (!v.is_number_integer()) return core::Error::invalid("book_ids holds a non-integer");
    ids.push_back(v.get<int64_t>());
  }
  return ids;
}

}  // namespace

EmbedJobs::EmbedJobs(store::Store& store, std::unique_ptr<ml::SentenceEmbedder> embedder,
                     std::string model_id, IndexerOptions options)
    : store_(store),
      embedder_(std::move(embedder)),
      indexer_(store, *embedder_, std::move(model_id), options) {}

void EmbedJobs::register_handlers(jobs::Handlers& handlers) {
  // Both may stop between any two batches (what was written stays current), so a stopping
  // worker gives them back at once rather than after its shutdown deadline.
  handlers.add(
      jobs::kEmbedBooks, [this](jobs::JobContext& ctx) { return embed_books(ctx); }, true);
  handlers.add(
      jobs::kEmbedStale, [this](jobs::JobContext& ctx) { return embed_stale(ctx); }, true);
}

void EmbedJobs::Turns::take() {
  std::unique_lock lock(mu_);
  const uint64_t ticket = next_++;
  cv_.wait(lock, [&] { return serving_ == ticket; });
}

void EmbedJobs::Turns::give_back() {
  {
    std::lock_guard lock(mu_);
    ++serving_;
  }
  cv_.notify_all();
}

bool EmbedJobs::Turns::others_waiting() {
  std::lock_guard lock(mu_);
  return next_ > serving_ + 1;
}

EmbedProgress EmbedJobs::progress() const {
  std::lock_guard lock(mu_);
  return progress_;
}

bool EmbedJobs::wait_caught_up(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return progress_.caught_up; });
}

core::Result<IndexerStats> EmbedJobs::run(
    jobs::JobContext& ctx, bool pass,
    const std::function<core::Result<IndexerStats>(const std::atomic<bool>*,
                                                   const EmbeddingIndexer::Progress&)>& fn) {
  turns_.take();
  struct GiveBack {
    Turns& t;
    ~GiveBack() { t.give_back(); }
  } give_back{turns_};
  const auto t0 = std::chrono::steady_clock::now();
  double before = 0;
  {
    std::lock_guard lock(mu_);
    ++active_;
    progress_.running = true;
    before = seconds_embedding_;
  }
  int64_t counted = 0;
  auto on_progress = [&](const IndexerStats& s) {
    const double secs =
        before + std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::unique_lock lock(mu_);
    if (pass && s.stale > 0) {  // a pass that found nothing keeps the last pass's counts
      progress_.stale = s.stale;
      progress_.embedded = s.embedded;
    }
    progress_.total_embedded += s.embedded - counted;
    counted = s.embedded;
    progress_.per_second = secs > 0 ? static_cast<double>(progress_.total_embedded) / secs : 0;
    lock.unlock();
    if (turns_.others_waiting()) {  // between two batches: let the waiting job embed first
      turns_.give_back();
      turns_.take();
    }
  };
  auto r = fn(&ctx.stop_flag(), on_progress);
  std::lock_guard lock(mu_);
  progress_.running = --active_ > 0;
  seconds_embedding_ =
      before + std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (r) {
    progress_.error.clear();
  } else {
    progress_.error = r.error().message;
  }
  return r;
}

core::Result<nlohmann::json> EmbedJobs::embed_books(jobs::JobContext& ctx) {
  LM_ASSIGN_OR_RETURN(auto ids, book_ids_of(ctx.job().payload));
  const int64_t import_id = ctx.job().payload.value("import_id", int64_t{0});
  EmbeddingIndexer::TxStep finish;
  if (import_id > 0) {
    // The import's count of embedded books moves in the transaction of the last vectors, once
    // per job (a second run of the job adds nothing).
    finish = [&, job_id = ctx.job().id,
              n = static_cast<int64_t>(ids.size())](store::Connection& tx) {
      return catalog::record_import_embeds(tx, import_id, job_id, n);
    };
  }
  LM_ASSIGN_OR_RETURN(auto stats,
                      run(ctx, false, [&](const std::atomic<bool>* stop, const auto& progress) {
                        return indexer_.run_ids(ids, stop, progress, finish);
                      }));
  return nlohmann::json{{"books", stats.books},
                        {"embedded", stats.embedded},
                        {"up_to_date", stats.up_to_date},
                        {"model", indexer_.model_id()}};
}

core::Result<nlohmann::json> EmbedJobs::embed_stale(jobs::JobContext& ctx) {
  // Passes until one finds nothing stale: a write that landed while a pass was past its book
  // (its own job deduplicated into this one) is caught by the next.
  IndexerStats total;
  for (int pass = 0; pass < 10; ++pass) {
    LM_ASSIGN_OR_RETURN(auto stats,
                        run(ctx, true, [&](const std::atomic<bool>* stop, const auto& progress) {
                          return indexer_.run_full(stop, progress);
                        }));
    if (ctx.should_stop()) return core::Error::unavailable("stopped before the pass finished");
    total.books = stats.books;
    total.embedded += stats.embedded;
    total.seconds += stats.seconds;
    if (stats.stale == 0) break;
  }
  telemetry::log_info("search_embeddings_caught_up", {{"model", indexer_.model_id()},
                                                      {"books", total.books},
                                                      {"embedded", total.embedded},
                                                      {"seconds", total.seconds}});
  {
    std::lock_guard lock(mu_);
    progress_.caught_up = true;
  }
  cv_.notify_all();
  return nlohmann::json{
      {"books", total.books}, {"embedded", total.embedded}, {"model", indexer_.model_id()}};
}

}  // namespace libromind::search
