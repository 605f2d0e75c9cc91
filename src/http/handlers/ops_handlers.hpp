// Operations routes: /healthz (alive), /readyz (store reachable, migrations applied),
// /metrics (Prometheus text format).
#pragma once

#include "http/router.hpp"
#include "store/store.hpp"
#include "telemetry/metrics.hpp"

namespace libromind::http {

void register_ops_routes(Router& router, store::Store& store, telemetry::Registry& metrics);

}  // namespace libromind::http
