#include "http/handlers/catalog_handlers.hpp"

#include <nlohmann/json.hpp>

#include "core/text.hpp"
#include "http/handlers/common.hpp"
#include "http/handlers/params.hpp"
#include "http/problem.hpp"

namespace libromind::http {
namespace {

using json = nlohmann::ordered_json;

template <typename T>
json opt(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

}  // namespace

bool valid_book_id(std::string_view id) { return core::is_safe_id(id, 100); }

nlohmann::ordered_json book_json(const catalog::Book& b) {
  json authors = json::array();
  for (const auto& a : b.authors) authors.push_back({{"id", a.id}, {"name", a.name}});
  json j = {{"id", b.id},
            {"title", b.title},
            {"authors", std::move(authors)},
            {"genres", b.genres},
            {"language", opt(b.language)},
            {"year", opt(b.year)},
            {"rating", opt(b.rating)},
            {"popularity", b.popularity},
            {"cover_url", opt(b.cover_url)},
            {"price_cents", b.price_cents},
            {"currency", b.currency},
            {"stock", b.stock},
            {"in_stock", b.stock > 0}};
  if (b.detailed) {
    j["description"] = b.description;
    j["isbn13"] = opt(b.isbn13);
    j["pages"] = opt(b.pages);
    j["source"] = opt(b.source);
    j["change_seq"] = b.change_seq;
    j["created_at"] = b.created_at;
    j["updated_at"] = b.updated_at;
  }
  return j;
}

namespace {

json page_json(const catalog::BookPage& page) {
  json items = json::array();
  for (const auto& b : page.items) items.push_back(book_json(b));
  return {{"items", std::move(items)},
          {"has_more", page.has_more},
          {"next_cursor", opt(page.next_cursor)}};
}

Response ok_json(const json& j) {
  Response r = json_response(200, j.dump(-1, ' ', false, json::error_handler_t::replace));
  r.cacheable = true;
  return r;
}

core::Result<std::optional<std::string>> cursor_param(const QueryParams& q) {
  return string_param(q, "cursor", 512);
}

bool valid_language(std::string_view s) {
  if (s.size() < 2 || s.size() > 8 || !(s[0] >= 'a' && s[0] <= 'z')) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || c == '-')) return false;
  }
  return true;
}

Response list_books(catalog::CatalogService& catalog, Request& req) {
  const auto& q = req.query;
  if (auto bad = reject_unknown_params(
          req, {"q", "genre", "author", "language", "year_min", "year_max", "price_min",
                "price_max", "in_stock", "sort", "order", "limit", "cursor"}))
    return std::move(*bad);
  return guarded(req, [&]() -> core::Result<Response> {
    LM_TRY(q.reject_repeated());
    catalog::BookQuery bq;
    LM_ASSIGN_OR_RETURN(bq.q, string_param(q, "q", 200));
    LM_ASSIGN_OR_RETURN(bq.genre, string_param(q, "genre", 500));
    LM_ASSIGN_OR_RETURN(bq.author, int_param(q, "author", 1, INT64_MAX));
    LM_ASSIGN_OR_RETURN(bq.language, string_param(q, "language", 8));
    if (bq.language && !valid_language(*bq.language)) {
      return core::Error::invalid("language must be a lower-case language code such as 'en'",
                                  "language");
    }
    LM_ASSIGN_OR_RETURN(bq.year_min, int_param(q, "year_min", -5000, 2100));
    LM_ASSIGN_OR_RETURN(bq.year_max, int_param(q, "year_max", -5000, 2100));
    LM_ASSIGN_OR_RETURN(bq.price_min, int_param(q, "price_min", 0, 100000000));
    LM_ASSIGN_OR_RETURN(bq.price_max, int_param(q, "price_max", 0, 100000000));
    LM_ASSIGN_OR_RETURN(bq.in_stock, bool_param(q, "in_stock"));
    if (auto s = q.get("sort"); s && !catalog::parse_sort_key(*s, bq.sort)) {
      return core::Error::invalid("sort must be one of popularity, title, year, price, rating",
                                  "sort");
    }
    if (auto o = q.get("order")) {
      catalog::SortOrder order;
      if (!catalog::parse_sort_order(*o, order)) {
        return core::Error::invalid("order must be asc or desc", "order");
      }
      bq.order = order;
    }
    LM_ASSIGN_OR_RETURN(auto limit, int_param(q, "limit", 1, 100));
    bq.limit = static_cast<int>(limit.value_or(20));
    LM_ASSIGN_OR_RETURN(bq.cursor, cursor_param(q));
    LM_ASSIGN_OR_RETURN(auto page, catalog.list_books(bq));
    return ok_json(page_json(page));
  });
}

Response get_book(catalog::CatalogService& catalog, Request& req) {
  const std::string& id = req.path_params["id"];
  if (auto bad = reject_unknown_params(req, {})) return std::move(*bad);
  if (!valid_book_id(id)) {
    return problem(400, "invalid-parameter", "Invalid parameter",
                   "a book id is 1..100 characters of A-Z a-z 0-9 . _ : -", req.request_id,
                   {{"id", "invalid book id"}});
  }
  return guarded(req, [&]() -> core::Result<Response> {
    LM_ASSIGN_OR_RETURN(auto book, catalog.get_book(id));
    return ok_json(book_json(book));
  });
}

Response list_genres(catalog::CatalogService& catalog, Request& req) {
  const auto& q = req.query;
  if (auto bad = reject_unknown_params(req, {"q", "limit", "cursor"})) return std::move(*bad);
  return guarded(req, [&]() -> core::Result<Response> {
    LM_TRY(q.reject_repeated());
    LM_ASSIGN_OR_RETURN(auto text, string_param(q, "q", 200));
    LM_ASSIGN_OR_RETURN(auto limit, int_param(q, "limit", 1, 1000));
    LM_ASSIGN_OR_RETURN(auto cursor, cursor_param(q));
    LM_ASSIGN_OR_RETURN(auto page,
                        catalog.list_genres(text, static_cast<int>(limit.value_or(100)), cursor));
    json items = json::array();
    for (const auto& g : page.items) {
      items.push_back({{"id", g.id}, {"name", g.name}, {"book_count", g.book_count}});
    }
    json out = {{"items", std::move(items)},
                {"has_more", page.has_more},
                {"next_cursor", opt(page.next_cursor)}};
    return ok_json(out);
  });
}

Response get_author(catalog::CatalogService& catalog, Request& req) {
  const auto& q = req.query;
  if (auto bad = reject_unknown_params(req, {"limit", "cursor"})) return std::move(*bad);
  return guarded(req, [&]() -> core::Result<Response> {
    LM_TRY(q.reject_repeated());
    auto id = core::parse_int(req.path_params["id"]);
    if (!id || *id < 1) return core::Error::invalid("author id must be a positive integer", "id");
    LM_ASSIGN_OR_RETURN(auto limit, int_param(q, "limit", 1, 100));
    LM_ASSIGN_OR_RETURN(auto cursor, cursor_param(q));
    LM_ASSIGN_OR_RETURN(auto a,
                        catalog.get_author(*id, static_cast<int>(limit.value_or(20)), cursor));
    json page = page_json(a.books);
    json out = {{"id", a.id},
                {"name", a.name},
                {"book_count", a.book_count},
                {"books", std::move(page["items"])},
                {"has_more", a.books.has_more},
                {"next_cursor", opt(a.books.next_cursor)}};
    return ok_json(out);
  });
}

}  // namespace

void register_catalog_routes(Router& router, catalog::CatalogService& catalog) {
  const RouteOptions cached{.cacheable = true};
  router.add(
      "GET", "/api/v1/books", [&catalog](Request& r) { return list_books(catalog, r); }, cached);
  router.add(
      "GET", "/api/v1/books/{id}", [&catalog](Request& r) { return get_book(catalog, r); }, cached);
  router.add(
      "GET", "/api/v1/genres", [&catalog](Request& r) { return list_genres(catalog, r); }, cached);
  router.add(
      "GET", "/api/v1/authors/{id}", [&catalog](Request& r) { return get_author(catalog, r); },
      cached);
}

}  // namespace libromind::http
