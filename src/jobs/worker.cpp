#include "jobs/worker.hpp"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <random>

#include "jobs/metrics.hpp"
#include "telemetry/log.hpp"

namespace libromind::jobs {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

bool is_permanent(const core::Error& error) {
  return error.code == core::ErrorCode::kInvalidArgument ||
         error.code == core::ErrorCode::kNotFound || error.code == core::ErrorCode::kUnprocessable;
}

std::string default_worker_id() {
  char host[256] = {0};
  if (gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "host");
  std::mt19937_64 rng{std::random_device{}()};
  char suffix[9];
  std::snprintf(suffix, sizeof suffix, "%08x", static_cast<unsigned>(rng()));
  return std::string(host) + ":" + std::to_string(getpid()) + ":" + suffix;
}

Worker::Worker(Queue& queue, Handlers handlers, WorkerOptions options, JobMetrics* metrics)
    : queue_(queue),
      handlers_(std::move(handlers)),
      options_(std::move(options)),
      metrics_(metrics) {
  if (options_.worker_id.empty()) options_.worker_id = default_worker_id();
  options_.concurrency = std::max(1, options_.concurrency);
  if (options_.kinds.empty()) options_.kinds = handlers_.kinds();
  if (options_.heartbeat >= options_.lease) options_.heartbeat = options_.lease / 3;
}

Worker::~Worker() { stop(); }

int64_t Worker::running() const {
  std::lock_guard lock(mu_);
  return static_cast<int64_t>(in_flight_.size());
}

core::Result<void> Worker::start() {
  if (started_) return core::ok();
  for (const auto& k : options_.kinds) {
    if (handlers_.find(k) == nullptr) {
      return core::Error::invalid("no handler for job kind '" + k + "' (known: " + [&] {
        std::string s;
        for (const auto& h : handlers_.kinds()) {
          s += (s.empty() ? "" : ", ") + h;
        }
        return s;
      }() + ")");
    }
  }
  if (options_.kinds.empty()) return core::Error::invalid("the worker has no job kinds to run");
  started_ = true;
  for (int i = 0; i < options_.concurrency; ++i) runners_.emplace_back([this] { run_loop(); });
  heartbeat_ = std::thread([this] { heartbeat_loop(); });
  if (options_.listen && queue_.store().dialect() == store::Dialect::kPostgres) {
    listener_ = std::thread([this] { listen_loop(); });
  }
  dispatcher_ = std::thread([this] { dispatch_loop(); });
  telemetry::log_info("worker_started", {{"worker_id", options_.worker_id},
                                         {"concurrency", options_.concurrency},
                                         {"kinds", options_.kinds},
                                         {"store", queue_.store().describe()}});
  return core::ok();
}

void Worker::stop() {
  if (!started_) return;
  started_ = false;
  {
    // Under the lock: a thread between checking its wait predicate and blocking must not miss it.
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  queue_.notify();
  slot_cv_.notify_all();
  if (dispatcher_.joinable()) dispatcher_.join();
  // Jobs claimed but not started go straight back.
  std::vector<std::shared_ptr<Running>> unstarted;
  {
    std::lock_guard lock(mu_);
    unstarted.assign(pending_.begin(), pending_.end());
    pending_.clear();
  }
  for (const auto& r : unstarted) {
    (void)queue_.release(r->claim);
    std::lock_guard lock(mu_);
    in_flight_.erase(std::remove(in_flight_.begin(), in_flight_.end(), r), in_flight_.end());
  }
  auto give_back = [&](const std::vector<std::shared_ptr<Running>>& jobs, const char* reason) {
    for (const auto& r : jobs) {
      auto released = queue_.release(r->claim);
      telemetry::log_warn("job_released", {{"job_id", r->claim.job.id},
                                           {"kind", r->claim.job.kind},
                                           {"worker_id", options_.worker_id},
                                           {"released", released && *released},
                                           {"reason", reason}});
    }
  };
  // Interruptible jobs stop at once; the others get until the deadline to finish.
  std::vector<std::shared_ptr<Running>> interrupted, late;
  {
    std::lock_guard lock(mu_);
    for (const auto& r : in_flight_) {
      if (!handlers_.interruptible(r->claim.job.kind)) continue;
      r->stop = true;
      r->released = true;
      interrupted.push_back(r);
    }
  }
  give_back(interrupted, "stopping (interruptible)");
  {
    std::unique_lock lock(mu_);
    slot_cv_.wait_for(lock, options_.shutdown_deadline, [&] {
      return std::all_of(in_flight_.begin(), in_flight_.end(),
                         [](const auto& r) { return r->released.load(); });
    });
    for (const auto& r : in_flight_) {
      if (r->released) continue;
      r->stop = true;  // past the deadline: stop at the next safe point, and give it back
      r->released = true;
      late.push_back(r);
    }
  }
  give_back(late, "shutdown deadline");
  {
    std::lock_guard lock(mu_);
    terminate_ = true;
  }
  work_cv_.notify_all();
  beat_cv_.notify_all();
  for (auto& t : runners_) t.join();
  runners_.clear();
  if (heartbeat_.joinable()) heartbeat_.join();
  if (listener_.joinable()) listener_.join();
  telemetry::log_info("worker_stopped",
                      {{"worker_id", options_.worker_id},
                       {"completed", completed_.load()},
                       {"released", static_cast<int64_t>(late.size() + unstarted.size())}});
  stopping_ = false;
  terminate_ = false;
}

void Worker::dispatch_loop() {
  auto next_reclaim = std::chrono::steady_clock::now();
  auto next_purge = std::chrono::steady_clock::now();
  bool store_down = false;
  while (!stopping_) {
    // Wait for a free slot.
    int free = 0;
    {
      std::unique_lock lock(mu_);
      slot_cv_.wait(lock, [&] {
        return stopping_ || static_cast<int>(in_flight_.size()) < options_.concurrency;
      });
      if (stopping_) break;
      free = options_.concurrency - static_cast<int>(in_flight_.size());
    }
    const uint64_t seen = queue_.generation();
    if (std::chrono::steady_clock::now() >= next_reclaim) {
      auto n = queue_.reclaim_expired();
      if (n && *n > 0) {
        telemetry::log_warn("jobs_reclaimed", {{"count", *n}, {"worker_id", options_.worker_id}});
      }
      next_reclaim = std::chrono::steady_clock::now() + options_.poll;
    }
    if (options_.retention.count() > 0 && std::chrono::steady_clock::now() >= next_purge) {
      auto n = queue_.purge_finished(options_.retention);
      if (n && *n > 0) {
        telemetry::log_info("jobs_purged", {{"count", *n}, {"worker_id", options_.worker_id}});
      }
      next_purge = std::chrono::steady_clock::now() + std::chrono::minutes(1);
    }
    auto claims = queue_.claim(options_.worker_id, options_.kinds, free, options_.lease);
    if (!claims) {
      // The store is unreachable or busy: keep trying at the polling interval.
      if (!store_down) {
        telemetry::log_warn("jobs_claim_failed",
                            {{"worker_id", options_.worker_id}, {"error", claims.error().message}});
      }
      store_down = true;
      queue_.wait(seen, options_.poll);
      continue;
    }
    if (store_down) {
      telemetry::log_info("jobs_claim_recovered", {{"worker_id", options_.worker_id}});
      store_down = false;
    }
    if (claims->empty()) {
      queue_.wait(seen, options_.poll);
      continue;
    }
    {
      std::lock_guard lock(mu_);
      for (auto& c : *claims) {
        auto r = std::make_shared<Running>();
        r->claim = std::move(c);
        in_flight_.push_back(r);
        pending_.push_back(r);
      }
    }
    work_cv_.notify_all();
  }
}

void Worker::run_loop() {
  if (options_.nice != 0) {
    setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), options_.nice);
  }
  for (;;) {
    std::shared_ptr<Running> r;
    {
      std::unique_lock lock(mu_);
      work_cv_.wait(lock, [&] { return terminate_ || !pending_.empty(); });
      if (pending_.empty()) return;  // terminating
      r = pending_.front();
      pending_.pop_front();
    }
    run_one(r);
    {
      std::lock_guard lock(mu_);
      in_flight_.erase(std::remove(in_flight_.begin(), in_flight_.end(), r), in_flight_.end());
    }
    slot_cv_.notify_all();
  }
}

core::Result<void> JobContext::renew_lease(store::Connection& tx) const {
  LM_ASSIGN_OR_RETURN(bool renewed, jobs::renew_lease(tx, claim_, lease_));
  if (!renewed) {
    return core::Error::unavailable("job " + std::to_string(claim_.job.id) +
                                    " was reclaimed or cancelled while it ran");
  }
  return core::ok();
}

void Worker::run_one(const std::shared_ptr<Running>& r) {
  const Job& job = r->claim.job;
  const auto t0 = std::chrono::steady_clock::now();
  if (metrics_ != nullptr) {
    const double lag =
        std::max<double>(0, static_cast<double>(Queue::now_ms() - job.run_at_ms)) / 1000.0;
    metrics_->lag.with({job.kind}).observe(lag);
  }
  JobContext ctx(r->claim, r->stop, options_.lease);
  const Handler* handler = handlers_.find(job.kind);
  core::Result<nlohmann::json> result = core::Error::internal("no handler for " + job.kind);
  if (handler != nullptr) {
    try {
      result = (*handler)(ctx);
    } catch (const std::exception& e) {
      result = core::Error::internal(std::string("the handler threw: ") + e.what());
    }
  }
  const double seconds = seconds_since(t0);
  r->finishing = true;  // a heartbeat from now on may find the job finished: not a lost claim
  if (r->released) {
    record_finish(job, "released", seconds);
    return;  // given back at the shutdown deadline; its outcome is not ours to write
  }
  nlohmann::json fields = {{"job_id", job.id},
                           {"kind", job.kind},
                           {"attempt", r->claim.attempt},
                           {"worker_id", options_.worker_id},
                           {"duration_ms", seconds * 1000.0}};
  if (result) {
    auto done = queue_.succeed(r->claim, *result);
    const bool applied = done && *done;
    record_finish(job, applied ? "succeeded" : "stale", seconds);
    if (!applied) {
      fields["error"] =
          done ? "the claim was stale (cancelled or reclaimed)" : done.error().message;
    }
    telemetry::log(applied ? telemetry::LogLevel::kDebug : telemetry::LogLevel::kWarn,
                   applied ? "job_succeeded" : "job_outcome_lost", fields);
    return;
  }
  const bool permanent = is_permanent(result.error());
  auto failed = queue_.fail(r->claim, result.error().message, permanent);
  const bool applied = failed && failed->applied;
  const char* outcome = !applied ? "stale" : failed->state == JobState::kDead ? "dead" : "failed";
  record_finish(job, outcome, seconds);
  fields["error"] = result.error().message;
  fields["outcome"] = outcome;
  if (applied && failed->state == JobState::kFailed) {
    fields["retry_in_ms"] = failed->run_at_ms - Queue::now_ms();
  }
  telemetry::log(
      outcome == std::string("dead") ? telemetry::LogLevel::kError : telemetry::LogLevel::kWarn,
      "job_failed", fields);
}

void Worker::record_finish(const Job& job, const char* outcome, double seconds) {
  ++completed_;
  if (metrics_ == nullptr) return;
  metrics_->completed.with({job.kind, outcome}).inc();
  metrics_->duration.with({job.kind}).observe(seconds);
}

void Worker::heartbeat_loop() {
  std::unique_lock lock(mu_);
  while (!terminate_) {
    beat_cv_.wait_for(lock, options_.heartbeat, [&] { return terminate_.load(); });
    if (terminate_) break;
    auto running = in_flight_;
    lock.unlock();
    for (const auto& r : running) {
      if (r->released || r->finishing) continue;
      auto ok = queue_.heartbeat(r->claim, options_.lease);
      if (ok && !*ok && !r->finishing) {
        // Cancelled by an operator, or reclaimed after a lapse: the handler should stop.
        r->stop = true;
        telemetry::log_warn("job_claim_lost", {{"job_id", r->claim.job.id},
                                               {"kind", r->claim.job.kind},
                                               {"worker_id", options_.worker_id}});
      }
    }
    lock.lock();
  }
}

void Worker::listen_loop() {
  std::unique_ptr<store::Listener> listener;
  bool warned = false;
  while (!terminate_ && !stopping_) {
    if (!listener) {
      auto l = queue_.store().listen(kNotifyChannel);
      if (!l) {
        if (!warned) {
          telemetry::log_warn("jobs_listen_failed",
                              {{"error", l.error().message}, {"fallback", "polling"}});
          warned = true;
        }
        std::unique_lock lock(mu_);
        beat_cv_.wait_for(lock, options_.poll * 5, [&] { return terminate_ || stopping_; });
        continue;
      }
      listener = std::move(*l);
      if (warned) telemetry::log_info("jobs_listen_recovered", {});
      warned = false;
      queue_.notify();  // anything enqueued while we were not listening
    }
    auto got = listener->wait(std::chrono::milliseconds(200));
    if (!got) {
      listener.reset();
      continue;
    }
    if (*got) queue_.notify();
  }
}

}  // namespace libromind::jobs
