#include "search/explainer.hpp"

#include <chrono>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "core/crypto.hpp"
#include "core/text.hpp"
#include "telemetry/log.hpp"
#include "telemetry/metrics.hpp"

namespace libromind::search {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

constexpr const char* kSystem =
    "You are a friendly bookseller. In one or two sentences, tell the shopper why the book "
    "below suits their request. Talk only about this book. Use only the details given; do not "
    "invent plot, characters or facts. No lists, no headings.";

// Cuts at a character boundary at most `n` bytes in, then back to the last space.
std::string clip(const std::string& text, size_t n) {
  if (text.size() <= n) return text;
  size_t cut = n;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  size_t space = text.rfind(' ', cut);
  if (space != std::string::npos && space > n / 2) cut = space;
  return text.substr(0, cut) + "...";
}

// Splits cached text into word-sized pieces (each word with the space before it), so a cached
// explanation streams like a generated one.
std::vector<std::string_view> pieces_of(std::string_view text) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(' ', start + 1);
    if (end == std::string_view::npos) end = text.size();
    out.push_back(text.substr(start, end - start));
    start = end;
  }
  return out;
}

}  // namespace

ExplanationCache::ExplanationCache(store::Store& store, int64_t ttl_seconds,
                                   telemetry::Registry* metrics)
    : store_(store), ttl_seconds_(ttl_seconds) {
  if (metrics) {
    auto& f = metrics->counter("libromind_llm_explanation_cache_total",
                               "Explanation cache lookups, by result (hit, miss)", {"result"});
    hits_ = &f.with({"hit"});
    misses_ = &f.with({"miss"});
  }
}

std::string ExplanationCache::normalise(std::string_view request) {
  std::string out;
  bool space = false;
  for (char c : core::trim(request)) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  }
  return out;
}

std::string ExplanationCache::key(std::string_view request,
                                  const std::vector<std::string>& book_ids,
                                  std::string_view model) {
  nlohmann::json j = {{"q", normalise(request)}, {"books", book_ids}, {"model", model}};
  return core::sha256_hex(j.dump());
}

std::optional<std::vector<std::string>> ExplanationCache::get(const std::string& key) {
  auto miss = [this] {
    if (misses_) misses_->inc();
    return std::nullopt;
  };
  auto conn = store_.acquire(store::Access::kRead);
  if (!conn) return miss();
  auto rows =
      (*conn)->query("SELECT text FROM explanation_cache WHERE cache_key = $1 AND expires_at > $2",
                     {key, core::unix_seconds()});
  if (!rows || rows->empty()) return miss();
  auto parsed = nlohmann::json::parse(store::as_string(rows->rows[0][0]), nullptr, false);
  if (!parsed.is_array()) return miss();
  std::vector<std::string> out;
  for (const auto& p : parsed) {
    if (!p.is_string()) return miss();
    out.push_back(p.get<std::string>());
  }
  if (hits_) hits_->inc();
  return out;
}

void ExplanationCache::put(const std::string& key, const std::string& model,
                           const std::vector<std::string>& paragraphs) {
  const int64_t now = core::unix_seconds();
  auto r = store::with_transaction(store_, [&](store::Connection& c) -> core::Result<void> {
    LM_TRY(c.exec(
        "INSERT INTO explanation_cache (cache_key, model, text, created_at, expires_at) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (cache_key) DO UPDATE SET model = "
        "excluded.model, text = excluded.text, created_at = excluded.created_at, expires_at = "
        "excluded.expires_at",
        {key, model, nlohmann::json(paragraphs).dump(), now, now + ttl_seconds_}));
    if (puts_.fetch_add(1) % 100 == 0) {
      LM_TRY(c.exec("DELETE FROM explanation_cache WHERE expires_at <= $1", {now}));
    }
    return core::ok();
  });
  if (!r) telemetry::log_warn("explanation_cache_write_failed", {{"error", r.error().message}});
}

Explainer::Explainer(llm::ModelServer* llm, std::string model, ExplanationCache* cache,
                     store::Store& store, ExplainOptions options)
    : llm_(llm), model_(std::move(model)), cache_(cache), store_(store), options_(options) {}

llm::ChatRequest Explainer::prompt(const std::string& request, const SearchDoc& book,
                                   const ExplainOptions& options) {
  std::string about = book.title;
  if (!book.authors.empty()) about += " by " + book.authors;
  if (book.year) about += " (" + std::to_string(*book.year) + ")";
  about += ".";
  if (!book.genres.empty()) {
    about += " Genres: ";
    for (size_t i = 0; i < book.genres.size(); ++i) about += (i ? ", " : "") + book.genres[i];
    about += ".";
  }
  if (!book.description.empty())
    about += "\nAbout it: " + clip(book.description, options.description_chars);
  llm::ChatRequest req;
  req.messages = {{"system", kSystem},
                  {"user", "Shopper's request: " + request + "\n\nBook: " + about}};
  req.temperature = options.temperature;
  req.max_tokens = options.max_tokens_per_book;
  return req;
}

core::Result<ExplainResult> Explainer::explain(const std::string& request,
                                               const std::vector<int64_t>& book_ids,
                                               const ExplanationSink& sink,
                                               const std::function<bool()>& cancelled) {
  const auto start = Clock::now();
  ExplainResult result;
  result.model = model_;
  std::vector<SearchDoc> docs;
  {
    LM_ASSIGN_OR_RETURN(auto conn, store_.acquire(store::Access::kRead));
    LM_ASSIGN_OR_RETURN(auto loaded, load_docs(*conn, book_ids));
    std::unordered_map<int64_t, size_t> at;
    for (size_t i = 0; i < loaded.size(); ++i) at.emplace(loaded[i].id, i);
    for (int64_t id : book_ids) {
      auto it = at.find(id);
      if (it != at.end()) docs.push_back(std::move(loaded[it->second]));
    }
  }
  std::vector<std::string> ext_ids;
  for (const auto& d : docs) ext_ids.push_back(d.ext_id);

  const std::string key = ExplanationCache::key(request, ext_ids, model_);
  if (cache_) {
    if (auto hit = cache_->get(key); hit && hit->size() == docs.size()) {
      result.cached = true;
      result.first_token_ms = ms_since(start);
      for (size_t i = 0; i < hit->size(); ++i) {
        for (auto piece : pieces_of((*hit)[i])) {
          if (!sink(i, piece)) {
            result.cancelled = true;
            result.total_ms = ms_since(start);
            return result;
          }
        }
      }
      result.total_ms = ms_since(start);
      return result;
    }
  }
  if (!llm_) {
    return core::Error::make(core::ErrorCode::kUnavailable,
                             "no model server is configured (--llm-url)", "llm-not-configured");
  }

  std::vector<std::string> paragraphs(docs.size());
  for (size_t i = 0; i < docs.size(); ++i) {
    // The title leads the paragraph; it is sent with the model's first piece, so that a model
    // server that fails gives an error event and no half paragraph.
    const std::string lead = docs[i].title + ": ";
    paragraphs[i] = lead;
    bool lead_sent = false;
    llm::ChatRequest req = prompt(request, docs[i], options_);
    req.cancelled = cancelled;
    bool at_start = true;
    bool sink_stopped = false;
    auto r = llm_->chat(req, [&](std::string_view piece) {
      if (at_start) {
        // The model's first pieces often open with spaces or a newline.
        while (!piece.empty() && (piece.front() == ' ' || piece.front() == '\n')) {
          piece.remove_prefix(1);
        }
        if (piece.empty()) return true;
        at_start = false;
      }
      if (result.first_token_ms == 0) result.first_token_ms = ms_since(start);
      paragraphs[i].append(piece);
      if (!lead_sent) {
        lead_sent = true;
        if (!sink(i, lead)) {
          sink_stopped = true;
          return false;
        }
      }
      if (!sink(i, piece)) {
        sink_stopped = true;
        return false;
      }
      return true;
    });
    if (!r) return r.error();
    result.tokens += r->tokens;
    if (result.model_first_token_ms == 0) result.model_first_token_ms = r->first_token_ms;
    if (!lead_sent && !r->cancelled && !sink_stopped && !sink(i, lead)) sink_stopped = true;
    if (r->cancelled || sink_stopped) {
      result.cancelled = true;
      break;
    }
    while (!paragraphs[i].empty() &&
           (paragraphs[i].back() == ' ' || paragraphs[i].back() == '\n')) {
      paragraphs[i].pop_back();
    }
  }
  result.total_ms = ms_since(start);
  if (!result.cancelled && cache_) cache_->put(key, model_, paragraphs);
  return result;
}

}  // namespace libromind::search
