-- Bulk catalogue uploads (POST /api/v1/admin/imports, run by the import_file job) and the order
-- confirmation e-mails (send_email). Times are Unix milliseconds.
-- An import: the uploaded file is kept at `path` until its job ends. state: queued, running,
-- succeeded (committed), failed (nothing written: bad rows in abort mode, or the job gave up).
CREATE TABLE imports (
  id INTEGER PRIMARY KEY,
  state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed')),
  format TEXT NOT NULL CHECK (format IN ('jsonl', 'csv')),
  on_error TEXT NOT NULL CHECK (on_error IN ('abort', 'skip')),
  file_name TEXT NOT NULL,
  path TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  rows_read INTEGER NOT NULL DEFAULT 0,
  inserted INTEGER NOT NULL DEFAULT 0,
  updated INTEGER NOT NULL DEFAULT 0,
  unchanged INTEGER NOT NULL DEFAULT 0,
  failed INTEGER NOT NULL DEFAULT 0,
  embeddings_total INTEGER NOT NULL DEFAULT 0,
  errors TEXT,
  error TEXT,
  created_by INTEGER,
  job_id INTEGER,
  created_at INTEGER NOT NULL,
  started_at INTEGER,
  finished_at INTEGER,
  updated_at INTEGER NOT NULL
);
-- The embed_books jobs of an import that finished: one row per job, so a job run twice counts
-- its books once.
CREATE TABLE import_embeds (
  import_id INTEGER NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
  job_id INTEGER NOT NULL,
  books INTEGER NOT NULL,
  PRIMARY KEY (import_id, job_id)
);
-- One confirmation e-mail per order, ever: a row is written after the SMTP server accepted it.
CREATE TABLE order_emails (
  order_id INTEGER PRIMARY KEY REFERENCES orders (id),
  message_id TEXT NOT NULL,
  recipient TEXT NOT NULL,
  sent_at INTEGER NOT NULL
);
