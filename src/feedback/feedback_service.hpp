// Feedback on AI output: a thumbs up or down from a signed-in user on one book of one search
// or recommendation response (its request id). One vote per user per (request, book); voting
// again changes the vote. Statistics by day and by pipeline configuration / model version let
// quality be compared over time.
//
//   feedback::FeedbackService fb(store);
//   LM_ASSIGN_OR_RETURN(auto v, fb.vote({.user_id = 7, .request_id = rid, .book_id = "pg-84",
//                                        .query = "gothic", .vote = "up"}));
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "store/store.hpp"

namespace libromind::feedback {

struct VoteRequest {
  int64_t user_id = 0;
  std::string request_id;              // 1..128 of [A-Za-z0-9._:-]
  std::string book_id;                 // must exist
  std::string query;                   // 0..500 characters
  std::string vote;                    // "up" or "down"
  std::optional<std::string> comment;  // 0..2000 characters
};

struct Vote {
  std::string id;  // public id ("fb_...")
  int64_t user_id = 0;
  std::string request_id;
  std::string book_id;
  std::string query;
  std::string vote;
  std::optional<std::string> comment;
  std::string pipeline;
  std::string created_at;
  std::string updated_at;
};

struct Voted {
  Vote vote;
  bool created = false;  // false when an earlier vote was changed
};

struct StatsRow {
  std::string key;       // the day (YYYY-MM-DD) or the pipeline
  std::string pipeline;  // by_day_and_pipeline only
  int64_t up = 0;
  int64_t down = 0;
  double up_rate = 0;  // up / (up + down)
};

struct Stats {
  int64_t up = 0;
  int64_t down = 0;
  double up_rate = 0;
  std::vector<StatsRow> by_day;       // newest first
  std::vector<StatsRow> by_pipeline;  // most votes first
  // One row per (day, pipeline): how each configuration did over time. Newest day first.
  std::vector<StatsRow> by_day_and_pipeline;
};

struct StatsQuery {
  std::optional<std::string> from;  // YYYY-MM-DD, inclusive
  std::optional<std::string> to;    // YYYY-MM-DD, inclusive
  std::optional<std::string> pipeline;
};

class FeedbackService {
 public:
  explicit FeedbackService(store::Store& store) : store_(store) {}

  core::Result<Voted> vote(const VoteRequest& request);
  // The user's own votes, newest first, optionally for one request.
  core::Result<std::vector<Vote>> list_mine(int64_t user_id,
                                            const std::optional<std::string>& request_id,
                                            int limit);
  // Another user's vote is "not found".
  core::Result<Vote> get(int64_t user_id, const std::string& id);
  core::Result<void> remove(int64_t user_id, const std::string& id);
  core::Result<Stats> stats(const StatsQuery& query);

 private:
  store::Store& store_;
};

bool valid_request_id(std::string_view id);
bool valid_day(std::string_view day);

}  // namespace libromind::feedback
