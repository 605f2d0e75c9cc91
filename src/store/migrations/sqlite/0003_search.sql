-- Search: one embedding per book per model (the model id is part of the key, so two models'
-- vectors never mix), the search requests that feedback refers to, and the cache of LLM
-- explanations. Vectors are base64url text of little-endian float32s, the same in both
-- dialects; text_hash says which text they were computed from (recomputed when it changes).
-- change_seq comes from store_meta like the books', so the index follows them in commit order.
CREATE TABLE book_embeddings (
  book_id INTEGER NOT NULL REFERENCES books (id) ON DELETE CASCADE,
  model TEXT NOT NULL,
  text_hash TEXT NOT NULL,
  dim INTEGER NOT NULL CHECK (dim > 0),
  vector TEXT NOT NULL,
  change_seq INTEGER NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (book_id, model)
);
CREATE INDEX book_embeddings_seq ON book_embeddings (model, change_seq);

-- What a search, a similar-books call or a recommendation answered, and with which pipeline,
-- so that a thumbs up/down can be attributed to the configuration that produced the pick.
CREATE TABLE search_requests (
  request_id TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('search', 'similar', 'recommendations')),
  query TEXT NOT NULL,
  pipeline TEXT NOT NULL,
  result_ids TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX search_requests_created ON search_requests (created_at);

-- Explanations by (normalised query, book ids, model); times are Unix seconds.
CREATE TABLE explanation_cache (
  cache_key TEXT PRIMARY KEY,
  model TEXT NOT NULL,
  text TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX explanation_cache_expires ON explanation_cache (expires_at);
