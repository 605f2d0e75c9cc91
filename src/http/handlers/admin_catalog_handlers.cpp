// POST /api/v1/admin/books, PUT/PATCH/DELETE /api/v1/admin/books/{id}: administrators only.
#include "http/handlers/catalog_handlers.hpp"
#include "http/handlers/params.hpp"
#include "http/handlers/shop_routes.hpp"

namespace libromind::http {
namespace {

// Validation problems of a book body, every one of them listed.
Response book_problem(const core::Error& e, const std::vector<catalog::FieldError>& fields,
                      const std::string& request_id) {
  if (fields.empty()) return problem_from_error(e, request_id);
  std::vector<FieldProblem> list;
  for (const auto& f : fields) list.push_back({f.field, f.message});
  if (e.code == core::ErrorCode::kConflict) {
    return problem(409, e.type.empty() ? "conflict" : e.type, "Conflict", e.message, request_id,
                   list);
  }
  return problem(400, "invalid-book", "Invalid book",
                 "the book has " + std::to_string(fields.size()) + " invalid field(s)", request_id,
                 list);
}

}  // namespace

void register_admin_catalog_routes(Router& router, catalog::CatalogAdmin& admin,
                                   catalog::CatalogService& catalog, const Authenticator& auth) {
  static const std::set<std::string> kBookFields{
      "id",          "title",    "authors", "description", "genres",   "year",
      "isbn13",      "pages",    "rating",  "downloads",   "language", "cover_url",
      "price_cents", "currency", "stock",   "source"};

  router.add("POST", "/api/v1/admin/books", [&admin, &catalog, &auth](Request& req) {
    if (auto bad = reject_unknown_params(req, {})) return std::move(*bad);
    auto who = auth.require_admin(req);
    if (!who) return problem_from_error(who.error(), req.request_id);
    auto body = json_body(req, kBookFields);
    if (!body) return problem_from_error(body.error(), req.request_id);
    std::vector<catalog::FieldError> fields;
    auto id = admin.create(*body, &fields);
    if (!id) return book_problem(id.error(), fields, req.request_id);
    return guarded(req, [&]() -> core::Result<Response> {
      LM_ASSIGN_OR_RETURN(auto book, catalog.get_book(*id));
      Response r = json_ok(201, book_json(book));
      r.set_header("Location", "/api/v1/books/" + *id);
      return r;
    });
  });

  router.add("PUT", "/api/v1/admin/books/{id}", [&admin, &catalog, &auth](Request& req) {
    if (auto bad = reject_unknown_params(req, {})) return std::move(*bad);
    auto who = auth.require_admin(req);
    if (!who) return problem_from_error(who.error(), req.request_id);
    const std::string id = req.path_params["id"];
    if (!valid_book_id(id)) {
      return problem_from_error(core::Error::not_found("no book with id '" + id + "'"),
                                req.request_id);
    }
    auto body = json_body(req, kBookFields);
    if (!body) return problem_from_error(body.error(), req.request_id);
    std::vector<catalog::FieldError> fields;
    auto done = admin.replace(id, *body, &fields);
    if (!done) return book_problem(done.error(), fields, req.request_id);
    return guarded(req, [&]() -> core::Result<Response> {
      LM_ASSIGN_OR_RETURN(auto book, catalog.get_book(id));
      return json_ok(200, book_json(book));
    });
  });

  router.add("PATCH", "/api/v1/admin/books/{id}", [&admin, &catalog, &auth](Request& req) {
    if (auto bad = reject_unknown_params(req, {})) return std::move(*bad);
    return guarded(req, [&]() -> core::Result<Response> {
      LM_TRY(auth.require_admin(req));
      const std::string id = req.path_params["id"];
      if (!valid_book_id(id)) return core::Error::not_found("no book with id '" + id + "'");
      LM_ASSIGN_OR_RETURN(auto body, json_body(req, {"price_cents", "stock"}));
      catalog::BookPatch patch;
      LM_ASSIGN_OR_RETURN(patch.price_cents, int_field(body, "price_cents", 0, 100000000));
      LM_ASSIGN_OR_RETURN(patch.stock, int_field(body, "stock", 0, 1000000));
      LM_TRY(admin.patch(id, patch));
      LM_ASSIGN_OR_RETURN(auto book, catalog.get_book(id));
      return json_ok(200, book_json(book));
    });
  });

  router.add("DELETE", "/api/v1/admin/books/{id}", [&admin, &auth](Request& req) {
    if (auto bad = reject_unknown_params(req, {})) return std::move(*bad);
    return guarded(req, [&]() -> core::Result<Response> {
      LM_TRY(auth.require_admin(req));
      const std::string id = req.path_params["id"];
      if (!valid_book_id(id)) return core::Error::not_found("no book with id '" + id + "'");
      LM_TRY(admin.remove(id));
      return no_content();
    });
  });
}

}  // namespace libromind::http
