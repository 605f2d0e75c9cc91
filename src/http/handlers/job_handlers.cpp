// GET /api/v1/admin/jobs, GET /api/v1/admin/jobs/stats, GET /api/v1/admin/jobs/{id},
// POST /api/v1/admin/jobs/{id}/retry, POST /api/v1/admin/jobs/{id}/cancel. Admins only.
#include "core/text.hpp"
#include "http/handlers/jobs_routes.hpp"
#include "http/handlers/params.hpp"

namespace libromind::http {
namespace {

core::Result<int64_t> job_id_of(Request& req) {
  const std::string& raw = req.path_params["id"];
  auto id = core::parse_int(raw);
  if (!id || *id <= 0) return core::Error::not_found("no job with id '" + raw + "'");
  return *id;
}

core::Result<jobs::Queue*> need(jobs::Queue* queue) {
  if (queue == nullptr) return core::Error::unavailable("this process has no job queue");
  return queue;
}

}  // namespace

void register_job_routes(Router& router, jobs::Queue* queue, const Authenticator& auth) {
  router.add("GET", "/api/v1/admin/jobs", [queue, &auth](Request& req) {
    if (auto bad = reject_unknown_params(req, {"state", "kind", "before", "limit"})) {
      return std::move(*bad);
    }
    return guarded(req, [&]() -> core::Result<Response> {
      LM_TRY(req.query.reject_repeated());
      LM_TRY(auth.require_admin(req));
      LM_ASSIGN_OR_RETURN(jobs::Queue * q, need(queue));
      jobs::ListFilter f;
      LM_ASSIGN_OR_RETURN(auto state, string_param(req.query, "state", 20));
      if (state) {
        f.state = jobs::parse_job_state(*state);
        if (!f.state) {
          return core::Error::invalid(
              "state must be queued, running, failed, succeeded, dead or cancelled", "state");
        }
      }
      LM_ASSIGN_OR_RETURN(auto kind, string_param(req.query, "kind", 64));
      f.kind = kind.value_or("");
      LM_ASSIGN_OR_RETURN(auto before, int_param(req.query, "before", 1, INT64_MAX));
      f.before_id = before.value_or(0);
      LM_ASSIGN_OR_RETURN(auto limit, int_param(req.query, "limit", 1, 200));
      f.limit = limit.value_or(50);
      LM_ASSIGN_OR_RETURN(auto list, q->list(f));
      ojson items = ojson::array();
      for (const auto& j : list) items.push_back(j.to_json());
      ojson next = static_cast<int64_t>(list.size()) == f.limit && !list.empty()
                       ? ojson(list.back().id)
                       : ojson(nullptr);
      return json_ok(200, {{"items", items}, {"next_before", next}});
    });
  });

  // Before /{id}: the first matching route wins.
  router.add("GET", "/api/v1/admin/jobs/stats", [queue, &auth](Request& req) {
    if (auto bad = reject_unknown_params(req, {})) return std::move(*bad);
    return guarded(req, [&]() -> core::Result<Response> {
      LM_TRY(auth.require_admin(req));
      LM_ASSIGN_OR_RETURN(jobs::Queue * q, need(queue));
      LM_ASSIGN_OR_RETURN(auto stats, q->stats());
      const int64_t now = jobs::Queue::now_ms();
      ojson kinds = ojson::array();
      ojson totals = {{"queued", 0},    {"running", 0}, {"failed", 0},
                      {"succeeded", 0}, {"dead", 0},    {"cancelled", 0}};
      for (const auto& k : stats) {
        ojson counts = {{"queued", k.queued}, {"running", k.running},
                        {"failed", k.failed}, {"succeeded", k.succeeded},
                        {"dead", k.dead},     {"cancelled", k.cancelled}};
        for (auto& [state, n] : counts.items())
          totals[state] = totals[state].get<int64_t>() + n.get<int64_t>();
        kinds.push_back(
            {{"kind", k.kind},
             {"counts", counts},
             {"oldest_ready_age_seconds",
              k.oldest_ready_ms ? ojson(std::max<double>(0, (now - *k.oldest_ready_ms) / 1000.0))
                                : ojson(nullptr)}});
      }
      return json_ok(200, {{"kinds", kinds}, {"totals", totals}});
    });
  });

  router.add("GET", "/api/v1/admin/jobs/{id}", [queue, &auth](Request& req) {
    if (auto bad = reject_unknown_params(req, {})) return std::move(*bad);
    return guarded(req, [&]() -> core::Result<Response> {
      LM_TRY(auth.require_admin(req));
      LM_ASSIGN_OR_RETURN(jobs::Queue * q, need(queue));
      LM_ASSIGN_OR_RETURN(int64_t id, job_id_of(req));
      LM_ASSIGN_OR_RETURN(auto job, q->get(id));
      return json_ok(200, job.to_json());
    });
  });

  for (const char* action : {"retry", "cancel"}) {
    const bool retry = std::string_view(action) == "retry";
    router.add("POST", std::string("/api/v1/admin/jobs/{id}/") + action,
               [queue, &auth, retry](Request& req) {
                 if (auto bad = reject_unknown_params(req, {})) return std::move(*bad);
                 return guarded(req, [&]() -> core::Result<Response> {
                   LM_TRY(auth.require_admin(req));
                   LM_ASSIGN_OR_RETURN(jobs::Queue * q, need(queue));
                   LM_ASSIGN_OR_RETURN(int64_t id, job_id_of(req));
                   LM_ASSIGN_OR_RETURN(auto job, retry ? q->retry(id) : q->cancel(id));
                   return json_ok(200, job.to_json());
                 });
               });
  }
}

}  // namespace libromind::http
