// The queue's Prometheus metrics: jobs enqueued, finished by kind and outcome, run time, lag from
// run_at to start, and (read from the store at each scrape) the queue depth by kind and state.
#pragma once

#include "telemetry/metrics.hpp"

namespace libromind::jobs {

class Queue;

// Registered once per process (serve or worker) and passed to the workers; a registry must
// not get two of these.
struct JobMetrics {
  explicit JobMetrics(telemetry::Registry& registry);
  telemetry::Family<telemetry::Counter>& enqueued;    // {kind}
  telemetry::Family<telemetry::Counter>& completed;   // {kind, outcome}
  telemetry::Family<telemetry::Histogram>& duration;  // {kind}, seconds
  telemetry::Family<telemetry::Histogram>& lag;       // {kind}, seconds from run_at to start
};

// libromind_jobs{kind,state} and libromind_jobs_oldest_ready_age_seconds{kind}, refreshed from
// the store before each render. `queue` must outlive the registry's renders.
void register_queue_gauges(telemetry::Registry& registry, Queue& queue);

// enqueue() counts into these when set (serve and worker set theirs; null unsets).
void set_enqueue_metrics(JobMetrics* metrics);
void count_enqueued(const std::string& kind);

}  // namespace libromind::jobs
