#include <cerrno>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "core/text.hpp"
#include "http/handlers/catalog_handlers.hpp"
#include "http/handlers/common.hpp"
#include "http/handlers/params.hpp"
#include "http/handlers/search_routes.hpp"
#include "http/problem.hpp"
#include "http/sse.hpp"

namespace libromind::http {
namespace {

using json = nlohmann::ordered_json;

constexpr size_t kMaxQueryChars = 500;

Response disabled(Request& req) {
  return problem_from_error(
      core::Error::make(core::ErrorCode::kUnavailable, "search is not enabled on this server",
                        "search-disabled"),
      req.request_id);
}

core::Result<search::SearchFilters> filters_from(const QueryParams& q) {
  search::SearchFilters f;
  LM_ASSIGN_OR_RETURN(f.genre, string_param(q, "genre", 500));
  LM_ASSIGN_OR_RETURN(f.language, string_param(q, "language", 8));
  LM_ASSIGN_OR_RETURN(f.year_min, int_param(q, "year_min", -5000, 2100));
  LM_ASSIGN_OR_RETURN(f.year_max, int_param(q, "year_max", -5000, 2100));
  LM_ASSIGN_OR_RETURN(f.price_min, int_param(q, "price_min", 0, 100000000));
  LM_ASSIGN_OR_RETURN(f.price_max, int_param(q, "price_max", 0, 100000000));
  LM_ASSIGN_OR_RETURN(f.in_stock, bool_param(q, "in_stock"));
  return f;
}

core::Result<std::optional<search::StageSource>> source_param(const QueryParams& q,
                                                              std::string_view key) {
  auto v = q.get(key);
  if (!v) return std::optional<search::StageSource>{};
  auto s = search::parse_stage_source(*v);
  if (!s)
    return core::Error::invalid(std::string(key) + ": " + s.error().message, std::string(key));
  return std::optional<search::StageSource>{*s};
}

// A fusion weight: a decimal number from 0 to 10.
core::Result<std::optional<double>> weight_param(const QueryParams& q, std::string_view key) {
  LM_ASSIGN_OR_RETURN(auto v, string_param(q, key, 16));
  if (!v) return std::optional<double>{};
  char* end = nullptr;
  errno = 0;
  double d = std::strtod(v->c_str(), &end);
  if (v->empty() || end != v->c_str() + v->size() || errno != 0 || !(d >= 0 && d <= 10)) {
    return core::Error::invalid(std::string(key) + " must be a number from 0 to 10",
                                std::string(key));
  }
  return std::optional<double>{d};
}

json parts_json(const std::vector<search::SnippetPart>& parts) {
  json a = json::array();
  for (const auto& p : parts) a.push_back({{"text", p.text}, {"match", p.match}});
  return a;
}

json response_json(const search::SearchResponse& r) {
  json items = json::array();
  for (const auto& f : r.books) {
    json item = {{"book", book_json(f.book)}, {"score", f.hit.score}};
    item["lexical_rank"] = f.hit.lexical_rank ? json(*f.hit.lexical_rank) : json(nullptr);
    item["dense_rank"] = f.hit.dense_rank ? json(*f.hit.dense_rank) : json(nullptr);
    item["rerank_score"] = f.hit.rerank_score ? json(*f.hit.rerank_score) : json(nullptr);
    if (f.highlight) {
      item["title_highlight"] = parts_json(f.highlight->title);
      item["snippet"] = parts_json(f.highlight->snippet);
    } else {
      item["title_highlight"] = json::array({{{"text", f.book.title}, {"match", false}}});
      item["snippet"] = json::array();
    }
    items.push_back(std::move(item));
  }
  json timings = json::object();
  for (const auto& t : r.result.timings) timings[t.stage] = t.ms;
  timings["total"] = r.result.total_ms;
  json degraded = json::array();
  for (const auto& d : r.result.degraded)
    degraded.push_back({{"stage", d.stage}, {"reason", d.reason}});
  json j = {{"request_id", r.request_id},       {"query", r.query},
            {"items", std::move(items)},        {"pipeline", json::parse(r.config.to_json())},
            {"timings_ms", std::move(timings)}, {"degraded", std::move(degraded)},
            {"expansions", r.result.expansions}};
  if (!r.result.hyde_text.empty()) j["hyde"] = r.result.hyde_text;
  return j;
}

std::string server_timing(const search::SearchResult& r) {
  std::string h;
  char buf[64];
  for (const auto& t : r.timings) {
    std::snprintf(buf, sizeof buf, "%s;dur=%.2f", t.stage.c_str(), t.ms);
    h += (h.empty() ? "" : ", ") + std::string(buf);
  }
  std::snprintf(buf, sizeof buf, "total;dur=%.2f", r.total_ms);
  return h + (h.empty() ? "" : ", ") + buf;
}

void observe(SearchMetrics& m, const char* kind, const search::SearchResponse& r) {
  m.requests.with({kind}).inc();
  for (const auto& t : r.result.timings) m.stage_seconds.with({t.stage}).observe(t.ms / 1000.0);
  m.stage_seconds.with({"total"}).observe(r.result.total_ms / 1000.0);
}

Response finish(const search::SearchResponse& r) {
  Response resp =
      json_response(200, response_json(r).dump(-1, ' ', false, json::error_handler_t::replace));
  resp.set_header("Server-Timing", server_timing(r.result));
  resp.set_header("Cache-Control", "no-store");
  return resp;
}

Response search_books(search::SearchService& svc, SearchMetrics& m, Request& req) {
  const auto& q = req.query;
  if (auto bad = reject_unknown_params(
          req, {"q", "limit", "genre", "language", "year_min", "year_max", "price_min", "price_max",
                "in_stock", "lexical", "dense", "rerank", "expansion", "hyde", "rrf_k",
                "dense_weight", "rerank_n", "lexical_budget"}))
    return std::move(*bad);
  return guarded(req, [&]() -> core::Result<Response> {
    LM_TRY(q.reject_repeated());
    search::SearchRequest sr;
    sr.config = svc.defaults();
    LM_ASSIGN_OR_RETURN(auto text, string_param(q, "q", kMaxQueryChars));
    if (!text || core::trim(*text).empty()) {
      return core::Error::invalid("q is required: what to search for", "q");
    }
    sr.query = std::string(core::trim(*text));
    LM_ASSIGN_OR_RETURN(auto limit, int_param(q, "limit", 1, 100));
    sr.limit = static_cast<int>(limit.value_or(20));
    LM_ASSIGN_OR_RETURN(sr.filters, filters_from(q));
    LM_ASSIGN_OR_RETURN(auto lexical, bool_param(q, "lexical"));
    LM_ASSIGN_OR_RETURN(auto dense, bool_param(q, "dense"));
    LM_ASSIGN_OR_RETURN(auto rerank, bool_param(q, "rerank"));
    LM_ASSIGN_OR_RETURN(auto expansion, source_param(q, "expansion"));
    LM_ASSIGN_OR_RETURN(auto hyde, source_param(q, "hyde"));
    LM_ASSIGN_OR_RETURN(auto rrf_k, int_param(q, "rrf_k", 1, 1000));
    LM_ASSIGN_OR_RETURN(auto rerank_n, int_param(q, "rerank_n", 1, 100));
    if (lexical) sr.config.lexical = *lexical;
    if (dense) sr.config.dense = *dense;
    if (rerank) sr.config.rerank = *rerank;
    if (expansion) sr.config.expansion = *expansion;
    if (hyde) sr.config.hyde = *hyde;
    if (rrf_k) sr.config.rrf_k = static_cast<double>(*rrf_k);
    LM_ASSIGN_OR_RETURN(auto dense_weight, weight_param(q, "dense_weight"));
    if (dense_weight) sr.config.dense_weight = *dense_weight;
    if (rerank_n) sr.config.rerank_n = static_cast<int>(*rerank_n);
    LM_ASSIGN_OR_RETURN(auto budget, int_param(q, "lexical_budget", 0, 100'000'000));
    if (budget) sr.config.lexical_budget = static_cast<int>(*budget);
    LM_ASSIGN_OR_RETURN(auto r, svc.search(sr, req.request_id));
    observe(m, "search", r);
    return finish(r);
  });
}

Response similar_books(search::SearchService& svc, SearchMetrics& m, Request& req) {
  const std::string& id = req.path_params["id"];
  const auto& q = req.query;
  if (auto bad = reject_unknown_params(req, {"limit", "genre", "language", "year_min", "year_max",
                                             "price_min", "price_max", "in_stock"}))
    return std::move(*bad);
  if (!valid_book_id(id)) {
    return problem(400, "invalid-parameter", "Invalid parameter",
                   "a book id is 1..100 characters of A-Z a-z 0-9 . _ : -", req.request_id,
                   {{"id", "invalid book id"}});
  }
  return guarded(req, [&]() -> core::Result<Response> {
    LM_TRY(q.reject_repeated());
    LM_ASSIGN_OR_RETURN(auto limit, int_param(q, "limit", 1, 100));
    LM_ASSIGN_OR_RETURN(auto filters, filters_from(q));
    LM_ASSIGN_OR_RETURN(
        auto r, svc.similar(id, filters, static_cast<int>(limit.value_or(10)), req.request_id));
    observe(m, "similar", r);
    return finish(r);
  });
}

Response suggest(search::SearchService& svc, SearchMetrics& m, Request& req) {
  const auto& q = req.query;
  if (auto bad = reject_unknown_params(req, {"q", "limit"})) return std::move(*bad);
  return guarded(req, [&]() -> core::Result<Response> {
    LM_TRY(q.reject_repeated());
    LM_ASSIGN_OR_RETURN(auto text, string_param(q, "q", 100));
    if (!text) return core::Error::invalid("q is required: the words typed so far", "q");
    LM_ASSIGN_OR_RETURN(auto limit, int_param(q, "limit", 1, 20));
    LM_ASSIGN_OR_RETURN(auto items, svc.suggest(*text, static_cast<int>(limit.value_or(8))));
    json arr = json::array();
    for (const auto& s : items) {
      arr.push_back({{"id", s.book_id}, {"title", s.title}, {"authors", s.authors}});
    }
    m.requests.with({"suggest"}).inc();
    Response r = json_response(
        200, json{{"items", std::move(arr)}}.dump(-1, ' ', false, json::error_handler_t::replace));
    r.cacheable = true;
    return r;
  });
}

// --- POST /api/v1/recommendations (Server-Sent Events)

constexpr size_t kMaxRequestChars = 1000;
constexpr size_t kMaxSeeds = 20;

core::Result<search::SearchFilters> filters_from_json(const nlohmann::json& body) {
  search::SearchFilters f;
  auto it = body.find("filters");
  if (it == body.end() || it->is_null()) return f;
  if (!it->is_object()) return core::Error::invalid("filters must be an object", "filters");
  static const std::set<std::string> known = {"genre",     "language",  "year_min", "year_max",
                                              "price_min", "price_max", "in_stock"};
  for (const auto& [k, v] : it->items()) {
    if (!known.contains(k)) {
      return core::Error::invalid("unknown filter '" + k + "'", "filters." + k);
    }
  }
  const auto& j = *it;
  LM_ASSIGN_OR_RETURN(f.genre, str_field(j, "genre", 500, "filters."));
  LM_ASSIGN_OR_RETURN(f.language, str_field(j, "language", 8, "filters."));
  LM_ASSIGN_OR_RETURN(f.year_min, int_field(j, "year_min", -5000, 2100, "filters."));
  LM_ASSIGN_OR_RETURN(f.year_max, int_field(j, "year_max", -5000, 2100, "filters."));
  LM_ASSIGN_OR_RETURN(f.price_min, int_field(j, "price_min", 0, 100000000, "filters."));
  LM_ASSIGN_OR_RETURN(f.price_max, int_field(j, "price_max", 0, 100000000, "filters."));
  if (auto s = j.find("in_stock"); s != j.end() && !s->is_null()) {
    if (!s->is_boolean())
      return core::Error::invalid("filters.in_stock must be a boolean", "filters.in_stock");
    f.in_stock = s->get<bool>();
  }
  return f;
}

struct RecommendationInput {
  std::string query;
  std::vector<std::string> seeds;
  search::SearchFilters filters;
  int limit = 5;
  bool explain = true;
};

core::Result<RecommendationInput> recommendation_input(const Request& req) {
  LM_ASSIGN_OR_RETURN(auto body,
                      json_body(req, {"query", "seed_books", "filters", "limit", "explain"}));
  RecommendationInput in;
  LM_ASSIGN_OR_RETURN(auto q, str_field(body, "query", kMaxRequestChars));
  if (q) {
    if (auto bad = core::plain_text_problem(*q, kMaxRequestChars, /*multiline=*/true)) {
      return core::Error::invalid("query: " + *bad, "query");
    }
    in.query = std::string(core::trim(*q));
  }
  if (auto it = body.find("seed_books"); it != body.end() && !it->is_null()) {
    if (!it->is_array()) {
      return core::Error::invalid("seed_books must be an array of book ids", "seed_books");
    }
    if (it->size() > kMaxSeeds) {
      return core::Error::invalid("at most " + std::to_string(kMaxSeeds) + " seed_books",
                                  "seed_books");
    }
    for (const auto& id : *it) {
      if (!id.is_string() || !valid_book_id(id.get<std::string>())) {
        return core::Error::invalid("seed_books holds book ids like \"pg-1342\"", "seed_books");
      }
      in.seeds.push_back(id.get<std::string>());
    }
  }
  if (in.query.empty() && in.seeds.empty()) {
    return core::Error::invalid(
        "say what you feel like reading (query), or give seed_books (the cart, say), or both",
        "query");
  }
  LM_ASSIGN_OR_RETURN(in.filters, filters_from_json(body));
  LM_ASSIGN_OR_RETURN(auto limit, int_field(body, "limit", 1, 10));
  in.limit = static_cast<int>(limit.value_or(5));
  if (auto it = body.find("explain"); it != body.end() && !it->is_null()) {
    if (!it->is_boolean()) return core::Error::invalid("explain must be a boolean", "explain");
    in.explain = it->get<bool>();
  }
  return in;
}

// What the model is asked to serve: the shopper's words, or the seeds' titles.
std::string request_text(const RecommendationInput& in,
                         const std::vector<std::string>& seed_titles) {
  if (!in.query.empty()) return in.query;
  std::string t = "more books like ";
  for (size_t i = 0; i < seed_titles.size(); ++i) t += (i ? ", " : "") + seed_titles[i];
  return t;
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

Response recommendations(search::SearchService& svc, search::Explainer* explainer, SearchMetrics& m,
                         Request& req) {
  if (auto bad = reject_unknown_params(req, {})) return std::move(*bad);
  auto input = recommendation_input(req);
  if (!input) return problem_from_error(input.error(), req.request_id);
  search::PipelineConfig config = svc.defaults();
  auto picked =
      svc.picks(input->query, input->seeds, input->filters, input->limit, config, req.request_id);
  if (!picked) return problem_from_error(picked.error(), req.request_id);
  m.requests.with({"recommendations"}).inc();
  for (const auto& d : picked->result.degraded) m.degraded.with({d.stage}).inc();

  std::vector<std::string> seed_titles;
  if (input->query.empty()) {
    // Seed-only requests: the model hears the seeds' titles, not their ids.
    for (const auto& id : input->seeds) {
      auto book = svc.catalog().get_book(id);
      if (book) seed_titles.push_back(book->title);
    }
  }
  auto results = std::make_shared<std::string>(dump(response_json(*picked)));
  std::vector<int64_t> pks;
  std::vector<std::string> ids;
  for (const auto& f : picked->books) {
    pks.push_back(f.book.pk);
    ids.push_back(f.book.id);
  }
  const double search_ms = picked->result.total_ms;
  const bool explain = input->explain && !pks.empty();
  const std::string text = request_text(*input, seed_titles);
  const std::string request_id = req.request_id;
  Response resp = sse_response([=](StreamWriter& out) {
    SseWriter sse(out);
    const auto started = std::chrono::steady_clock::now();
    if (!sse.event("results", *results)) return;
    json timings = {{"search", search_ms}};
    auto total = [&] {
      return search_ms +
             std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
                 .count();
    };
    if (!explain) {
      timings["total"] = total();
      sse.event("done", dump({{"request_id", request_id},
                              {"model", nullptr},
                              {"cached", false},
                              {"tokens", 0},
                              {"timings_ms", timings}}));
      return;
    }
    auto r = explainer
                 ? explainer->explain(
                       text, pks,
                       [&](size_t i, std::string_view piece) {
                         return sse.event("token",
                                          dump({{"book", ids[i]}, {"index", i}, {"text", piece}}));
                       },
                       [&] { return sse.closed(); })
                 : core::Result<search::ExplainResult>(core::Error::make(
                       core::ErrorCode::kUnavailable, "no model server is configured (--llm-url)",
                       "llm-not-configured"));
    if (!r) {
      sse.event("error", problem_from_error(r.error(), request_id).body);
      return;
    }
    if (r->cancelled) return;  // the client left (or the server drains): nobody to tell
    timings["first_token"] = r->first_token_ms;
    if (r->model_first_token_ms > 0) timings["model_first_token"] = r->model_first_token_ms;
    timings["explanation"] = r->total_ms;
    timings["total"] = total();
    sse.event("done", dump({{"request_id", request_id},
                            {"model", r->model},
                            {"cached", r->cached},
                            {"tokens", r->tokens},
                            {"timings_ms", timings}}));
  });
  resp.set_header("Server-Timing", server_timing(picked->result));
  return resp;
}

Response status(search::SearchService& svc, Request& req) {
  if (auto bad = reject_unknown_params(req, {})) return std::move(*bad);
  auto s = svc.index().status();
  json j = {{"lexical", {{"ready", s.lexical_ready}, {"books", s.docs}}},
            {"dense",
             {{"ready", s.dense_ready},
              {"enabled", svc.pipeline().has_dense()},
              {"model", svc.index().model_id()},
              {"vectors", s.vectors}}},
            {"rerank", {{"enabled", svc.pipeline().has_reranker()}}},
            {"llm", {{"enabled", svc.pipeline().has_generator()}}},
            {"watermark", s.watermark},
            {"defaults", json::parse(svc.defaults().to_json())}};
  if (const auto* e = svc.embedder()) {
    auto p = e->progress();
    j["embedding"] = {{"running", p.running},
                      {"caught_up", p.caught_up},
                      {"stale", p.stale},
                      {"embedded", p.embedded},
                      {"total_embedded", p.total_embedded},
                      {"per_second", p.per_second}};
    if (!p.error.empty()) j["embedding"]["error"] = p.error;
  }
  if (!s.error.empty()) j["error"] = s.error;
  Response r = json_response(200, j.dump());
  r.set_header("Cache-Control", "no-store");
  return r;
}

}  // namespace

SearchMetrics::SearchMetrics(telemetry::Registry& r)
    : requests(r.counter("libromind_search_requests_total", "Search requests by kind", {"kind"})),
      stage_seconds(r.histogram("libromind_search_stage_seconds",
                                "Time per search pipeline stage (and total)", {"stage"},
                                {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5})),
      degraded(r.counter("libromind_search_degraded_total",
                         "Pipeline stages skipped or degraded because a model or server was "
                         "unavailable",
                         {"stage"})) {}

void register_search_routes(Router& router, search::SearchService* svc, SearchMetrics& m,
                            search::Explainer* explainer) {
  auto wrap = [svc, &m](auto fn) {
    return [svc, &m, fn](Request& r) { return svc ? fn(*svc, m, r) : disabled(r); };
  };
  router.add("GET", "/api/v1/search", wrap(search_books));
  router.add("GET", "/api/v1/books/{id}/similar", wrap(similar_books));
  router.add("GET", "/api/v1/suggest", wrap(suggest), RouteOptions{.cacheable = true});
  router.add("POST", "/api/v1/recommendations", [svc, &m, explainer](Request& r) {
    return svc ? recommendations(*svc, explainer, m, r) : disabled(r);
  });
  router.add(
      "GET", "/api/v1/search/status",
      wrap([](search::SearchService& s, SearchMetrics&, Request& r) { return status(s, r); }));
}

}  // namespace libromind::http
