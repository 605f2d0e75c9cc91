// The jobs queue benchmark of issue 6, on PostgreSQL: no-op job throughput with W workers and
// enqueue-to-start latency with LISTEN/NOTIFY. bench/jobs/run.sh runs it next to the Celery +
// Redis baseline (celery_baseline.py) and prints the comparison.
//
//   bench_jobs --database-url postgresql://postgres@127.0.0.1:PORT/postgres
//              [--mode all|throughput|latency] [--jobs 20000] [--batch 500] [--workers 1,2,4]
//              [--concurrency 1] [--runs 3] [--latency-jobs 2000] [--interval-ms 5]
//              [--poll-ms 1000] [--warmup 20] [--pg-pid PID] [--no-analyze]
//
// Throughput: the jobs table is emptied (TRUNCATE), N no-op jobs are enqueued in transactions of
// `--batch` through jobs::enqueue(tx, ...) (untimed, but the enqueue rate is reported), ANALYZE
// jobs, then W jobs::Worker objects are started, each with its own store (its own connection
// pool and LISTEN connection, as W worker processes would have) and `--concurrency` runner
// threads, and a handler "noop" that returns at once. The wall time runs from just before the
// first Worker::start() until the workers have finished (succeed() returned, so the UPDATE
// committed) all N jobs (the sum of Worker::completed(), polled every millisecond); then the
// workers are stopped and the table is checked: N succeeded jobs. The start-up of the workers
// (threads, connections, LISTEN, the first claim: 10 to 20 ms) is inside that time;
// jobs_per_s_from_first_job counts from the first handler call instead, as the Celery baseline
// does. Runs are interleaved (run 1 of
// W = 1, 2, 4, then run 2, ...); the median of the runs is printed.
//
// Latency: one Worker (listen = true, poll = 1000 ms, so a job is picked up by the NOTIFY, not by
// polling) on its own store; a producer on another store (another connection, as another process
// would be) enqueues one job at a time in its own transaction, every `--interval-ms`, taking
// steady_clock just before COMMIT; the handler takes steady_clock when it starts. Enqueue-to-start
// = handler start − that time. The first `--warmup` jobs are not counted.
//
// Output: one JSON line per result on stdout ("system":"libromind-postgres"); logs on stderr.
// `--pg-pid` (the postmaster's pid) adds the CPU time of the PostgreSQL server processes (its
// children, from /proc) to each result, next to this process's own CPU time (getrusage).
#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "jobs/queue.hpp"
#include "jobs/worker.hpp"
#include "store/migrations.hpp"
#include "store/store.hpp"
#include "telemetry/log.hpp"

using namespace libromind;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

[[noreturn]] void die(const std::string& m) {
  std::cerr << "bench_jobs: " << m << "\n";
  std::exit(1);
}

std::string arg(int argc, char** argv, const std::string& name, const std::string& dflt) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (argv[i] == name) return argv[i + 1];
  }
  return dflt;
}

bool flag(int argc, char** argv, const std::string& name) {
  for (int i = 1; i < argc; ++i) {
    if (argv[i] == name) return true;
  }
  return false;
}

std::vector<int> int_list(const std::string& s) {
  std::vector<int> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(std::stoi(item));
  }
  return out;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// The nearest-rank percentile of sorted values.
double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// CPU seconds (user + system) of this process.
double self_cpu() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// CPU seconds (user + system) of the postmaster `pg_pid` and its children, from /proc. Backends
// that exit in between are lost (ours live for the whole run).
double server_cpu(int pg_pid) {
  if (pg_pid <= 0) return 0;
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  double total = 0;
  DIR* d = opendir("/proc");
  if (d == nullptr) return 0;
  while (dirent* e = readdir(d)) {
    const int pid = std::atoi(e->d_name);
    if (pid <= 0) continue;
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(in, line)) continue;
    const size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::stringstream rest(line.substr(close + 2));
    std::vector<std::string> f;
    std::string tok;
    while (rest >> tok) f.push_back(tok);
    // After "pid (comm) ": state ppid ... utime is field 14 of the line, f[11]; stime f[12].
    if (f.size() < 13) continue;
    const int ppid = std::atoi(f[1].c_str());
    if (pid != pg_pid && ppid != pg_pid) continue;
    total += (std::stod(f[11]) + std::stod(f[12])) / tick;
  }
  closedir(d);
  return total;
}

struct Config {
  std::string url;
  int jobs = 20000;
  int batch = 500;
  std::vector<int> workers{1, 2, 4};
  int concurrency = 1;
  int runs = 3;
  int latency_jobs = 2000;
  int interval_ms = 5;
  int poll_ms = 1000;
  int warmup = 20;
  int pg_pid = 0;
  bool analyze = true;
};

std::unique_ptr<store::Store> open(const Config& c, int pool) {
  store::StoreOptions so;
  so.url = c.url;
  so.pool_size = pool;
  so.busy_timeout_ms = 30000;
  auto s = store::open_store(so);
  if (!s) die("cannot open the store: " + s.error().message);
  return std::move(*s);
}

void exec(store::Store& s, const std::string& sql) {
  auto conn = s.acquire(store::Access::kWrite);
  if (!conn) die(conn.error().message);
  auto r = (*conn)->exec_script(sql);
  if (!r) die(sql + ": " + r.error().message);
}

int64_t scalar(store::Store& s, const std::string& sql) {
  auto conn = s.acquire(store::Access::kRead);
  if (!conn) die(conn.error().message);
  auto rows = (*conn)->query(sql);
  if (!rows) die(sql + ": " + rows.error().message);
  return rows->empty() ? -1 : store::as_int(rows->rows[0][0]);
}

jobs::WorkerOptions worker_options(const Config& c, int concurrency) {
  jobs::WorkerOptions o;
  o.concurrency = concurrency;
  o.poll = std::chrono::milliseconds(c.poll_ms);
  o.listen = true;
  return o;
}

// A Worker with its own store and queue (what a separate worker process would have).
struct OwnWorker {
  std::unique_ptr<store::Store> store;
  std::unique_ptr<jobs::Queue> queue;
  std::unique_ptr<jobs::Worker> worker;
};

OwnWorker make_worker(const Config& c, int concurrency, jobs::Handlers handlers) {
  OwnWorker w;
  // Dispatcher, runners, heartbeat: one connection each at most (LISTEN has its own).
  w.store = open(c, concurrency + 3);
  w.queue = std::make_unique<jobs::Queue>(*w.store);
  w.worker =
      std::make_unique<jobs::Worker>(*w.queue, std::move(handlers), worker_options(c, concurrency));
  return w;
}

jobs::Handlers noop_handlers(std::atomic<int64_t>* first_start_ns) {
  jobs::Handlers h;
  h.add("noop", [first_start_ns](jobs::JobContext&) -> core::Result<nlohmann::json> {
    if (first_start_ns != nullptr && first_start_ns->load(std::memory_order_relaxed) == 0) {
      int64_t zero = 0;
      first_start_ns->compare_exchange_strong(zero, Clock::now().time_since_epoch().count());
    }
    return nlohmann::json{};
  });
  return h;
}

struct RunResult {
  double jobs_per_s = 0;
  double wall_s = 0;
  double first_start_s = 0;  // from the start of the workers to the first handler call
  double enqueue_jobs_per_s = 0;
  double client_cpu_s = 0;
  double server_cpu_s = 0;
};

RunResult throughput_run(const Config& c, store::Store& admin, int workers) {
  exec(admin, "TRUNCATE jobs RESTART IDENTITY");
  // Enqueue (untimed for the throughput; its own rate is reported).
  const auto e0 = Clock::now();
  for (int done = 0; done < c.jobs;) {
    const int n = std::min(c.batch, c.jobs - done);
    auto r = store::with_transaction(admin, [&](store::Connection& tx) -> core::Result<void> {
      for (int i = 0; i < n; ++i) {
        LM_TRY(jobs::enqueue(tx, {.kind = "noop"}));
      }
      return core::ok();
    });
    if (!r) die("enqueue: " + r.error().message);
    done += n;
  }
  const double enqueue_s = seconds(Clock::now() - e0);
  if (c.analyze) exec(admin, "ANALYZE jobs");

  std::atomic<int64_t> first_start_ns{0};
  std::vector<OwnWorker> ws;
  ws.reserve(static_cast<size_t>(workers));
  for (int i = 0; i < workers; ++i) {
    ws.push_back(make_worker(c, c.concurrency, noop_handlers(&first_start_ns)));
  }
  const double cpu0 = self_cpu(), srv0 = server_cpu(c.pg_pid);
  const auto t0 = Clock::now();
  for (auto& w : ws) {
    auto s = w.worker->start();
    if (!s) die("worker start: " + s.error().message);
  }
  const auto deadline = t0 + std::chrono::seconds(600);
  for (;;) {
    int64_t completed = 0;
    for (auto& w : ws) completed += w.worker->completed();
    if (completed >= c.jobs) break;
    if (Clock::now() > deadline) die("the workers did not finish within 600 s");
    std::this_thread::sleep_for(1ms);
  }
  const auto t1 = Clock::now();
  const double cpu1 = self_cpu(), srv1 = server_cpu(c.pg_pid);
  for (auto& w : ws) w.worker->stop();
  const int64_t succeeded = scalar(admin, "SELECT COUNT(*) FROM jobs WHERE state = 'succeeded'");
  if (succeeded != c.jobs) {
    die("expected " + std::to_string(c.jobs) + " succeeded jobs, found " +
        std::to_string(succeeded));
  }
  RunResult out;
  out.wall_s = seconds(t1 - t0);
  out.jobs_per_s = c.jobs / out.wall_s;
  out.first_start_s = seconds(Clock::time_point(Clock::duration(first_start_ns.load())) - t0);
  out.enqueue_jobs_per_s = c.jobs / enqueue_s;
  out.client_cpu_s = cpu1 - cpu0;
  out.server_cpu_s = srv1 - srv0;
  return out;
}

void throughput(const Config& c, store::Store& admin) {
  std::vector<std::vector<RunResult>> results(c.workers.size());
  for (int run = 0; run < c.runs; ++run) {
    for (size_t i = 0; i < c.workers.size(); ++i) {
      RunResult r = throughput_run(c, admin, c.workers[i]);
      std::cerr << "bench_jobs: throughput W=" << c.workers[i] << " run " << run + 1 << ": "
                << static_cast<int64_t>(r.jobs_per_s) << " jobs/s (" << r.wall_s << " s)\n";
      results[i].push_back(r);
    }
  }
  for (size_t i = 0; i < c.workers.size(); ++i) {
    std::vector<double> rate, enq, ccpu, scpu;
    nlohmann::json runs = nlohmann::json::array();
    for (const auto& r : results[i]) {
      rate.push_back(r.jobs_per_s);
      enq.push_back(r.enqueue_jobs_per_s);
      ccpu.push_back(r.client_cpu_s);
      scpu.push_back(r.server_cpu_s);
      runs.push_back({{"jobs_per_s", r.jobs_per_s},
                      {"wall_s", r.wall_s},
                      {"jobs_per_s_from_first_job", c.jobs / (r.wall_s - r.first_start_s)},
                      {"first_start_ms", r.first_start_s * 1000},
                      {"enqueue_jobs_per_s", r.enqueue_jobs_per_s},
                      {"client_cpu_s", r.client_cpu_s},
                      {"server_cpu_s", r.server_cpu_s}});
    }
    nlohmann::ordered_json line;
    line["bench"] = "throughput";
    line["system"] = "libromind-postgres";
    line["workers"] = c.workers[i];
    line["concurrency"] = c.concurrency;
    line["jobs"] = c.jobs;
    line["median_jobs_per_s"] = median(rate);
    line["median_enqueue_jobs_per_s"] = median(enq);
    // CPU per 1,000 jobs while the workers ran: this process (workers) and the PostgreSQL server.
    line["client_cpu_ms_per_1k_jobs"] = median(ccpu) * 1e6 / c.jobs;
    line["server_cpu_ms_per_1k_jobs"] = c.pg_pid > 0
                                            ? nlohmann::ordered_json(median(scpu) * 1e6 / c.jobs)
                                            : nlohmann::ordered_json(nullptr);
    line["runs"] = runs;
    std::cout << line.dump() << std::endl;
  }
}

void latency(const Config& c, store::Store& admin) {
  exec(admin, "TRUNCATE jobs RESTART IDENTITY");
  const int total = c.warmup + c.latency_jobs;
  std::vector<int64_t> start_ns(static_cast<size_t>(total), 0);
  std::vector<int64_t> before_commit_ns(static_cast<size_t>(total), 0);
  std::atomic<int> started{0};
  jobs::Handlers h;
  h.add("noop", [&](jobs::JobContext& ctx) -> core::Result<nlohmann::json> {
    const int64_t now = Clock::now().time_since_epoch().count();
    const int seq = ctx.job().payload.value("seq", -1);
    if (seq >= 0 && seq < total) start_ns[static_cast<size_t>(seq)] = now;
    started.fetch_add(1, std::memory_order_release);
    return nlohmann::json{};
  });
  OwnWorker w = make_worker(c, 1, std::move(h));
  auto s = w.worker->start();
  if (!s) die("worker start: " + s.error().message);
  std::this_thread::sleep_for(500ms);  // the LISTEN connection is up

  // The producer: another store, so only NOTIFY (not this process's Queue::notify) wakes the
  // worker.
  auto producer = open(c, 1);
  auto conn = producer->acquire(store::Access::kWrite);
  if (!conn) die(conn.error().message);
  const double cpu0 = self_cpu(), srv0 = server_cpu(c.pg_pid);
  auto next = Clock::now();
  for (int i = 0; i < total; ++i) {
    std::this_thread::sleep_until(next);
    next += std::chrono::milliseconds(c.interval_ms);
    if (auto b = (*conn)->begin(); !b) die("begin: " + b.error().message);
    auto e = jobs::enqueue(**conn, {.kind = "noop", .payload = {{"seq", i}}});
    if (!e) die("enqueue: " + e.error().message);
    before_commit_ns[static_cast<size_t>(i)] = Clock::now().time_since_epoch().count();
    if (auto cm = (*conn)->commit(); !cm) die("commit: " + cm.error().message);
  }
  const auto deadline = Clock::now() + 30s;
  while (started.load(std::memory_order_acquire) < total && Clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  const double cpu1 = self_cpu(), srv1 = server_cpu(c.pg_pid);
  w.worker->stop();
  if (started.load() < total) {
    die("only " + std::to_string(started.load()) + " of " + std::to_string(total) +
        " jobs started within 30 s");
  }
  std::vector<double> ms;
  for (int i = c.warmup; i < total; ++i) {
    ms.push_back(static_cast<double>(start_ns[static_cast<size_t>(i)] -
                                     before_commit_ns[static_cast<size_t>(i)]) /
                 1e6);
  }
  std::sort(ms.begin(), ms.end());
  double sum = 0;
  for (double v : ms) sum += v;
  nlohmann::ordered_json line;
  line["bench"] = "latency";
  line["system"] = "libromind-postgres";
  line["jobs"] = c.latency_jobs;
  line["warmup"] = c.warmup;
  line["interval_ms"] = c.interval_ms;
  line["poll_ms"] = c.poll_ms;
  line["p50_ms"] = percentile(ms, 50);
  line["p90_ms"] = percentile(ms, 90);
  line["p99_ms"] = percentile(ms, 99);
  line["max_ms"] = ms.back();
  line["min_ms"] = ms.front();
  line["mean_ms"] = sum / static_cast<double>(ms.size());
  line["over_poll"] = std::count_if(ms.begin(), ms.end(), [&](double v) { return v >= c.poll_ms; });
  line["client_cpu_s"] = cpu1 - cpu0;
  line["server_cpu_s"] =
      c.pg_pid > 0 ? nlohmann::ordered_json(srv1 - srv0) : nlohmann::ordered_json(nullptr);
  std::cout << line.dump() << std::endl;
}

}  // namespace

int main(int argc, char** argv) {
  Config c;
  c.url = arg(argc, argv, "--database-url", "");
  if (c.url.empty()) die("--database-url postgresql://... is required");
  const std::string mode = arg(argc, argv, "--mode", "all");
  c.jobs = std::stoi(arg(argc, argv, "--jobs", "20000"));
  c.batch = std::stoi(arg(argc, argv, "--batch", "500"));
  c.workers = int_list(arg(argc, argv, "--workers", "1,2,4"));
  c.concurrency = std::stoi(arg(argc, argv, "--concurrency", "1"));
  c.runs = std::stoi(arg(argc, argv, "--runs", "3"));
  c.latency_jobs = std::stoi(arg(argc, argv, "--latency-jobs", "2000"));
  c.interval_ms = std::stoi(arg(argc, argv, "--interval-ms", "5"));
  c.poll_ms = std::stoi(arg(argc, argv, "--poll-ms", "1000"));
  c.warmup = std::stoi(arg(argc, argv, "--warmup", "20"));
  c.pg_pid = std::stoi(arg(argc, argv, "--pg-pid", "0"));
  c.analyze = !flag(argc, argv, "--no-analyze");
  if (c.jobs < 1 || c.batch < 1 || c.runs < 1 || c.concurrency < 1 || c.latency_jobs < 1 ||
      c.workers.empty()) {
    die("sizes must be positive");
  }
  if (mode != "all" && mode != "throughput" && mode != "latency") {
    die("--mode must be all, throughput or latency");
  }
  telemetry::set_log_to_stderr(true);
  telemetry::set_log_level(telemetry::LogLevel::kWarn);

  auto admin = open(c, 2);
  if (admin->dialect() != store::Dialect::kPostgres) die("this benchmark is for PostgreSQL");
  auto m = store::migrate(*admin);
  if (!m) die("migrate: " + m.error().message);
  if (mode == "all" || mode == "throughput") throughput(c, *admin);
  if (mode == "all" || mode == "latency") latency(c, *admin);
  return 0;
}
