#!/usr/bin/python3
"""The Celery + Redis baseline of the jobs benchmark (issue 6): the same two measurements as
bench_jobs (bench_queue.cpp), on Debian's python3-celery 5.2 with a Redis broker.

    /usr/bin/python3 bench/jobs/celery_baseline.py [--redis-url redis://127.0.0.1:PORT/0]
        [--mode all|throughput|latency] [--jobs 20000] [--workers 1,2,4] [--runs 3]
        [--latency-jobs 2000] [--interval-ms 5] [--warmup 20] [--prefetch 4]
        [--result-backend none|redis]

Without --redis-url it starts a private redis-server (no persistence) on a free port in a temp dir
and stops it at exit. It must run with Debian's interpreter (/usr/bin/python3), where
python3-celery is installed; this file is also the Celery app the workers load (-A).

Setup, chosen to be the fairest equivalent of W single-threaded jobs::Worker objects:
- W worker processes, each `celery worker --pool solo --concurrency 1` (one task at a time in the
  worker's own process, with its own broker connection), `--without-gossip --without-mingle
  --without-heartbeat` (no worker-to-worker chatter), Celery's default prefetch multiplier (4:
  each worker reserves up to 4 messages; libromind's worker claims one job per free slot).
  prefork with --concurrency W was not used: it adds a parent process that hands each task to a
  child over a pipe, and one process would own the broker connection.
- Result backend: none by default (task_ignore_result; Celery keeps no record of a task once it
  ran, whereas libromind writes state = 'succeeded' into the jobs row). `--result-backend redis`
  stores every result in Redis too, the closer equivalent of that write.
- Broker: Redis with persistence off (--save '' --appendonly no); the PostgreSQL of run.sh runs
  with fsync=off and synchronous_commit=off. Neither system waits for a disk.
- Messages acknowledged early (Celery's default: acks_late=False).

Throughput: the queue is purged and N no-op tasks sent with apply_async (untimed; the enqueue rate
is reported) while the W workers are already up but consume another queue (so Python's start-up
is not timed, as the C++ workers' start-up is a few ms). The workers are then told to consume the
bench queue (control.add_consumer, a broadcast); the clock runs from the start of the first task
(the one that INCRs the Redis counter to 1) to the end of the task that INCRs it to N (both record
time.time()). Not from the broadcast: a worker starts on the new queue only when its pending
BRPOP on the old one times out (up to 1 s); that rate is kept as jobs_per_s_from_start. Runs are interleaved (W = 1, 2, 4, then again),
new worker processes every run; the median is printed.

Latency: one worker consuming the queue; one task at a time, every --interval-ms; the task's
first statement takes time.time() and stores it in Redis; enqueue-to-start = that − time.time()
just before apply_async. The first --warmup tasks are not counted.

Output: one JSON line per result on stdout ("system":"celery-redis"); logs on stderr.
"""
import argparse
import json
import math
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import redis
from celery import Celery

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
RESULT_BACKEND = os.environ.get("BENCH_CELERY_RESULT_BACKEND", "none")
QUEUE = "bench"
HOLD_QUEUE = "bench-hold"

app = Celery("celery_baseline", broker=REDIS_URL,
             backend=REDIS_URL if RESULT_BACKEND == "redis" else None)
app.conf.update(
    task_ignore_result=RESULT_BACKEND != "redis",
    task_default_queue=QUEUE,
    worker_prefetch_multiplier=int(os.environ.get("BENCH_CELERY_PREFETCH", "4")),
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
    task_serializer="json",
    accept_content=["json"],
)

_redis = None


def _r():
    global _redis
    if _redis is None:
        _redis = redis.Redis.from_url(REDIS_URL)
    return _redis


@app.task(name="bench.noop")
def noop(total):
    """The no-op job of the throughput runs; the one that completes the set records the time."""
    n = _r().incr("bench:count")
    if n == 1:
        _r().set("bench:first", repr(time.time()))
    if n == total:
        _r().set("bench:done", repr(time.time()))
    return None


@app.task(name="bench.noop_latency")
def noop_latency(seq):
    """The no-op job of the latency run: records when it started."""
    started = time.time()
    _r().hset("bench:lat", seq, repr(started))
    return None


def log(*a):
    print("celery_baseline:", *a, file=sys.stderr, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def cpu_seconds(pid):
    """utime + stime of a process (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def median(v):
    return statistics.median(v) if v else 0.0


def percentile(sorted_v, p):
    """Nearest rank, like bench_queue.cpp."""
    if not sorted_v:
        return 0.0
    rank = min(max(math.ceil(p / 100.0 * len(sorted_v)), 1), len(sorted_v))
    return sorted_v[rank - 1]


class Workers:
    """W `celery worker --pool solo` processes."""

    def __init__(self, n, queue, tag, logdir):
        self.names = [f"w{i}-{tag}@bench" for i in range(n)]
        env = dict(os.environ, BENCH_REDIS_URL=REDIS_URL, BENCH_CELERY_RESULT_BACKEND=RESULT_BACKEND,
                   PYTHONPATH=os.path.dirname(os.path.abspath(__file__)),
                   PYTHONDONTWRITEBYTECODE="1")
        self.procs = []
        for name in self.names:
            logf = open(os.path.join(logdir, f"celery-{name.split('@')[0]}.log"), "ab")
            self.procs.append(subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "celery_baseline", "worker",
                 "--pool", "solo", "--concurrency", "1", "-Q", queue, "-n", name,
                 "--without-gossip", "--without-mingle", "--without-heartbeat",
                 "--loglevel", "WARNING"],
                env=env, stdout=logf, stderr=subprocess.STDOUT, cwd=logdir))
            logf.close()
        self.wait_ready()

    def wait_ready(self, timeout=60):
        deadline = time.time() + timeout
        pending = set(self.names)
        while pending:
            if time.time() > deadline:
                raise SystemExit(f"celery workers not ready after {timeout} s: {sorted(pending)}")
            for p in self.procs:
                if p.poll() is not None:
                    raise SystemExit(f"a celery worker exited with {p.returncode} (see its log)")
            for reply in app.control.ping(destination=list(pending), timeout=0.5) or []:
                pending -= set(reply.keys())

    def cpu(self):
        return sum(cpu_seconds(p.pid) for p in self.procs)

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def reset(r):
    app.control.purge()
    r.delete("bench:count", "bench:first", "bench:done", "bench:lat")


def throughput_run(args, r, workers, run, redis_pid, logdir):
    reset(r)
    ws = Workers(workers, HOLD_QUEUE, f"t{workers}r{run}", logdir)
    try:
        e0 = time.perf_counter()
        for _ in range(args.jobs):
            noop.apply_async(args=(args.jobs,), queue=QUEUE)
        enqueue_s = time.perf_counter() - e0
        queued = r.llen(QUEUE)
        if queued != args.jobs:
            raise SystemExit(f"expected {args.jobs} queued messages, found {queued}")
        cpu0, srv0 = ws.cpu(), cpu_seconds(redis_pid)
        t0 = time.time()
        app.control.add_consumer(QUEUE, destination=ws.names, reply=False)
        deadline = t0 + 600
        while True:
            done = r.get("bench:done")
            if done is not None:
                break
            if time.time() > deadline:
                raise SystemExit("the celery workers did not finish within 600 s "
                                 f"(count {r.get('bench:count')})")
            time.sleep(0.01)  # the task records the end time; this loop only waits for it
        cpu1, srv1 = ws.cpu(), cpu_seconds(redis_pid)
        done_t = float(done)
        first_t = float(r.get("bench:first"))
        count = int(r.get("bench:count"))
        if count != args.jobs:
            raise SystemExit(f"expected {args.jobs} runs, counted {count}")
        # From the first task's start: add_consumer takes effect only when the worker's pending
        # BRPOP on the hold queue times out (up to 1 s), an artefact of this set-up, not a cost
        # of running jobs. The time from the broadcast is kept too (jobs_per_s_from_start).
        wall = done_t - first_t
        return {"jobs_per_s": args.jobs / wall, "wall_s": wall,
                "jobs_per_s_from_start": args.jobs / (done_t - t0),
                "first_start_ms": (first_t - t0) * 1000,
                "enqueue_jobs_per_s": args.jobs / enqueue_s,
                "client_cpu_s": cpu1 - cpu0, "server_cpu_s": srv1 - srv0}
    finally:
        ws.stop()


def throughput(args, r, redis_pid, logdir):
    results = {w: [] for w in args.workers}
    for run in range(args.runs):
        for w in args.workers:
            res = throughput_run(args, r, w, run, redis_pid, logdir)
            log(f"throughput W={w} run {run + 1}: {res['jobs_per_s']:.0f} jobs/s "
                f"({res['wall_s']:.3f} s)")
            results[w].append(res)
    for w in args.workers:
        runs = results[w]
        print(json.dumps({
            "bench": "throughput", "system": "celery-redis", "workers": w, "concurrency": 1,
            "pool": "solo", "prefetch": args.prefetch, "result_backend": args.result_backend,
            "jobs": args.jobs,
            "median_jobs_per_s": median([x["jobs_per_s"] for x in runs]),
            "median_enqueue_jobs_per_s": median([x["enqueue_jobs_per_s"] for x in runs]),
            "client_cpu_ms_per_1k_jobs": median([x["client_cpu_s"] for x in runs]) * 1e6 / args.jobs,
            "server_cpu_ms_per_1k_jobs": median([x["server_cpu_s"] for x in runs]) * 1e6 / args.jobs,
            "runs": runs}), flush=True)


def latency(args, r, redis_pid, logdir):
    reset(r)
    ws = Workers(1, QUEUE, "lat", logdir)
    try:
        total = args.warmup + args.latency_jobs
        before = [0.0] * total
        cpu0, srv0 = ws.cpu(), cpu_seconds(redis_pid)
        nxt = time.perf_counter()
        for i in range(total):
            delay = nxt - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            nxt += args.interval_ms / 1000.0
            before[i] = time.time()
            noop_latency.apply_async(args=(i,), queue=QUEUE)
        deadline = time.time() + 30
        while r.hlen("bench:lat") < total and time.time() < deadline:
            time.sleep(0.001)
        cpu1, srv1 = ws.cpu(), cpu_seconds(redis_pid)
        got = {int(k): float(v) for k, v in r.hgetall("bench:lat").items()}
        if len(got) < total:
            raise SystemExit(f"only {len(got)} of {total} tasks started within 30 s")
        ms = sorted((got[i] - before[i]) * 1000 for i in range(args.warmup, total))
        print(json.dumps({
            "bench": "latency", "system": "celery-redis", "pool": "solo",
            "prefetch": args.prefetch, "result_backend": args.result_backend,
            "jobs": args.latency_jobs, "warmup": args.warmup, "interval_ms": args.interval_ms,
            "p50_ms": percentile(ms, 50), "p90_ms": percentile(ms, 90),
            "p99_ms": percentile(ms, 99), "max_ms": ms[-1], "min_ms": ms[0],
            "mean_ms": sum(ms) / len(ms),
            "client_cpu_s": cpu1 - cpu0, "server_cpu_s": srv1 - srv0}), flush=True)
    finally:
        ws.stop()


def start_redis(tmp):
    port = free_port()
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", tmp,
         "--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile",
         os.path.join(tmp, "redis.log")])
    url = f"redis://127.0.0.1:{port}/0"
    r = redis.Redis.from_url(url)
    for _ in range(100):
        try:
            r.ping()
            return proc, url
        except redis.ConnectionError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("redis-server did not start")


def main():
    global REDIS_URL, RESULT_BACKEND
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--redis-url")
    p.add_argument("--redis-pid", type=int, default=0, help="for its CPU time (default: ours)")
    p.add_argument("--mode", default="all", choices=["all", "throughput", "latency"])
    p.add_argument("--jobs", type=int, default=20000)
    p.add_argument("--workers", default="1,2,4")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--latency-jobs", type=int, default=2000)
    p.add_argument("--interval-ms", type=float, default=5)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--prefetch", type=int, default=4)
    p.add_argument("--result-backend", default="none", choices=["none", "redis"])
    p.add_argument("--logdir", help="celery worker logs (default: a temp dir)")
    args = p.parse_args()
    args.workers = [int(x) for x in args.workers.split(",") if x]

    tmp = tempfile.mkdtemp(prefix="bench-celery-")
    redis_proc = None
    try:
        if args.redis_url:
            REDIS_URL = args.redis_url
            redis_pid = args.redis_pid
        else:
            redis_proc, REDIS_URL = start_redis(tmp)
            redis_pid = redis_proc.pid
        RESULT_BACKEND = args.result_backend
        os.environ["BENCH_CELERY_PREFETCH"] = str(args.prefetch)
        app.conf.update(broker_url=REDIS_URL,
                        result_backend=REDIS_URL if RESULT_BACKEND == "redis" else None,
                        task_ignore_result=RESULT_BACKEND != "redis")
        logdir = args.logdir or tmp
        os.makedirs(logdir, exist_ok=True)
        r = redis.Redis.from_url(REDIS_URL)
        if args.mode in ("all", "throughput"):
            throughput(args, r, redis_pid, logdir)
        if args.mode in ("all", "latency"):
            latency(args, r, redis_pid, logdir)
    finally:
        if redis_proc is not None:
            redis_proc.terminate()
            redis_proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
