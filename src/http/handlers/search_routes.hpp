// Search routes: GET /api/v1/search, /api/v1/books/{id}/similar, /api/v1/suggest,
// /api/v1/search/status and POST /api/v1/recommendations (Server-Sent Events). They translate
// HTTP to SearchService calls and back; a null service (search turned off) answers 503.
#pragma once

#include "http/router.hpp"
#include "search/explainer.hpp"
#include "search/search_service.hpp"
#include "telemetry/metrics.hpp"

namespace libromind::http {

// What an operator asks about search: requests by kind, time per stage, skipped stages.
struct SearchMetrics {
  explicit SearchMetrics(telemetry::Registry& r);
  telemetry::Family<telemetry::Counter>& requests;
  telemetry::Family<telemetry::Histogram>& stage_seconds;
  telemetry::Family<telemetry::Counter>& degraded;
};

// `explainer` may be null: recommendations then send the books and an llm-not-configured error.
void register_search_routes(Router& router, search::SearchService* search, SearchMetrics& metrics,
                            search::Explainer* explainer = nullptr);

}  // namespace libromind::http
