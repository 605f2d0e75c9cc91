// POST/GET /api/v1/feedback, GET/DELETE /api/v1/feedback/{id},
// GET /api/v1/admin/feedback/stats.
#include "http/handlers/params.hpp"
#include "http/handlers/shop_routes.hpp"

namespace libromind::http {
namespace {

ojson vote_json(const feedback::Vote& v) {
  return {{"id", v.id},
          {"request_id", v.request_id},
          {"book_id", v.book_id},
          {"query", v.query},
          {"vote", v.vote},
          {"comment", v.comment ? ojson(*v.comment) : ojson(nullptr)},
          {"pipeline", v.pipeline},
          {"created_at", v.created_at},
          {"updated_at", v.updated_at}};
}

ojson rows_json(const std::vector<feedback::StatsRow>& rows, const char* key) {
  ojson out = ojson::array();
  for (const auto& r : rows) {
    out.push_back({{key, r.key}, {"up", r.up}, {"down", r.down}, {"up_rate", r.up_rate}});
  }
  return out;
}

ojson both_json(const std::vector<feedback::StatsRow>& rows) {
  ojson out = ojson::array();
  for (const auto& r : rows) {
    out.push_back({{"day", r.key},
                   {"pipeline", r.pipeline},
                   {"up", r.up},
                   {"down", r.down},
                   {"up_rate", r.up_rate}});
  }
  return out;
}

core::Result<std::string> feedback_id_of(Request& req) {
  const std::string& id = req.path_params["id"];
  if (!valid_public_id(id)) return core::Error::not_found("no feedback with id '" + id + "'");
  return id;
}

}  // namespace

void register_feedback_routes(Router& router, feedback::FeedbackService& fb,
                              const Authenticator& auth, ShopMetrics& metrics) {
  router.add("POST", "/api/v1/feedback", [&fb, &auth, &metrics](Request& req) {
    if (auto bad = reject_unknown_params(req, {})) return std::move(*bad);
    return guarded(req, [&]() -> core::Result<Response> {
      LM_ASSIGN_OR_RETURN(auto who, auth.require(req));
      LM_ASSIGN_OR_RETURN(auto body,
                          json_body(req, {"request_id", "book_id", "query", "vote", "comment"}));
      feedback::VoteRequest v;
      v.user_id = who.user_id;
      LM_ASSIGN_OR_RETURN(v.request_id, required_str(body, "request_id", 128));
      LM_ASSIGN_OR_RETURN(v.book_id, required_str(body, "book_id", 100));
      LM_ASSIGN_OR_RETURN(auto query, str_field(body, "query", 500));
      v.query = query.value_or("");
      LM_ASSIGN_OR_RETURN(v.vote, required_str(body, "vote", 10));
      LM_ASSIGN_OR_RETURN(v.comment, str_field(body, "comment", 2000));
      LM_ASSIGN_OR_RETURN(auto voted, fb.vote(v));
      metrics.votes.with({voted.vote.vote}).inc();
      return json_ok(voted.created ? 201 : 200, vote_json(voted.vote));
    });
  });

  router.add("GET", "/api/v1/feedback", [&fb, &auth](Request& req) {
    if (auto bad = reject_unknown_params(req, {"request_id", "limit"})) return std::move(*bad);
    return guarded(req, [&]() -> core::Result<Response> {
      LM_TRY(req.query.reject_repeated());
      LM_ASSIGN_OR_RETURN(auto who, auth.require(req));
      LM_ASSIGN_OR_RETURN(auto request_id, string_param(req.query, "request_id", 128));
      if (request_id && !feedback::valid_request_id(*request_id)) {
        return core::Error::invalid("request_id is 1..128 characters of A-Z a-z 0-9 . _ : -",
                                    "request_id");
      }
      LM_ASSIGN_OR_RETURN(auto limit, int_param(req.query, "limit", 1, 500));
      LM_ASSIGN_OR_RETURN(
          auto votes, fb.list_mine(who.user_id, request_id, static_cast<int>(limit.value_or(100))));
      ojson items = ojson::array();
      for (const auto& v : votes) items.push_back(vote_json(v));
      return json_ok(200, {{"items", std::move(items)}});
    });
  });

  router.add("GET", "/api/v1/feedback/{id}", [&fb, &auth](Request& req) {
    if (auto bad = reject_unknown_params(req, {})) return std::move(*bad);
    return guarded(req, [&]() -> core::Result<Response> {
      LM_ASSIGN_OR_RETURN(auto who, auth.require(req));
      LM_ASSIGN_OR_RETURN(auto id, feedback_id_of(req));
      LM_ASSIGN_OR_RETURN(auto v, fb.get(who.user_id, id));
      return json_ok(200, vote_json(v));
    });
  });

  router.add("DELETE", "/api/v1/feedback/{id}", [&fb, &auth](Request& req) {
    if (auto bad = reject_unknown_params(req, {})) return std::move(*bad);
    return guarded(req, [&]() -> core::Result<Response> {
      LM_ASSIGN_OR_RETURN(auto who, auth.require(req));
      LM_ASSIGN_OR_RETURN(auto id, feedback_id_of(req));
      LM_TRY(fb.remove(who.user_id, id));
      return no_content();
    });
  });

  router.add("GET", "/api/v1/admin/feedback/stats", [&fb, &auth](Request& req) {
    if (auto bad = reject_unknown_params(req, {"from", "to", "pipeline"})) return std::move(*bad);
    return guarded(req, [&]() -> core::Result<Response> {
      LM_TRY(req.query.reject_repeated());
      LM_TRY(auth.require_admin(req));
      feedback::StatsQuery q;
      LM_ASSIGN_OR_RETURN(q.from, string_param(req.query, "from", 10));
      LM_ASSIGN_OR_RETURN(q.to, string_param(req.query, "to", 10));
      LM_ASSIGN_OR_RETURN(q.pipeline, string_param(req.query, "pipeline", 200));
      if (q.from && !feedback::valid_day(*q.from)) {
        return core::Error::invalid("from must be a day, YYYY-MM-DD", "from");
      }
      if (q.to && !feedback::valid_day(*q.to)) {
        return core::Error::invalid("to must be a day, YYYY-MM-DD", "to");
      }
      LM_ASSIGN_OR_RETURN(auto s, fb.stats(q));
      return json_ok(200, {{"up", s.up},
                           {"down", s.down},
                           {"up_rate", s.up_rate},
                           {"by_day", rows_json(s.by_day, "day")},
                           {"by_pipeline", rows_json(s.by_pipeline, "pipeline")},
                           {"by_day_and_pipeline", both_json(s.by_day_and_pipeline)}});
    });
  });
}

}  // namespace libromind::http
