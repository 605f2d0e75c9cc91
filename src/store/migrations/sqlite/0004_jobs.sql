-- Jobs: the store-backed task queue (src/jobs). A job is enqueued in the same transaction as the
-- write that needs it. Times are Unix milliseconds. States: queued (waiting for run_at), running
-- (leased by worker_id until lease_expires_at), failed (an attempt failed; retried at run_at),
-- succeeded, dead (its last attempt failed; last_error kept), cancelled (by an operator).
-- attempts counts the attempts started; the worker's claim carries it, and only the claim of the
-- current attempt may finish the job (a reclaimed job's old worker cannot overwrite it).
CREATE TABLE jobs (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  payload TEXT NOT NULL,
  priority INTEGER NOT NULL DEFAULT 0,
  state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'failed', 'succeeded', 'dead', 'cancelled')),
  run_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL CHECK (max_attempts > 0),
  lease_expires_at INTEGER,
  worker_id TEXT,
  last_error TEXT,
  result TEXT,
  dedup_key TEXT,
  created_at INTEGER NOT NULL,
  started_at INTEGER,
  finished_at INTEGER,
  updated_at INTEGER NOT NULL
);
-- What a worker claims: ready jobs by priority, then age.
CREATE INDEX jobs_ready ON jobs (priority DESC, run_at, id) WHERE state IN ('queued', 'failed');
CREATE INDEX jobs_lease ON jobs (lease_expires_at) WHERE state = 'running';
CREATE INDEX jobs_kind_state ON jobs (kind, state);
-- What the retention purge deletes: finished jobs by age (dead ones stay for the operator).
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE state IN ('succeeded', 'cancelled');
-- At most one unfinished job per (kind, dedup_key).
CREATE UNIQUE INDEX jobs_dedup ON jobs (kind, dedup_key)
  WHERE dedup_key IS NOT NULL AND state IN ('queued', 'running', 'failed');
