// Operations routes: /healthz (alive), /readyz (store reachable, migrations applied, and the
// search index built when search is on), /metrics (Prometheus text format).
#pragma once

#include <functional>

#include "http/router.hpp"
#include "store/store.hpp"
#include "telemetry/metrics.hpp"

namespace libromind::http {

// `search_ready` (when set) tells whether the search index is built: /readyz waits for it, so a
// load balancer sends no traffic to a replica that would answer searches with 503.
void register_ops_routes(Router& router, store::Store& store, telemetry::Registry& metrics,
                         std::function<bool()> search_ready = {});

}  // namespace libromind::http
