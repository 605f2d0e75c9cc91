#include "search/lexical_index.hpp"

#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <numeric>
#include <unordered_map>

namespace libromind::search {
namespace {

constexpr const char* kSchemaVersion = "3";  // 2: the terms table; 3: suggest keys

// The suggest table's rowid: the more popular a book, the smaller its key (popularity in the
// high 32 bits, inverted; the book id in the low 32). FTS5 returns matches in rowid order, so
// the first rows of a match are its most popular books, which suggest() reads without scoring
// every match. The same key in SQL, from a row of docs:
constexpr int64_t kMaxSuggestPopularity = 2147483647;
constexpr const char* kSuggestKeySql =
    "(((2147483647 - max(0, min(popularity, 2147483647))) << 32) | id)";

int64_t suggest_key(int64_t popularity, int64_t id) {
  return ((kMaxSuggestPopularity - std::clamp<int64_t>(popularity, 0, kMaxSuggestPopularity))
          << 32) |
         id;
}

core::Error sqlite_error(sqlite3* db, const std::string& what) {
  return core::Error::unavailable("lexical index: " + what + ": " +
                                  (db ? sqlite3_errmsg(db) : "out of memory"));
}

// A prepared statement that finalizes itself.
class Stmt {
 public:
  Stmt(sqlite3* db, const std::string& sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql.c_str(), static_cast<int>(sql.size()), &s_, nullptr);
  }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  bool ok() const { return rc_ == SQLITE_OK; }
  sqlite3_stmt* get() { return s_; }
  void bind(int i, int64_t v) { sqlite3_bind_int64(s_, i, v); }
  void bind(int i, double v) { sqlite3_bind_double(s_, i, v); }
  void bind(int i, const std::string& v) {
    sqlite3_bind_text64(s_, i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  }
  int step() { return sqlite3_step(s_); }
  void reset() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  int64_t int_at(int c) { return sqlite3_column_int64(s_, c); }
  double double_at(int c) { return sqlite3_column_double(s_, c); }
  std::string text_at(int c) {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, c));
    return p ? std::string(p, sqlite3_column_bytes(s_, c)) : std::string();
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* s_ = nullptr;
  int rc_ = SQLITE_ERROR;
};

core::Result<void> exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return core::Error::unavailable(std::string("lexical index: ") + msg);
  }
  return core::ok();
}

core::Result<sqlite3*> open_db(const std::string& path, bool writer) {
  sqlite3* db = nullptr;
  const int flags = (writer ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY) |
                    SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    auto e = sqlite_error(db, "cannot open " + path);
    sqlite3_close(db);
    return e;
  }
  sqlite3_busy_timeout(db, 5000);
  if (!writer) {
    // Readers map the file: FTS5 reads long document lists page by page, and through read()
    // each page was a system call and a copy (13% of the lexical search's time at 200k books).
    // The pages are the OS's page cache either way; a mapping only skips the copies.
    if (auto r = exec(db, "PRAGMA mmap_size = 4294967296"); !r) {
      sqlite3_close(db);
      return r.error();
    }
  }
  return db;
}

std::string quote_term(const std::string& t) {
  std::string q = "\"";
  for (char c : t) {
    if (c == '"') q += '"';
    q += c;
  }
  return q + "\"";
}

std::string join_genres(const std::vector<std::string>& genres) {
  std::string out;
  for (const auto& g : genres) out += (out.empty() ? "" : "; ") + g;
  return out;
}

// ---- lm_bm25: FTS5's bm25() over the leading phrases of the expression only ----
//
// The pruned search (LexicalIndex::search) matches `(rare words) AND (common words OR rare
// words)`: the second group repeats the rare words so that the AND holds for every book with a
// rare word. FTS5's own bm25() would count the repeated phrases twice, so this function scores
// only the first `n_scored` phrases (each word once), with the same formula, constants and
// IDF as SQLite's fts5_aux.c: k1 = 1.2, b = 0.75, idf = ln((N - n + 0.5) / (n + 0.5)) floored
// at 1e-6, a phrase's frequency being the sum of its instances' column weights, and the
// document length counted over all columns. Arguments: lm_bm25(fts, n_scored, stats, w_col0,
// ...) where stats is a blob of n_scored PhraseStat, one per scored phrase: its book count (the
// n of the IDF, which the search has from the terms table) and the word's place in the query,
// so that the terms are added up in the query's order whatever order the expression has (the
// score is then bit for bit FTS5's bm25() of the plain OR).

struct Bm25Data {
  std::vector<double> idf;  // per scored phrase
  std::vector<int> order;   // the scored phrases in the order their terms are added up
  double avgdl = 1.0;       // average tokens per row, all columns
};

// One scored phrase as the search passes it to lm_bm25.
struct PhraseStat {
  int64_t books;     // books holding it (the n of the IDF)
  int64_t position;  // the word's place in the query: terms are added up in this order
};

void lm_bm25(const Fts5ExtensionApi* api, Fts5Context* fts, sqlite3_context* ctx, int n_val,
             sqlite3_value** val) {
  if (n_val < 2) {
    sqlite3_result_error(ctx, "lm_bm25: needs the number of scored phrases and their stats", -1);
    return;
  }
  auto* data = static_cast<Bm25Data*>(api->xGetAuxdata(fts, 0));
  if (data == nullptr) {
    auto owned = std::make_unique<Bm25Data>();
    const int n = std::clamp(sqlite3_value_int(val[0]), 0, api->xPhraseCount(fts));
    sqlite3_int64 rows = 0, tokens = 0;
    int rc = api->xRowCount(fts, &rows);
    if (rc == SQLITE_OK) rc = api->xColumnTotalSize(fts, -1, &tokens);
    owned->avgdl = rows > 0 ? static_cast<double>(tokens) / static_cast<double>(rows) : 1.0;
    if (sqlite3_value_bytes(val[1]) != n * static_cast<int>(sizeof(PhraseStat))) {
      sqlite3_result_error(ctx, "lm_bm25: the stats blob does not hold one entry per phrase", -1);
      return;
    }
    std::vector<PhraseStat> stats(static_cast<size_t>(n));
    if (n > 0) {
      std::memcpy(stats.data(), sqlite3_value_blob(val[1]), stats.size() * sizeof(PhraseStat));
    }
    owned->order.resize(static_cast<size_t>(n));
    std::iota(owned->order.begin(), owned->order.end(), 0);
    std::stable_sort(owned->order.begin(), owned->order.end(),
                     [&](int a, int c) { return stats[a].position < stats[c].position; });
    for (int i = 0; i < n; ++i) {
      const int64_t hits = stats[i].books;
      double idf = std::log((static_cast<double>(rows) - static_cast<double>(hits) + 0.5) /
                            (static_cast<double>(hits) + 0.5));
      owned->idf.push_back(idf <= 0.0 ? 1e-6 : idf);
    }
    if (rc == SQLITE_OK) {
      data = owned.release();
      rc = api->xSetAuxdata(fts, data, [](void* p) { delete static_cast<Bm25Data*>(p); });
    }
    if (rc != SQLITE_OK) {
      sqlite3_result_error_code(ctx, rc);
      return;
    }
  }
  constexpr double k1 = 1.2, b = 0.75;
  int row_tokens = 0;
  if (int rc = api->xColumnSize(fts, -1, &row_tokens); rc != SQLITE_OK) {
    sqlite3_result_error_code(ctx, rc);
    return;
  }
  const double norm = k1 * (1.0 - b + b * static_cast<double>(row_tokens) / data->avgdl);
  double score = 0.0;
  for (const int i : data->order) {
    Fts5PhraseIter it;
    int col = 0, off = 0;
    double freq = 0.0;
    if (int rc = api->xPhraseFirst(fts, i, &it, &col, &off); rc != SQLITE_OK) {
      sqlite3_result_error_code(ctx, rc);
      return;
    }
    for (; col >= 0; api->xPhraseNext(fts, &it, &col, &off)) {
      freq += n_val > col + 2 ? sqlite3_value_double(val[col + 2]) : 1.0;
    }
    score += data->idf[i] * (freq * (k1 + 1.0)) / (freq + norm);
  }
  sqlite3_result_double(ctx, -score);
}

fts5_api* fts5_api_of(sqlite3* db) {
  fts5_api* api = nullptr;
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &s, nullptr) == SQLITE_OK) {
    sqlite3_bind_pointer(s, 1, static_cast<void*>(&api), "fts5_api_ptr", nullptr);
    sqlite3_step(s);
  }
  sqlite3_finalize(s);
  return api;
}

// The fts table's own tokenizer (porter over unicode61 with diacritics folded, as open()
// creates it), for turning text into the terms the index holds.
class TermTokenizer {
 public:
  TermTokenizer() = default;
  TermTokenizer(const TermTokenizer&) = delete;
  TermTokenizer& operator=(const TermTokenizer&) = delete;
  ~TermTokenizer() {
    if (tok_ != nullptr) api_.xDelete(tok_);
  }

  core::Result<void> create(sqlite3* db) {
    fts5_api* api = fts5_api_of(db);
    if (api == nullptr) return sqlite_error(db, "FTS5 is not available");
    void* user = nullptr;
    if (api->xFindTokenizer(api, "porter", &user, &api_) != SQLITE_OK) {
      return sqlite_error(db, "find the porter tokenizer");
    }
    // The arguments the fts table's `tokenize` option gives porter (see open()).
    const char* args[] = {"unicode61", "remove_diacritics", "2"};
    if (api_.xCreate(user, args, 3, &tok_) != SQLITE_OK) {
      tok_ = nullptr;
      return sqlite_error(db, "create the porter tokenizer");
    }
    return core::ok();
  }

  // Calls on_token(term, start, end) for each token of text; flags are FTS5_TOKENIZE_*.
  template <typename F>
  bool run(std::string_view text, int flags, F&& on_token) {
    auto cb = [](void* p, int, const char* t, int n, int start, int end) {
      (*static_cast<F*>(p))(std::string_view(t, static_cast<size_t>(n)), start, end);
      return SQLITE_OK;
    };
    return api_.xTokenize(tok_, &on_token, flags, text.data(), static_cast<int>(text.size()), cb) ==
           SQLITE_OK;
  }

 private:
  fts5_tokenizer api_{};
  Fts5Tokenizer* tok_ = nullptr;
};

// Adds `sign` to the count of each distinct term of a book's columns: the terms table's
// changes, +1 per term of a book added and -1 per term of a book removed.
core::Result<void> count_terms(TermTokenizer& tokenizer, sqlite3* db,
                               std::initializer_list<std::string_view> columns, int64_t sign,
                               std::unordered_map<std::string, int64_t>* deltas) {
  std::vector<std::string> terms;
  for (std::string_view text : columns) {
    if (!tokenizer.run(text, FTS5_TOKENIZE_DOCUMENT,
                       [&](std::string_view t, int, int) { terms.emplace_back(t); })) {
      return sqlite_error(db, "tokenize");
    }
  }
  std::sort(terms.begin(), terms.end());
  terms.erase(std::unique(terms.begin(), terms.end()), terms.end());
  for (auto& t : terms) (*deltas)[std::move(t)] += sign;
  return core::ok();
}

}  // namespace

// The writer's tokenizer, for the terms table.
struct LexicalIndex::WriterTerms {
  TermTokenizer tokenizer;
};

// A reader connection, with what the pruned search needs: lm_bm25, the index's own tokenizer
// (to turn a query word into the terms the index holds) and the vocabulary's document counts.
struct LexicalIndex::Reader {
  sqlite3* db = nullptr;
  TermTokenizer tokenizer;
  sqlite3_stmt* doc_count = nullptr;  // books_with(), for a word the tokenizer splits
  sqlite3_stmt* term_docs = nullptr;  // books_with(), from the terms table
  ~Reader() {
    sqlite3_finalize(doc_count);
    sqlite3_finalize(term_docs);
    sqlite3_close(db);
  }

  core::Result<void> prepare_pruning() {
    fts5_api* api = fts5_api_of(db);
    if (api == nullptr) return sqlite_error(db, "FTS5 is not available");
    if (api->xCreateFunction(api, "lm_bm25", nullptr, lm_bm25, nullptr) != SQLITE_OK) {
      return sqlite_error(db, "register lm_bm25");
    }
    LM_TRY(tokenizer.create(db));
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM fts WHERE fts MATCH ?1", -1, &doc_count,
                           nullptr) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT docs FROM terms WHERE term = ?1", -1, &term_docs, nullptr) !=
            SQLITE_OK) {
      return sqlite_error(db, "prepare the word count");
    }
    return core::ok();
  }

  struct Token {
    std::string term;
    int start = 0;  // byte offsets in the text
    int end = 0;
  };
  core::Result<std::vector<Token>> tokenize(std::string_view text, int flags) {
    std::vector<Token> out;
    if (!tokenizer.run(text, flags, [&](std::string_view t, int start, int end) {
          out.push_back({std::string(t), start, end});
        })) {
      return sqlite_error(db, "tokenize");
    }
    return out;
  }

  // Books holding the word as the query matches it: a lookup in the terms table for a word
  // that is one term; FTS5 counts the books of a word the tokenizer splits (a phrase). (Counting
  // by FTS5 for every word, as before, walked each word's document list: 3.4 ms for "stories"
  // at 200k books, and its cost grew with the catalogue.)
  core::Result<int64_t> books_with(const std::string& word) {
    std::vector<std::string> terms;
    if (!tokenizer.run(word, FTS5_TOKENIZE_QUERY,
                       [&](std::string_view t, int, int) { terms.emplace_back(t); })) {
      return sqlite_error(db, "tokenize");
    }
    if (terms.empty()) return 0;
    const bool one_term = terms.size() == 1;
    const std::string key = one_term ? terms[0] : quote_term(word);
    sqlite3_stmt* s = one_term ? term_docs : doc_count;
    sqlite3_bind_text64(s, 1, key.data(), key.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
    const int rc = sqlite3_step(s);
    const int64_t n = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return sqlite_error(db, "count a word's books");
    return n;
  }
};

std::string fts_match_expression(const LexicalQuery& query) {
  std::string expr;
  auto add = [&](const std::vector<std::string>& terms) {
    for (const auto& t : terms) {
      if (t.empty()) continue;
      expr += (expr.empty() ? "" : " OR ") + quote_term(t);
    }
  };
  add(query.terms);
  add(query.extra_terms);
  return expr;
}

core::Result<std::unique_ptr<LexicalIndex>> LexicalIndex::open(const std::string& path,
                                                               FieldWeights weights) {
  std::unique_ptr<LexicalIndex> index(new LexicalIndex());
  index->weights_ = weights;
  if (path.empty()) {
    std::string tmpl =
        std::filesystem::temp_directory_path().string() + "/libromind-lexical-XXXXXX";
    int fd = mkstemp(tmpl.data());
    if (fd < 0) return core::Error::unavailable("lexical index: cannot create a temporary file");
    ::close(fd);
    index->path_ = tmpl;
    index->temporary_ = true;
  } else {
    index->path_ = path;
    std::error_code ec;
    auto parent = std::filesystem::path(path).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  }
  LM_ASSIGN_OR_RETURN(index->writer_, open_db(index->path_, true));
  sqlite3* db = index->writer_;
  // Derived data: losing the last writes in a crash only means catching up again.
  LM_TRY(exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;"));
  LM_TRY(exec(db, "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"));
  LM_ASSIGN_OR_RETURN(std::string schema, index->meta("schema"));
  if (schema != kSchemaVersion) {
    LM_TRY(exec(db,
                "DROP TABLE IF EXISTS docs; DROP TABLE IF EXISTS fts; DROP TABLE IF EXISTS "
                "suggest; DROP TABLE IF EXISTS terms; DELETE FROM meta;"));
    LM_TRY(exec(db,
                "CREATE TABLE docs (id INTEGER PRIMARY KEY, ext_id TEXT NOT NULL UNIQUE, "
                "popularity INTEGER NOT NULL, title TEXT NOT NULL, authors TEXT NOT NULL);"
                "CREATE VIRTUAL TABLE fts USING fts5(title, authors, genres, description, "
                "tokenize = 'porter unicode61 remove_diacritics 2');"
                "CREATE VIRTUAL TABLE suggest USING fts5(title, authors, "
                "tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3');"
                // Books per term of fts, kept with every write: the pruned search's word
                // counts and BM25's IDF read it instead of walking FTS5's document lists.
                "CREATE TABLE terms (term TEXT PRIMARY KEY, docs INTEGER NOT NULL) "
                "WITHOUT ROWID;"));
    LM_TRY(index->set_meta("schema", kSchemaVersion));
  }
  index->writer_terms_ = std::make_unique<WriterTerms>();
  LM_TRY(index->writer_terms_->tokenizer.create(db));
  return index;
}

LexicalIndex::~LexicalIndex() {
  readers_.clear();
  sqlite3_close(writer_);
  if (temporary_) {
    std::remove(path_.c_str());
    std::remove((path_ + "-wal").c_str());
    std::remove((path_ + "-shm").c_str());
  }
}

core::Result<void> LexicalIndex::set_meta(const std::string& key, const std::string& value) {
  Stmt s(writer_,
         "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE "
         "SET value = excluded.value");
  if (!s.ok()) return sqlite_error(writer_, "set meta");
  s.bind(1, key);
  s.bind(2, value);
  if (s.step() != SQLITE_DONE) return sqlite_error(writer_, "set meta");
  return core::ok();
}

core::Result<std::string> LexicalIndex::meta(const std::string& key) {
  Stmt s(writer_, "SELECT value FROM meta WHERE key = ?1");
  if (!s.ok()) return sqlite_error(writer_, "read meta");
  s.bind(1, key);
  return s.step() == SQLITE_ROW ? s.text_at(0) : std::string();
}

core::Result<int64_t> LexicalIndex::count() {
  Stmt s(writer_, "SELECT COUNT(*) FROM docs");
  if (!s.ok() || s.step() != SQLITE_ROW) return sqlite_error(writer_, "count");
  return s.int_at(0);
}

core::Result<void> LexicalIndex::upsert(const std::vector<SearchDoc>& docs, TermCounts terms) {
  const bool counted = terms == TermCounts::kept;
  if (docs.empty()) return core::ok();
  LM_TRY(exec(writer_, "BEGIN"));
  auto body = [&]() -> core::Result<void> {
    Stmt del_fts(writer_, "DELETE FROM fts WHERE rowid = ?1");
    Stmt del_sug(writer_, std::string("DELETE FROM suggest WHERE rowid = (SELECT ") +
                              kSuggestKeySql + " FROM docs WHERE id = ?1)");
    // A public id that moved to another primary key (deleted and created again) takes its
    // old rows with it, or their text would still match under the old key.
    Stmt del_moved_fts(writer_,
                       "DELETE FROM fts WHERE rowid IN (SELECT id FROM docs WHERE ext_id = ?1 "
                       "AND id <> ?2)");
    Stmt del_moved_sug(writer_, std::string("DELETE FROM suggest WHERE rowid IN (SELECT ") +
                                    kSuggestKeySql + " FROM docs WHERE ext_id = ?1 AND id <> ?2)");
    Stmt del_ext(writer_, "DELETE FROM docs WHERE ext_id = ?1 AND id <> ?2");
    Stmt put_doc(writer_,
                 "INSERT INTO docs (id, ext_id, popularity, title, authors) VALUES (?1, ?2, ?3, "
                 "?4, ?5) ON CONFLICT (id) DO UPDATE SET ext_id = excluded.ext_id, popularity = "
                 "excluded.popularity, title = excluded.title, authors = excluded.authors");
    Stmt put_fts(writer_,
                 "INSERT INTO fts (rowid, title, authors, genres, description) VALUES (?1, ?2, "
                 "?3, ?4, ?5)");
    Stmt put_sug(writer_, "INSERT INTO suggest (rowid, title, authors) VALUES (?1, ?2, ?3)");
    // The rows this upsert replaces: the book's own, and those of its public id under another key.
    Stmt old_rows(writer_,
                  "SELECT title, authors, genres, description FROM fts WHERE rowid = ?1 OR rowid "
                  "IN (SELECT id FROM docs WHERE ext_id = ?2 AND id <> ?1)");
    if (!del_fts.ok() || !del_sug.ok() || !del_moved_fts.ok() || !del_moved_sug.ok() ||
        !del_ext.ok() || !put_doc.ok() || !put_fts.ok() || !put_sug.ok() || !old_rows.ok()) {
      return sqlite_error(writer_, "prepare upsert");
    }
    TermDeltas deltas;
    for (const auto& d : docs) {
      if (d.id < 0 || d.id > 0xffffffffLL) {
        return core::Error::invalid("lexical index: book id " + std::to_string(d.id) +
                                    " is outside [0, 2^32), the range of suggestion keys");
      }
      const std::string genres = join_genres(d.genres);
      if (counted) {
        old_rows.bind(1, d.id);
        old_rows.bind(2, d.ext_id);
        int rc;
        while ((rc = old_rows.step()) == SQLITE_ROW) {
          LM_TRY(uncount_row(old_rows.get(), &deltas));
        }
        if (rc != SQLITE_DONE) return sqlite_error(writer_, "read the replaced rows");
        old_rows.reset();
        LM_TRY(count_terms(writer_terms_->tokenizer, writer_,
                           {d.title, d.authors, genres, d.description}, 1, &deltas));
      }
      for (Stmt* s : {&del_fts, &del_sug}) {
        s->bind(1, d.id);
        if (s->step() != SQLITE_DONE) return sqlite_error(writer_, "delete");
        s->reset();
      }
      for (Stmt* s : {&del_moved_fts, &del_moved_sug, &del_ext}) {
        s->bind(1, d.ext_id);
        s->bind(2, d.id);
        if (s->step() != SQLITE_DONE) return sqlite_error(writer_, "delete");
        s->reset();
      }
      put_doc.bind(1, d.id);
      put_doc.bind(2, d.ext_id);
      put_doc.bind(3, d.popularity);
      put_doc.bind(4, d.title);
      put_doc.bind(5, d.authors);
      if (put_doc.step() != SQLITE_DONE) return sqlite_error(writer_, "insert doc");
      put_doc.reset();
      put_fts.bind(1, d.id);
      put_fts.bind(2, d.title);
      put_fts.bind(3, d.authors);
      put_fts.bind(4, genres);
      put_fts.bind(5, d.description);
      if (put_fts.step() != SQLITE_DONE) return sqlite_error(writer_, "insert fts");
      put_fts.reset();
      put_sug.bind(1, suggest_key(d.popularity, d.id));
      put_sug.bind(2, d.title);
      put_sug.bind(3, d.authors);
      if (put_sug.step() != SQLITE_DONE) return sqlite_error(writer_, "insert suggest");
      put_sug.reset();
    }
    return apply_term_deltas(deltas);
  };
  if (auto r = body(); !r) {
    (void)exec(writer_, "ROLLBACK");
    return r;
  }
  return exec(writer_, "COMMIT");
}

core::Result<std::vector<int64_t>> LexicalIndex::remove(const std::vector<std::string>& ext_ids) {
  std::vector<int64_t> removed;
  if (ext_ids.empty()) return removed;
  LM_TRY(exec(writer_, "BEGIN"));
  auto body = [&]() -> core::Result<void> {
    Stmt find(writer_, "SELECT id FROM docs WHERE ext_id = ?1");
    Stmt del_fts(writer_, "DELETE FROM fts WHERE rowid = ?1");
    Stmt del_sug(writer_, std::string("DELETE FROM suggest WHERE rowid = (SELECT ") +
                              kSuggestKeySql + " FROM docs WHERE id = ?1)");
    Stmt del_doc(writer_, "DELETE FROM docs WHERE id = ?1");
    Stmt old_row(writer_, "SELECT title, authors, genres, description FROM fts WHERE rowid = ?1");
    if (!find.ok() || !del_fts.ok() || !del_sug.ok() || !del_doc.ok() || !old_row.ok()) {
      return sqlite_error(writer_, "prepare remove");
    }
    TermDeltas deltas;
    for (const auto& ext : ext_ids) {
      find.bind(1, ext);
      if (find.step() == SQLITE_ROW) {
        const int64_t id = find.int_at(0);
        old_row.bind(1, id);
        if (old_row.step() == SQLITE_ROW) LM_TRY(uncount_row(old_row.get(), &deltas));
        old_row.reset();
        for (Stmt* s : {&del_fts, &del_sug, &del_doc}) {
          s->bind(1, id);
          if (s->step() != SQLITE_DONE) return sqlite_error(writer_, "remove");
          s->reset();
        }
        removed.push_back(id);
      }
      find.reset();
    }
    return apply_term_deltas(deltas);
  };
  if (auto r = body(); !r) {
    (void)exec(writer_, "ROLLBACK");
    return r.error();
  }
  LM_TRY(exec(writer_, "COMMIT"));
  return removed;
}

core::Result<void> LexicalIndex::clear() {
  return exec(writer_,
              "BEGIN; DELETE FROM docs; DELETE FROM fts; DELETE FROM suggest; DELETE FROM terms; "
              "COMMIT;");
}

core::Result<void> LexicalIndex::uncount_row(sqlite3_stmt* row, TermDeltas* deltas) {
  auto col = [&](int c) {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(row, c));
    return p ? std::string_view(p, static_cast<size_t>(sqlite3_column_bytes(row, c)))
             : std::string_view();
  };
  return count_terms(writer_terms_->tokenizer, writer_, {col(0), col(1), col(2), col(3)}, -1,
                     deltas);
}

core::Result<void> LexicalIndex::apply_term_deltas(const TermDeltas& deltas) {
  Stmt add(writer_,
           "INSERT INTO terms (term, docs) VALUES (?1, ?2) ON CONFLICT (term) DO UPDATE SET "
           "docs = docs + excluded.docs");
  Stmt drop(writer_, "DELETE FROM terms WHERE term = ?1 AND docs <= 0");
  if (!add.ok() || !drop.ok()) return sqlite_error(writer_, "prepare the term counts");
  for (const auto& [term, n] : deltas) {
    if (n == 0) continue;
    add.bind(1, term);
    add.bind(2, n);
    if (add.step() != SQLITE_DONE) return sqlite_error(writer_, "count terms");
    add.reset();
    if (n < 0) {
      drop.bind(1, term);
      if (drop.step() != SQLITE_DONE) return sqlite_error(writer_, "count terms");
      drop.reset();
    }
  }
  return core::ok();
}

core::Result<void> LexicalIndex::recount_terms() {
  return exec(writer_,
              "CREATE VIRTUAL TABLE IF NOT EXISTS temp.fts_vocab USING fts5vocab(main, fts, row);"
              "BEGIN; DELETE FROM terms; INSERT INTO terms (term, docs) SELECT term, doc FROM "
              "temp.fts_vocab; COMMIT;");
}

core::Result<void> LexicalIndex::optimize() {
  return exec(writer_,
              "INSERT INTO fts (fts) VALUES ('optimize'); INSERT INTO suggest (suggest) VALUES "
              "('optimize');");
}

core::Result<std::unique_ptr<LexicalIndex::Reader>> LexicalIndex::borrow() const {
  {
    std::lock_guard lock(readers_mutex_);
    if (!readers_.empty()) {
      auto r = std::move(readers_.back());
      readers_.pop_back();
      return r;
    }
  }
  auto r = std::make_unique<Reader>();
  LM_ASSIGN_OR_RETURN(r->db, open_db(path_, false));
  LM_TRY(r->prepare_pruning());
  return r;
}

void LexicalIndex::give_back(std::unique_ptr<Reader> r) const {
  std::lock_guard lock(readers_mutex_);
  if (readers_.size() < 32) readers_.push_back(std::move(r));
}

core::Result<std::vector<LexicalHit>> LexicalIndex::search(const LexicalQuery& query) const {
  std::vector<LexicalHit> hits;
  std::string expr = fts_match_expression(query);
  if (expr.empty() || query.limit <= 0) return hits;
  LM_ASSIGN_OR_RETURN(auto reader, borrow());
  // Pruning: FTS5 scores every book that holds any of the words, so a query with a common word
  // scores a large part of the catalogue. With a budget, only books holding one of the rarer
  // words are candidates (words taken from the rarest while their books add up to at most the
  // budget, and at least up to the first word the index holds), and every candidate is scored
  // on all the words. A book with only common words could rank only on their low IDF, and is
  // left out. docs/benchmarks.md has the effect on latency, docs/evaluation.md on quality.
  // The word counts come from the terms table; they and the match are read in one transaction,
  // so that both see the same index while the writer goes on.
  int scored = 0;                   // 0: plain OR and FTS5's bm25() (no budget: the exact search)
  std::vector<PhraseStat> phrases;  // per scored phrase, in the expression's order
  if (query.candidate_budget > 0) {
    std::vector<std::string> words;
    for (const auto* list : {&query.terms, &query.extra_terms}) {
      for (const auto& t : *list) {
        if (!t.empty()) words.push_back(t);
      }
    }
    LM_TRY(exec(reader->db, "BEGIN"));
    std::vector<int64_t> df(words.size());
    for (size_t i = 0; i < words.size(); ++i) {
      LM_ASSIGN_OR_RETURN(df[i], reader->books_with(words[i]));
    }
    std::vector<size_t> order(words.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return df[a] < df[b]; });
    size_t rare = 0;
    int64_t books = 0;
    while (rare < order.size() &&
           (books == 0 || books + df[order[rare]] <= query.candidate_budget)) {
      books += df[order[rare++]];
    }
    if (rare < order.size()) {
      std::string rare_or, common_or;
      for (size_t i = 0; i < order.size(); ++i) {
        std::string& into = i < rare ? rare_or : common_or;
        into += (into.empty() ? "" : " OR ") + quote_term(words[order[i]]);
        phrases.push_back({df[order[i]], static_cast<int64_t>(order[i])});
      }
      expr = "(" + rare_or + ") AND (" + common_or + " OR " + rare_or + ")";
    } else {
      // Every word fits: the plain OR of fts_match_expression, scored alike.
      for (size_t i = 0; i < words.size(); ++i) phrases.push_back({df[i], static_cast<int64_t>(i)});
    }
    scored = static_cast<int>(words.size());
  }
  {
    Stmt s(reader->db, scored > 0
                           ? "SELECT rowid, lm_bm25(fts, ?7, ?8, ?2, ?3, ?4, ?5) AS r FROM fts "
                             "WHERE fts MATCH ?1 ORDER BY r LIMIT ?6"
                           : "SELECT rowid, bm25(fts, ?2, ?3, ?4, ?5) AS r FROM fts WHERE fts "
                             "MATCH ?1 ORDER BY r LIMIT ?6");
    if (!s.ok()) return sqlite_error(reader->db, "search");
    s.bind(1, expr);
    s.bind(2, weights_.title);
    s.bind(3, weights_.authors);
    s.bind(4, weights_.genres);
    s.bind(5, weights_.description);
    s.bind(6, int64_t{query.limit});
    if (scored > 0) {
      s.bind(7, int64_t{scored});
      sqlite3_bind_blob64(s.get(), 8, phrases.data(), phrases.size() * sizeof(PhraseStat),
                          SQLITE_TRANSIENT);
    }
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) hits.push_back({s.int_at(0), -s.double_at(1)});
    if (rc != SQLITE_DONE) return sqlite_error(reader->db, "search");
  }
  if (scored > 0) LM_TRY(exec(reader->db, "COMMIT"));
  give_back(std::move(reader));
  return hits;
}

core::Result<std::vector<Suggestion>> LexicalIndex::suggest(const std::vector<std::string>& words,
                                                            int limit) const {
  std::vector<Suggestion> out;
  if (words.empty() || limit <= 0) return out;
  std::string expr;
  for (size_t i = 0; i < words.size(); ++i) {
    if (words[i].empty()) continue;
    expr +=
        (expr.empty() ? "" : " AND ") + quote_term(words[i]) + (i + 1 == words.size() ? "*" : "");
  }
  if (expr.empty()) return out;
  LM_ASSIGN_OR_RETURN(auto reader, borrow());
  {
    // The best matches among the kSuggestCandidates most popular books that match (all of them
    // when fewer match): a prefix such as "the" matches most of the catalogue, and scoring every
    // match cost 40 ms at 74k books and 110 ms at 200k. Rows come in suggest-key order, most
    // popular first, so the LIMIT stops FTS5 early.
    Stmt s(reader->db,
           "SELECT d.id, d.title, d.authors, d.ext_id FROM (SELECT rowid, bm25(suggest, 2.0, 1.0) "
           "AS r FROM suggest WHERE suggest MATCH ?1 ORDER BY rowid LIMIT ?3) m JOIN docs d ON "
           "d.id = (m.rowid & 4294967295) ORDER BY m.r, d.popularity DESC, d.id LIMIT ?2");
    if (!s.ok()) return sqlite_error(reader->db, "suggest");
    s.bind(1, expr);
    s.bind(2, int64_t{limit});
    s.bind(3, int64_t{kSuggestCandidates});
    int rc;
    while ((rc = s.step()) == SQLITE_ROW)
      out.push_back({s.int_at(0), s.text_at(3), s.text_at(1), s.text_at(2)});
    if (rc != SQLITE_DONE) return sqlite_error(reader->db, "suggest");
  }
  give_back(std::move(reader));
  return out;
}

core::Result<std::map<int64_t, Highlight>> LexicalIndex::highlight(
    const LexicalQuery& query, const std::vector<int64_t>& ids) const {
  std::map<int64_t, Highlight> out;
  if (ids.empty() || fts_match_expression(query).empty()) return out;
  std::string in;
  for (size_t i = 0; i < ids.size(); ++i) in += (i ? "," : "") + std::to_string(ids[i]);
  // The texts by rowid (no MATCH: a lookup per id), marked in-process by mark(). FTS5's own
  // highlight() and snippet() need `MATCH ... AND rowid IN (...)`, which evaluated the whole
  // query again: 6 to 17 ms for 20 books at 74k books, against well under 1 ms this way.
  std::vector<int64_t> found;
  std::vector<std::string> titles, descriptions;
  {
    LM_ASSIGN_OR_RETURN(auto reader, borrow());
    {
      Stmt s(reader->db, "SELECT rowid, title, description FROM fts WHERE rowid IN (" + in + ")");
      if (!s.ok()) return sqlite_error(reader->db, "highlight");
      int rc;
      while ((rc = s.step()) == SQLITE_ROW) {
        found.push_back(s.int_at(0));
        titles.push_back(s.text_at(1));
        descriptions.push_back(s.text_at(2));
      }
      if (rc != SQLITE_DONE) return sqlite_error(reader->db, "highlight");
    }
    give_back(std::move(reader));
  }
  std::vector<MarkText> texts;
  for (size_t i = 0; i < found.size(); ++i) texts.push_back({titles[i], descriptions[i]});
  std::vector<std::string> terms;
  for (const auto& t : query.terms) terms.push_back(t);
  for (const auto& t : query.extra_terms) terms.push_back(t);
  LM_ASSIGN_OR_RETURN(auto marks, mark(terms, texts));
  for (size_t i = 0; i < found.size(); ++i) {
    if (marks[i]) out.emplace(found[i], std::move(*marks[i]));
  }
  return out;
}

namespace {

using Token = std::vector<std::string>;  // a query word's tokens: one, or a phrase

// For each of `tokens`, the occurrence of a phrase it is part of (numbered from 1), or 0.
template <typename DocToken>
std::vector<int> matched_tokens(const std::vector<DocToken>& tokens,
                                const std::vector<Token>& phrases) {
  std::vector<int> hit(tokens.size(), 0);
  int occurrence = 0;
  for (const auto& ph : phrases) {
    if (ph.empty() || ph.size() > tokens.size()) continue;
    for (size_t i = 0; i + ph.size() <= tokens.size(); ++i) {
      size_t k = 0;
      while (k < ph.size() && tokens[i + k].term == ph[k]) ++k;
      if (k == ph.size()) {
        ++occurrence;
        for (k = 0; k < ph.size(); ++k) hit[i + k] = occurrence;
      }
    }
  }
  return hit;
}

// Parts of text[from, to) with the matched tokens in it marked: a phrase's tokens are one part
// (with what separates them), and so are matches separated only by spaces.
template <typename DocToken>
std::vector<SnippetPart> marked_parts(std::string_view text, const std::vector<DocToken>& tokens,
                                      const std::vector<int>& hit, size_t first, size_t last,
                                      int from, int to) {
  std::vector<SnippetPart> parts;
  auto add = [&](int a, int b, bool match) {
    if (b <= a) return;
    std::string piece(text.substr(static_cast<size_t>(a), static_cast<size_t>(b - a)));
    if (!parts.empty() && parts.back().match == match) {
      parts.back().text += piece;
    } else {
      parts.push_back({std::move(piece), match});
    }
  };
  int at = from;
  int previous = 0;  // occurrence of the last marked token
  for (size_t i = first; i < last && i < tokens.size(); ++i) {
    if (hit[i] == 0) continue;
    const bool joins =
        !parts.empty() && parts.back().match &&
        (hit[i] == previous ||
         text.substr(static_cast<size_t>(at), static_cast<size_t>(tokens[i].start - at))
                 .find_first_not_of(' ') == std::string_view::npos);
    previous = hit[i];
    if (joins) {
      parts.back().text += std::string(
          text.substr(static_cast<size_t>(at), static_cast<size_t>(tokens[i].end - at)));
    } else {
      add(at, tokens[i].start, false);
      add(tokens[i].start, tokens[i].end, true);
    }
    at = tokens[i].end;
  }
  add(at, to, false);
  return parts;
}

}  // namespace

core::Result<std::vector<std::optional<Highlight>>> LexicalIndex::mark(
    const std::vector<std::string>& terms, const std::vector<MarkText>& texts) const {
  std::vector<std::optional<Highlight>> out(texts.size());
  if (terms.empty() || texts.empty()) return out;
  LM_ASSIGN_OR_RETURN(auto reader, borrow());
  std::vector<Token> phrases;
  for (const auto& t : terms) {
    LM_ASSIGN_OR_RETURN(auto toks, reader->tokenize(t, FTS5_TOKENIZE_QUERY));
    Token ph;
    for (auto& k : toks) ph.push_back(std::move(k.term));
    if (!ph.empty()) phrases.push_back(std::move(ph));
  }
  for (size_t n = 0; n < texts.size() && !phrases.empty(); ++n) {
    const std::string_view title = texts[n].title, desc = texts[n].description;
    LM_ASSIGN_OR_RETURN(auto ttoks, reader->tokenize(title, FTS5_TOKENIZE_DOCUMENT));
    LM_ASSIGN_OR_RETURN(auto dtoks, reader->tokenize(desc, FTS5_TOKENIZE_DOCUMENT));
    const auto thit = matched_tokens(ttoks, phrases);
    const auto dhit = matched_tokens(dtoks, phrases);
    auto has_hit = [](const std::vector<int>& v) {
      return std::any_of(v.begin(), v.end(), [](int o) { return o != 0; });
    };
    if (!has_hit(thit) && !has_hit(dhit)) continue;
    Highlight h;
    h.title = marked_parts(title, ttoks, thit, 0, ttoks.size(), 0, static_cast<int>(title.size()));
    if (h.title.empty()) h.title.push_back({std::string(title), false});
    // The window: the kSnippetTokens tokens with the most matches (the earliest among equals),
    // then moved left to centre its matches when that leaves room before the first one.
    const size_t window = static_cast<size_t>(kSnippetTokens);
    size_t best = 0, best_hits = 0, hits = 0;
    for (size_t i = 0; i < dtoks.size(); ++i) {
      hits += dhit[i] != 0 ? 1 : 0;
      if (i >= window) hits -= dhit[i - window] != 0 ? 1 : 0;
      const size_t start = i + 1 >= window ? i + 1 - window : 0;
      if (hits > best_hits) {
        best_hits = hits;
        best = start;
      }
    }
    if (best_hits > 0 && dtoks.size() > window) {
      size_t first = dtoks.size(), last = 0;
      for (size_t i = best; i < best + window && i < dtoks.size(); ++i) {
        if (dhit[i] != 0) {
          first = std::min(first, i);
          last = i;
        }
      }
      const size_t span = last - first + 1;  // <= window: both are in it
      best = std::min(first - std::min(first, (window - span) / 2), dtoks.size() - window);
    }
    if (!dtoks.empty()) {
      const size_t end = std::min(dtoks.size(), best + window);
      const int from = best == 0 ? 0 : dtoks[best].start;
      const int to = end == dtoks.size() ? static_cast<int>(desc.size()) : dtoks[end - 1].end;
      h.snippet = marked_parts(desc, dtoks, dhit, best, end, from, to);
      if (best > 0) h.snippet.insert(h.snippet.begin(), SnippetPart{"…", false});
      if (end < dtoks.size()) h.snippet.push_back({"…", false});
    }
    out[n] = std::move(h);
  }
  give_back(std::move(reader));
  return out;
}

}  // namespace libromind::search
