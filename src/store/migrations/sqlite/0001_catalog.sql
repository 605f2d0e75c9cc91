-- Catalogue: books with normalised authors and genres, and the change sequence that derived
-- indexes follow. Timestamps are UTC ISO-8601 text ('2026-01-02T03:04:05Z').
CREATE TABLE store_meta (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  change_seq INTEGER NOT NULL
);
INSERT INTO store_meta (id, change_seq) VALUES (1, 0);

CREATE TABLE books (
  id INTEGER PRIMARY KEY,
  ext_id TEXT NOT NULL UNIQUE,
  isbn13 TEXT UNIQUE,
  title TEXT NOT NULL,
  sort_title TEXT NOT NULL,
  search_text TEXT NOT NULL,
  authors_text TEXT NOT NULL DEFAULT '',
  description TEXT NOT NULL DEFAULT '',
  year INTEGER,
  pages INTEGER,
  language TEXT,
  rating REAL,
  popularity INTEGER NOT NULL DEFAULT 0,
  cover_url TEXT,
  price_cents INTEGER NOT NULL CHECK (price_cents >= 0),
  currency TEXT NOT NULL DEFAULT 'USD',
  stock INTEGER NOT NULL CHECK (stock >= 0),
  source TEXT,
  content_hash TEXT NOT NULL,
  change_seq INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX books_popularity ON books (popularity DESC, id DESC);
CREATE INDEX books_sort_title ON books (sort_title, id);
CREATE INDEX books_price ON books (price_cents, id);
CREATE INDEX books_change_seq ON books (change_seq);
CREATE INDEX books_language ON books (language);

CREATE TABLE authors (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  folded TEXT NOT NULL
);

CREATE TABLE book_authors (
  book_id INTEGER NOT NULL REFERENCES books (id) ON DELETE CASCADE,
  author_id INTEGER NOT NULL REFERENCES authors (id),
  position INTEGER NOT NULL,
  PRIMARY KEY (book_id, author_id)
) WITHOUT ROWID;
CREATE INDEX book_authors_author ON book_authors (author_id, book_id);

CREATE TABLE genres (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  folded TEXT NOT NULL
);

CREATE TABLE book_genres (
  book_id INTEGER NOT NULL REFERENCES books (id) ON DELETE CASCADE,
  genre_id INTEGER NOT NULL REFERENCES genres (id),
  position INTEGER NOT NULL,
  PRIMARY KEY (book_id, genre_id)
) WITHOUT ROWID;
CREATE INDEX book_genres_genre ON book_genres (genre_id, book_id);
