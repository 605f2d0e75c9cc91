#include "catalog/importer.hpp"

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>

#include "catalog/catalog_service.hpp"
#include "core/text.hpp"
#include "telemetry/log.hpp"

namespace libromind::catalog {
namespace {

using store::Params;
using store::Value;

std::string join(const std::vector<std::string>& parts, const char* sep) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += sep;
    out += p;
  }
  return out;
}

// The record as it will be stored, with synthetic fields filled in.
struct Prepared {
  BookRecord rec;
  int64_t line = 0;
  std::string file;
  std::string hash;
  int64_t price_cents = 0;
  int64_t stock = 0;
  std::string currency;
};

std::string content_hash(const Prepared& p) {
  const auto& r = p.rec;
  nlohmann::json j = {{"id", r.id},
                      {"title", r.title},
                      {"authors", r.authors},
                      {"description", r.description},
                      {"genres", r.genres},
                      {"year", r.year ? nlohmann::json(*r.year) : nlohmann::json()},
                      {"isbn13", r.isbn13 ? nlohmann::json(*r.isbn13) : nlohmann::json()},
                      {"pages", r.pages ? nlohmann::json(*r.pages) : nlohmann::json()},
                      {"rating", r.rating ? nlohmann::json(*r.rating) : nlohmann::json()},
                      {"downloads", r.downloads},
                      {"language", r.language ? nlohmann::json(*r.language) : nlohmann::json()},
                      {"cover_url", r.cover_url ? nlohmann::json(*r.cover_url) : nlohmann::json()},
                      {"price_cents", p.price_cents},
                      {"currency", p.currency},
                      {"stock", p.stock},
                      {"source", r.source ? nlohmann::json(*r.source) : nlohmann::json()}};
  const std::string s = j.dump();
  return core::hex(core::fnv1a64(s)) + core::hex(core::fnv1a64(s, 0x84222325cbf29ce4ULL));
}

template <typename T>
Value opt(const std::optional<T>& v) {
  if (!v) return nullptr;
  if constexpr (std::is_same_v<T, std::string>) {
    return *v;
  } else if constexpr (std::is_floating_point_v<T>) {
    return static_cast<double>(*v);
  } else {
    return static_cast<int64_t>(*v);
  }
}

Prepared prepare(BookRecord rec, int64_t line, const std::string& file) {
  Prepared p;
  p.rec = std::move(rec);
  p.line = line;
  p.file = file;
  p.price_cents =
      p.rec.price_cents.value_or(p.rec.id.empty() ? 0 : synthetic_price_cents(p.rec.id));
  p.stock = p.rec.stock.value_or(p.rec.id.empty() ? 0 : synthetic_stock(p.rec.id));
  p.currency = p.rec.currency.value_or("USD");
  if (p.rec.id.empty() && p.rec.isbn13) {
    // Keyed by isbn13; synthetic fields derive from the isbn so they are stable too.
    if (!p.rec.price_cents) p.price_cents = synthetic_price_cents(*p.rec.isbn13);
    if (!p.rec.stock) p.stock = synthetic_stock(*p.rec.isbn13);
  }
  p.hash = content_hash(p);
  return p;
}

// Inserts names missing from a name table (authors, genres) and returns name -> id.
// Looks up the ids of names in a name table (authors, genres), inserting the missing ones.
// Existing names are looked up first: on PostgreSQL `INSERT ... ON CONFLICT DO NOTHING` would
// consume an identity value for every name that already exists.
core::Result<std::unordered_map<std::string, int64_t>> ensure_names(
    store::Connection& conn, const std::string& table, const std::set<std::string>& names) {
  std::unordered_map<std::string, int64_t> ids;
  std::vector<std::string> all(names.begin(), names.end());
  constexpr size_t kChunk = 500;
  auto lookup = [&](const std::vector<std::string>& chunk) -> core::Result<void> {
    Params params(chunk.begin(), chunk.end());
    LM_ASSIGN_OR_RETURN(auto rows, conn.query("SELECT id, name FROM " + table + " WHERE name IN " +
                                                  store::placeholder_list(1, params.size()),
                                              params));
    for (const auto& r : rows.rows) ids[store::as_string(r[1])] = store::as_int(r[0]);
    return core::ok();
  };
  for (size_t start = 0; start < all.size(); start += kChunk) {
    std::vector<std::string> chunk(
        all.begin() + static_cast<std::ptrdiff_t>(start),
        all.begin() + static_cast<std::ptrdiff_t>(std::min(all.size(), start + kChunk)));
    LM_TRY(lookup(chunk));
    std::vector<std::string> missing;
    for (const auto& name : chunk) {
      if (!ids.count(name)) missing.push_back(name);
    }
    if (missing.empty()) continue;
    Params insert_params;
    std::string values;
    for (size_t i = 0; i < missing.size(); ++i) {
      insert_params.push_back(missing[i]);
      insert_params.push_back(search_fold(missing[i]));
      values += (i ? ", " : "") + store::placeholder_list(2 * i + 1, 2);
    }
    // ON CONFLICT still guards against a concurrent importer inserting the same name.
    LM_TRY(conn.exec("INSERT INTO " + table + " (name, folded) VALUES " + values +
                         " ON CONFLICT (name) DO NOTHING",
                     insert_params));
    LM_TRY(lookup(missing));
  }
  return ids;
}

class BatchWriter {
 public:
  BatchWriter(store::Connection& conn, ImportReport& report) : conn_(conn), report_(report) {}

  // Writes a batch of valid records. Records that clash with the store (an isbn13 owned by
  // another book) come back as errors, and nothing of them is written.
  core::Result<std::vector<FieldError>> write(std::vector<Prepared>& batch) {
    std::vector<FieldError> errors;
    LM_TRY(resolve_ids_by_isbn(batch));
    // Last occurrence of an id within a batch wins, as it would across batches.
    std::map<std::string, size_t> last;
    for (size_t i = 0; i < batch.size(); ++i) last[batch[i].rec.id] = i;

    // Existing hashes and isbn owners.
    Params ids, isbns;
    for (const auto& [id, i] : last) {
      ids.push_back(id);
      if (batch[i].rec.isbn13) isbns.push_back(*batch[i].rec.isbn13);
    }
    std::unordered_map<std::string, std::string> existing_hash;
    {
      LM_ASSIGN_OR_RETURN(auto rows, conn_.query("SELECT ext_id, content_hash FROM books WHERE "
                                                 "ext_id IN " +
                                                     store::placeholder_list(1, ids.size()),
                                                 ids));
      for (const auto& r : rows.rows)
        existing_hash[store::as_string(r[0])] = store::as_string(r[1]);
    }
    std::unordered_map<std::string, std::string> isbn_owner;
    if (!isbns.empty()) {
      LM_ASSIGN_OR_RETURN(auto rows,
                          conn_.query("SELECT isbn13, ext_id FROM books WHERE isbn13 IN " +
                                          store::placeholder_list(1, isbns.size()),
                                      isbns));
      for (const auto& r : rows.rows) isbn_owner[store::as_string(r[0])] = store::as_string(r[1]);
    }

    std::vector<Prepared*> changed;
    std::set<std::string> isbn_in_batch;
    // In file order, so that of two records claiming one isbn13 the first one wins.
    for (size_t i = 0; i < batch.size(); ++i) {
      const std::string& id = batch[i].rec.id;
      if (last[id] != i) continue;
      Prepared& p = batch[i];
      if (p.rec.isbn13) {
        auto it = isbn_owner.find(*p.rec.isbn13);
        if ((it != isbn_owner.end() && it->second != id) || isbn_in_batch.count(*p.rec.isbn13)) {
          errors.push_back({p.file, p.line, "isbn13",
                            "isbn13 " + *p.rec.isbn13 + " already belongs to another book" +
                                (it != isbn_owner.end() ? " (" + it->second + ")" : "")});
          continue;
        }
        isbn_in_batch.insert(*p.rec.isbn13);
      }
      auto h = existing_hash.find(id);
      if (h == existing_hash.end()) {
        ++report_.inserted;
      } else if (h->second == p.hash) {
        ++report_.unchanged;
        continue;
      } else {
        ++report_.updated;
      }
      changed.push_back(&p);
    }
    if (changed.empty()) return errors;

    LM_ASSIGN_OR_RETURN(int64_t seq, next_change_seq(conn_));
    std::set<std::string> author_names, genre_names;
    for (auto* p : changed) {
      author_names.insert(p->rec.authors.begin(), p->rec.authors.end());
      genre_names.insert(p->rec.genres.begin(), p->rec.genres.end());
    }
    LM_ASSIGN_OR_RETURN(auto author_ids, ensure_names(conn_, "authors", author_names));
    LM_ASSIGN_OR_RETURN(auto genre_ids, ensure_names(conn_, "genres", genre_names));

    const std::string now = telemetry::utc_timestamp();
    constexpr size_t kCols = 21;
    Params params;
    std::string values;
    for (auto* p : changed) {
      const auto& r = p->rec;
      const std::string authors_text = join(r.authors, "; ");
      // Title and names are separated by a control character, which a query cannot contain,
      // so a `q` never matches across the end of one and the start of the next.
      const std::string search_text = search_fold(r.title + "\x1f" + join(r.authors, "\x1f"));
      values += (values.empty() ? "" : ", ") + store::placeholder_list(params.size() + 1, kCols);
      params.insert(params.end(), {r.id,
                                   opt(r.isbn13),
                                   r.title,
                                   title_sort_key(r.title),
                                   search_text,
                                   authors_text,
                                   r.description,
                                   opt(r.year),
                                   opt(r.pages),
                                   opt(r.language),
                                   opt(r.rating),
                                   r.downloads,
                                   opt(r.cover_url),
                                   p->price_cents,
                                   p->currency,
                                   p->stock,
                                   opt(r.source),
                                   p->hash,
                                   seq,
                                   now,
                                   now});
    }
    LM_ASSIGN_OR_RETURN(
        auto rows,
        conn_.query(
            "INSERT INTO books (ext_id, isbn13, title, sort_title, search_text, authors_text, "
            "description, year, pages, language, rating, popularity, cover_url, price_cents, "
            "currency, stock, source, content_hash, change_seq, created_at, updated_at) VALUES " +
                values +
                " ON CONFLICT (ext_id) DO UPDATE SET isbn13 = excluded.isbn13, title = "
                "excluded.title, sort_title = excluded.sort_title, search_text = "
                "excluded.search_text, authors_text = excluded.authors_text, description = "
                "excluded.description, year = excluded.year, pages = excluded.pages, language = "
                "excluded.language, rating = excluded.rating, popularity = excluded.popularity, "
                "cover_url = excluded.cover_url, price_cents = excluded.price_cents, currency = "
                "excluded.currency, stock = excluded.stock, source = excluded.source, "
                "content_hash = excluded.content_hash, change_seq = excluded.change_seq, "
                "updated_at = excluded.updated_at RETURNING id, ext_id",
            params));
    std::unordered_map<std::string, int64_t> book_ids;
    Params id_params;
    for (const auto& r : rows.rows) {
      book_ids[store::as_string(r[1])] = store::as_int(r[0]);
      id_params.push_back(store::as_int(r[0]));
      report_.changed_book_ids.push_back(store::as_int(r[0]));
    }
    const std::string in = store::placeholder_list(1, id_params.size());
    LM_TRY(conn_.exec("DELETE FROM book_authors WHERE book_id IN " + in, id_params));
    LM_TRY(conn_.exec("DELETE FROM book_genres WHERE book_id IN " + in, id_params));
    LM_TRY(insert_links(
        changed, book_ids, author_ids, "book_authors", "author_id",
        [](const BookRecord& r) -> const std::vector<std::string>& { return r.authors; }));
    LM_TRY(insert_links(
        changed, book_ids, genre_ids, "book_genres", "genre_id",
        [](const BookRecord& r) -> const std::vector<std::string>& { return r.genres; }));
    return errors;
  }

 private:
  // A record without an id is keyed by its isbn13: the id of the book that has that isbn13,
  // or "isbn-<isbn13>" for a new book.
  core::Result<void> resolve_ids_by_isbn(std::vector<Prepared>& batch) {
    Params isbns;
    for (const auto& p : batch) {
      if (p.rec.id.empty() && p.rec.isbn13) isbns.push_back(*p.rec.isbn13);
    }
    if (isbns.empty()) return core::ok();
    LM_ASSIGN_OR_RETURN(auto rows, conn_.query("SELECT isbn13, ext_id FROM books WHERE isbn13 IN " +
                                                   store::placeholder_list(1, isbns.size()),
                                               isbns));
    std::unordered_map<std::string, std::string> owner;
    for (const auto& r : rows.rows) owner[store::as_string(r[0])] = store::as_string(r[1]);
    // In file order: an earlier record of this batch that claims the isbn13 with an id owns it
    // too (unless a stored book already does).
    for (auto& p : batch) {
      if (!p.rec.isbn13) continue;
      if (!p.rec.id.empty()) {
        owner.emplace(*p.rec.isbn13, p.rec.id);
        continue;
      }
      auto it = owner.find(*p.rec.isbn13);
      p.rec.id = it != owner.end() ? it->second : "isbn-" + *p.rec.isbn13;
      p.hash = content_hash(p);
    }
    return core::ok();
  }

  template <typename Names>
  core::Result<void> insert_links(const std::vector<Prepared*>& changed,
                                  const std::unordered_map<std::string, int64_t>& book_ids,
                                  const std::unordered_map<std::string, int64_t>& name_ids,
                                  const std::string& table, const std::string& column,
                                  Names names_of) {
    Params params;
    std::string values;
    auto flush = [&]() -> core::Result<void> {
      if (params.empty()) return core::ok();
      LM_TRY(conn_.exec(
          "INSERT INTO " + table + " (book_id, " + column + ", position) VALUES " + values,
          params));
      params.clear();
      values.clear();
      return core::ok();
    };
    for (auto* p : changed) {
      const auto& names = names_of(p->rec);
      for (size_t pos = 0; pos < names.size(); ++pos) {
        values += (values.empty() ? "" : ", ") + store::placeholder_list(params.size() + 1, 3);
        params.insert(params.end(),
                      {book_ids.at(p->rec.id), name_ids.at(names[pos]), static_cast<int64_t>(pos)});
        if (params.size() >= 3000) LM_TRY(flush());
      }
    }
    return flush();
  }

  store::Connection& conn_;
  ImportReport& report_;
};

}  // namespace

int64_t synthetic_price_cents(std::string_view id) {
  // $1.99 .. $24.99 in whole-dollar steps.
  return 199 + static_cast<int64_t>(core::fnv1a64(id) % 24) * 100;
}

int64_t synthetic_stock(std::string_view id) {
  // About 1 book in 20 is out of stock; the others have 1..30 copies.
  uint64_t h = core::fnv1a64(id, 0x9e3779b97f4a7c15ULL);
  if (h % 20 == 0) return 0;
  return 1 + static_cast<int64_t>((h >> 8) % 30);
}

core::Result<int64_t> next_change_seq(store::Connection& conn) {
  // One row holds the counter: its row lock orders writers, so sequence numbers follow commit
  // order and a reader that has seen N has seen every change up to N.
  LM_ASSIGN_OR_RETURN(auto rows, conn.query("UPDATE store_meta SET change_seq = change_seq + 1 "
                                            "WHERE id = 1 RETURNING change_seq"));
  if (rows.empty()) return core::Error::internal("store_meta row is missing");
  return store::as_int(rows.rows[0][0]);
}

core::Result<WriteOutcome> write_records(store::Connection& conn, std::vector<BookRecord> records) {
  ImportReport report;
  std::vector<Prepared> batch;
  for (auto& r : records) batch.push_back(prepare(std::move(r), 0, ""));
  BatchWriter writer(conn, report);
  LM_ASSIGN_OR_RETURN(auto errors, writer.write(batch));
  return WriteOutcome{report.inserted, report.updated, report.unchanged, std::move(errors),
                      std::move(report.changed_book_ids)};
}

core::Result<int64_t> count_books(store::Store& store) {
  LM_ASSIGN_OR_RETURN(auto conn, store.acquire(store::Access::kRead));
  LM_ASSIGN_OR_RETURN(auto rows, conn->query("SELECT COUNT(*) FROM books"));
  return store::as_int(rows.rows[0][0]);
}

core::Result<ImportReport> import_files(store::Store& store, const std::vector<std::string>& files,
                                        const ImportOptions& options) {
  ImportReport report;
  // Open every file first: a missing file fails before anything is written.
  struct Source {
    std::string name;
    Format format;
    std::unique_ptr<std::ifstream> in;
  };
  std::vector<Source> sources;
  for (const auto& f : files) {
    LM_ASSIGN_OR_RETURN(Format fmt, detect_format(f));
    auto in = std::make_unique<std::ifstream>(f, std::ios::binary);
    if (!*in) return core::Error::invalid("cannot open import file '" + f + "'", "file");
    sources.push_back({f, fmt, std::move(in)});
  }

  LM_ASSIGN_OR_RETURN(auto conn, store.acquire(store::Access::kWrite));
  LM_TRY(conn->begin());
  BatchWriter writer(*conn, report);
  std::vector<Prepared> batch;
  bool writing = true;  // false once an abort-mode import has seen a bad record
  auto add_errors = [&](const std::vector<FieldError>& errs) {
    for (const auto& e : errs) {
      if (report.errors.size() < options.max_reported_errors) report.errors.push_back(e);
    }
  };
  auto flush = [&]() -> core::Result<void> {
    if (batch.empty()) return core::ok();
    if (writing) {
      LM_ASSIGN_OR_RETURN(auto errs, writer.write(batch));
      if (!errs.empty()) {
        report.failed += static_cast<int64_t>(errs.size());
        add_errors(errs);
        if (options.on_error == OnError::kAbort) writing = false;
      }
    }
    batch.clear();
    if (options.progress) options.progress(report.records_read);
    return core::ok();
  };

  auto fail = [&](const core::Error& e) -> core::Error {
    (void)conn->rollback();
    return e;
  };
  for (auto& src : sources) {
    auto reader = RecordReader::open(*src.in, src.format, src.name);
    if (!reader) return fail(reader.error());
    while (auto rec = reader->next()) {
      ++report.records_read;
      if (!rec->ok()) {
        ++report.failed;
        add_errors(rec->errors());
        if (options.on_error == OnError::kAbort) {
          writing = false;
          batch.clear();
        }
        continue;
      }
      if (options.stop && report.records_read % 500 == 0 && options.stop->load()) {
        return fail(core::Error::unavailable("the import was stopped; nothing was written"));
      }
      if (!writing) continue;  // keep reading to report every error
      batch.push_back(prepare(std::move(rec->record()), rec->line, src.name));
      if (batch.size() >= options.batch_size) {
        auto r = flush();
        if (!r) return fail(r.error());
      }
    }
  }
  if (auto r = flush(); !r) return fail(r.error());

  const bool clean = report.failed == 0 || options.on_error == OnError::kSkip;
  if (options.dry_run || !clean) {
    LM_TRY(conn->rollback());
    if (!clean) {
      report.inserted = report.updated = report.unchanged = 0;
    }
    report.changed_book_ids.clear();
  } else {
    if (options.before_commit) {
      if (auto r = options.before_commit(*conn, report); !r) return fail(r.error());
    }
    LM_TRY(conn->commit());
    report.committed = true;
  }
  return report;
}

}  // namespace libromind::catalog
