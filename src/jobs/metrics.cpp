#include "jobs/metrics.hpp"

#include <atomic>

#include "jobs/queue.hpp"

namespace libromind::jobs {

namespace {

std::atomic<JobMetrics*> g_enqueue_metrics{nullptr};

std::vector<double> job_seconds_buckets() {
  return {0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800};
}

}  // namespace

JobMetrics::JobMetrics(telemetry::Registry& registry)
    : enqueued(registry.counter(
          "libromind_jobs_enqueued_total",
          "Jobs enqueued by this process (counted when the INSERT runs, so a rolled-back "
          "transaction's job is counted too)",
          {"kind"})),
      completed(registry.counter("libromind_jobs_completed_total",
                                 "Job attempts finished by this process's workers, by outcome "
                                 "(succeeded, failed = retried later, dead, released at "
                                 "shutdown, stale = the claim was lost)",
                                 {"kind", "outcome"})),
      duration(registry.histogram("libromind_job_duration_seconds", "Run time of a job attempt",
                                  {"kind"}, job_seconds_buckets())),
      lag(registry.histogram("libromind_job_lag_seconds",
                             "Delay from a job's run_at to the start of its attempt", {"kind"},
                             job_seconds_buckets())) {}

void register_queue_gauges(telemetry::Registry& registry, Queue& queue) {
  auto& depth =
      registry.gauge("libromind_jobs", "Jobs in the store by kind and state", {"kind", "state"});
  auto& oldest = registry.gauge("libromind_jobs_oldest_ready_age_seconds",
                                "Age of the oldest job that is ready to run (0: none)", {"kind"});
  registry.on_collect([&depth, &oldest, &queue] {
    auto stats = queue.stats();
    if (!stats) return;  // the store is down: keep the last values
    const int64_t now = Queue::now_ms();
    for (const auto& k : *stats) {
      depth.with({k.kind, "queued"}).set(static_cast<double>(k.queued));
      depth.with({k.kind, "running"}).set(static_cast<double>(k.running));
      depth.with({k.kind, "failed"}).set(static_cast<double>(k.failed));
      depth.with({k.kind, "succeeded"}).set(static_cast<double>(k.succeeded));
      depth.with({k.kind, "dead"}).set(static_cast<double>(k.dead));
      depth.with({k.kind, "cancelled"}).set(static_cast<double>(k.cancelled));
      const double age =
          k.oldest_ready_ms ? std::max<double>(0, (now - *k.oldest_ready_ms) / 1000.0) : 0.0;
      oldest.with({k.kind}).set(age);
    }
  });
}

void set_enqueue_metrics(JobMetrics* metrics) { g_enqueue_metrics = metrics; }

void count_enqueued(const std::string& kind) {
  if (JobMetrics* m = g_enqueue_metrics.load()) m->enqueued.with({kind}).inc();
}

}  // namespace libromind::jobs
