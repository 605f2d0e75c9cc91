#include "jobs/queue.hpp"

#include <algorithm>
#include <cmath>
#include <random>

#include "jobs/metrics.hpp"
#include "telemetry/log.hpp"

namespace libromind::jobs {

namespace {

using store::as_int;
using store::as_string;
using store::is_null;
using store::Value;

constexpr const char* kColumns =
    "id, kind, payload, priority, state, run_at, attempts, max_attempts, lease_expires_at, "
    "worker_id, last_error, result, dedup_key, created_at, started_at, finished_at, updated_at";

// The states a worker may claim, and the unfinished ones the dedup index covers.
constexpr const char* kReady = "state IN ('queued', 'failed')";

constexpr size_t kMaxPayloadBytes = 1 << 20;
constexpr size_t kMaxErrorBytes = 4000;

std::optional<int64_t> opt_int(const Value& v) {
  if (is_null(v)) return std::nullopt;
  return as_int(v);
}

nlohmann::json parse_json_or_null(const Value& v) {
  if (is_null(v)) return nullptr;
  auto j = nlohmann::json::parse(as_string(v), nullptr, /*allow_exceptions=*/false);
  return j.is_discarded() ? nlohmann::json(nullptr) : j;
}

Job job_from_row(const std::vector<Value>& r) {
  Job j;
  j.id = as_int(r[0]);
  j.kind = as_string(r[1]);
  j.payload = parse_json_or_null(r[2]);
  j.priority = as_int(r[3]);
  j.state = parse_job_state(as_string(r[4])).value_or(JobState::kQueued);
  j.run_at_ms = as_int(r[5]);
  j.attempts = as_int(r[6]);
  j.max_attempts = as_int(r[7]);
  j.lease_expires_at_ms = opt_int(r[8]);
  j.worker_id = as_string(r[9]);
  j.last_error = as_string(r[10]);
  j.result = parse_json_or_null(r[11]);
  j.dedup_key = as_string(r[12]);
  j.created_at_ms = as_int(r[13]);
  j.started_at_ms = opt_int(r[14]);
  j.finished_at_ms = opt_int(r[15]);
  j.updated_at_ms = as_int(r[16]);
  return j;
}

bool valid_kind(std::string_view kind) {
  if (kind.empty() || kind.size() > 64) return false;
  return std::all_of(kind.begin(), kind.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// Keeps an error message within the column's budget, on a UTF-8 boundary.
std::string clip_error(std::string error) {
  if (error.size() <= kMaxErrorBytes) return error;
  size_t cut = kMaxErrorBytes;
  while (cut > 0 && (static_cast<unsigned char>(error[cut]) & 0xC0) == 0x80) --cut;
  error.resize(cut);
  return error + "…";
}

nlohmann::ordered_json opt_time(const std::optional<int64_t>& ms) {
  return ms ? nlohmann::ordered_json(telemetry::utc_timestamp_ms(*ms))
            : nlohmann::ordered_json(nullptr);
}

// `WHERE` of a statement that only the current attempt's claim may run.
constexpr const char* kFence = "id = $1 AND state = 'running' AND worker_id = $2 AND attempts = $3";

store::Params fence_params(const Claim& c) {
  return {Value{c.job.id}, Value{c.worker_id}, Value{c.attempt}};
}

}  // namespace

const char* to_string(JobState state) {
  switch (state) {
    case JobState::kQueued:
      return "queued";
    case JobState::kRunning:
      return "running";
    case JobState::kFailed:
      return "failed";
    case JobState::kSucceeded:
      return "succeeded";
    case JobState::kDead:
      return "dead";
    case JobState::kCancelled:
      return "cancelled";
  }
  return "queued";
}

std::optional<JobState> parse_job_state(std::string_view text) {
  for (JobState s : {JobState::kQueued, JobState::kRunning, JobState::kFailed, JobState::kSucceeded,
                     JobState::kDead, JobState::kCancelled}) {
    if (text == to_string(s)) return s;
  }
  return std::nullopt;
}

nlohmann::ordered_json Job::to_json() const {
  return {{"id", id},
          {"kind", kind},
          {"payload", payload},
          {"priority", priority},
          {"state", to_string(state)},
          {"run_at", telemetry::utc_timestamp_ms(run_at_ms)},
          {"attempts", attempts},
          {"max_attempts", max_attempts},
          {"lease_expires_at", opt_time(lease_expires_at_ms)},
          {"worker_id",
           worker_id.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(worker_id)},
          {"last_error", last_error.empty() ? nlohmann::ordered_json(nullptr)
                                            : nlohmann::ordered_json(last_error)},
          {"result", result},
          {"dedup_key",
           dedup_key.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(dedup_key)},
          {"created_at", telemetry::utc_timestamp_ms(created_at_ms)},
          {"started_at", opt_time(started_at_ms)},
          {"finished_at", opt_time(finished_at_ms)},
          {"updated_at", telemetry::utc_timestamp_ms(updated_at_ms)}};
}

core::Result<EnqueueResult> enqueue(store::Connection& tx, const EnqueueRequest& request,
                                    int64_t now_ms) {
  if (!valid_kind(request.kind)) {
    return core::Error::invalid("job kind must be 1 to 64 of a-z, 0-9 and _", "kind");
  }
  if (request.max_attempts < 1 || request.max_attempts > 100) {
    return core::Error::invalid("max_attempts must be between 1 and 100", "max_attempts");
  }
  const std::string payload = request.payload.dump();
  if (payload.size() > kMaxPayloadBytes) {
    return core::Error::invalid("job payload must be at most 1 MiB of JSON", "payload");
  }
  if (request.dedup_key && (request.dedup_key->empty() || request.dedup_key->size() > 200)) {
    return core::Error::invalid("dedup_key must be 1 to 200 bytes", "dedup_key");
  }
  const Value dedup = request.dedup_key ? Value{*request.dedup_key} : Value{nullptr};
  const int64_t run_at = request.run_at_ms.value_or(now_ms);
  // A dedup key conflicts only with an unfinished job of the same kind (the partial unique
  // index); ON CONFLICT waits for a concurrent enqueuer's transaction and then does nothing.
  LM_ASSIGN_OR_RETURN(
      auto rows,
      tx.query("INSERT INTO jobs (kind, payload, priority, state, run_at, attempts, max_attempts, "
               "dedup_key, created_at, updated_at) "
               "VALUES ($1, $2, $3, 'queued', $4, 0, $5, $6, $7, $7) "
               "ON CONFLICT (kind, dedup_key) WHERE dedup_key IS NOT NULL AND "
               "state IN ('queued', 'running', 'failed') DO NOTHING RETURNING id",
               {Value{request.kind}, Value{payload}, Value{request.priority}, Value{run_at},
                Value{request.max_attempts}, dedup, Value{now_ms}}));
  EnqueueResult out;
  if (rows.empty()) {
    LM_ASSIGN_OR_RETURN(auto existing,
                        tx.query("SELECT id FROM jobs WHERE kind = $1 AND dedup_key = $2 AND "
                                 "state IN ('queued', 'running', 'failed')",
                                 {Value{request.kind}, dedup}));
    if (existing.empty()) {
      return core::Error::make(core::ErrorCode::kConflict,
                               "a job with this dedup key finished while it was enqueued; retry");
    }
    out.id = as_int(existing.rows[0][0]);
    out.created = false;
    return out;
  }
  out.id = as_int(rows.rows[0][0]);
  count_enqueued(request.kind);
  if (tx.dialect() == store::Dialect::kPostgres) {
    LM_TRY(tx.query("SELECT pg_notify($1, $2)", {Value{kNotifyChannel}, Value{request.kind}}));
  }
  return out;
}

core::Result<EnqueueResult> enqueue(store::Connection& tx, const EnqueueRequest& request) {
  return enqueue(tx, request, Queue::now_ms());
}

Queue::Queue(store::Store& store, RetryPolicy retry) : store_(store), retry_(retry) {}

int64_t Queue::now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

core::Result<EnqueueResult> Queue::enqueue(const EnqueueRequest& request) {
  EnqueueResult out;
  LM_TRY(store::with_transaction(store_, [&](store::Connection& tx) -> core::Result<void> {
    LM_ASSIGN_OR_RETURN(out, jobs::enqueue(tx, request));
    return core::ok();
  }));
  notify();
  return out;
}

core::Result<std::vector<Claim>> Queue::claim(const std::string& worker_id,
                                              const std::vector<std::string>& kinds, int max,
                                              std::chrono::milliseconds lease) {
  std::vector<Claim> out;
  if (max <= 0) return out;
  const int64_t now = now_ms();
  store::Params params{Value{worker_id}, Value{now + lease.count()}, Value{now},
                       Value{static_cast<int64_t>(max)}};
  std::string kind_filter;
  if (!kinds.empty()) {
    kind_filter = " AND kind IN " + store::placeholder_list(params.size() + 1, kinds.size());
    for (const auto& k : kinds) params.emplace_back(k);
  }
  LM_ASSIGN_OR_RETURN(auto conn, store_.acquire(store::Access::kWrite));
  const bool pg = conn->dialect() == store::Dialect::kPostgres;
  // One statement: atomic on SQLite (the single writer), and on PostgreSQL SKIP LOCKED lets
  // concurrent claimers take disjoint rows instead of waiting for each other.
  const std::string sql =
      std::string(
          "UPDATE jobs SET state = 'running', attempts = attempts + 1, worker_id = $1, "
          "lease_expires_at = $2, started_at = $3, updated_at = $3 "
          "WHERE id IN (SELECT id FROM jobs WHERE ") +
      kReady + " AND run_at <= $3" + kind_filter + " ORDER BY priority DESC, run_at, id LIMIT $4" +
      (pg ? " FOR UPDATE SKIP LOCKED" : "") + ") RETURNING " + kColumns;
  LM_ASSIGN_OR_RETURN(auto rows, conn->query(sql, params));
  for (const auto& r : rows.rows) {
    Claim c;
    c.job = job_from_row(r);
    c.worker_id = worker_id;
    c.attempt = c.job.attempts;
    out.push_back(std::move(c));
  }
  std::sort(out.begin(), out.end(), [](const Claim& a, const Claim& b) {
    if (a.job.priority != b.job.priority) return a.job.priority > b.job.priority;
    if (a.job.run_at_ms != b.job.run_at_ms) return a.job.run_at_ms < b.job.run_at_ms;
    return a.job.id < b.job.id;
  });
  return out;
}

core::Result<bool> renew_lease(store::Connection& tx, const Claim& claim,
                               std::chrono::milliseconds lease) {
  const int64_t now = Queue::now_ms();
  store::Params p = fence_params(claim);
  p.emplace_back(now + lease.count());
  p.emplace_back(now);
  LM_ASSIGN_OR_RETURN(
      int64_t n,
      tx.exec(std::string("UPDATE jobs SET lease_expires_at = $4, updated_at = $5 WHERE ") + kFence,
              p));
  return n == 1;
}

core::Result<bool> Queue::heartbeat(const Claim& claim, std::chrono::milliseconds lease) {
  LM_ASSIGN_OR_RETURN(auto conn, store_.acquire(store::Access::kWrite));
  return renew_lease(*conn, claim, lease);
}

core::Result<bool> Queue::succeed(const Claim& claim, const nlohmann::json& result) {
  const int64_t now = now_ms();
  store::Params p = fence_params(claim);
  p.emplace_back(result.is_null() ? Value{nullptr} : Value{result.dump()});
  p.emplace_back(now);
  LM_ASSIGN_OR_RETURN(auto conn, store_.acquire(store::Access::kWrite));
  LM_ASSIGN_OR_RETURN(
      int64_t n,
      conn->exec(std::string("UPDATE jobs SET state = 'succeeded', result = $4, "
                             "lease_expires_at = NULL, finished_at = $5, updated_at = $5 WHERE ") +
                     kFence,
                 p));
  return n == 1;
}

core::Result<FailOutcome> Queue::fail(const Claim& claim, const std::string& error,
                                      bool permanent) {
  const int64_t now = now_ms();
  FailOutcome out;
  const bool last = permanent || claim.attempt >= claim.job.max_attempts;
  out.state = last ? JobState::kDead : JobState::kFailed;
  out.run_at_ms = last ? claim.job.run_at_ms : now + backoff(claim.attempt).count();
  store::Params p = fence_params(claim);
  p.emplace_back(to_string(out.state));
  p.emplace_back(clip_error(error.empty() ? "failed" : error));
  p.emplace_back(out.run_at_ms);
  p.emplace_back(last ? Value{now} : Value{nullptr});
  p.emplace_back(now);
  LM_ASSIGN_OR_RETURN(auto conn, store_.acquire(store::Access::kWrite));
  LM_ASSIGN_OR_RETURN(
      int64_t n,
      conn->exec(std::string("UPDATE jobs SET state = $4, last_error = $5, run_at = $6, "
                             "finished_at = $7, lease_expires_at = NULL, updated_at = $8 WHERE ") +
                     kFence,
                 p));
  out.applied = n == 1;
  return out;
}

core::Result<bool> Queue::release(const Claim& claim) {
  store::Params p = fence_params(claim);
  p.emplace_back(now_ms());
  LM_ASSIGN_OR_RETURN(auto conn, store_.acquire(store::Access::kWrite));
  LM_ASSIGN_OR_RETURN(
      int64_t n,
      conn->exec(std::string("UPDATE jobs SET state = 'queued', attempts = attempts - 1, "
                             "lease_expires_at = NULL, updated_at = $4 WHERE ") +
                     kFence,
                 p));
  return n == 1;
}

core::Result<int64_t> Queue::reclaim_expired() {
  LM_ASSIGN_OR_RETURN(auto conn, store_.acquire(store::Access::kWrite));
  // The clock is read after the wait for the connection, so a lease renewed meanwhile counts.
  const int64_t now = now_ms();
  return conn->exec(
      "UPDATE jobs SET "
      "state = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'failed' END, "
      "last_error = 'the lease expired: worker ' || COALESCE(worker_id, '?') || "
      "' stopped renewing it (it died or lost the store)', "
      "finished_at = CASE WHEN attempts >= max_attempts THEN $1 ELSE NULL END, "
      "run_at = $1, lease_expires_at = NULL, updated_at = $1 "
      "WHERE state = 'running' AND lease_expires_at < $1",
      {Value{now}});
}

core::Result<Job> Queue::get(int64_t id) {
  LM_ASSIGN_OR_RETURN(auto conn, store_.acquire(store::Access::kRead));
  LM_ASSIGN_OR_RETURN(
      auto rows,
      conn->query(std::string("SELECT ") + kColumns + " FROM jobs WHERE id = $1", {Value{id}}));
  if (rows.empty()) return core::Error::not_found("no job " + std::to_string(id));
  return job_from_row(rows.rows[0]);
}

core::Result<std::vector<Job>> Queue::list(const ListFilter& filter) {
  if (filter.limit < 1 || filter.limit > 200) {
    return core::Error::invalid("limit must be between 1 and 200", "limit");
  }
  std::string sql = std::string("SELECT ") + kColumns + " FROM jobs WHERE 1 = 1";
  store::Params p;
  if (filter.state) {
    p.emplace_back(to_string(*filter.state));
    sql += " AND state = $" + std::to_string(p.size());
  }
  if (!filter.kind.empty()) {
    p.emplace_back(filter.kind);
    sql += " AND kind = $" + std::to_string(p.size());
  }
  if (filter.before_id > 0) {
    p.emplace_back(filter.before_id);
    sql += " AND id < $" + std::to_string(p.size());
  }
  p.emplace_back(filter.limit);
  sql += " ORDER BY id DESC LIMIT $" + std::to_string(p.size());
  LM_ASSIGN_OR_RETURN(auto conn, store_.acquire(store::Access::kRead));
  LM_ASSIGN_OR_RETURN(auto rows, conn->query(sql, p));
  std::vector<Job> out;
  out.reserve(rows.size());
  for (const auto& r : rows.rows) out.push_back(job_from_row(r));
  return out;
}

core::Result<Job> Queue::retry(int64_t id) {
  const int64_t now = now_ms();
  {
    LM_ASSIGN_OR_RETURN(auto conn, store_.acquire(store::Access::kWrite));
    auto n = conn->exec(
        "UPDATE jobs SET state = 'queued', attempts = 0, run_at = $2, worker_id = NULL, "
        "lease_expires_at = NULL, finished_at = NULL, updated_at = $2 "
        "WHERE id = $1 AND state IN ('dead', 'failed', 'cancelled')",
        {Value{id}, Value{now}});
    if (!n && n.error().code == core::ErrorCode::kConflict) {
      return core::Error::make(core::ErrorCode::kConflict,
                               "another unfinished job has the same dedup key", "job-duplicate");
    }
    LM_TRY(n);
    if (*n == 0) {
      LM_ASSIGN_OR_RETURN(Job job, get(id));
      return core::Error::make(core::ErrorCode::kConflict,
                               std::string("a ") + to_string(job.state) +
                                   " job cannot be retried (only dead, failed or cancelled ones)",
                               "job-state");
    }
  }
  notify();
  return get(id);
}

core::Result<Job> Queue::cancel(int64_t id) {
  const int64_t now = now_ms();
  {
    LM_ASSIGN_OR_RETURN(auto conn, store_.acquire(store::Access::kWrite));
    LM_ASSIGN_OR_RETURN(int64_t n,
                        conn->exec("UPDATE jobs SET state = 'cancelled', lease_expires_at = NULL, "
                                   "finished_at = $2, updated_at = $2 "
                                   "WHERE id = $1 AND state IN ('queued', 'failed', 'running')",
                                   {Value{id}, Value{now}}));
    if (n == 0) {
      LM_ASSIGN_OR_RETURN(Job job, get(id));
      return core::Error::make(
          core::ErrorCode::kConflict,
          std::string("a ") + to_string(job.state) + " job cannot be cancelled (it has finished)",
          "job-state");
    }
  }
  return get(id);
}

core::Result<std::vector<KindStats>> Queue::stats() {
  LM_ASSIGN_OR_RETURN(auto conn, store_.acquire(store::Access::kRead));
  LM_ASSIGN_OR_RETURN(
      auto rows, conn->query(std::string("SELECT kind, state, COUNT(*), MIN(CASE WHEN ") + kReady +
                             " THEN run_at END) FROM jobs GROUP BY kind, state "
                             "ORDER BY kind"));
  std::vector<KindStats> out;
  for (const auto& r : rows.rows) {
    const std::string kind = as_string(r[0]);
    if (out.empty() || out.back().kind != kind) {
      out.emplace_back();
      out.back().kind = kind;
    }
    KindStats& k = out.back();
    const int64_t n = as_int(r[2]);
    switch (parse_job_state(as_string(r[1])).value_or(JobState::kQueued)) {
      case JobState::kQueued:
        k.queued = n;
        break;
      case JobState::kRunning:
        k.running = n;
        break;
      case JobState::kFailed:
        k.failed = n;
        break;
      case JobState::kSucceeded:
        k.succeeded = n;
        break;
      case JobState::kDead:
        k.dead = n;
        break;
      case JobState::kCancelled:
        k.cancelled = n;
        break;
    }
    if (auto oldest = opt_int(r[3])) {
      k.oldest_ready_ms = k.oldest_ready_ms ? std::min(*k.oldest_ready_ms, *oldest) : *oldest;
    }
  }
  return out;
}

core::Result<int64_t> Queue::purge_finished(std::chrono::milliseconds older_than, int64_t batch) {
  const int64_t cutoff = now_ms() - older_than.count();
  LM_ASSIGN_OR_RETURN(auto conn, store_.acquire(store::Access::kWrite));
  return conn->exec(
      "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE state IN ('succeeded', "
      "'cancelled') AND finished_at < $1 ORDER BY finished_at LIMIT $2)",
      {Value{cutoff}, Value{std::max<int64_t>(1, batch)}});
}

void Queue::notify() {
  {
    std::lock_guard lock(mu_);
    ++generation_;
  }
  cv_.notify_all();
}

uint64_t Queue::generation() {
  std::lock_guard lock(mu_);
  return generation_;
}

bool Queue::wait(uint64_t seen, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return generation_ != seen; });
}

std::chrono::milliseconds Queue::backoff(int64_t attempt) const {
  // base · 2^(attempt − 1), capped, then ± jitter.
  const double exp = std::min<double>(static_cast<double>(std::max<int64_t>(attempt, 1) - 1), 30);
  double ms = std::min(static_cast<double>(retry_.base.count()) * std::pow(2.0, exp),
                       static_cast<double>(retry_.cap.count()));
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_real_distribution<double> dist(1.0 - retry_.jitter, 1.0 + retry_.jitter);
  ms *= dist(rng);
  return std::chrono::milliseconds(static_cast<int64_t>(std::max(0.0, ms)));
}

}  // namespace libromind::jobs
