// Workers on both stores: handlers run to success, failures retry until dead without holding
// up other jobs, a shutdown finishes or releases what runs, an enqueue wakes the worker at once
// (in process, and across processes by NOTIFY on PostgreSQL), a cancelled job's handler is told
// to stop, and over 10,000 jobs four workers never run one job twice at the same time.
#include "jobs/worker.hpp"

#include <map>
#include <set>
#include <thread>

#include "jobs/metrics.hpp"
#include "jobs_fixture.hpp"
#include "telemetry/metrics.hpp"

namespace libromind::jobs {
namespace {

using namespace std::chrono_literals;
using testing::JobsTest;

// Polls `pred` for up to `timeout`.
template <typename F>
bool eventually(F pred, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

WorkerOptions fast(int concurrency = 2) {
  WorkerOptions o;
  o.concurrency = concurrency;
  o.lease = 5s;
  o.heartbeat = 50ms;
  o.poll = 20ms;
  o.shutdown_deadline = 2s;
  return o;
}

class WorkerTest : public JobsTest {
 protected:
  int64_t count_state(const std::string& s) {
    return scalar("SELECT COUNT(*) FROM jobs WHERE state = $1", {s});
  }
};

TEST_P(WorkerTest, runs_handlers_and_stores_their_results) {
  Handlers h;
  h.add("double", [](JobContext& ctx) -> core::Result<nlohmann::json> {
    return nlohmann::json{{"out", ctx.job().payload["n"].get<int>() * 2}};
  });
  telemetry::Registry registry;
  JobMetrics metrics(registry);
  Worker w(*queue_, std::move(h), fast(), &metrics);
  ASSERT_TRUE(w.start());
  std::vector<int64_t> ids;
  for (int i = 0; i < 20; ++i) ids.push_back(enqueue("double", {{"n", i}}));
  ASSERT_TRUE(eventually([&] { return count_state("succeeded") == 20; }));
  w.stop();
  for (int i = 0; i < 20; ++i) EXPECT_EQ(queue_->get(ids[i])->result["out"], 2 * i);
  const std::string text = registry.render();
  EXPECT_NE(text.find("libromind_jobs_completed_total{kind=\"double\",outcome=\"succeeded\"} 20"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("libromind_job_lag_seconds_count{kind=\"double\"} 20"), std::string::npos);
}

TEST_P(WorkerTest, a_poison_job_dies_after_its_attempts_and_other_jobs_are_unaffected) {
  Handlers h;
  std::atomic<int> poison_runs{0};
  h.add("work", [&](JobContext& ctx) -> core::Result<nlohmann::json> {
    if (ctx.job().payload.value("poison", false)) {
      ++poison_runs;
      return core::Error::unavailable("this one always fails");
    }
    return nlohmann::json::object();
  });
  Worker w(*queue_, std::move(h), fast());
  ASSERT_TRUE(w.start());
  const int64_t poison = enqueue("work", {{"poison", true}}, 3);
  for (int i = 0; i < 10; ++i) enqueue("work");
  ASSERT_TRUE(eventually([&] { return state(poison) == JobState::kDead; }));
  ASSERT_TRUE(eventually([&] { return count_state("succeeded") == 10; }));
  w.stop();
  EXPECT_EQ(poison_runs.load(), 3);
  auto job = queue_->get(poison);
  EXPECT_EQ(job->attempts, 3);
  EXPECT_EQ(job->last_error, "this one always fails");
}

TEST_P(WorkerTest, a_bad_payload_is_dead_at_once_and_a_throwing_handler_is_a_failure) {
  Handlers h;
  h.add("strict", [](JobContext&) -> core::Result<nlohmann::json> {
    return core::Error::invalid("payload has no book_ids");
  });
  h.add("throws",
        [](JobContext&) -> core::Result<nlohmann::json> { throw std::runtime_error("bug"); });
  Worker w(*queue_, std::move(h), fast());
  ASSERT_TRUE(w.start());
  const int64_t strict = enqueue("strict", {}, 5);
  const int64_t throws = enqueue("throws", {}, 2);
  ASSERT_TRUE(eventually([&] { return state(strict) == JobState::kDead; }));
  ASSERT_TRUE(eventually([&] { return state(throws) == JobState::kDead; }));
  w.stop();
  EXPECT_EQ(queue_->get(strict)->attempts, 1);
  EXPECT_EQ(queue_->get(throws)->attempts, 2);
  EXPECT_NE(queue_->get(throws)->last_error.find("bug"), std::string::npos);
}

TEST_P(WorkerTest, refuses_to_start_for_a_kind_without_a_handler) {
  Handlers h;
  h.add("a", [](JobContext&) -> core::Result<nlohmann::json> { return nlohmann::json{}; });
  WorkerOptions o = fast();
  o.kinds = {"a", "b"};
  Worker w(*queue_, std::move(h), o);
  auto r = w.start();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("'b'"), std::string::npos);
}

TEST_P(WorkerTest, stop_lets_a_running_job_finish_within_the_deadline) {
  Handlers h;
  std::atomic<bool> started{false};
  h.add("slow", [&](JobContext&) -> core::Result<nlohmann::json> {
    started = true;
    std::this_thread::sleep_for(300ms);
    return nlohmann::json{{"finished", true}};
  });
  Worker w(*queue_, std::move(h), fast());
  ASSERT_TRUE(w.start());
  const int64_t id = enqueue("slow");
  ASSERT_TRUE(eventually([&] { return started.load(); }));
  w.stop();
  EXPECT_EQ(state(id), JobState::kSucceeded);
}

TEST_P(WorkerTest, stop_releases_a_job_that_outlives_the_deadline) {
  Handlers h;
  std::atomic<bool> started{false}, told_to_stop{false};
  h.add("stuck", [&](JobContext& ctx) -> core::Result<nlohmann::json> {
    started = true;
    while (!ctx.should_stop()) std::this_thread::sleep_for(5ms);
    told_to_stop = true;
    return core::Error::unavailable("stopped");
  });
  WorkerOptions o = fast();
  o.shutdown_deadline = 200ms;
  Worker w(*queue_, std::move(h), o);
  ASSERT_TRUE(w.start());
  const int64_t id = enqueue("stuck");
  ASSERT_TRUE(eventually([&] { return started.load(); }));
  const auto t0 = std::chrono::steady_clock::now();
  w.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  EXPECT_TRUE(told_to_stop.load());
  auto job = queue_->get(id);
  EXPECT_EQ(job->state, JobState::kQueued);  // another worker takes it
  EXPECT_EQ(job->attempts, 0);
}

TEST_P(WorkerTest, stop_gives_an_interruptible_job_back_at_once_and_lets_others_finish) {
  Handlers h;
  std::atomic<bool> long_started{false}, short_started{false}, short_done{false};
  h.add(
      "pass",
      [&](JobContext& ctx) -> core::Result<nlohmann::json> {
        long_started = true;
        while (!ctx.should_stop()) std::this_thread::sleep_for(5ms);
        return core::Error::unavailable("stopped");
      },
      /*interruptible=*/true);
  h.add("short", [&](JobContext&) -> core::Result<nlohmann::json> {
    short_started = true;
    std::this_thread::sleep_for(300ms);
    short_done = true;
    return nlohmann::json{{"ok", true}};
  });
  WorkerOptions o = fast();
  o.shutdown_deadline = 30s;  // far beyond what either may take here
  Worker w(*queue_, std::move(h), o);
  ASSERT_TRUE(w.start());
  const int64_t pass = enqueue("pass");
  const int64_t other = enqueue("short");
  ASSERT_TRUE(eventually([&] { return long_started && short_started; }));
  const auto t0 = std::chrono::steady_clock::now();
  w.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);  // not the 30 s deadline
  EXPECT_TRUE(short_done.load());
  EXPECT_EQ(state(other), JobState::kSucceeded);
  auto job = queue_->get(pass);
  EXPECT_EQ(job->state, JobState::kQueued);  // given back, the attempt not counted
  EXPECT_EQ(job->attempts, 0);
}

TEST_P(WorkerTest, an_enqueue_in_this_process_wakes_the_worker_without_waiting_for_the_poll) {
  Handlers h;
  h.add("noop", [](JobContext&) -> core::Result<nlohmann::json> { return nlohmann::json{}; });
  WorkerOptions o = fast();
  o.poll = 60s;  // only a wake-up can start the job in time
  o.listen = false;
  Worker w(*queue_, std::move(h), o);
  ASSERT_TRUE(w.start());
  std::this_thread::sleep_for(50ms);  // the dispatcher is waiting
  const int64_t id = enqueue("noop");
  EXPECT_TRUE(eventually([&] { return state(id) == JobState::kSucceeded; }, 5s));
  w.stop();
}

TEST_P(WorkerTest, a_notify_from_another_process_wakes_the_worker_on_postgres) {
  if (GetParam() != store::testing::Backend::kPostgres)
    GTEST_SKIP() << "LISTEN/NOTIFY is PostgreSQL's";
  Handlers h;
  h.add("noop", [](JobContext&) -> core::Result<nlohmann::json> { return nlohmann::json{}; });
  WorkerOptions o = fast();
  o.poll = 60s;
  Worker w(*queue_, std::move(h), o);
  ASSERT_TRUE(w.start());
  std::this_thread::sleep_for(300ms);  // LISTEN is set up
  // Another store and queue: nothing in this process is notified directly.
  auto other_store = db_->open(2, 5000);
  ASSERT_TRUE(other_store);
  Queue other(**other_store);
  auto e = other.enqueue({.kind = "noop"});
  ASSERT_TRUE(e);
  EXPECT_TRUE(eventually([&] { return state(e->id) == JobState::kSucceeded; }, 5s));
  w.stop();
}

TEST_P(WorkerTest, a_cancelled_running_job_is_told_to_stop_and_stays_cancelled) {
  Handlers h;
  std::atomic<bool> started{false}, stopped{false};
  h.add("long", [&](JobContext& ctx) -> core::Result<nlohmann::json> {
    started = true;
    while (!ctx.should_stop()) std::this_thread::sleep_for(5ms);
    stopped = true;
    return nlohmann::json{{"partial", true}};
  });
  Worker w(*queue_, std::move(h), fast());
  ASSERT_TRUE(w.start());
  const int64_t id = enqueue("long");
  ASSERT_TRUE(eventually([&] { return started.load(); }));
  ASSERT_TRUE(queue_->cancel(id));
  EXPECT_TRUE(eventually([&] { return stopped.load(); }, 5s));
  w.stop();
  EXPECT_EQ(state(id), JobState::kCancelled);
}

TEST_P(WorkerTest, a_job_whose_worker_vanished_is_run_by_another_after_the_lease) {
  // The first "worker" claims and disappears (no heartbeat, no outcome).
  const int64_t id = enqueue("noop");
  auto claims = queue_->claim("vanished", {}, 1, 200ms);
  ASSERT_EQ(claims->size(), 1u);
  std::atomic<int> runs{0};
  Handlers h;
  h.add("noop", [&](JobContext&) -> core::Result<nlohmann::json> {
    ++runs;
    return nlohmann::json{};
  });
  Worker w(*queue_, std::move(h), fast());
  ASSERT_TRUE(w.start());
  EXPECT_TRUE(eventually([&] { return state(id) == JobState::kSucceeded; }, 5s));
  w.stop();
  EXPECT_EQ(runs.load(), 1);
  EXPECT_EQ(queue_->get(id)->attempts, 2);
}

TEST_P(WorkerTest, four_workers_never_run_a_job_twice_at_once_over_10000_jobs) {
  constexpr int kJobs = 10000;
  {
    auto r = store::with_transaction(*store_, [&](store::Connection& tx) -> core::Result<void> {
      for (int i = 0; i < kJobs; ++i) {
        LM_TRY(jobs::enqueue(tx, EnqueueRequest{.kind = "noop", .payload = {{"i", i}}}));
      }
      return core::ok();
    });
    ASSERT_TRUE(r) << r.error().message;
  }
  std::mutex mu;
  std::set<int64_t> running;
  std::map<int64_t, int> runs;
  std::atomic<int> overlaps{0};
  auto handlers = [&] {
    Handlers h;
    h.add("noop", [&](JobContext& ctx) -> core::Result<nlohmann::json> {
      const int64_t id = ctx.job().id;
      {
        std::lock_guard lock(mu);
        if (!running.insert(id).second) ++overlaps;
        ++runs[id];
      }
      std::this_thread::yield();
      std::lock_guard lock(mu);
      running.erase(id);
      return nlohmann::json{};
    });
    return h;
  };
  // On PostgreSQL each worker has its own store (its own connections), like separate processes.
  std::vector<std::unique_ptr<store::Store>> stores;
  std::vector<std::unique_ptr<Queue>> queues;
  std::vector<std::unique_ptr<Worker>> workers;
  for (int i = 0; i < 4; ++i) {
    Queue* q = queue_.get();
    if (GetParam() == store::testing::Backend::kPostgres) {
      auto s = db_->open(4, 10000);
      ASSERT_TRUE(s);
      stores.push_back(std::move(*s));
      queues.push_back(std::make_unique<Queue>(*stores.back()));
      q = queues.back().get();
    }
    WorkerOptions o = fast(2);
    o.worker_id = "w" + std::to_string(i);
    workers.push_back(std::make_unique<Worker>(*q, handlers(), o));
    ASSERT_TRUE(workers.back()->start());
  }
  ASSERT_TRUE(eventually([&] { return count_state("succeeded") == kJobs; }, 240s))
      << count_state("succeeded") << " of " << kJobs << " succeeded";
  for (auto& w : workers) w->stop();
  EXPECT_EQ(overlaps.load(), 0);
  EXPECT_EQ(runs.size(), static_cast<size_t>(kJobs));
  int twice = 0;
  for (const auto& [id, n] : runs) twice += n > 1;
  EXPECT_EQ(twice, 0);
  // Every worker took part.
  EXPECT_EQ(scalar("SELECT COUNT(DISTINCT worker_id) FROM jobs"), 4);
}

INSTANTIATE_TEST_SUITE_P(Stores, WorkerTest, store::testing::all_backends(),
                         store::testing::backend_test_name);

}  // namespace
}  // namespace libromind::jobs
