// Catalogue reads: book lists with filters, sorts and keyset cursors, book details, genres
// with counts, authors with their books. Works on any store::Store (SQLite or PostgreSQL).
//
//   catalog::CatalogService catalog(store);
//   auto page = catalog.list_books({.genre = "Poetry", .limit = 20});
#pragma once

#include <string>

#include "catalog/model.hpp"
#include "core/result.hpp"
#include "store/store.hpp"

namespace libromind::catalog {

class CatalogService {
 public:
  explicit CatalogService(store::Store& store) : store_(store) {}

  core::Result<BookPage> list_books(const BookQuery& query);
  core::Result<Book> get_book(const std::string& id);
  // Summaries of books by primary key, in the order given (missing ones are left out): search
  // results are ranked ids that are shown with current prices and stock.
  core::Result<std::vector<Book>> get_books_by_pk(const std::vector<int64_t>& ids);
  // The primary key of a public id (not found when there is no such book).
  core::Result<int64_t> pk_of(const std::string& id);
  core::Result<GenrePage> list_genres(const std::optional<std::string>& q, int limit,
                                      const std::optional<std::string>& cursor);
  core::Result<AuthorDetail> get_author(int64_t id, int limit,
                                        const std::optional<std::string>& cursor);

 private:
  core::Result<void> attach_authors_and_genres(store::Connection& conn, std::vector<Book>& books,
                                               const std::vector<int64_t>& ids);
  store::Store& store_;
};

// Lower-cases ASCII letters and folds the text used by the `q` filter (title + authors).
std::string search_fold(std::string_view s);
// The key books sort by title: folded, without leading punctuation and English articles.
std::string title_sort_key(std::string_view title);

}  // namespace libromind::catalog
