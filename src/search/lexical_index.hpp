// The lexical half of search: an SQLite FTS5 index of the catalogue (title, authors, genres,
// description; Porter stemming over unicode61 with diacritics folded; prefix indexes for
// autocomplete) in a file of its own. It is derived data: built from the store, kept fresh
// from the change feed by one writer, and read by any number of threads at once (WAL mode: a
// refresh never blocks a reader). The file doubles as the snapshot reused at the next start.
//
//   LM_ASSIGN_OR_RETURN(auto index, search::LexicalIndex::open("var/index/lexical.db"));
//   LM_TRY(index->upsert(docs));
//   LM_ASSIGN_OR_RETURN(auto hits, index->search({"whaling voyage", {}, 100}));
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/result.hpp"
#include "search/documents.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace libromind::search {

struct LexicalHit {
  int64_t id = 0;    // books.id
  double score = 0;  // -bm25: higher is better
};

struct LexicalQuery {
  std::vector<std::string> terms;        // the query's content words (all optional: OR)
  std::vector<std::string> extra_terms;  // expansion terms, down-weighted by being OR-ed in
  int limit = 100;
  // 0: score every book that holds any word. N > 0: candidates are the books holding one of
  // the rarer words, taken from the rarest while their books add up to at most N (see search()).
  int64_t candidate_budget = 0;
};

// Field weights of BM25 (title, authors, genres, description).
struct FieldWeights {
  double title = 4.0, authors = 3.0, genres = 2.0, description = 1.0;
};

// One piece of a snippet: text, and whether it matched the query.
struct SnippetPart {
  std::string text;
  bool match = false;
};

struct Highlight {
  std::vector<SnippetPart> title;
  std::vector<SnippetPart> snippet;  // a window of the description around the matches
};

struct Suggestion {
  int64_t id = 0;      // books.id
  std::string ext_id;  // the public id
  std::string title;
  std::string authors;
};

class LexicalIndex {
 public:
  // Opens (or creates) the index at `path`; an empty path makes a private temporary file that
  // is deleted on close. A file with another schema version is recreated empty.
  static core::Result<std::unique_ptr<LexicalIndex>> open(const std::string& path,
                                                          FieldWeights weights = {});
  ~LexicalIndex();
  LexicalIndex(const LexicalIndex&) = delete;
  LexicalIndex& operator=(const LexicalIndex&) = delete;

  // --- writer side (one thread at a time) ---
  // How a write treats the terms table (books per term, which the search reads its word counts
  // and IDF from): kept follows every book in and out; deferred leaves it alone, for a bulk
  // load into a cleared index that then calls recount_terms() once.
  enum class TermCounts { kept, deferred };
  core::Result<void> upsert(const std::vector<SearchDoc>& docs,
                            TermCounts terms = TermCounts::kept);
  // Fills the terms table from FTS5's own vocabulary (fts5vocab): one pass over the index, 1.9 s
  // at 200k books, against 13 s more for a bulk load that counts book by book.
  core::Result<void> recount_terms();
  // Removes by public id; returns the primary keys removed.
  core::Result<std::vector<int64_t>> remove(const std::vector<std::string>& ext_ids);
  core::Result<void> clear();
  // Merges each FTS5 index's segments into one (FTS5 'optimize'). A bulk build leaves a dozen
  // segments, each of which every query term is looked up in: after the initial build of 200k
  // books, merging them made typical OR queries 1.5 to 2 times faster. Readers are not blocked
  // (WAL); later writes add small segments that FTS5's automerge keeps few.
  core::Result<void> optimize();
  // What the index reflects, kept in the file with the documents.
  core::Result<void> set_meta(const std::string& key, const std::string& value);
  core::Result<std::string> meta(const std::string& key);  // "" when unset
  core::Result<int64_t> count();

  // --- reader side (thread-safe) ---
  core::Result<std::vector<LexicalHit>> search(const LexicalQuery& query) const;
  // Titles and authors whose words start with the typed words (the last one as a prefix),
  // best match first, more popular first among equals. When more than kSuggestCandidates books
  // match, the best of the kSuggestCandidates most popular ones.
  static constexpr int64_t kSuggestCandidates = 2000;
  core::Result<std::vector<Suggestion>> suggest(const std::vector<std::string>& words,
                                                int limit) const;
  // mark() of each id's title and description as the index holds them (ids whose title and
  // description hold none of the query's words get no entry).
  core::Result<std::map<int64_t, Highlight>> highlight(const LexicalQuery& query,
                                                       const std::vector<int64_t>& ids) const;

  // The query's words marked in each (title, description), as the index tokenizes them
  // (Porter-stemmed, case and diacritics folded; a word the tokenizer splits is a phrase): the
  // whole title, and a window of about kSnippetTokens tokens of the description around the most
  // matches, with "…" where it was cut. nullopt for a text where no word matches.
  struct MarkText {
    std::string_view title;
    std::string_view description;
  };
  static constexpr int kSnippetTokens = 28;
  core::Result<std::vector<std::optional<Highlight>>> mark(
      const std::vector<std::string>& terms, const std::vector<MarkText>& texts) const;

  const std::string& path() const { return path_; }

 private:
  LexicalIndex() = default;
  struct Reader;
  struct WriterTerms;
  core::Result<std::unique_ptr<Reader>> borrow() const;
  void give_back(std::unique_ptr<Reader> r) const;
  // The terms table's bookkeeping inside upsert() and remove(): books per term to add or
  // subtract; a row of fts (title, authors, genres, description) taken off them; and the
  // changes applied to the table.
  using TermDeltas = std::unordered_map<std::string, int64_t>;
  core::Result<void> uncount_row(sqlite3_stmt* row, TermDeltas* deltas);
  core::Result<void> apply_term_deltas(const TermDeltas& deltas);

  std::string path_;
  bool temporary_ = false;
  FieldWeights weights_;
  sqlite3* writer_ = nullptr;
  std::unique_ptr<WriterTerms> writer_terms_;
  mutable std::mutex readers_mutex_;
  mutable std::vector<std::unique_ptr<Reader>> readers_;
};

// The FTS5 MATCH expression for a query: each term quoted, OR-ed ("" when there are none).
std::string fts_match_expression(const LexicalQuery& query);

}  // namespace libromind::search
