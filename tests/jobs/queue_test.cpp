// The queue on both stores: enqueue inside the caller's transaction, claim order and leases,
// fencing of stale claims, retries with backoff, dead after the last attempt, dedup keys, and
// the admin operations.
#include "jobs/queue.hpp"

#include <set>
#include <thread>

#include "jobs_fixture.hpp"

namespace libromind::jobs {
namespace {

using namespace std::chrono_literals;
using testing::JobsTest;

class QueueTest : public JobsTest {};

TEST_P(QueueTest, a_job_enqueued_in_a_transaction_that_rolls_back_never_exists) {
  auto r = store::with_transaction(*store_, [&](store::Connection& tx) -> core::Result<void> {
    LM_TRY(jobs::enqueue(tx, EnqueueRequest{.kind = "noop"}));
    return core::Error::internal("the write that needed it failed");
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM jobs"), 0);

  auto committed =
      store::with_transaction(*store_, [&](store::Connection& tx) -> core::Result<void> {
        LM_TRY(jobs::enqueue(tx, EnqueueRequest{.kind = "noop", .payload = {{"n", 1}}}));
        return core::ok();
      });
  ASSERT_TRUE(committed) << committed.error().message;
  auto claims = queue_->claim("w1", {}, 10, 30s);
  ASSERT_TRUE(claims);
  ASSERT_EQ(claims->size(), 1u);
  EXPECT_EQ((*claims)[0].job.payload["n"], 1);
  EXPECT_EQ((*claims)[0].job.state, JobState::kRunning);
  EXPECT_EQ((*claims)[0].attempt, 1);
}

TEST_P(QueueTest, claims_take_the_highest_priority_then_the_oldest_and_only_ready_jobs) {
  const int64_t now = Queue::now_ms();
  auto add = [&](int64_t priority, int64_t run_at) {
    auto e = queue_->enqueue({.kind = "noop", .priority = priority, .run_at_ms = run_at});
    EXPECT_TRUE(e);
    return e->id;
  };
  const int64_t low = add(0, now - 1000);
  const int64_t high_new = add(5, now - 10);
  const int64_t high_old = add(5, now - 500);
  const int64_t future = add(10, now + 3600 * 1000);
  auto claims = queue_->claim("w1", {}, 10, 30s);
  ASSERT_TRUE(claims);
  std::vector<int64_t> ids;
  for (const auto& c : *claims) ids.push_back(c.job.id);
  EXPECT_EQ(ids, (std::vector<int64_t>{high_old, high_new, low}));
  EXPECT_EQ(state(future), JobState::kQueued);
  // Nothing else is ready.
  EXPECT_TRUE(queue_->claim("w2", {}, 10, 30s)->empty());
}

TEST_P(QueueTest, claims_are_limited_to_the_kinds_asked_for_and_to_max) {
  for (int i = 0; i < 3; ++i) enqueue("a");
  enqueue("b");
  auto two = queue_->claim("w1", {"a"}, 2, 30s);
  ASSERT_TRUE(two);
  EXPECT_EQ(two->size(), 2u);
  for (const auto& c : *two) EXPECT_EQ(c.job.kind, "a");
  auto rest = queue_->claim("w1", {"a", "c"}, 10, 30s);
  EXPECT_EQ(rest->size(), 1u);
  auto b = queue_->claim("w1", {"b"}, 10, 30s);
  EXPECT_EQ(b->size(), 1u);
}

TEST_P(QueueTest, success_stores_the_result_and_a_stale_claim_cannot_finish_the_job) {
  const int64_t id = enqueue("noop");
  auto c = queue_->claim("w1", {}, 1, 30s);
  ASSERT_EQ(c->size(), 1u);
  Claim stale = (*c)[0];
  stale.attempt = 0;  // not the current attempt
  EXPECT_FALSE(*queue_->succeed(stale, {{"x", 1}}));
  Claim other = (*c)[0];
  other.worker_id = "w2";
  EXPECT_FALSE(*queue_->succeed(other, {{"x", 1}}));
  EXPECT_TRUE(*queue_->succeed((*c)[0], {{"done", true}}));
  auto job = queue_->get(id);
  ASSERT_TRUE(job);
  EXPECT_EQ(job->state, JobState::kSucceeded);
  EXPECT_EQ(job->result["done"], true);
  EXPECT_TRUE(job->finished_at_ms.has_value());
  EXPECT_FALSE(job->lease_expires_at_ms.has_value());
  // Finished: a second success changes nothing.
  EXPECT_FALSE(*queue_->succeed((*c)[0], {{"done", false}}));
  EXPECT_EQ(queue_->get(id)->result["done"], true);
}

TEST_P(QueueTest, failures_are_retried_with_backoff_and_the_last_one_makes_the_job_dead) {
  Queue slow(*store_, RetryPolicy{60s, 600s, 0.0});
  const int64_t id = slow.enqueue({.kind = "flaky", .max_attempts = 2})->id;
  auto c1 = slow.claim("w1", {}, 1, 30s);
  ASSERT_EQ(c1->size(), 1u);
  const int64_t before = Queue::now_ms();
  auto f1 = slow.fail((*c1)[0], "boom 1", false);
  ASSERT_TRUE(f1);
  EXPECT_TRUE(f1->applied);
  EXPECT_EQ(f1->state, JobState::kFailed);
  EXPECT_GE(f1->run_at_ms, before + 60000);
  auto job = slow.get(id);
  EXPECT_EQ(job->state, JobState::kFailed);
  EXPECT_EQ(job->last_error, "boom 1");
  // Not ready before its backoff.
  EXPECT_TRUE(slow.claim("w1", {}, 1, 30s)->empty());
  exec("UPDATE jobs SET run_at = 0 WHERE id = $1", {id});
  auto c2 = slow.claim("w1", {}, 1, 30s);
  ASSERT_EQ(c2->size(), 1u);
  EXPECT_EQ((*c2)[0].attempt, 2);
  auto f2 = slow.fail((*c2)[0], "boom 2", false);
  EXPECT_EQ(f2->state, JobState::kDead);
  job = slow.get(id);
  EXPECT_EQ(job->state, JobState::kDead);
  EXPECT_EQ(job->last_error, "boom 2");
  EXPECT_EQ(job->attempts, 2);
  EXPECT_TRUE(slow.claim("w1", {}, 1, 30s)->empty());
}

TEST_P(QueueTest, a_permanent_failure_is_dead_at_once) {
  const int64_t id = enqueue("bad", {}, 10);
  auto c = queue_->claim("w1", {}, 1, 30s);
  auto f = queue_->fail((*c)[0], "payload has no book_ids", true);
  EXPECT_EQ(f->state, JobState::kDead);
  EXPECT_EQ(state(id), JobState::kDead);
}

TEST_P(QueueTest, backoff_doubles_up_to_the_cap_within_the_jitter) {
  Queue q(*store_, RetryPolicy{1000ms, 10000ms, 0.25});
  for (int i = 0; i < 50; ++i) {
    auto b1 = q.backoff(1).count();
    EXPECT_GE(b1, 750);
    EXPECT_LE(b1, 1250);
    auto b3 = q.backoff(3).count();
    EXPECT_GE(b3, 3000);
    EXPECT_LE(b3, 5000);
    auto b40 = q.backoff(40).count();
    EXPECT_GE(b40, 7500);
    EXPECT_LE(b40, 12500);
  }
}

TEST_P(QueueTest, an_expired_lease_is_reclaimed_and_the_old_worker_can_no_longer_finish) {
  const int64_t id = enqueue("noop", {}, 3);
  auto c1 = queue_->claim("dead-worker", {}, 1, 30s);
  ASSERT_EQ(c1->size(), 1u);
  EXPECT_EQ(*queue_->reclaim_expired(), 0);  // the lease still runs
  exec("UPDATE jobs SET lease_expires_at = 1 WHERE id = $1", {id});
  EXPECT_EQ(*queue_->reclaim_expired(), 1);
  auto job = queue_->get(id);
  EXPECT_EQ(job->state, JobState::kFailed);
  EXPECT_NE(job->last_error.find("lease expired"), std::string::npos);
  auto c2 = queue_->claim("w2", {}, 1, 30s);
  ASSERT_EQ(c2->size(), 1u);
  EXPECT_EQ((*c2)[0].attempt, 2);
  // The first worker wakes up: its heartbeat and its outcome are refused.
  EXPECT_FALSE(*queue_->heartbeat((*c1)[0], 30s));
  EXPECT_FALSE(*queue_->succeed((*c1)[0], {}));
  EXPECT_FALSE(queue_->fail((*c1)[0], "late", false)->applied);
  EXPECT_TRUE(*queue_->heartbeat((*c2)[0], 30s));
  EXPECT_TRUE(*queue_->succeed((*c2)[0], {}));
  EXPECT_EQ(state(id), JobState::kSucceeded);
}

TEST_P(QueueTest, a_lease_that_expires_on_the_last_attempt_makes_the_job_dead) {
  const int64_t id = enqueue("noop", {}, 1);
  ASSERT_EQ(queue_->claim("w1", {}, 1, 30s)->size(), 1u);
  exec("UPDATE jobs SET lease_expires_at = 1 WHERE id = $1", {id});
  EXPECT_EQ(*queue_->reclaim_expired(), 1);
  EXPECT_EQ(state(id), JobState::kDead);
}

TEST_P(QueueTest, heartbeats_extend_the_lease) {
  const int64_t id = enqueue("noop");
  auto c = queue_->claim("w1", {}, 1, 1000ms);
  const int64_t first = *queue_->get(id)->lease_expires_at_ms;
  std::this_thread::sleep_for(5ms);
  EXPECT_TRUE(*queue_->heartbeat((*c)[0], 60s));
  EXPECT_GE(*queue_->get(id)->lease_expires_at_ms, first + 50000);
}

TEST_P(QueueTest, a_lease_renewed_inside_a_transaction_is_fresh_when_it_commits) {
  // A long write transaction (an import on SQLite) blocks the heartbeat; renewing inside it
  // means a reclaimer that waited for the same lock finds a live lease, not an expired one.
  const int64_t id = enqueue("noop");
  auto c = queue_->claim("w1", {}, 1, 1000ms);
  ASSERT_EQ(c->size(), 1u);
  exec("UPDATE jobs SET lease_expires_at = 1 WHERE id = $1", {id});  // it lapsed meanwhile
  ASSERT_TRUE(store::with_transaction(*store_, [&](store::Connection& tx) -> core::Result<void> {
    LM_ASSIGN_OR_RETURN(bool renewed, jobs::renew_lease(tx, (*c)[0], 60s));
    EXPECT_TRUE(renewed);
    return core::ok();
  }));
  EXPECT_EQ(*queue_->reclaim_expired(), 0);
  EXPECT_EQ(state(id), JobState::kRunning);
  EXPECT_TRUE(*queue_->succeed((*c)[0], {}));
}

TEST_P(QueueTest, a_stale_claim_cannot_renew_its_lease_inside_a_transaction) {
  const int64_t id = enqueue("noop", {}, 3);
  auto c = queue_->claim("w1", {}, 1, 30s);
  ASSERT_EQ(c->size(), 1u);
  exec("UPDATE jobs SET lease_expires_at = 1 WHERE id = $1", {id});
  ASSERT_EQ(*queue_->reclaim_expired(), 1);
  ASSERT_TRUE(store::with_transaction(*store_, [&](store::Connection& tx) -> core::Result<void> {
    LM_ASSIGN_OR_RETURN(bool renewed, jobs::renew_lease(tx, (*c)[0], 60s));
    EXPECT_FALSE(renewed);
    return core::ok();
  }));
  EXPECT_EQ(state(id), JobState::kFailed);
}

TEST_P(QueueTest, release_gives_the_job_back_without_counting_the_attempt) {
  const int64_t id = enqueue("noop");
  auto c = queue_->claim("w1", {}, 1, 30s);
  EXPECT_TRUE(*queue_->release((*c)[0]));
  auto job = queue_->get(id);
  EXPECT_EQ(job->state, JobState::kQueued);
  EXPECT_EQ(job->attempts, 0);
  auto again = queue_->claim("w2", {}, 1, 30s);
  ASSERT_EQ(again->size(), 1u);
  EXPECT_EQ((*again)[0].attempt, 1);
}

TEST_P(QueueTest, a_dedup_key_allows_one_unfinished_job_per_kind) {
  EnqueueRequest r{.kind = "send_email", .payload = {{"order", 7}}, .dedup_key = "order-7"};
  auto first = queue_->enqueue(r);
  ASSERT_TRUE(first);
  EXPECT_TRUE(first->created);
  auto second = queue_->enqueue(r);
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_FALSE(second->created);
  EXPECT_EQ(second->id, first->id);
  // Another kind with the same key is another job.
  EXPECT_TRUE(queue_->enqueue({.kind = "other", .dedup_key = "order-7"})->created);
  // Once it has finished, the key is free again.
  auto c = queue_->claim("w1", {"send_email"}, 1, 30s);
  ASSERT_TRUE(*queue_->succeed((*c)[0], {}));
  auto third = queue_->enqueue(r);
  EXPECT_TRUE(third->created);
  EXPECT_NE(third->id, first->id);
}

TEST_P(QueueTest, bad_requests_are_refused_and_enqueue_nothing) {
  EXPECT_FALSE(queue_->enqueue({.kind = ""}));
  EXPECT_FALSE(queue_->enqueue({.kind = "Bad Kind"}));
  EXPECT_FALSE(queue_->enqueue({.kind = std::string(65, 'a')}));
  EXPECT_FALSE(queue_->enqueue({.kind = "ok", .max_attempts = 0}));
  EXPECT_FALSE(queue_->enqueue({.kind = "ok", .max_attempts = 101}));
  EXPECT_FALSE(queue_->enqueue({.kind = "ok", .dedup_key = ""}));
  EXPECT_FALSE(queue_->enqueue({.kind = "ok", .payload = {{"x", std::string(1 << 20, 'x')}}}));
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM jobs"), 0);
}

TEST_P(QueueTest, retry_and_cancel_follow_the_job_state) {
  const int64_t dead = enqueue("noop", {}, 1);
  auto c = queue_->claim("w1", {}, 1, 30s);
  ASSERT_EQ(queue_->fail((*c)[0], "boom", false)->state, JobState::kDead);
  auto retried = queue_->retry(dead);
  ASSERT_TRUE(retried) << retried.error().message;
  EXPECT_EQ(retried->state, JobState::kQueued);
  EXPECT_EQ(retried->attempts, 0);
  EXPECT_EQ(retried->last_error, "boom");  // kept for the operator
  // A queued job cannot be retried; it can be cancelled, and then it is never claimed.
  auto again = queue_->retry(dead);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, core::ErrorCode::kConflict);
  auto cancelled = queue_->cancel(dead);
  ASSERT_TRUE(cancelled);
  EXPECT_EQ(cancelled->state, JobState::kCancelled);
  EXPECT_TRUE(queue_->claim("w1", {}, 10, 30s)->empty());
  EXPECT_EQ(queue_->cancel(dead).error().code, core::ErrorCode::kConflict);
  EXPECT_EQ(queue_->get(424242).error().code, core::ErrorCode::kNotFound);
  EXPECT_EQ(queue_->retry(424242).error().code, core::ErrorCode::kNotFound);
}

TEST_P(QueueTest, cancelling_a_running_job_turns_its_claim_stale) {
  const int64_t id = enqueue("noop");
  auto c = queue_->claim("w1", {}, 1, 30s);
  ASSERT_TRUE(queue_->cancel(id));
  EXPECT_FALSE(*queue_->heartbeat((*c)[0], 30s));
  EXPECT_FALSE(*queue_->succeed((*c)[0], {}));
  EXPECT_EQ(state(id), JobState::kCancelled);
}

TEST_P(QueueTest, list_pages_newest_first_and_filters_by_state_and_kind) {
  std::vector<int64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(enqueue(i % 2 ? "a" : "b"));
  auto page1 = queue_->list({.limit = 2});
  ASSERT_TRUE(page1);
  ASSERT_EQ(page1->size(), 2u);
  EXPECT_EQ((*page1)[0].id, ids[4]);
  auto page2 = queue_->list({.before_id = (*page1)[1].id, .limit = 10});
  EXPECT_EQ(page2->size(), 3u);
  EXPECT_EQ(queue_->list({.kind = "a", .limit = 10})->size(), 2u);
  ASSERT_EQ(queue_->claim("w1", {"a"}, 1, 30s)->size(), 1u);
  EXPECT_EQ(queue_->list({.state = JobState::kRunning, .limit = 10})->size(), 1u);
  EXPECT_FALSE(queue_->list({.limit = 0}));
  EXPECT_FALSE(queue_->list({.limit = 201}));
}

TEST_P(QueueTest, stats_count_by_kind_and_state_with_the_oldest_ready_job) {
  const int64_t now = Queue::now_ms();
  ASSERT_TRUE(queue_->enqueue({.kind = "a", .run_at_ms = now - 5000}));
  ASSERT_TRUE(queue_->enqueue({.kind = "a", .run_at_ms = now - 1000}));
  ASSERT_TRUE(queue_->enqueue({.kind = "b"}));
  auto c = queue_->claim("w1", {"b"}, 1, 30s);
  ASSERT_TRUE(*queue_->succeed((*c)[0], {}));
  auto stats = queue_->stats();
  ASSERT_TRUE(stats);
  ASSERT_EQ(stats->size(), 2u);
  EXPECT_EQ((*stats)[0].kind, "a");
  EXPECT_EQ((*stats)[0].queued, 2);
  EXPECT_EQ((*stats)[0].oldest_ready_ms, now - 5000);
  EXPECT_EQ((*stats)[1].kind, "b");
  EXPECT_EQ((*stats)[1].succeeded, 1);
  EXPECT_FALSE((*stats)[1].oldest_ready_ms.has_value());
}

TEST_P(QueueTest, concurrent_claimers_never_take_the_same_job) {
  constexpr int kJobs = 400;
  for (int i = 0; i < kJobs; ++i) enqueue("noop");
  std::mutex mu;
  std::multiset<int64_t> seen;
  std::vector<std::thread> threads;
  std::atomic<int> errors{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (;;) {
        auto c = queue_->claim("w" + std::to_string(t), {}, 7, 30s);
        if (!c) {
          if (++errors > 100) return;  // reported below
          continue;
        }
        if (c->empty()) return;
        std::lock_guard lock(mu);
        for (const auto& x : *c) seen.insert(x.job.id);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(seen.size(), static_cast<size_t>(kJobs));
  for (int64_t id : seen) EXPECT_EQ(seen.count(id), 1u) << "job " << id << " claimed twice";
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM jobs WHERE attempts = 1 AND state = 'running'"), kJobs);
}

TEST_P(QueueTest, retention_deletes_old_finished_jobs_and_keeps_dead_and_unfinished_ones) {
  const int64_t old_done = enqueue("noop");
  const int64_t old_cancelled = enqueue("noop");
  const int64_t old_dead = enqueue("noop");
  const int64_t recent_done = enqueue("noop");
  const int64_t queued = enqueue("noop");
  exec("UPDATE jobs SET state = 'succeeded', finished_at = 1000 WHERE id = $1", {old_done});
  exec("UPDATE jobs SET state = 'cancelled', finished_at = 1000 WHERE id = $1", {old_cancelled});
  exec("UPDATE jobs SET state = 'dead', finished_at = 1000 WHERE id = $1", {old_dead});
  exec("UPDATE jobs SET state = 'succeeded', finished_at = $2 WHERE id = $1",
       {recent_done, Queue::now_ms()});
  auto n = queue_->purge_finished(std::chrono::hours(1));
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 2);
  EXPECT_EQ(queue_->get(old_done).error().code, core::ErrorCode::kNotFound);
  EXPECT_EQ(queue_->get(old_cancelled).error().code, core::ErrorCode::kNotFound);
  EXPECT_EQ(state(old_dead), JobState::kDead);
  EXPECT_EQ(state(recent_done), JobState::kSucceeded);
  EXPECT_EQ(state(queued), JobState::kQueued);
  // In batches.
  for (int i = 0; i < 5; ++i) {
    const int64_t id = enqueue("noop");
    exec("UPDATE jobs SET state = 'succeeded', finished_at = 1000 WHERE id = $1", {id});
  }
  EXPECT_EQ(*queue_->purge_finished(std::chrono::hours(1), 3), 3);
  EXPECT_EQ(*queue_->purge_finished(std::chrono::hours(1), 3), 2);
  EXPECT_EQ(*queue_->purge_finished(std::chrono::hours(1), 3), 0);
}

TEST_P(QueueTest, job_json_has_iso_times_and_nulls_for_what_is_unset) {
  const int64_t id = enqueue("noop", {{"k", "v"}});
  auto j = queue_->get(id)->to_json();
  EXPECT_EQ(j["state"], "queued");
  EXPECT_EQ(j["payload"]["k"], "v");
  EXPECT_TRUE(j["worker_id"].is_null());
  EXPECT_TRUE(j["finished_at"].is_null());
  EXPECT_EQ(j["created_at"].get<std::string>().size(), 24u);  // 2026-12-02T12:00:00.000Z
  EXPECT_EQ(j["created_at"].get<std::string>().back(), 'Z');
}

INSTANTIATE_TEST_SUITE_P(Stores, QueueTest, store::testing::all_backends(),
                         store::testing::backend_test_name);

}  // namespace
}  // namespace libromind::jobs
