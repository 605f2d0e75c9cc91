#include "search/pipeline.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <future>
#include <nlohmann/json.hpp>
#include <system_error>
#include <unordered_map>

#include "core/text.hpp"
#include "search/documents.hpp"
#include "search/fusion.hpp"
#include "search/offline_expansion.hpp"
#include "search/query_terms.hpp"

namespace libromind::search {

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

namespace {

using Clock = std::chrono::steady_clock;

// Lines of an LLM answer as query variants: bullets, numbering and quotes removed.
std::vector<std::string> parse_variants(const std::string& text, const std::string& query,
                                        size_t max) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size() && out.size() < max) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line(core::trim(std::string_view(text).substr(start, end - start)));
    start = end + 1;
    size_t i = 0;
    while (i < line.size() &&
           (std::isdigit(static_cast<unsigned char>(line[i])) || line[i] == '.' || line[i] == ')' ||
            line[i] == '-' || line[i] == '*' || line[i] == ' ' || line[i] == '"')) {
      ++i;
    }
    line = line.substr(i);
    while (!line.empty() && (line.back() == '"' || line.back() == ' ')) line.pop_back();
    if (line.size() > 200) line.resize(200);
    if (line.empty() || content_words(line).empty()) continue;
    if (content_words(line) == content_words(query)) continue;
    if (std::find(out.begin(), out.end(), line) != out.end()) continue;
    out.push_back(line);
  }
  return out;
}

void normalize(std::vector<float>& v) {
  double n = 0;
  for (float x : v) n += static_cast<double>(x) * x;
  n = std::sqrt(n);
  if (n > 0) {
    for (float& x : v) x = static_cast<float>(x / n);
  }
}

float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

constexpr const char* kExpansionSystem =
    "You rewrite search queries for an online bookstore. Reply with exactly {n} different "
    "phrasings of the shopper's request, one per line, each under 12 words, using other words "
    "for the same wish (themes, genre, setting, mood). No numbering, no quotes, no comments.";

constexpr const char* kHydeSystem =
    "You write catalogue descriptions for an online bookstore. Given what a shopper wants, "
    "write a three-sentence description of a book that matches it perfectly: its story, "
    "themes, setting and tone. Do not name real titles or authors. No preamble.";

}  // namespace

const char* to_string(StageSource s) {
  switch (s) {
    case StageSource::kOff:
      return "off";
    case StageSource::kAuto:
      return "auto";
    case StageSource::kLlm:
      return "llm";
    case StageSource::kOffline:
      return "offline";
  }
  return "off";
}

core::Result<StageSource> parse_stage_source(std::string_view s) {
  if (s == "off" || s == "false" || s == "0") return StageSource::kOff;
  if (s == "auto" || s == "true" || s == "1" || s == "on") return StageSource::kAuto;
  if (s == "llm") return StageSource::kLlm;
  if (s == "offline") return StageSource::kOffline;
  return core::Error::invalid("expected off, auto, llm or offline, got '" + std::string(s) + "'");
}

std::string PipelineConfig::to_json() const {
  nlohmann::ordered_json j = {{"lexical", lexical},
                              {"dense", dense},
                              {"rerank", rerank},
                              {"expansion", to_string(expansion)},
                              {"hyde", to_string(hyde)},
                              {"lexical_k", lexical_k},
                              {"lexical_budget", lexical_budget},
                              {"dense_k", dense_k},
                              {"rrf_k", rrf_k},
                              {"dense_weight", dense_weight},
                              {"rerank_n", rerank_n}};
  return j.dump();
}

std::string PipelineConfig::label() const {
  std::string l;
  auto add = [&](bool on, const char* name) {
    if (on) l += (l.empty() ? "" : "+") + std::string(name);
  };
  add(lexical, "lexical");
  add(dense, "dense");
  add(expansion != StageSource::kOff, "expansion");
  add(hyde != StageSource::kOff, "hyde");
  add(rerank, "rerank");
  return l.empty() ? "none" : l;
}

core::Result<SearchResult> Pipeline::search(const SearchRequest& req) const {
  const auto t_start = Clock::now();
  const PipelineConfig& c = req.config;
  if (!c.lexical && !c.dense) {
    return core::Error::invalid("at least one of lexical and dense must be on", "lexical");
  }
  SearchResult res;
  auto degrade = [&](std::string stage, std::string reason) {
    Degraded d{std::move(stage), std::move(reason)};
    if (deps_.on_degraded) deps_.on_degraded(d);
    res.degraded.push_back(std::move(d));
  };
  auto time = [&](const char* stage, Clock::time_point t0) {
    res.timings.push_back({stage, ms_since(t0)});
  };

  std::vector<std::string> words = content_words(req.query);
  if (words.empty() && only_stop_words(req.query)) words = query_words(req.query);
  if (words.size() > kMaxContentWords) words.resize(kMaxContentWords);
  res.terms = words;
  if (words.empty()) {
    res.total_ms = ms_since(t_start);
    return res;
  }
  const std::optional<AllowSet> allow = index_.allow(req.filters);
  const AllowSet* allow_ptr = allow ? &*allow : nullptr;
  if (allow && allow->count() == 0) {
    res.total_ms = ms_since(t_start);
    return res;
  }

  std::vector<std::vector<int64_t>> lists;
  std::vector<double> weights;
  std::vector<int64_t> lexical_ids, dense_ids;

  auto lexical_search =
      [&](const std::vector<std::string>& terms,
          const std::vector<std::string>& extra) -> core::Result<std::vector<int64_t>> {
    LexicalQuery lq{terms, extra, allow_ptr ? std::max(c.lexical_k * 10, 1000) : c.lexical_k,
                    c.lexical_budget};
    LM_ASSIGN_OR_RETURN(auto hits, index_.lexical().search(lq));
    std::vector<int64_t> ids;
    for (const auto& h : hits) {
      if (allow_ptr && !allow_ptr->allowed(h.id)) continue;
      ids.push_back(h.id);
      if (static_cast<int>(ids.size()) >= c.lexical_k) break;
    }
    return ids;
  };
  const bool dense_possible = c.dense && has_dense() && index_.dense_ready();
  auto dense_search = [&](const std::vector<float>& q) {
    VectorSearchOptions vo;
    vo.k = c.dense_k;
    vo.allow = allow_ptr;
    std::vector<int64_t> ids;
    for (const auto& h : index_.vectors()->search(q.data(), vo)) ids.push_back(h.id);
    return ids;
  };

  // ---- expansion ----
  std::vector<std::string> expansion_extra;    // lexical terms (offline)
  std::vector<std::string> expansion_queries;  // whole variants (LLM)
  if (c.expansion != StageSource::kOff) {
    const auto t0 = Clock::now();
    bool done = false;
    if (c.expansion == StageSource::kAuto || c.expansion == StageSource::kLlm) {
      if (!deps_.generator || !deps_.generator->available()) {
        degrade("expansion", deps_.generator ? "model server unavailable (circuit open)"
                                             : "no model server configured");
      } else {
        std::string system = kExpansionSystem;
        system.replace(system.find("{n}"), 3, std::to_string(c.expansion_variants));
        auto text = deps_.generator->generate(system, req.query, 96);
        if (!text) {
          degrade("expansion", "model server: " + text.error().message);
        } else {
          expansion_queries = parse_variants(*text, req.query, c.expansion_variants);
          done = !expansion_queries.empty();
          if (!done) degrade("expansion", "the model gave no usable variants");
        }
      }
    }
    if (!done && c.expansion != StageSource::kLlm) {
      if (!deps_.wordnet) {
        degrade("expansion", "WordNet is not installed");
      } else {
        auto ex = expand_query_offline(*deps_.wordnet, req.query);
        for (const auto& t : ex.terms) {
          for (auto& w : content_words(t)) expansion_extra.push_back(w);
        }
        res.expansions = ex.variants;
      }
    } else {
      res.expansions = expansion_queries;
    }
    time("expansion", t0);
  }

  // ---- dense (runs on its own thread while the lexical stage runs on this one) ----
  // The query's encoder pass and the vector search do not touch the lexical index, so the two
  // retrievers overlap and hybrid search costs about the slower of the two, not their sum. The
  // task only reads; its outcome is merged below in the same order as before (lexical lists
  // first), so fusion is unchanged. A future from std::async joins in its destructor, so an
  // early return from the lexical stage still waits for it.
  struct DenseOutcome {
    std::vector<Degraded> degraded;
    std::vector<float> qvec;
    std::vector<std::vector<int64_t>> lists;
    std::vector<double> weights;
    double ms = 0;
  };
  auto run_dense = [&]() {
    DenseOutcome out;
    const auto t0 = Clock::now();
    if (!has_dense()) {
      out.degraded.push_back({"dense", "no embedding model installed"});
    } else if (!index_.dense_ready()) {
      out.degraded.push_back({"dense", "the vector index is still being built"});
    } else {
      auto v = deps_.embedder->embed(req.query);
      if (!v) {
        out.degraded.push_back({"dense", "embedding failed: " + v.error().message});
      } else {
        out.qvec = std::move(*v);
        out.lists.push_back(dense_search(out.qvec));
        out.weights.push_back(c.dense_weight);
        if (!expansion_queries.empty()) {
          auto vs = deps_.embedder->embed_many(expansion_queries);
          if (vs) {
            for (const auto& ev : *vs) {
              out.lists.push_back(dense_search(ev));
              out.weights.push_back(0.5 * c.dense_weight);
            }
          }
        }
      }
    }
    out.ms = ms_since(t0);
    return out;
  };
  std::future<DenseOutcome> dense_task;
  if (c.dense && c.lexical && dense_possible && index_.lexical_ready()) {
    try {
      dense_task = std::async(std::launch::async, run_dense);
    } catch (const std::system_error&) {
      // No thread to be had (resource limits): the dense stage runs after the lexical one.
    }
  }

  // ---- lexical ----
  if (c.lexical) {
    const auto t0 = Clock::now();
    if (!index_.lexical_ready()) {
      degrade("lexical", "the lexical index is still being built");
    } else {
      LM_ASSIGN_OR_RETURN(lexical_ids, lexical_search(words, {}));
      lists.push_back(lexical_ids);
      weights.push_back(1.0);
      if (!expansion_extra.empty()) {
        LM_ASSIGN_OR_RETURN(auto ids, lexical_search(words, expansion_extra));
        lists.push_back(std::move(ids));
        weights.push_back(0.5);
      }
      for (const auto& v : expansion_queries) {
        LM_ASSIGN_OR_RETURN(auto ids, lexical_search(content_words(v), {}));
        lists.push_back(std::move(ids));
        weights.push_back(0.5);
      }
    }
    time("lexical", t0);
  }

  // ---- dense (and HyDE, which searches the same index) ----
  std::vector<float> qvec;
  if (c.dense) {
    DenseOutcome d = dense_task.valid() ? dense_task.get() : run_dense();
    for (auto& g : d.degraded) degrade(std::move(g.stage), std::move(g.reason));
    qvec = std::move(d.qvec);
    if (!d.lists.empty()) dense_ids = d.lists.front();
    for (size_t i = 0; i < d.lists.size(); ++i) {
      lists.push_back(std::move(d.lists[i]));
      weights.push_back(d.weights[i]);
    }
    res.timings.push_back({"dense", d.ms});
  }
  if (c.hyde != StageSource::kOff) {
    const auto t0 = Clock::now();
    if (!dense_possible) {
      degrade("hyde", "needs the dense stage and its index");
    } else {
      bool done = false;
      if (c.hyde == StageSource::kAuto || c.hyde == StageSource::kLlm) {
        if (!deps_.generator || !deps_.generator->available()) {
          degrade("hyde", deps_.generator ? "model server unavailable (circuit open)"
                                          : "no model server configured");
        } else {
          auto text = deps_.generator->generate(kHydeSystem, req.query, 120);
          if (!text || core::trim(*text).empty()) {
            degrade("hyde",
                    text ? "the model wrote nothing" : "model server: " + text.error().message);
          } else {
            auto v = deps_.embedder->embed(*text);
            if (v) {
              res.hyde_text = *text;
              lists.push_back(dense_search(*v));
              weights.push_back(c.dense_weight);
              done = true;
            }
          }
        }
      }
      if (!done && c.hyde != StageSource::kLlm) {
        // Pseudo-relevance feedback: the query vector moved towards the top lexical hits
        // (Rocchio), as a stand-in for a hypothetical description.
        std::vector<int64_t> top = lexical_ids;
        if (top.empty() && index_.lexical_ready()) {
          LM_ASSIGN_OR_RETURN(top, lexical_search(words, {}));
        }
        std::vector<float> centroid(qvec.size(), 0.0f), v;
        int used = 0;
        for (size_t i = 0; i < top.size() && used < 3; ++i) {
          if (!index_.vectors()->get(top[i], v)) continue;
          for (size_t d = 0; d < v.size() && d < centroid.size(); ++d) centroid[d] += v[d];
          ++used;
        }
        if (used > 0 && !qvec.empty()) {
          std::vector<float> q2 = qvec;
          for (size_t d = 0; d < q2.size(); ++d) q2[d] += 0.7f * centroid[d] / used;
          normalize(q2);
          lists.push_back(dense_search(q2));
          weights.push_back(c.dense_weight);
        } else if (c.hyde == StageSource::kOffline || !deps_.generator) {
          degrade("hyde", "no lexical hits with vectors to feed back");
        }
      }
    }
    time("hyde", t0);
  }

  // ---- fusion ----
  {
    const auto t0 = Clock::now();
    auto fused = rrf(lists, c.rrf_k, weights);
    std::unordered_map<int64_t, int> lex_rank, dense_rank;
    for (size_t i = 0; i < lexical_ids.size(); ++i) lex_rank.emplace(lexical_ids[i], i + 1);
    for (size_t i = 0; i < dense_ids.size(); ++i) dense_rank.emplace(dense_ids[i], i + 1);
    const size_t keep = std::max<size_t>(req.limit, c.rerank ? c.rerank_n : 0);
    for (const auto& f : fused) {
      if (res.hits.size() >= keep) break;
      SearchHit h;
      h.id = f.id;
      h.score = f.score;
      if (auto it = lex_rank.find(f.id); it != lex_rank.end()) h.lexical_rank = it->second;
      if (auto it = dense_rank.find(f.id); it != dense_rank.end()) h.dense_rank = it->second;
      res.hits.push_back(h);
    }
    time("fusion", t0);
  }

  // ---- re-rank ----
  if (c.rerank && !res.hits.empty()) {
    const auto t0 = Clock::now();
    if (!deps_.reranker || !deps_.store) {
      degrade("rerank", "no re-ranker model installed");
    } else {
      const size_t n = std::min<size_t>(res.hits.size(), std::max(1, c.rerank_n));
      std::vector<int64_t> ids;
      for (size_t i = 0; i < n; ++i) ids.push_back(res.hits[i].id);
      core::Result<std::vector<SearchDoc>> docs = core::Error::unavailable("store");
      if (auto conn = deps_.store->acquire(store::Access::kRead); conn) {
        docs = load_docs(**conn, ids);
      }
      if (!docs) {
        degrade("rerank", "could not read the candidates: " + docs.error().message);
      } else {
        std::unordered_map<int64_t, std::string> text;
        for (const auto& d : *docs) text.emplace(d.id, embedding_text(d));
        std::vector<std::string> texts;
        for (int64_t id : ids) texts.push_back(text.count(id) ? text[id] : std::string());
        auto logits = deps_.reranker->score(req.query, texts);
        if (!logits) {
          degrade("rerank", "cross-encoder failed: " + logits.error().message);
        } else {
          for (size_t i = 0; i < n; ++i) {
            res.hits[i].rerank_score = sigmoid((*logits)[i]);
            res.hits[i].score = (*logits)[i];
          }
          std::stable_sort(res.hits.begin(), res.hits.begin() + n,
                           [](const SearchHit& a, const SearchHit& b) {
                             return *a.rerank_score > *b.rerank_score;
                           });
        }
      }
    }
    time("rerank", t0);
  }
  if (static_cast<int>(res.hits.size()) > req.limit) res.hits.resize(req.limit);
  res.total_ms = ms_since(t_start);
  return res;
}

core::Result<SearchResult> Pipeline::similar(int64_t book_id, const SearchFilters& filters,
                                             int limit) const {
  const auto t0 = Clock::now();
  SearchResult res;
  std::vector<float> v;
  const std::optional<AllowSet> allow = index_.allow(filters);
  // Keeps a neighbour (never the book itself) until `limit`; `rank` is the retriever's field.
  auto take = [&](int64_t id, double score, std::optional<int> SearchHit::*rank) {
    if (id == book_id || static_cast<int>(res.hits.size()) >= limit) return;
    SearchHit sh;
    sh.id = id;
    sh.score = score;
    sh.*rank = static_cast<int>(res.hits.size()) + 1;
    res.hits.push_back(sh);
  };
  if (has_dense() && index_.dense_ready() && index_.vectors()->get(book_id, v)) {
    VectorSearchOptions vo;
    vo.k = limit + 1;
    vo.allow = allow ? &*allow : nullptr;
    for (const auto& h : index_.vectors()->search(v.data(), vo)) {
      take(h.id, h.score, &SearchHit::dense_rank);
    }
    res.timings.push_back({"dense", ms_since(t0)});
    res.total_ms = ms_since(t0);
    return res;
  }
  // No vector yet: books sharing the words of its title and genres.
  Degraded d{"dense", has_dense() ? "this book has no vector yet" : "no embedding model installed"};
  if (deps_.on_degraded) deps_.on_degraded(d);
  res.degraded.push_back(d);
  if (!deps_.store || !index_.lexical_ready()) return res;
  LM_ASSIGN_OR_RETURN(auto conn, deps_.store->acquire(store::Access::kRead));
  LM_ASSIGN_OR_RETURN(auto docs, load_docs(*conn, {book_id}));
  if (docs.empty()) return core::Error::not_found("no such book");
  std::string text = docs[0].title;
  for (const auto& g : docs[0].genres) text += " " + g;
  LexicalQuery lq{content_words(text), {}, std::max(limit * 10, 200)};
  LM_ASSIGN_OR_RETURN(auto hits, index_.lexical().search(lq));
  for (const auto& h : hits) {
    if (!allow || allow->allowed(h.id)) take(h.id, h.score, &SearchHit::lexical_rank);
  }
  res.timings.push_back({"lexical", ms_since(t0)});
  res.total_ms = ms_since(t0);
  return res;
}

}  // namespace libromind::search
