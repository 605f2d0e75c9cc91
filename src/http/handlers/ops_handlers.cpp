#include "http/handlers/ops_handlers.hpp"

#include <nlohmann/json.hpp>

#include "http/handlers/params.hpp"
#include "http/problem.hpp"
#include "store/migrations.hpp"

namespace libromind::http {

void register_ops_routes(Router& router, store::Store& store, telemetry::Registry& metrics,
                         std::function<bool()> search_ready) {
  router.add("GET", "/healthz",
             [](Request& req) {
               if (auto bad = reject_unknown_params(req, {})) return std::move(*bad);
               return json_response(200, R"({"status":"ok"})");
             },
             {.inline_handler = true});
  router.add("GET", "/readyz", [&store, search_ready](Request& req) {
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
    if (search_ready && !search_ready()) {
      Response r = problem(503, "unavailable", "Not ready", "search index: still being built",
                           req.request_id);
      r.set_header("Retry-After", "2");
      return r;
    }
    return json_response(
        200, search_ready
                 ? R"({"status":"ready","checks":{"store":"ok","migrations":"ok","search":"ok"}})"
                 : R"({"status":"ready","checks":{"store":"ok","migrations":"ok"}})");
  });
  router.add("GET", "/metrics", [&metrics](Request& req) {
    if (auto bad = reject_unknown_params(req, {})) return std::move(*bad);
    Response r = json_response(200, metrics.render());
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    return r;
  });
}

}  // namespace libromind::http
