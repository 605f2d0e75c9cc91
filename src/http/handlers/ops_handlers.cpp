#include "http/handlers/ops_handlers.hpp"

#include <nlohmann/json.hpp>

#include "http/handlers/params.hpp"
#include "http/problem.hpp"
#include "store/migrations.hpp"

namespace libromind::http {

void register_ops_routes(Router& router, store::Store& store, telemetry::Registry& metrics) {
  router.add("GET", "/healthz",
             [](Request& req) {
               if (auto bad = reject_unknown_params(req, {})) return std::move(*bad);
               return json_response(200, R"({"status":"ok"})");
             },
             {.inline_handler = true});
  router.add("GET", "/readyz", [&store](Request& req) {
    if (auto bad = reject_unknown_params(req, {})) return std::move(*bad);
    auto status = store::migration_status(store);
    if (!status) {
      return problem(503, "unavailable", "Not ready", "store: " + status.error().message,
                     req.request_id);
    }
    if (!status->pending.empty()) {
      return problem(503, "unavailable", "Not ready",
                     "migrations: " + std::to_string(status->pending.size()) +
                         " pending (run `libromind migrate`)",
                     req.request_id);
    }
    return json_response(200, R"({"status":"ready","checks":{"store":"ok","migrations":"ok"}})");
  });
  router.add("GET", "/metrics", [&metrics](Request& req) {
    if (auto bad = reject_unknown_params(req, {})) return std::move(*bad);
    Response r = json_response(200, metrics.render());
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    return r;
  });
}

}  // namespace libromind::http
