-- Shop: accounts, refresh tokens, login throttling, carts, orders with their events, feedback,
-- and tombstones for deleted books (the change feed's deletes). Timestamps shown to people are
-- UTC ISO-8601 text; times compared by the service (expiry, throttling) are Unix seconds.
CREATE TABLE users (
  id INTEGER PRIMARY KEY,
  email TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('customer', 'admin')),
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

-- A refresh token is stored only as its SHA-256. Every use rotates it: the used row keeps
-- `used_at`, and a second use of it revokes the whole family (all tokens of one login).
CREATE TABLE refresh_tokens (
  id INTEGER PRIMARY KEY,
  family TEXT NOT NULL,
  user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  token_hash TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at INTEGER,
  revoked_at INTEGER
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

-- Failed logins per key ('pair:<email>|<address>' or 'addr:<address>').
CREATE TABLE login_throttle (
  key TEXT PRIMARY KEY,
  failures INTEGER NOT NULL,
  last_failure_at INTEGER NOT NULL,
  blocked_until INTEGER NOT NULL
);

-- A cart belongs to a user, or to an anonymous cart token (stored as its SHA-256).
CREATE TABLE carts (
  id INTEGER PRIMARY KEY,
  user_id INTEGER UNIQUE REFERENCES users (id) ON DELETE CASCADE,
  token_hash TEXT UNIQUE,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  last_used_at INTEGER NOT NULL,
  CHECK ((user_id IS NULL) <> (token_hash IS NULL))
);

CREATE TABLE cart_items (
  cart_id INTEGER NOT NULL REFERENCES carts (id) ON DELETE CASCADE,
  book_id INTEGER NOT NULL REFERENCES books (id) ON DELETE CASCADE,
  quantity INTEGER NOT NULL CHECK (quantity BETWEEN 1 AND 99),
  added_at TEXT NOT NULL,
  PRIMARY KEY (cart_id, book_id)
) WITHOUT ROWID;

CREATE TABLE orders (
  id INTEGER PRIMARY KEY,
  public_id TEXT NOT NULL UNIQUE,
  user_id INTEGER NOT NULL REFERENCES users (id),
  status TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'shipped', 'delivered', 'cancelled')),
  total_cents INTEGER NOT NULL CHECK (total_cents >= 0),
  currency TEXT NOT NULL,
  item_count INTEGER NOT NULL,
  shipping TEXT NOT NULL,
  payment_provider TEXT NOT NULL,
  payment_reference TEXT NOT NULL,
  card_last4 TEXT NOT NULL,
  idempotency_key TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  UNIQUE (user_id, idempotency_key)
);
CREATE INDEX cart_items_book ON cart_items (book_id);
CREATE INDEX orders_user ON orders (user_id, id DESC);

-- Lines keep what was bought and the price paid, also after the book changes or is deleted.
CREATE TABLE order_lines (
  order_id INTEGER NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  book_id INTEGER REFERENCES books (id) ON DELETE SET NULL,
  book_ext_id TEXT NOT NULL,
  title TEXT NOT NULL,
  unit_price_cents INTEGER NOT NULL,
  quantity INTEGER NOT NULL CHECK (quantity >= 1),
  PRIMARY KEY (order_id, position)
) WITHOUT ROWID;

-- What happened to an order, written in the transaction that made it happen: the outbox that
-- the order e-mail sender (jobs issue) reads.
CREATE TABLE order_events (
  id INTEGER PRIMARY KEY,
  order_id INTEGER NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
  kind TEXT NOT NULL,
  payload TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX order_lines_book ON order_lines (book_id);
CREATE INDEX order_events_order ON order_events (order_id, id);

-- One vote per user per (request, book); the book is kept by its public id so that votes
-- survive the book's deletion. `pipeline` is the configuration/model version that produced the
-- response ('unknown' until the search issue records it with the request).
CREATE TABLE feedback (
  id INTEGER PRIMARY KEY,
  public_id TEXT NOT NULL UNIQUE,
  user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  request_id TEXT NOT NULL,
  book_ext_id TEXT NOT NULL,
  query TEXT NOT NULL,
  vote TEXT NOT NULL CHECK (vote IN ('up', 'down')),
  comment TEXT,
  pipeline TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  UNIQUE (user_id, request_id, book_ext_id)
);
CREATE INDEX feedback_created ON feedback (created_at);

CREATE TABLE book_tombstones (
  ext_id TEXT PRIMARY KEY,
  change_seq INTEGER NOT NULL,
  deleted_at TEXT NOT NULL
);
CREATE INDEX book_tombstones_seq ON book_tombstones (change_seq);
