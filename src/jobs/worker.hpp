// A worker: claims jobs from the queue and runs their handlers on a few threads.
//
//   jobs::Handlers handlers;
//   handlers.add("send_email", [&](jobs::JobContext& ctx) -> core::Result<nlohmann::json> {...});
//   jobs::JobMetrics metrics(registry);
//   jobs::Worker worker(queue, std::move(handlers), {.concurrency = 2}, &metrics);
//   worker.start();
//   ...
//   worker.stop();  // SIGTERM: stop claiming, finish or release what runs, within the deadline
//
// One dispatcher thread claims batches of up to the free slots (SKIP LOCKED on PostgreSQL), wakes
// on Queue::notify() in this process, on NOTIFY from other processes (PostgreSQL LISTEN on a
// connection of its own), and otherwise polls. A heartbeat thread renews the leases of the running
// jobs; a job whose lease cannot be renewed (reclaimed, cancelled) is told to stop. Every poll also
// reclaims expired leases of dead workers.
//
// Handlers return a JSON result (the job succeeds) or an error: a kInvalidArgument, kNotFound or
// kUnprocessable error is permanent (the job is dead at once: retrying the same payload cannot
// help); any other error is retried with backoff until the job's last attempt.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "jobs/queue.hpp"

namespace libromind::jobs {

struct JobMetrics;

class JobContext {
 public:
  JobContext(const Claim& claim, const std::atomic<bool>& stop,
             std::chrono::milliseconds lease = std::chrono::milliseconds{30000})
      : claim_(claim), stop_(stop), lease_(lease) {}
  const Job& job() const { return claim_.job; }
  const Claim& claim() const { return claim_; }
  // True when the handler should give up at its next safe point: the worker is past its
  // shutdown deadline, or the job's claim went stale (cancelled by an operator, or reclaimed).
  bool should_stop() const { return stop_.load(std::memory_order_relaxed); }
  const std::atomic<bool>& stop_flag() const { return stop_; }
  // Renews this attempt's lease inside `tx`, for a handler about to commit a long transaction
  // (jobs::renew_lease says why). A stale claim is an error, so that transaction rolls back
  // rather than commit work that another attempt now owns.
  core::Result<void> renew_lease(store::Connection& tx) const;

 private:
  const Claim& claim_;
  const std::atomic<bool>& stop_;
  std::chrono::milliseconds lease_;
};

using Handler = std::function<core::Result<nlohmann::json>(JobContext&)>;

class Handlers {
 public:
  // `interruptible`: a stopping worker tells the job to stop at once and gives it back, instead
  // of letting it run until the shutdown deadline (for long jobs that may stop anywhere, such
  // as a catalogue embedding pass).
  void add(const std::string& kind, Handler handler, bool interruptible = false) {
    map_[kind] = std::move(handler);
    if (interruptible) interruptible_.push_back(kind);
  }
  bool interruptible(const std::string& kind) const {
    return std::find(interruptible_.begin(), interruptible_.end(), kind) != interruptible_.end();
  }
  const Handler* find(const std::string& kind) const {
    auto it = map_.find(kind);
    return it == map_.end() ? nullptr : &it->second;
  }
  std::vector<std::string> kinds() const {
    std::vector<std::string> out;
    for (const auto& [k, _] : map_) out.push_back(k);
    return out;
  }

 private:
  std::map<std::string, Handler> map_;
  std::vector<std::string> interruptible_;
};

struct WorkerOptions {
  std::string worker_id;  // default: host:pid:random
  int concurrency = 2;
  std::vector<std::string> kinds;  // run only these (default: every kind with a handler)
  std::chrono::milliseconds lease{30000};
  std::chrono::milliseconds heartbeat{10000};
  std::chrono::milliseconds poll{1000};  // the polling fallback; NOTIFY wakes at once
  std::chrono::milliseconds shutdown_deadline{20000};
  bool listen = true;  // PostgreSQL LISTEN (ignored on SQLite)
  // Succeeded and cancelled jobs are deleted this long after they finished (0: kept forever);
  // the dispatcher purges a batch at most once a minute.
  std::chrono::milliseconds retention{std::chrono::hours(24 * 7)};
  // The runner threads' nice value (Linux, per thread): the serving process's worker runs
  // below its request threads.
  int nice = 0;
};

bool is_permanent(const core::Error& error);

class Worker {
 public:
  Worker(Queue& queue, Handlers handlers, WorkerOptions options, JobMetrics* metrics = nullptr);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Refuses kinds without a handler.
  core::Result<void> start();
  // Stops claiming, gives interruptible jobs back at once, waits up to the shutdown deadline
  // for the other running jobs, then tells the rest to stop and releases their claims (queued
  // again, the attempt not counted), and joins.
  void stop();

  const std::string& id() const { return options_.worker_id; }
  int64_t running() const;
  int64_t completed() const { return completed_.load(); }

 private:
  struct Running {
    Claim claim;
    std::atomic<bool> stop{false};
    std::atomic<bool> released{false};
    std::atomic<bool> finishing{false};  // the handler returned; its outcome is being written
  };

  void dispatch_loop();
  void run_loop();
  void heartbeat_loop();
  void listen_loop();
  void run_one(const std::shared_ptr<Running>& r);
  void record_finish(const Job& job, const char* outcome, double seconds);

  Queue& queue_;
  Handlers handlers_;
  WorkerOptions options_;
  JobMetrics* metrics_;

  std::atomic<bool> stopping_{false};   // no new claims
  std::atomic<bool> terminate_{false};  // threads exit
  std::atomic<int64_t> completed_{0};

  mutable std::mutex mu_;
  std::condition_variable work_cv_;  // runners wait for work
  std::condition_variable slot_cv_;  // the dispatcher waits for a free slot / stop
  std::condition_variable beat_cv_;  // the heartbeat thread's sleep
  std::deque<std::shared_ptr<Running>> pending_;
  std::vector<std::shared_ptr<Running>> in_flight_;  // pending or running

  std::vector<std::thread> runners_;
  std::thread dispatcher_, heartbeat_, listener_;
  bool started_ = false;
};

std::string default_worker_id();

}  // namespace libromind::jobs
