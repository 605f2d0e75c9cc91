// A fresh, migrated store (SQLite, and PostgreSQL when LIBROMIND_TEST_PG_URL is set) holding a
// small hand-written catalogue of 20 books with distinct subjects, genres, languages, years,
// prices and stock, plus helpers for primary keys, the change sequence and temporary dirs.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "../store/store_fixture.hpp"
#include "catalog/importer.hpp"
#include "search/documents.hpp"
#include "store/migrations.hpp"

namespace libromind::search::testing {

using store::testing::Backend;
using store::testing::TestDatabase;

// id, title, authors, description, genres, year, language, price_cents, stock, downloads.
inline const char* const kBooks = R"(
{"id": "s-1", "title": "Moby Dick", "authors": ["Melville, Herman"], "description": "The whaling ship Pequod sails the oceans while its captain hunts the great white whale that took his leg, an obsession that dooms the crew.", "genres": ["Sea Stories", "Adventure"], "year": 1851, "language": "en", "price_cents": 1200, "stock": 5, "downloads": 900}
{"id": "s-2", "title": "The Old Fisherman", "authors": ["Ortega, Luis"], "description": "An old fisherman rows far out into the gulf and fights a giant marlin for three days alone at sea.", "genres": ["Sea Stories"], "year": 1952, "language": "es", "price_cents": 800, "stock": 0, "downloads": 300}
{"id": "s-3", "title": "The Haunting of Hollow House", "authors": ["Grey, Edith"], "description": "A family moves into a crumbling mansion where a ghost walks the corridors at night and the dead will not rest.", "genres": ["Horror", "Gothic Fiction"], "year": 1898, "language": "en", "price_cents": 999, "stock": 3, "downloads": 400}
{"id": "s-4", "title": "Kitchen of the Provinces", "authors": ["Lacroix, Marie"], "description": "Recipes for French country cooking: breads, stews, tarts and desserts from the villages of Provence.", "genres": ["Cookbooks"], "year": 1960, "language": "fr", "price_cents": 2500, "stock": 10, "downloads": 50}
{"id": "s-5", "title": "Stars Over the Desert", "authors": ["Hale, Simon"], "description": "An introduction to astronomy: the planets, the constellations and the telescopes used to observe the night sky.", "genres": ["Science"], "year": 1920, "language": "en", "price_cents": 1500, "stock": 2, "downloads": 120}
{"id": "s-6", "title": "Pride and Prejudice", "authors": ["Austen, Jane"], "description": "Elizabeth Bennet and the proud Mr Darcy misjudge each other in a comedy of manners about marriage and money in rural England.", "genres": ["Romance", "Novels"], "year": 1813, "language": "en", "price_cents": 500, "stock": 20, "downloads": 5000}
{"id": "s-7", "title": "Emma", "authors": ["Austen, Jane"], "description": "A wealthy young woman plays matchmaker for her friends in a small village and misreads every heart, including her own.", "genres": ["Romance", "Novels"], "year": 1815, "language": "en", "price_cents": 450, "stock": 0, "downloads": 3000}
{"id": "s-8", "title": "Twenty Thousand Leagues Under the Sea", "authors": ["Verne, Jules"], "description": "Captain Nemo takes his prisoners across the ocean floor in the submarine Nautilus, past giant squid and sunken cities.", "genres": ["Science-Fiction", "Sea Stories", "Adventure"], "year": 1870, "language": "fr", "price_cents": 700, "stock": 7, "downloads": 2000}
{"id": "s-9", "title": "The War of the Worlds", "authors": ["Wells, H. G."], "description": "Martians land in England and their fighting machines lay waste to London until an unexpected enemy defeats them.", "genres": ["Science-Fiction"], "year": 1898, "language": "en", "price_cents": 650, "stock": 4, "downloads": 2500}
{"id": "s-10", "title": "Dracula", "authors": ["Stoker, Bram"], "description": "A vampire count leaves his castle in Transylvania for England, and a small band of friends hunts him with garlic and stakes.", "genres": ["Horror", "Gothic Fiction"], "year": 1897, "language": "en", "price_cents": 600, "stock": 6, "downloads": 4000}
{"id": "s-11", "title": "A Treatise on Bees", "authors": ["Marsh, Tom"], "description": "How to keep bees: the hive, the queen, swarming, and harvesting honey and wax through the seasons.", "genres": ["Nature", "Science"], "year": 1890, "language": "en", "price_cents": 300, "stock": 1, "downloads": 20}
{"id": "s-12", "title": "Die Nordsee", "authors": ["Heine, Heinrich"], "description": "Poems of the North Sea: storms, waves, sailors and the moonlit shore.", "genres": ["Poetry", "Sea Stories"], "year": 1826, "language": "de", "price_cents": 400, "stock": 2, "downloads": 30}
{"id": "s-13", "title": "The Art of War", "authors": ["Sun, Tzu"], "description": "An ancient treatise on military strategy, deception and the conduct of armies in the field.", "genres": ["Philosophy", "Military"], "year": null, "language": "en", "price_cents": 350, "stock": 8, "downloads": 1500}
{"id": "s-14", "title": "Frankenstein", "authors": ["Shelley, Mary Wollstonecraft"], "description": "A young scientist builds a living creature from dead bodies and flees in horror from what he has made.", "genres": ["Horror", "Science-Fiction", "Gothic Fiction"], "year": 1818, "language": "en", "price_cents": 550, "stock": 3, "downloads": 3500}
{"id": "s-15", "title": "Garden Flowers Through the Year", "authors": ["Bloom, Ivy"], "description": "Planting, pruning and caring for roses, tulips and other garden flowers in every season.", "genres": ["Gardening", "Nature"], "year": 1905, "language": "en", "price_cents": 900, "stock": 0, "downloads": 60}
{"id": "s-16", "title": "The Count of Monte Cristo", "authors": ["Dumas, Alexandre"], "description": "A sailor wrongly imprisoned escapes from an island fortress, finds a hidden treasure and takes his revenge on those who betrayed him.", "genres": ["Adventure", "Novels"], "year": 1844, "language": "fr", "price_cents": 1100, "stock": 2, "downloads": 2200}
{"id": "s-17", "title": "Treasure Island", "authors": ["Stevenson, Robert Louis"], "description": "A boy joins a voyage to find buried pirate treasure and must outwit the one-legged cook Long John Silver.", "genres": ["Adventure", "Sea Stories"], "year": 1883, "language": "en", "price_cents": 800, "stock": 9, "downloads": 2700}
{"id": "s-18", "title": "The Call of the Wild", "authors": ["London, Jack"], "description": "A stolen dog is sold into service pulling sleds in the frozen Klondike and returns to the wild as leader of a wolf pack.", "genres": ["Adventure", "Nature"], "year": 1903, "language": "en", "price_cents": 600, "stock": 5, "downloads": 1800}
{"id": "s-19", "title": "The Adventures of Sherlock Holmes", "authors": ["Doyle, Arthur Conan"], "description": "A brilliant detective and his friend the doctor solve baffling crimes in foggy Victorian London.", "genres": ["Mystery", "Detective Fiction"], "year": 1892, "language": "en", "price_cents": 700, "stock": 12, "downloads": 3900}
{"id": "s-20", "title": "The Time Machine", "authors": ["Wells, H. G."], "description": "A Victorian inventor travels to the far future and finds humanity divided into the gentle Eloi and the underground Morlocks.", "genres": ["Science-Fiction"], "year": 1895, "language": "en", "price_cents": 500, "stock": 0, "downloads": 1700}
)";
inline constexpr int kBookCount = 20;

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("lm_search_test_" + std::to_string(rd()) + "_" + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

// The only file named `name` under `dir` ("" when there is none or several).
inline std::string find_file(const std::filesystem::path& dir, const std::string& name) {
  std::vector<std::string> found;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file() && e.path().filename() == name) found.push_back(e.path().string());
  }
  return found.size() == 1 ? found[0] : "";
}

class SearchStoreTest : public store::testing::StoreTest {
 protected:
  SearchStoreTest() : StoreTest(8) {}

  void SetUp() override {
    StoreTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    const std::string file = (tmp_.path() / "books.jsonl").string();
    {
      std::ofstream out(file);
      out << kBooks;
    }
    auto report = catalog::import_files(*store_, {file}, {});
    ASSERT_TRUE(report) << report.error().message;
    ASSERT_EQ(report->failed, 0) << (report->errors.empty() ? "" : report->errors[0].message);
    ASSERT_EQ(report->inserted, kBookCount);
    auto conn = store_->acquire(store::Access::kRead);
    ASSERT_TRUE(conn);
    auto rows = (*conn)->query("SELECT id, ext_id FROM books");
    ASSERT_TRUE(rows) << rows.error().message;
    for (const auto& r : rows->rows) {
      pk_[store::as_string(r[1])] = store::as_int(r[0]);
      ext_[store::as_int(r[0])] = store::as_string(r[1]);
    }
  }

  int64_t pk(const std::string& ext) const {
    auto it = pk_.find(ext);
    EXPECT_NE(it, pk_.end()) << ext;
    return it == pk_.end() ? -1 : it->second;
  }
  std::string ext(int64_t id) const {
    auto it = ext_.find(id);
    return it == ext_.end() ? "#" + std::to_string(id) : it->second;
  }
  std::set<std::string> exts(const std::vector<int64_t>& ids) const {
    std::set<std::string> out;
    for (int64_t id : ids) out.insert(ext(id));
    return out;
  }
  std::vector<std::string> ext_list(const std::vector<int64_t>& ids) const {
    std::vector<std::string> out;
    for (int64_t id : ids) out.push_back(ext(id));
    return out;
  }
  const std::map<std::string, int64_t>& pks() const { return pk_; }

  int64_t change_seq() {
    auto conn = store_->acquire(store::Access::kRead);
    EXPECT_TRUE(conn);
    if (!conn) return -1;
    auto seq = current_change_seq(**conn);
    EXPECT_TRUE(seq);
    return seq ? *seq : -1;
  }

  // Every book of the store, as the indexes read them.
  std::vector<SearchDoc> docs() {
    auto conn = store_->acquire(store::Access::kRead);
    EXPECT_TRUE(conn);
    auto page = load_docs_by_id(**conn, 0, 1000);
    EXPECT_TRUE(page);
    return page ? *page : std::vector<SearchDoc>{};
  }

  TempDir tmp_;
  std::map<std::string, int64_t> pk_;
  std::map<int64_t, std::string> ext_;
};

}  // namespace libromind::search::testing
