// Admin catalogue writes on both stores: the import's validation, the change sequence moves on
// every write, deletes leave a tombstone, carts lose a deleted book and orders keep it.
#include "catalog/catalog_admin.hpp"

#include <gtest/gtest.h>

#include "../store/test_stores.hpp"
#include "catalog/catalog_service.hpp"
#include "catalog/importer.hpp"
#include "store/migrations.hpp"

namespace libromind::catalog {
namespace {

using store::testing::Backend;
using store::testing::TestDatabase;

nlohmann::json J(const std::string& text) { return nlohmann::json::parse(text); }

class CatalogAdminTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (auto reason = store::testing::skip_reason(GetParam())) GTEST_SKIP() << *reason;
    auto db = TestDatabase::create(GetParam());
    ASSERT_TRUE(db) << db.error().message;
    db_ = std::move(*db);
    auto s = db_->open();
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
    ASSERT_TRUE(store::migrate(*store_));
    admin_ = std::make_unique<CatalogAdmin>(*store_);
    catalog_ = std::make_unique<CatalogService>(*store_);
  }
  void TearDown() override {
    admin_.reset();
    catalog_.reset();
    store_.reset();
    db_.reset();
  }

  int64_t seq() {
    auto conn = store_->acquire(store::Access::kRead);
    return store::as_int((*conn)->query("SELECT change_seq FROM store_meta")->rows[0][0]);
  }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<CatalogAdmin> admin_;
  std::unique_ptr<CatalogService> catalog_;
};

TEST_P(CatalogAdminTest, create_validates_like_an_import_and_moves_the_change_sequence) {
  int64_t before = seq();
  std::vector<FieldError> errors;
  auto id = admin_->create(
      J(R"({"id": "new-1", "title": "A New Book", "authors": ["Writer, Ann"], "genres": ["Poetry"],
          "price_cents": 1500, "stock": 4})"),
      &errors);
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_EQ(*id, "new-1");
  auto b = catalog_->get_book("new-1");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->price_cents, 1500);
  EXPECT_EQ(b->authors.at(0).name, "Writer, Ann");
  EXPECT_GT(seq(), before);
  EXPECT_EQ(b->change_seq, seq());
}

TEST_P(CatalogAdminTest, create_without_an_id_makes_one_and_refuses_duplicates) {
  auto id = admin_->create(J(R"({"title": "Untitled Draft"})"), nullptr);
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_EQ(id->rfind("lm-", 0), 0u);
  EXPECT_TRUE(catalog_->get_book(*id));  // synthetic price and stock, as in an import
  auto dup = admin_->create(J(R"({"id": ")" + *id + R"(", "title": "Again"})"), nullptr);
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().type, "book-exists");
}

TEST_P(CatalogAdminTest, invalid_fields_are_all_reported_and_nothing_is_written) {
  std::vector<FieldError> errors;
  auto r =
      admin_->create(J(R"({"id": "bad-1", "title": "", "year": "soon", "rating": 9})"), &errors);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_GE(errors.size(), 3u);
  EXPECT_FALSE(catalog_->get_book("bad-1"));
  EXPECT_FALSE(admin_->create(J("[1, 2]"), nullptr));
  EXPECT_FALSE(admin_->create(J(R"("not a book")"), nullptr));
}

TEST_P(CatalogAdminTest, replace_needs_an_existing_book_and_a_matching_id) {
  EXPECT_EQ(admin_->replace("missing", J(R"({"title": "X"})"), nullptr).error().code,
            core::ErrorCode::kNotFound);
  ASSERT_TRUE(admin_->create(J(R"({"id": "r-1", "title": "Old Title"})"), nullptr));
  ASSERT_TRUE(admin_->replace("r-1", J(R"({"title": "New Title", "price_cents": 300})"), nullptr));
  EXPECT_EQ(catalog_->get_book("r-1")->title, "New Title");
  EXPECT_FALSE(admin_->replace("r-1", J(R"({"id": "other", "title": "X"})"), nullptr));
}

TEST_P(CatalogAdminTest, patch_changes_price_and_stock_and_stamps_the_book) {
  ASSERT_TRUE(admin_->create(J(R"({"id": "p-1", "title": "Patch Me", "price_cents": 100,
                                 "stock": 1})"),
                             nullptr));
  int64_t before = seq();
  ASSERT_TRUE(admin_->patch("p-1", {250, std::nullopt}));
  auto b = catalog_->get_book("p-1");
  EXPECT_EQ(b->price_cents, 250);
  EXPECT_EQ(b->stock, 1);
  ASSERT_TRUE(admin_->patch("p-1", {std::nullopt, 0}));
  b = catalog_->get_book("p-1");
  EXPECT_EQ(b->stock, 0);
  EXPECT_EQ(b->change_seq, seq());
  EXPECT_GT(seq(), before);
  EXPECT_FALSE(admin_->patch("p-1", {-1, std::nullopt}));
  EXPECT_FALSE(admin_->patch("p-1", {}));
  EXPECT_EQ(admin_->patch("missing", {1, std::nullopt}).error().code, core::ErrorCode::kNotFound);
}

TEST_P(CatalogAdminTest, delete_leaves_a_tombstone_in_the_change_feed) {
  ASSERT_TRUE(
      admin_->create(J(R"({"id": "d-1", "title": "Doomed", "authors": ["A, B"]})"), nullptr));
  ASSERT_TRUE(admin_->remove("d-1"));
  EXPECT_EQ(catalog_->get_book("d-1").error().code, core::ErrorCode::kNotFound);
  auto conn = store_->acquire(store::Access::kRead);
  auto rows = (*conn)->query("SELECT change_seq FROM book_tombstones WHERE ext_id = 'd-1'");
  ASSERT_TRUE(rows && rows->size() == 1);
  EXPECT_EQ(store::as_int(rows->rows[0][0]), seq());
  EXPECT_EQ(admin_->remove("d-1").error().code, core::ErrorCode::kNotFound);
}

INSTANTIATE_TEST_SUITE_P(Stores, CatalogAdminTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const auto& info) { return store::testing::backend_name(info.param); });

}  // namespace
}  // namespace libromind::catalog
