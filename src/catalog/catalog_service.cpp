#include "catalog/catalog_service.hpp"

#include <utf8proc.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "core/text.hpp"

namespace libromind::catalog {
namespace {

using store::Params;
using store::Value;

constexpr const char* kSummaryColumns =
    "b.id, b.ext_id, b.title, b.language, b.year, b.rating, b.popularity, b.cover_url, "
    "b.price_cents, b.currency, b.stock";

std::optional<std::string> opt_string(const Value& v) {
  if (store::is_null(v)) return std::nullopt;
  return store::as_string(v);
}
std::optional<int64_t> opt_int(const Value& v) {
  if (store::is_null(v)) return std::nullopt;
  return store::as_int(v);
}
std::optional<double> opt_double(const Value& v) {
  if (store::is_null(v)) return std::nullopt;
  return store::as_double(v);
}

// Reads the kSummaryColumns (starting at column 0) of one row.
Book read_summary(const std::vector<Value>& r) {
  Book b;
  b.pk = store::as_int(r[0]);
  b.id = store::as_string(r[1]);
  b.title = store::as_string(r[2]);
  b.language = opt_string(r[3]);
  b.year = opt_int(r[4]);
  b.rating = opt_double(r[5]);
  b.popularity = store::as_int(r[6]);
  b.cover_url = opt_string(r[7]);
  b.price_cents = store::as_int(r[8]);
  b.currency = store::as_string(r[9]);
  b.stock = store::as_int(r[10]);
  return b;
}

const char* sort_name(SortKey k) {
  switch (k) {
    case SortKey::kPopularity:
      return "popularity";
    case SortKey::kTitle:
      return "title";
    case SortKey::kYear:
      return "year";
    case SortKey::kPrice:
      return "price";
    case SortKey::kRating:
      return "rating";
  }
  return "popularity";
}

// The expression books are ordered by. NULL years and ratings map to a sentinel that sorts
// last in either direction, so keyset cursors never meet a NULL.
std::string sort_expr(SortKey k, SortOrder o) {
  bool desc = o == SortOrder::kDesc;
  switch (k) {
    case SortKey::kPopularity:
      return "b.popularity";
    case SortKey::kTitle:
      return "b.sort_title";
    case SortKey::kYear:
      return desc ? "COALESCE(b.year, -2147483648)" : "COALESCE(b.year, 2147483647)";
    case SortKey::kPrice:
      return "b.price_cents";
    case SortKey::kRating:
      return desc ? "COALESCE(b.rating, -1.0)" : "COALESCE(b.rating, 1000000.0)";
  }
  return "b.popularity";
}

std::string like_pattern(std::string_view text) {
  std::string out = "%";
  for (char c : search_fold(text)) {
    if (c == '%' || c == '_' || c == '\\') out += '\\';
    out += c;
  }
  out += '%';
  return out;
}

// A fingerprint of everything but the cursor, so a cursor cannot be replayed on another query.
std::string query_fingerprint(const BookQuery& q, SortOrder order) {
  nlohmann::json j = {{"q", q.q.value_or("")},
                      {"g", q.genre.value_or("")},
                      {"a", q.author.value_or(0)},
                      {"l", q.language.value_or("")},
                      {"y0", q.year_min ? *q.year_min : INT64_MIN},
                      {"y1", q.year_max ? *q.year_max : INT64_MAX},
                      {"p0", q.price_min ? *q.price_min : INT64_MIN},
                      {"p1", q.price_max ? *q.price_max : INT64_MAX},
                      {"s", q.in_stock ? (*q.in_stock ? 1 : 0) : -1},
                      {"k", sort_name(q.sort)},
                      {"o", order == SortOrder::kAsc ? "asc" : "desc"}};
  return core::hex(core::fnv1a64(j.dump()));
}

core::Error bad_cursor() {
  return core::Error::invalid("cursor is malformed or belongs to a different query", "cursor");
}

struct Cursor {
  Value key;
  int64_t id = 0;
};

std::string encode_cursor(const std::string& fingerprint, const Value& key, int64_t id) {
  nlohmann::json j = {{"f", fingerprint}, {"i", id}};
  if (std::holds_alternative<int64_t>(key)) {
    j["k"] = std::get<int64_t>(key);
  } else if (std::holds_alternative<double>(key)) {
    j["k"] = std::get<double>(key);
  } else {
    j["k"] = store::as_string(key);
  }
  return core::base64url_encode(j.dump());
}

core::Result<Cursor> decode_cursor(const std::string& text, const std::string& fingerprint,
                                   SortKey sort) {
  auto raw = core::base64url_decode(text);
  if (!raw) return bad_cursor();
  auto j = nlohmann::json::parse(*raw, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("f") || !j.contains("i") ||
      !j.contains("k") || !j["f"].is_string() || !j["i"].is_number_integer()) {
    return bad_cursor();
  }
  if (j["f"].get<std::string>() != fingerprint) return bad_cursor();
  Cursor c;
  c.id = j["i"].get<int64_t>();
  const auto& k = j["k"];
  // The key's type must be the sort key's: the cursor is client input, and the fingerprint only
  // binds it to a query, it does not authenticate it.
  switch (sort) {
    case SortKey::kTitle:
      if (!k.is_string()) return bad_cursor();
      c.key = k.get<std::string>();
      break;
    case SortKey::kRating:
      if (!k.is_number()) return bad_cursor();
      c.key = k.get<double>();
      break;
    case SortKey::kPopularity:
    case SortKey::kYear:
    case SortKey::kPrice:
      if (!k.is_number_integer()) return bad_cursor();
      c.key = k.get<int64_t>();
      break;
  }
  return c;
}

}  // namespace

bool parse_sort_key(std::string_view s, SortKey& out) {
  if (s == "popularity") {
    out = SortKey::kPopularity;
  } else if (s == "title") {
    out = SortKey::kTitle;
  } else if (s == "year") {
    out = SortKey::kYear;
  } else if (s == "price") {
    out = SortKey::kPrice;
  } else if (s == "rating") {
    out = SortKey::kRating;
  } else {
    return false;
  }
  return true;
}

bool parse_sort_order(std::string_view s, SortOrder& out) {
  if (s == "asc") {
    out = SortOrder::kAsc;
  } else if (s == "desc") {
    out = SortOrder::kDesc;
  } else {
    return false;
  }
  return true;
}

SortOrder default_order(SortKey key) {
  return (key == SortKey::kTitle || key == SortKey::kPrice) ? SortOrder::kAsc : SortOrder::kDesc;
}

std::string search_fold(std::string_view s) {
  // Case-folded, accents removed (decomposed, marks stripped, recomposed): "Émile" and "EMILE"
  // both fold to "emile", identically on every store.
  utf8proc_uint8_t* out = nullptr;
  const auto options = static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE |
                                                      UTF8PROC_CASEFOLD | UTF8PROC_STRIPMARK);
  utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data()),
                                    static_cast<utf8proc_ssize_t>(s.size()), &out, options);
  if (n < 0) {
    // Not valid UTF-8 (callers validate first): fall back to ASCII folding.
    return core::to_lower_ascii(s);
  }
  std::string folded(reinterpret_cast<const char*>(out), static_cast<size_t>(n));
  std::free(out);
  return folded;
}

std::string title_sort_key(std::string_view title) {
  std::string t = search_fold(title);
  size_t i = 0;
  while (i < t.size() && !std::isalnum(static_cast<unsigned char>(t[i])) &&
         static_cast<unsigned char>(t[i]) < 0x80) {
    ++i;
  }
  std::string_view v(t);
  v.remove_prefix(i);
  for (std::string_view article : {"the ", "a ", "an "}) {
    if (v.substr(0, article.size()) == article && v.size() > article.size()) {
      v.remove_prefix(article.size());
      break;
    }
  }
  return std::string(v);
}

core::Result<BookPage> CatalogService::list_books(const BookQuery& query) {
  const SortOrder order = query.order.value_or(default_order(query.sort));
  const std::string fingerprint = query_fingerprint(query, order);
  const std::string expr = sort_expr(query.sort, order);
  const bool desc = order == SortOrder::kDesc;

  LM_ASSIGN_OR_RETURN(auto conn, store_.acquire(store::Access::kRead));
  Params params;
  std::string where;
  auto add = [&](const std::string& clause, Value v) {
    params.push_back(std::move(v));
    std::string c = clause;
    auto pos = c.find('?');
    c.replace(pos, 1, "$" + std::to_string(params.size()));
    where += where.empty() ? " WHERE " : " AND ";
    where += c;
  };

  if (query.q && !query.q->empty()) {
    add("b.search_text LIKE ? ESCAPE '\\'", like_pattern(*query.q));
  }
  if (query.genre) {
    // Resolve the genre first: an unknown genre is an empty page, and a known one lets the
    // planner drive the query from the genre's book list.
    LM_ASSIGN_OR_RETURN(auto g,
                        conn->query("SELECT id FROM genres WHERE name = $1", {*query.genre}));
    if (g.empty()) return BookPage{};
    add("b.id IN (SELECT bg.book_id FROM book_genres bg WHERE bg.genre_id = ?)",
        store::as_int(g.rows[0][0]));
  }
  if (query.author) {
    add("b.id IN (SELECT ba.book_id FROM book_authors ba WHERE ba.author_id = ?)", *query.author);
  }
  if (query.language) add("b.language = ?", *query.language);
  if (query.year_min) add("b.year >= ?", *query.year_min);
  if (query.year_max) add("b.year <= ?", *query.year_max);
  if (query.price_min) add("b.price_cents >= ?", *query.price_min);
  if (query.price_max) add("b.price_cents <= ?", *query.price_max);
  if (query.in_stock) {
    where += where.empty() ? " WHERE " : " AND ";
    where += *query.in_stock ? "b.stock > 0" : "b.stock = 0";
  }
  if (query.cursor) {
    LM_ASSIGN_OR_RETURN(Cursor c, decode_cursor(*query.cursor, fingerprint, query.sort));
    params.push_back(c.key);
    params.push_back(c.id);
    where += where.empty() ? " WHERE " : " AND ";
    where += "(" + expr + ", b.id) " + (desc ? "<" : ">") + " ($" +
             std::to_string(params.size() - 1) + ", $" + std::to_string(params.size()) + ")";
  }
  const char* dir = desc ? " DESC" : " ASC";
  params.push_back(int64_t{query.limit + 1});
  std::string sql = std::string("SELECT ") + kSummaryColumns + ", " + expr +
                    " AS sort_key FROM books b" + where + " ORDER BY " + expr + dir + ", b.id" +
                    dir + " LIMIT $" + std::to_string(params.size());
  LM_ASSIGN_OR_RETURN(auto rows, conn->query(sql, params));

  BookPage page;
  std::vector<int64_t> ids;
  Value last_key;
  int64_t last_id = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (static_cast<int>(i) == query.limit) {
      page.has_more = true;
      break;
    }
    const auto& r = rows.rows[i];
    page.items.push_back(read_summary(r));
    ids.push_back(store::as_int(r[0]));
    last_key = r[11];
    last_id = store::as_int(r[0]);
  }
  LM_TRY(attach_authors_and_genres(*conn, page.items, ids));
  if (page.has_more) page.next_cursor = encode_cursor(fingerprint, last_key, last_id);
  return page;
}

core::Result<void> CatalogService::attach_authors_and_genres(store::Connection& conn,
                                                             std::vector<Book>& books,
                                                             const std::vector<int64_t>& ids) {
  if (ids.empty()) return core::ok();
  std::unordered_map<int64_t, size_t> index;
  Params params;
  for (size_t i = 0; i < ids.size(); ++i) {
    index[ids[i]] = i;
    params.push_back(ids[i]);
  }
  const std::string in = store::placeholder_list(1, ids.size());
  LM_ASSIGN_OR_RETURN(auto authors,
                      conn.query("SELECT ba.book_id, a.id, a.name FROM book_authors ba "
                                 "JOIN authors a ON a.id = ba.author_id WHERE ba.book_id IN " +
                                     in + " ORDER BY ba.book_id, ba.position",
                                 params));
  for (const auto& r : authors.rows) {
    books[index[store::as_int(r[0])]].authors.push_back(
        {store::as_int(r[1]), store::as_string(r[2])});
  }
  LM_ASSIGN_OR_RETURN(auto genres,
                      conn.query("SELECT bg.book_id, g.name FROM book_genres bg "
                                 "JOIN genres g ON g.id = bg.genre_id WHERE bg.book_id IN " +
                                     in + " ORDER BY bg.book_id, bg.position",
                                 params));
  for (const auto& r : genres.rows) {
    books[index[store::as_int(r[0])]].genres.push_back(store::as_string(r[1]));
  }
  return core::ok();
}

core::Result<std::vector<Book>> CatalogService::get_books_by_pk(const std::vector<int64_t>& ids) {
  std::vector<Book> out;
  if (ids.empty()) return out;
  LM_ASSIGN_OR_RETURN(auto conn, store_.acquire(store::Access::kRead));
  Params params(ids.begin(), ids.end());
  LM_ASSIGN_OR_RETURN(auto rows, conn->query(std::string("SELECT ") + kSummaryColumns +
                                                 " FROM books b WHERE b.id IN " +
                                                 store::placeholder_list(1, ids.size()),
                                             params));
  std::unordered_map<int64_t, size_t> row_of;
  for (size_t i = 0; i < rows.size(); ++i) row_of.emplace(store::as_int(rows.rows[i][0]), i);
  std::vector<int64_t> found;
  for (int64_t id : ids) {
    auto it = row_of.find(id);
    if (it == row_of.end()) continue;
    out.push_back(read_summary(rows.rows[it->second]));
    found.push_back(id);
    row_of.erase(it);  // a repeated id is shown once
  }
  LM_TRY(attach_authors_and_genres(*conn, out, found));
  return out;
}

core::Result<int64_t> CatalogService::pk_of(const std::string& id) {
  LM_ASSIGN_OR_RETURN(auto conn, store_.acquire(store::Access::kRead));
  LM_ASSIGN_OR_RETURN(auto rows, conn->query("SELECT id FROM books WHERE ext_id = $1", {id}));
  if (rows.empty()) return core::Error::not_found("no book with id '" + id + "'");
  return store::as_int(rows.rows[0][0]);
}

core::Result<Book> CatalogService::get_book(const std::string& id) {
  LM_ASSIGN_OR_RETURN(auto conn, store_.acquire(store::Access::kRead));
  LM_ASSIGN_OR_RETURN(
      auto rows,
      conn->query(std::string("SELECT ") + kSummaryColumns +
                      ", b.description, b.isbn13, b.pages, b.source, b.change_seq, b.created_at, "
                      "b.updated_at FROM books b WHERE b.ext_id = $1",
                  {id}));
  if (rows.empty()) return core::Error::not_found("no book with id '" + id + "'");
  const auto& r = rows.rows[0];
  std::vector<Book> books{read_summary(r)};
  Book& b = books[0];
  b.detailed = true;
  b.description = store::as_string(r[11]);
  b.isbn13 = opt_string(r[12]);
  b.pages = opt_int(r[13]);
  b.source = opt_string(r[14]);
  b.change_seq = store::as_int(r[15]);
  b.created_at = store::as_string(r[16]);
  b.updated_at = store::as_string(r[17]);
  LM_TRY(attach_authors_and_genres(*conn, books, {store::as_int(r[0])}));
  return std::move(books[0]);
}

core::Result<GenrePage> CatalogService::list_genres(const std::optional<std::string>& q, int limit,
                                                    const std::optional<std::string>& cursor) {
  const std::string fingerprint = core::hex(core::fnv1a64("genres:" + q.value_or("")));
  LM_ASSIGN_OR_RETURN(auto conn, store_.acquire(store::Access::kRead));
  Params params;
  std::string where;
  if (q && !q->empty()) {
    params.push_back(like_pattern(*q));
    where = " WHERE g.folded LIKE $1 ESCAPE '\\'";
  }
  std::string having;
  if (cursor) {
    // The cursor is (book_count, name) of the last genre of the previous page.
    auto raw = core::base64url_decode(*cursor);
    auto j = raw ? nlohmann::json::parse(*raw, nullptr, false) : nlohmann::json();
    if (!j.is_object() || !j.contains("f") || !j["f"].is_string() ||
        j["f"].get<std::string>() != fingerprint || !j.contains("n") ||
        !j["n"].is_number_integer() || !j.contains("k") || !j["k"].is_string()) {
      return bad_cursor();
    }
    params.push_back(j["n"].get<int64_t>());
    params.push_back(j["k"].get<std::string>());
    const auto n = std::to_string(params.size() - 1), k = std::to_string(params.size());
    having = " HAVING COUNT(*) < $" + n + " OR (COUNT(*) = $" + n + " AND g.name > $" + k + ")";
  }
  params.push_back(int64_t{limit + 1});
  LM_ASSIGN_OR_RETURN(
      auto rows,
      conn->query("SELECT g.id, g.name, COUNT(*) AS n FROM genres g JOIN book_genres bg "
                  "ON bg.genre_id = g.id" +
                      where + " GROUP BY g.id, g.name" + having +
                      " ORDER BY n DESC, g.name ASC LIMIT $" + std::to_string(params.size()),
                  params));
  GenrePage page;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (static_cast<int>(i) == limit) {
      page.has_more = true;
      break;
    }
    const auto& r = rows.rows[i];
    page.items.push_back({store::as_int(r[0]), store::as_string(r[1]), store::as_int(r[2])});
  }
  if (page.has_more) {
    const auto& last = page.items.back();
    nlohmann::json j = {{"f", fingerprint}, {"n", last.book_count}, {"k", last.name}};
    page.next_cursor = core::base64url_encode(j.dump());
  }
  return page;
}

core::Result<AuthorDetail> CatalogService::get_author(int64_t id, int limit,
                                                      const std::optional<std::string>& cursor) {
  AuthorDetail detail;
  {
    LM_ASSIGN_OR_RETURN(auto conn, store_.acquire(store::Access::kRead));
    LM_ASSIGN_OR_RETURN(
        auto rows, conn->query("SELECT a.id, a.name, (SELECT COUNT(*) FROM book_authors ba WHERE "
                               "ba.author_id = a.id) FROM authors a WHERE a.id = $1",
                               {id}));
    if (rows.empty()) return core::Error::not_found("no author with id " + std::to_string(id));
    detail.id = store::as_int(rows.rows[0][0]);
    detail.name = store::as_string(rows.rows[0][1]);
    detail.book_count = store::as_int(rows.rows[0][2]);
  }
  BookQuery q;
  q.author = id;
  q.limit = limit;
  q.cursor = cursor;
  LM_ASSIGN_OR_RETURN(detail.books, list_books(q));
  return detail;
}

}  // namespace libromind::catalog
