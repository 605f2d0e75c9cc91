// Catalogue writes for administrators: create, replace, patch (price, stock) and delete books.
// Every write goes through the import's validation and upsert code, moves the change
// sequence (derived indexes and the response cache follow it), and a delete leaves a
// tombstone in the change feed.
//
//   catalog::CatalogAdmin admin(store);
//   LM_ASSIGN_OR_RETURN(auto id, admin.create({{"title", "New book"}, {"authors", {"A, B"}}},
//                                             nullptr));
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "catalog/import_parser.hpp"
#include "core/result.hpp"
#include "store/store.hpp"

namespace libromind::catalog {

struct BookPatch {
  std::optional<int64_t> price_cents;  // >= 0
  std::optional<int64_t> stock;        // >= 0
};

// A book is a parsed JSON object with the import's fields (../shared/data/books/README.md);
// the caller has bounded its size and nesting (the HTTP layer does, in json_body).
// Field problems come back as an invalid-argument error whose `fields` lists each one.
struct BookInputError {
  std::vector<FieldError> errors;
};

class CatalogAdmin {
 public:
  explicit CatalogAdmin(store::Store& store) : store_(store) {}

  // Creates a book; without an `id` one is made ("lm-..."). An existing id is a conflict.
  // Returns the book's id. `field_errors` receives validation problems.
  core::Result<std::string> create(const nlohmann::json& book,
                                   std::vector<FieldError>* field_errors);
  // Replaces every field of an existing book (a missing book is not found).
  core::Result<std::string> replace(const std::string& id, const nlohmann::json& book,
                                    std::vector<FieldError>* field_errors);
  core::Result<void> patch(const std::string& id, const BookPatch& patch);
  // Deletes the book; carts lose it, orders keep their lines (title and price paid).
  core::Result<void> remove(const std::string& id);

 private:
  core::Result<std::string> write(nlohmann::json book, const std::string& path_id, bool must_exist,
                                  std::vector<FieldError>* field_errors);
  store::Store& store_;
};

}  // namespace libromind::catalog
