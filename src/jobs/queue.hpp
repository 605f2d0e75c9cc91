// The job queue: rows of the `jobs` table in the store (migration 0004), so a job is enqueued
// in the same transaction as the write that needs it and is never lost or run for a write that
// rolled back (the approach of Solid Queue, River and Oban; no broker).
//
//   LM_TRY(store::with_transaction(store, [&](store::Connection& tx) -> core::Result<void> {
//     LM_TRY(tx.exec("UPDATE books ...", {...}));
//     LM_TRY(jobs::enqueue(tx, {.kind = "embed_books", .payload = {{"book_ids", ids}}}));
//     return core::ok();
//   }));
//   queue.notify();  // wakes this process's worker at once (PostgreSQL also NOTIFYs on commit)
//
// Delivery is at least once: a worker claims a job with a lease and renews it while it runs; a
// lease that expires (the worker died) makes the job claimable again. Every finish is fenced by
// the attempt number of the claim, so a worker that lost its lease cannot overwrite the outcome
// of the attempt that replaced it. Handlers must therefore be idempotent.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.hpp"
#include "store/store.hpp"

namespace libromind::jobs {

enum class JobState { kQueued, kRunning, kFailed, kSucceeded, kDead, kCancelled };

const char* to_string(JobState state);
std::optional<JobState> parse_job_state(std::string_view text);

struct Job {
  int64_t id = 0;
  std::string kind;
  nlohmann::json payload;
  int64_t priority = 0;
  JobState state = JobState::kQueued;
  int64_t run_at_ms = 0;
  int64_t attempts = 0;  // attempts started, including the running one
  int64_t max_attempts = 0;
  std::optional<int64_t> lease_expires_at_ms;
  std::string worker_id;
  std::string last_error;
  nlohmann::json result;  // what the handler returned (null until it succeeds)
  std::string dedup_key;
  int64_t created_at_ms = 0;
  std::optional<int64_t> started_at_ms;
  std::optional<int64_t> finished_at_ms;
  int64_t updated_at_ms = 0;

  nlohmann::ordered_json to_json() const;  // the API form: ISO-8601 UTC times
};

struct EnqueueRequest {
  std::string kind;  // [a-z0-9_]{1,64}
  nlohmann::json payload = nlohmann::json::object();
  int64_t priority = 0;                                 // higher runs first
  std::optional<int64_t> run_at_ms = std::nullopt;      // not before (default: now)
  int64_t max_attempts = 5;                             // 1..100
  std::optional<std::string> dedup_key = std::nullopt;  // one unfinished job per (kind, key)
};

struct EnqueueResult {
  int64_t id = 0;
  bool created = true;  // false: an unfinished job with the same dedup key already existed
};

inline constexpr const char* kNotifyChannel = "libromind_jobs";

// Enqueues inside the caller's transaction (on PostgreSQL it also NOTIFYs workers, which is
// delivered when the transaction commits). Returns the id of the new job, or of the unfinished
// job with the same (kind, dedup_key).
core::Result<EnqueueResult> enqueue(store::Connection& tx, const EnqueueRequest& request,
                                    int64_t now_ms);
core::Result<EnqueueResult> enqueue(store::Connection& tx, const EnqueueRequest& request);

// One claimed attempt: the job as claimed and the fencing token of this attempt.
struct Claim {
  Job job;
  std::string worker_id;
  int64_t attempt = 0;
};

// Renews `claim`'s lease inside the caller's transaction; false when the claim is stale (the job
// was reclaimed or cancelled). A handler whose transaction holds SQLite's only write lock for long
// blocks its own heartbeat, so it renews here, just before committing, or the lease it held the
// whole time could look expired to a reclaimer waiting for that same lock.
core::Result<bool> renew_lease(store::Connection& tx, const Claim& claim,
                               std::chrono::milliseconds lease);

struct RetryPolicy {
  std::chrono::milliseconds base{1000};   // first retry after about this long
  std::chrono::milliseconds cap{600000};  // never more than this
  double jitter = 0.25;                   // ± this fraction, so retries do not stampede
};

// What fail() decided.
struct FailOutcome {
  JobState state = JobState::kFailed;  // kFailed (retried at run_at_ms) or kDead
  int64_t run_at_ms = 0;
  bool applied = true;  // false: the claim was stale (the lease was lost); nothing changed
};

struct ListFilter {
  std::optional<JobState> state = std::nullopt;
  std::string kind = {};
  int64_t before_id = 0;  // page: jobs with id < before_id (0: from the newest)
  int64_t limit = 50;     // 1..200
};

struct KindStats {
  std::string kind;
  int64_t queued = 0, running = 0, failed = 0, succeeded = 0, dead = 0, cancelled = 0;
  std::optional<int64_t> oldest_ready_ms =
      std::nullopt;  // run_at of the oldest ready job (lag = now − it)
};

class Queue {
 public:
  explicit Queue(store::Store& store, RetryPolicy retry = {});

  store::Store& store() { return store_; }

  // Enqueues in a transaction of its own and wakes this process's worker.
  core::Result<EnqueueResult> enqueue(const EnqueueRequest& request);

  // Claims up to `max` ready jobs (state queued or failed, run_at ≤ now) of `kinds` (all when
  // empty), highest priority first, then oldest; each gets a lease until now + lease.
  // PostgreSQL: FOR UPDATE SKIP LOCKED, so concurrent workers never claim the same job.
  core::Result<std::vector<Claim>> claim(const std::string& worker_id,
                                         const std::vector<std::string>& kinds, int max,
                                         std::chrono::milliseconds lease);

  // Extends the lease; false when the claim is stale (reclaimed, cancelled or finished).
  core::Result<bool> heartbeat(const Claim& claim, std::chrono::milliseconds lease);

  // Finishes the attempt. Each returns false (or applied = false) when the claim is stale.
  core::Result<bool> succeed(const Claim& claim, const nlohmann::json& result);
  // A failed attempt: retried with exponential backoff and jitter unless it was the last or
  // `permanent` is set, in which case the job is dead with `error` kept.
  core::Result<FailOutcome> fail(const Claim& claim, const std::string& error, bool permanent);
  // Gives the job back without counting the attempt (a worker shutting down).
  core::Result<bool> release(const Claim& claim);

  // Running jobs whose lease has expired become claimable again (or dead when that was their
  // last attempt). Returns how many were reclaimed. Workers call it on every poll.
  core::Result<int64_t> reclaim_expired();

  // Admin.
  core::Result<Job> get(int64_t id);
  core::Result<std::vector<Job>> list(const ListFilter& filter);
  // A dead, failed or cancelled job is queued again now, with a fresh set of attempts.
  core::Result<Job> retry(int64_t id);
  // A queued or failed job is cancelled; a running one is cancelled when its worker next
  // heartbeats or finishes (its claim turns stale); a finished one is a conflict.
  core::Result<Job> cancel(int64_t id);
  core::Result<std::vector<KindStats>> stats();

  // Retention: deletes up to `batch` succeeded or cancelled jobs that finished more than
  // `older_than` ago (dead jobs stay until an operator retries or cancels them). Returns how
  // many were deleted; workers call it periodically.
  core::Result<int64_t> purge_finished(std::chrono::milliseconds older_than, int64_t batch = 1000);

  // Wakes this process's waiters (after a commit that enqueued work).
  void notify();
  // A counter that notify() advances. Take it before claiming, then wait(seen, ...): a
  // notify() in between is not lost.
  uint64_t generation();
  // Waits until the generation differs from `seen` or `timeout`; true when notified.
  bool wait(uint64_t seen, std::chrono::milliseconds timeout);

  // The delay before retry `attempt` (1-based), jitter included.
  std::chrono::milliseconds backoff(int64_t attempt) const;

  static int64_t now_ms();

 private:
  store::Store& store_;
  RetryPolicy retry_;
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t generation_ = 0;
};

}  // namespace libromind::jobs
