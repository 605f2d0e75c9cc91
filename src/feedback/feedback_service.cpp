#include "feedback/feedback_service.hpp"

#include <map>

#include "core/crypto.hpp"
#include "core/text.hpp"
#include "telemetry/log.hpp"

namespace libromind::feedback {
namespace {

using store::Params;

constexpr const char* kColumns =
    "public_id, user_id, request_id, book_ext_id, query, vote, comment, pipeline, created_at, "
    "updated_at";

Vote vote_from_row(const std::vector<store::Value>& r) {
  Vote v;
  v.id = store::as_string(r[0]);
  v.user_id = store::as_int(r[1]);
  v.request_id = store::as_string(r[2]);
  v.book_id = store::as_string(r[3]);
  v.query = store::as_string(r[4]);
  v.vote = store::as_string(r[5]);
  if (!store::is_null(r[6])) v.comment = store::as_string(r[6]);
  v.pipeline = store::as_string(r[7]);
  v.created_at = store::as_string(r[8]);
  v.updated_at = store::as_string(r[9]);
  return v;
}

core::Result<void> check_text(const std::string& s, const char* field, size_t max) {
  if (auto problem = core::plain_text_problem(s, max, true))
    return core::Error::invalid(*problem, field);
  return core::ok();
}

StatsRow make_row(std::string key, int64_t up, int64_t down) {
  StatsRow r{std::move(key), {}, up, down, 0};
  r.up_rate = up + down > 0 ? static_cast<double>(up) / static_cast<double>(up + down) : 0;
  return r;
}

}  // namespace

bool valid_request_id(std::string_view id) { return core::is_safe_id(id, 128); }

bool valid_day(std::string_view d) {
  if (d.size() != 10 || d[4] != '-' || d[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (d[i] < '0' || d[i] > '9') return false;
  }
  const int year = (d[0] - '0') * 1000 + (d[1] - '0') * 100 + (d[2] - '0') * 10 + (d[3] - '0');
  const int month = (d[5] - '0') * 10 + (d[6] - '0');
  const int day = (d[8] - '0') * 10 + (d[9] - '0');
  if (month < 1 || month > 12 || day < 1) return false;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return day <= kDays[month - 1] + (month == 2 && leap ? 1 : 0);
}

core::Result<Voted> FeedbackService::vote(const VoteRequest& req) {
  if (!valid_request_id(req.request_id)) {
    return core::Error::invalid("request_id is 1..128 characters of A-Z a-z 0-9 . _ : -",
                                "request_id");
  }
  if (req.vote != "up" && req.vote != "down") {
    return core::Error::invalid("vote must be 'up' or 'down'", "vote");
  }
  LM_TRY(check_text(req.query, "query", 500));
  if (req.comment) LM_TRY(check_text(*req.comment, "comment", 2000));
  Voted out;
  LM_TRY(store::with_transaction(store_, [&](store::Connection& conn) -> core::Result<void> {
    LM_ASSIGN_OR_RETURN(auto book,
                        conn.query("SELECT 1 FROM books WHERE ext_id = $1", {req.book_id}));
    if (book.empty()) {
      auto e = core::Error::make(core::ErrorCode::kUnprocessable,
                                 "no book with id '" + req.book_id + "'", "unknown-book");
      e.field = "book_id";
      return e;
    }
    // The pipeline that produced the pick, as the search recorded it with its request id
    // ("unknown" for a request id it has no record of).
    LM_ASSIGN_OR_RETURN(auto recorded, conn.query("SELECT pipeline FROM search_requests WHERE "
                                                  "request_id = $1",
                                                  {req.request_id}));
    const std::string pipeline =
        recorded.empty() ? std::string("unknown") : store::as_string(recorded.rows[0][0]);
    const std::string ts = telemetry::utc_timestamp();
    store::Value comment = req.comment ? store::Value(*req.comment) : store::Value(nullptr);
    LM_ASSIGN_OR_RETURN(auto existing, conn.query("SELECT id FROM feedback WHERE user_id = $1 AND "
                                                  "request_id = $2 AND book_ext_id = $3",
                                                  {req.user_id, req.request_id, req.book_id}));
    std::string sql;
    if (existing.empty()) {
      out.created = true;
      LM_ASSIGN_OR_RETURN(
          auto rows,
          conn.query(std::string("INSERT INTO feedback (public_id, user_id, request_id, "
                                 "book_ext_id, query, vote, comment, pipeline, created_at, "
                                 "updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) "
                                 "RETURNING ") +
                         kColumns,
                     {"fb_" + core::random_token(12), req.user_id, req.request_id, req.book_id,
                      req.query, req.vote, comment, pipeline, ts}));
      out.vote = vote_from_row(rows.rows.at(0));
    } else {
      LM_ASSIGN_OR_RETURN(
          auto rows,
          conn.query(std::string("UPDATE feedback SET vote = $2, comment = $3, query = $4, "
                                 "updated_at = $5 WHERE id = $1 RETURNING ") +
                         kColumns,
                     {existing.rows[0][0], req.vote, comment, req.query, ts}));
      out.vote = vote_from_row(rows.rows.at(0));
    }
    return core::ok();
  }));
  return out;
}

core::Result<std::vector<Vote>> FeedbackService::list_mine(
    int64_t user_id, const std::optional<std::string>& request_id, int limit) {
  std::string sql = std::string("SELECT ") + kColumns + " FROM feedback WHERE user_id = $1";
  Params p{user_id};
  if (request_id) {
    sql += " AND request_id = $2";
    p.push_back(*request_id);
  }
  sql += " ORDER BY id DESC LIMIT " + std::to_string(limit);
  LM_ASSIGN_OR_RETURN(auto conn, store_.acquire(store::Access::kRead));
  LM_ASSIGN_OR_RETURN(auto rows, conn->query(sql, p));
  std::vector<Vote> out;
  for (const auto& r : rows.rows) out.push_back(vote_from_row(r));
  return out;
}

core::Result<Vote> FeedbackService::get(int64_t user_id, const std::string& id) {
  LM_ASSIGN_OR_RETURN(auto conn, store_.acquire(store::Access::kRead));
  LM_ASSIGN_OR_RETURN(auto rows, conn->query(std::string("SELECT ") + kColumns +
                                                 " FROM feedback WHERE public_id = $1 AND "
                                                 "user_id = $2",
                                             {id, user_id}));
  if (rows.empty()) return core::Error::not_found("no feedback with id '" + id + "'");
  return vote_from_row(rows.rows[0]);
}

core::Result<void> FeedbackService::remove(int64_t user_id, const std::string& id) {
  return store::with_transaction(store_, [&](store::Connection& conn) -> core::Result<void> {
    LM_ASSIGN_OR_RETURN(int64_t n, conn.exec("DELETE FROM feedback WHERE public_id = $1 AND "
                                             "user_id = $2",
                                             {id, user_id}));
    if (n == 0) return core::Error::not_found("no feedback with id '" + id + "'");
    return core::ok();
  });
}

core::Result<Stats> FeedbackService::stats(const StatsQuery& q) {
  std::string where = " WHERE 1 = 1";
  Params p;
  auto bind = [&p](std::string v) {
    p.push_back(std::move(v));
    return "$" + std::to_string(p.size());
  };
  // created_at is ISO-8601 UTC text: its first ten characters are the day.
  if (q.from) where += " AND created_at >= " + bind(*q.from);
  if (q.to) where += " AND created_at < " + bind(*q.to + "T99");
  if (q.pipeline) where += " AND pipeline = " + bind(*q.pipeline);
  const std::string counts =
      "SUM(CASE WHEN vote = 'up' THEN 1 ELSE 0 END), SUM(CASE WHEN vote = 'down' THEN 1 ELSE 0 "
      "END)";
  LM_ASSIGN_OR_RETURN(auto conn, store_.acquire(store::Access::kRead));
  Stats s;
  LM_ASSIGN_OR_RETURN(
      auto by_day,
      conn->query("SELECT SUBSTR(created_at, 1, 10) AS day, " + counts + " FROM feedback" + where +
                      " GROUP BY SUBSTR(created_at, 1, 10) ORDER BY day DESC",
                  p));
  for (const auto& r : by_day.rows) {
    s.by_day.push_back(make_row(store::as_string(r[0]), store::as_int(r[1]), store::as_int(r[2])));
    s.up += store::as_int(r[1]);
    s.down += store::as_int(r[2]);
  }
  LM_ASSIGN_OR_RETURN(auto by_pipeline,
                      conn->query("SELECT pipeline, " + counts + " FROM feedback" + where +
                                      " GROUP BY pipeline ORDER BY COUNT(*) DESC, pipeline",
                                  p));
  for (const auto& r : by_pipeline.rows) {
    s.by_pipeline.push_back(
        make_row(store::as_string(r[0]), store::as_int(r[1]), store::as_int(r[2])));
  }
  LM_ASSIGN_OR_RETURN(auto by_both,
                      conn->query("SELECT SUBSTR(created_at, 1, 10) AS day, pipeline, " + counts +
                                      " FROM feedback" + where +
                                      " GROUP BY SUBSTR(created_at, 1, 10), pipeline ORDER BY day "
                                      "DESC, pipeline",
                                  p));
  for (const auto& r : by_both.rows) {
    StatsRow row = make_row(store::as_string(r[0]), store::as_int(r[2]), store::as_int(r[3]));
    row.pipeline = store::as_string(r[1]);
    s.by_day_and_pipeline.push_back(std::move(row));
  }
  s.up_rate = make_row("", s.up, s.down).up_rate;
  return s;
}

}  // namespace libromind::feedback
