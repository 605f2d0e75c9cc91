// The FTS5 lexical index: BM25 field weights, Porter stemming, folded diacritics, replacement
// and removal, autocomplete, highlights, the file as a snapshot (meta, schema version), and
// queries whose terms carry quotes or FTS5 syntax.
#include "search/lexical_index.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <thread>

namespace libromind::search {
namespace {

SearchDoc doc(int64_t id, std::string ext, std::string title, std::string authors,
              std::string description, std::vector<std::string> genres = {},
              int64_t popularity = 0) {
  SearchDoc d;
  d.id = id;
  d.ext_id = std::move(ext);
  d.title = std::move(title);
  d.authors = std::move(authors);
  d.description = std::move(description);
  d.genres = std::move(genres);
  d.popularity = popularity;
  return d;
}

std::vector<int64_t> ids(const std::vector<LexicalHit>& hits) {
  std::vector<int64_t> out;
  for (const auto& h : hits) out.push_back(h.id);
  return out;
}

std::string joined(const std::vector<SnippetPart>& parts) {
  std::string s;
  for (const auto& p : parts) s += p.text;
  return s;
}

std::vector<std::string> matched(const std::vector<SnippetPart>& parts) {
  std::vector<std::string> out;
  for (const auto& p : parts) {
    if (p.match) out.push_back(p.text);
  }
  return out;
}

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("lm_lexical_test_" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

class LexicalIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = LexicalIndex::open("");
    ASSERT_TRUE(r) << r.error().message;
    index_ = std::move(*r);
    ASSERT_TRUE(index_->upsert({
        doc(1, "b-1", "The Lighthouse", "Woolf, Virginia",
            "A family spends summers on an island in Scotland.", {"Novels"}, 50),
        doc(2, "b-2", "Coastal Tales", "Rowe, Ann",
            "A keeper tends a lighthouse through one long winter.", {"Short Stories"}, 10),
        doc(3, "b-3", "Moby Dick", "Melville, Herman",
            "The whaling ship Pequod hunts the white whale across the oceans.",
            {"Sea Stories", "Adventure"}, 900),
        doc(4, "b-4", "Café Müller", "Bausch, Pina", "Dancers in a café, with chairs.", {"Dance"},
            5),
        doc(5, "b-5", "Emma", "Austen, Jane", "A matchmaker in a village.", {"Novels"}, 10),
        doc(6, "b-6", "Emma", "Austen, Jane", "A matchmaker in a village.", {"Novels"}, 500),
    }));
  }

  std::vector<int64_t> search(std::vector<std::string> terms, std::vector<std::string> extra = {}) {
    auto r = index_->search({std::move(terms), std::move(extra), 100});
    EXPECT_TRUE(r) << r.error().message;
    return r ? ids(*r) : std::vector<int64_t>{};
  }

  std::vector<std::string> suggest_ext(std::vector<std::string> words, int limit = 10) {
    auto r = index_->suggest(words, limit);
    EXPECT_TRUE(r) << r.error().message;
    std::vector<std::string> out;
    if (r) {
      for (const auto& s : *r) out.push_back(s.ext_id);
    }
    return out;
  }

  std::unique_ptr<LexicalIndex> index_;
};

TEST_F(LexicalIndexTest, a_title_match_outranks_a_description_only_match) {
  auto r = index_->search({{"lighthouse"}, {}, 10});
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(ids(*r), (std::vector<int64_t>{1, 2}));
  EXPECT_GT((*r)[0].score, (*r)[1].score);  // -bm25: higher is better
  EXPECT_GT((*r)[1].score, 0);
}

TEST_F(LexicalIndexTest, field_weights_decide_which_field_counts) {
  FieldWeights w;
  w.title = 0.1;
  w.description = 10;
  auto r = LexicalIndex::open("", w);
  ASSERT_TRUE(r) << r.error().message;
  auto& index = **r;
  ASSERT_TRUE(index.upsert(
      {doc(1, "b-1", "The Lighthouse", "", "A family spends summers on an island in Scotland."),
       doc(2, "b-2", "Coastal Tales", "",
           "A keeper tends a lighthouse through one long winter.")}));
  auto hits = index.search({{"lighthouse"}, {}, 10});
  ASSERT_TRUE(hits);
  EXPECT_EQ(ids(*hits), (std::vector<int64_t>{2, 1}));
}

TEST_F(LexicalIndexTest, authors_and_genres_are_searched_too) {
  EXPECT_EQ(search({"melville"}), std::vector<int64_t>{3});
  EXPECT_EQ(search({"adventure"}), std::vector<int64_t>{3});
}

TEST_F(LexicalIndexTest, porter_stemming_joins_inflections) {
  // Porter reduces "whales", "whale" and "whaling" to "whale": one search finds them all.
  EXPECT_EQ(search({"whales"}), std::vector<int64_t>{3});
  EXPECT_EQ(search({"whaled"}), std::vector<int64_t>{3});
  EXPECT_EQ(search({"hunting"}), std::vector<int64_t>{3});  // "hunts"
  EXPECT_EQ(search({"dancer"}), std::vector<int64_t>{4});   // "Dancers"
  EXPECT_EQ(search({"ocean"}), std::vector<int64_t>{3});    // "oceans"
  // It is a suffix stripper, not a lemmatiser: "whaler" keeps its "-er" (too short a stem).
  EXPECT_TRUE(search({"whaler"}).empty());
}

TEST_F(LexicalIndexTest, case_and_diacritics_are_folded_both_ways) {
  EXPECT_EQ(search({"cafe"}), std::vector<int64_t>{4});
  EXPECT_EQ(search({"muller"}), std::vector<int64_t>{4});
  EXPECT_EQ(search({"MÜLLER"}), std::vector<int64_t>{4});
  ASSERT_TRUE(index_->upsert({doc(7, "b-7", "Les Miserables", "Hugo, Victor", "Paris.")}));
  EXPECT_EQ(search({"misérables"}), std::vector<int64_t>{7});
}

TEST_F(LexicalIndexTest, terms_are_or_ed_and_extra_terms_add_matches) {
  auto both = search({"lighthouse", "whale"});
  EXPECT_EQ(std::set<int64_t>(both.begin(), both.end()), (std::set<int64_t>{1, 2, 3}));
  EXPECT_EQ(search({"lighthouse"}, {"matchmaker"}).size(), 4u);
  // An extra term alone still searches.
  EXPECT_EQ(search({}, {"whale"}), std::vector<int64_t>{3});
}

TEST_F(LexicalIndexTest, the_limit_caps_the_hits) {
  auto r = index_->search({{"a", "the", "in"}, {}, 2});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->size(), 2u);
}

TEST_F(LexicalIndexTest, an_upsert_replaces_the_books_text) {
  ASSERT_TRUE(index_->upsert({doc(3, "b-3", "Typee", "Melville, Herman", "Islands.")}));
  EXPECT_TRUE(search({"whale"}).empty());
  EXPECT_EQ(search({"typee"}), std::vector<int64_t>{3});
  auto n = index_->count();
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 6);
  EXPECT_EQ(suggest_ext({"typ"}), std::vector<std::string>{"b-3"});
  EXPECT_TRUE(suggest_ext({"mob"}).empty());
}

TEST_F(LexicalIndexTest, a_public_id_moved_to_another_book_leaves_nothing_behind) {
  // The store gives a book deleted and created again a new primary key under the same id.
  ASSERT_TRUE(index_->upsert({doc(30, "b-3", "Moby Dick", "Melville, Herman", "A whale.")}));
  EXPECT_EQ(search({"whale"}), std::vector<int64_t>{30});
  EXPECT_EQ(search({"pequod"}), std::vector<int64_t>{});
  auto n = index_->count();
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 6);
  auto removed = index_->remove({"b-3"});
  ASSERT_TRUE(removed);
  EXPECT_EQ(*removed, std::vector<int64_t>{30});
  EXPECT_TRUE(search({"whale"}).empty());
}

TEST_F(LexicalIndexTest, remove_by_public_id_returns_the_primary_keys) {
  auto removed = index_->remove({"b-1", "nope", "b-3"});
  ASSERT_TRUE(removed) << removed.error().message;
  EXPECT_EQ(*removed, (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(search({"lighthouse"}), std::vector<int64_t>{2});
  EXPECT_TRUE(search({"whale"}).empty());
  EXPECT_TRUE(suggest_ext({"moby"}).empty());
  auto n = index_->count();
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 4);
  auto again = index_->remove({"b-1"});
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->empty());
  auto none = index_->remove({});
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TEST_F(LexicalIndexTest, clear_empties_the_index_but_keeps_meta) {
  ASSERT_TRUE(index_->set_meta("watermark", "9"));
  ASSERT_TRUE(index_->clear());
  EXPECT_TRUE(search({"whale"}).empty());
  EXPECT_EQ(*index_->count(), 0);
  EXPECT_EQ(*index_->meta("watermark"), "9");
}

TEST_F(LexicalIndexTest, suggest_takes_the_last_word_as_a_prefix) {
  EXPECT_EQ(suggest_ext({"mob"}), std::vector<std::string>{"b-3"});
  EXPECT_EQ(suggest_ext({"m"}).front(), "b-3");  // Moby, Melville, Müller...
  EXPECT_EQ(suggest_ext({"moby", "d"}), std::vector<std::string>{"b-3"});
  // Only the last word is a prefix.
  EXPECT_TRUE(suggest_ext({"mob", "dick"}).empty());
  EXPECT_TRUE(suggest_ext({"zzz"}).empty());
  EXPECT_TRUE(suggest_ext({}).empty());
  EXPECT_TRUE(suggest_ext({"moby"}, 0).empty());
  auto r = index_->suggest({"moby"}, 5);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].id, 3);
  EXPECT_EQ((*r)[0].title, "Moby Dick");
  EXPECT_EQ((*r)[0].authors, "Melville, Herman");
}

TEST_F(LexicalIndexTest, suggest_matches_words_across_title_and_authors) {
  EXPECT_EQ(suggest_ext({"melville", "mo"}), std::vector<std::string>{"b-3"});
  EXPECT_EQ(suggest_ext({"moby", "herm"}), std::vector<std::string>{"b-3"});
  EXPECT_EQ(suggest_ext({"woolf"}), std::vector<std::string>{"b-1"});
  // Description words are not suggested from.
  EXPECT_TRUE(suggest_ext({"pequod"}).empty());
  // Diacritics are folded here too.
  EXPECT_EQ(suggest_ext({"cafe", "mul"}), std::vector<std::string>{"b-4"});
}

TEST_F(LexicalIndexTest, suggest_puts_the_more_popular_first_among_equal_matches) {
  EXPECT_EQ(suggest_ext({"emm"}), (std::vector<std::string>{"b-6", "b-5"}));
  EXPECT_EQ(suggest_ext({"emm"}, 1), std::vector<std::string>{"b-6"});
}

TEST(LexicalSuggest, a_prefix_matching_more_books_than_the_candidates_takes_the_most_popular) {
  auto r = LexicalIndex::open("");
  ASSERT_TRUE(r) << r.error().message;
  LexicalIndex& index = **r;
  std::vector<SearchDoc> docs;
  const int64_t n = LexicalIndex::kSuggestCandidates + 1;
  for (int64_t i = 1; i <= n; ++i) {
    docs.push_back(doc(i, "t-" + std::to_string(i), "Tale number " + std::to_string(i),
                       "Teller, Tom", "", {}, i));  // popularity i
  }
  // The best match ("Tale" alone, the shortest title) but the least popular book.
  docs.push_back(doc(n + 1, "best", "Tale", "Teller, Tom", "", {}, 0));
  ASSERT_TRUE(index.upsert(docs));
  auto ext = [&](std::vector<std::string> words, int limit) {
    auto s = index.suggest(words, limit);
    EXPECT_TRUE(s) << s.error().message;
    std::vector<std::string> out;
    for (const auto& x : *s) out.push_back(x.ext_id);
    return out;
  };
  // Outside the most popular candidates: the best of those, the most popular among equals.
  EXPECT_EQ(ext({"tal"}, 2),
            (std::vector<std::string>{"t-" + std::to_string(n), "t-" + std::to_string(n - 1)}));
  // Made popular (its suggest row moves with its key), it is the first suggestion.
  ASSERT_TRUE(index.upsert({doc(n + 1, "best", "Tale", "Teller, Tom", "", {}, 10 * n)}));
  EXPECT_EQ(ext({"tal"}, 1), std::vector<std::string>{"best"});
  // And made unpopular again, it leaves no row behind under its old key.
  ASSERT_TRUE(index.upsert({doc(n + 1, "best", "Tale", "Teller, Tom", "", {}, 0)}));
  const auto all = ext({"tal"}, 5000);
  EXPECT_EQ(all.size(), static_cast<size_t>(LexicalIndex::kSuggestCandidates));
  EXPECT_EQ(std::count(all.begin(), all.end(), "best"), 0);
  // A removed book is gone from the suggestions ("number 1" matches 1,111 books: all are
  // candidates).
  const auto before = ext({"number", "1"}, 5000);
  EXPECT_EQ(before.size(), 1111u);
  EXPECT_EQ(std::count(before.begin(), before.end(), "t-1"), 1);
  ASSERT_TRUE(index.remove({"t-1"}));
  const auto ones = ext({"number", "1"}, 5000);
  EXPECT_FALSE(ones.empty());
  EXPECT_EQ(std::count(ones.begin(), ones.end(), "t-1"), 0);
}

TEST(LexicalSuggest, a_book_id_outside_the_suggestion_keys_is_refused_whole) {
  auto r = LexicalIndex::open("");
  ASSERT_TRUE(r) << r.error().message;
  auto bad = (*r)->upsert({doc(1, "a", "Fine", "", ""), doc(int64_t{1} << 33, "b", "Big", "", "")});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("outside"), std::string::npos) << bad.error().message;
  EXPECT_EQ(*(*r)->count(), 0);  // nothing of the batch was written
}

TEST_F(LexicalIndexTest, highlight_marks_the_matched_words) {
  auto r = index_->highlight({{"whales", "moby"}, {}, 10}, {3, 1, 99});
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->size(), 1u);  // 1 and 99 do not match
  const Highlight& h = r->at(3);
  EXPECT_EQ(joined(h.title), "Moby Dick");
  EXPECT_EQ(matched(h.title), std::vector<std::string>{"Moby"});
  EXPECT_FALSE(h.title.back().match);
  // The snippet is the description with the stemmed matches marked.
  EXPECT_NE(joined(h.snippet).find("Pequod hunts"), std::string::npos) << joined(h.snippet);
  EXPECT_EQ(matched(h.snippet), (std::vector<std::string>{"whaling", "whale"}));
  for (const auto& p : h.snippet) {
    EXPECT_EQ(p.text.find('\x02'), std::string::npos);
    EXPECT_EQ(p.text.find('\x03'), std::string::npos);
  }
}

TEST_F(LexicalIndexTest, mark_marks_stemmed_folded_words_like_highlight) {
  auto r = index_->mark({"whales", "moby", "cafe"},
                        {{"Moby Dick",
                          "The whaling ship Pequod hunts the white whale across "
                          "the oceans."},
                         {"Café Müller", "Dancers in a café, with chairs."},
                         {"Emma", "A matchmaker in a village."}});
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->size(), 3u);
  ASSERT_TRUE((*r)[0]);
  const Highlight& h = *(*r)[0];
  EXPECT_EQ(joined(h.title), "Moby Dick");
  EXPECT_EQ(matched(h.title), std::vector<std::string>{"Moby"});
  EXPECT_EQ(joined(h.snippet), "The whaling ship Pequod hunts the white whale across the oceans.");
  EXPECT_EQ(matched(h.snippet), (std::vector<std::string>{"whaling", "whale"}));
  ASSERT_TRUE((*r)[1]);
  EXPECT_EQ(matched((*r)[1]->title), std::vector<std::string>{"Café"});
  EXPECT_EQ(matched((*r)[1]->snippet), std::vector<std::string>{"café"});
  EXPECT_FALSE((*r)[2]);  // nothing matches
}

TEST_F(LexicalIndexTest, mark_cuts_a_long_description_around_its_matches) {
  std::string desc;
  for (int i = 0; i < 100; ++i) desc += "word" + std::to_string(i) + " ";
  desc += "the lighthouse keeper's lamp ";
  for (int i = 100; i < 200; ++i) desc += "word" + std::to_string(i) + " ";
  auto r = index_->mark({"lighthouse", "keeper's"}, {{"Lamps", desc}});
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_TRUE((*r)[0]);
  const auto& snip = (*r)[0]->snippet;
  ASSERT_GE(snip.size(), 3u);
  EXPECT_EQ(snip.front().text, "…");
  EXPECT_EQ(snip.back().text, "…");
  // "keeper's" is the phrase keeper + s, marked whole; adjacent matches are one part.
  EXPECT_EQ(matched(snip), std::vector<std::string>{"lighthouse keeper's"});
  // About kSnippetTokens tokens, with the matches in the middle.
  const std::string text = joined(snip);
  EXPECT_NE(text.find("word90 "), std::string::npos) << text;
  EXPECT_NE(text.find("word110"), std::string::npos) << text;
  EXPECT_EQ(text.find("word80 "), std::string::npos) << text;
  EXPECT_EQ(text.find("word120"), std::string::npos) << text;
  // A short description is whole; no terms, no marks.
  auto none = index_->mark({}, {{"Lamps", desc}});
  ASSERT_TRUE(none);
  EXPECT_FALSE((*none)[0]);
  auto odd = index_->mark({"\"", "NEAR(", "*"}, {{"x", "y"}});
  ASSERT_TRUE(odd);
  EXPECT_FALSE((*odd)[0]);
}

TEST_F(LexicalIndexTest, highlight_of_nothing_is_empty) {
  auto none = index_->highlight({{"whale"}, {}, 10}, {});
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  auto no_terms = index_->highlight({{}, {}, 10}, {3});
  ASSERT_TRUE(no_terms);
  EXPECT_TRUE(no_terms->empty());
}

TEST_F(LexicalIndexTest, quotes_and_fts5_syntax_in_terms_are_just_text) {
  for (const std::string t : {"\"",           "\"\"",       "whale\"", "\"whale",
                              "it's",         "AND",        "OR",      "NOT",
                              "NEAR",         "NEAR(whale", "*",       "whale*",
                              "title:whale",  "title:",     "-whale",  "^whale",
                              "(whale)",      "{title}: x", "+",       ":",
                              "''",           "\\",         "%",       "whale OR pequod",
                              "\x01\x02\x03", "a\nb"}) {
    auto r = index_->search({{t}, {}, 10});
    ASSERT_TRUE(r) << "term [" << t << "]: " << r.error().message;
    auto s = index_->suggest({t}, 5);
    ASSERT_TRUE(s) << "suggest [" << t << "]: " << s.error().message;
    auto h = index_->highlight({{t}, {}, 10}, {3});
    ASSERT_TRUE(h) << "highlight [" << t << "]: " << h.error().message;
  }
  // Inside the quotes the syntax characters separate words like spaces.
  for (const std::string t : {"whale\"", "\"whale", "(whale)", "whale*", "^whale", "-whale"}) {
    EXPECT_EQ(search({t}), std::vector<int64_t>{3}) << t;
  }
  // An operator is a word to look for, not an operator.
  EXPECT_TRUE(search({"NOT"}).empty());
  EXPECT_EQ(search({"whale OR pequod"}), std::vector<int64_t>{});  // the phrase is not there
  EXPECT_EQ(search({"white whale"}), std::vector<int64_t>{3});     // this one is
}

TEST_F(LexicalIndexTest, the_match_expression_quotes_every_term) {
  EXPECT_EQ(fts_match_expression({{"a", "b\"c"}, {"d"}, 10}), "\"a\" OR \"b\"\"c\" OR \"d\"");
  EXPECT_EQ(fts_match_expression({{"", "x"}, {""}, 10}), "\"x\"");
  EXPECT_EQ(fts_match_expression({}), "");
}

TEST_F(LexicalIndexTest, an_empty_query_gives_nothing) {
  EXPECT_TRUE(search({}).empty());
  EXPECT_TRUE(search({""}).empty());
  EXPECT_TRUE(search({}, {""}).empty());
  auto zero = index_->search({{"whale"}, {}, 0});
  ASSERT_TRUE(zero);
  EXPECT_TRUE(zero->empty());
  // A term without a word in it matches nothing and fails nothing.
  EXPECT_TRUE(search({"!!!"}).empty());
  EXPECT_EQ(search({"!!!", "whale"}), std::vector<int64_t>{3});
}

TEST_F(LexicalIndexTest, readers_search_while_the_writer_upserts) {
  std::atomic<bool> done{false};
  std::atomic<int> errors{0}, searches{0};
  auto reader = [&] {
    while (!done) {
      auto r = index_->search({{"whale", "book"}, {}, 50});
      if (!r || r->empty()) ++errors;  // Moby Dick is always there
      ++searches;
    }
  };
  std::thread a(reader), b(reader);
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(index_->upsert(
        {doc(100 + i, "n-" + std::to_string(i), "Book " + std::to_string(i), "", "A new book.")}));
  }
  done = true;
  a.join();
  b.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_GT(searches.load(), 0);
  EXPECT_EQ(search({"book"}).size(), 100u);  // the limit of the helper
}

// ---- The candidate budget (pruned BM25) ----

class LexicalBudgetTest : public ::testing::Test {
 protected:
  // 40 books about the sea (a common word), 3 of them about a lighthouse too, 2 others about a
  // lighthouse only, and 1 about a keeper who is also at sea.
  void SetUp() override {
    auto r = LexicalIndex::open("");
    ASSERT_TRUE(r) << r.error().message;
    index_ = std::move(*r);
    std::vector<SearchDoc> docs;
    for (int i = 1; i <= 40; ++i) {
      std::string text = "A voyage on the sea, chapter " + std::to_string(i) + ".";
      if (i <= 3) text += " A lighthouse stands by the sea.";
      if (i == 4) text += " Its keeper writes letters.";
      docs.push_back(doc(i, "s-" + std::to_string(i), "Sea book " + std::to_string(i), "", text));
    }
    docs.push_back(doc(41, "l-1", "The Lighthouse", "", "A lighthouse on a rock."));
    docs.push_back(doc(42, "l-2", "Lamps", "", "A lighthouse keeper's winter."));
    ASSERT_TRUE(index_->upsert(docs));
  }

  std::vector<LexicalHit> run(std::vector<std::string> terms, int64_t budget, int limit = 100) {
    LexicalQuery q{std::move(terms), {}, limit, budget};
    auto r = index_->search(q);
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : std::vector<LexicalHit>{};
  }

  std::unique_ptr<LexicalIndex> index_;
};

TEST_F(LexicalBudgetTest, pruned_search_scores_its_books_exactly_as_the_full_search) {
  const auto full = run({"sea", "lighthouse", "keeper"}, 0);
  const auto pruned = run({"sea", "lighthouse", "keeper"}, 6);  // lighthouse 5 + keeper 2 > 6
  std::map<int64_t, double> full_score;
  for (const auto& h : full) full_score[h.id] = h.score;
  EXPECT_EQ(full.size(), 42u);  // every book holds one of the words
  ASSERT_FALSE(pruned.empty());
  for (const auto& h : pruned) {
    ASSERT_TRUE(full_score.count(h.id)) << h.id;
    EXPECT_EQ(h.score, full_score[h.id]) << h.id;  // the same BM25, bit for bit
  }
  // The candidates are the books with the rarer words (keeper: 2 books, then lighthouse: 5,
  // which would pass the budget, so keeper alone): books 4 and 42.
  EXPECT_EQ(ids(pruned), (std::vector<int64_t>{42, 4}));
  EXPECT_EQ(ids(full).front(), 42);  // and the best of them is the full search's best
}

TEST_F(LexicalBudgetTest, books_with_only_common_words_are_left_out_under_the_budget) {
  const auto pruned = run({"sea", "lighthouse"}, 10);  // lighthouse (5) fits, sea (40) not
  std::set<int64_t> got;
  for (const auto& h : pruned) got.insert(h.id);
  EXPECT_EQ(got, (std::set<int64_t>{1, 2, 3, 41, 42}));
  // They are the full search's top five (a word in 40 of 42 books has next to no IDF).
  const auto full = run({"sea", "lighthouse"}, 0);
  ASSERT_GE(full.size(), 5u);
  std::set<int64_t> full_top5;
  for (size_t i = 0; i < 5; ++i) full_top5.insert(full[i].id);
  EXPECT_EQ(full_top5, got);
}

TEST_F(LexicalBudgetTest, a_budget_that_covers_every_word_is_the_full_search) {
  const auto full = run({"sea", "lighthouse", "keeper"}, 0);
  const auto roomy = run({"sea", "lighthouse", "keeper"}, 1000);
  ASSERT_EQ(ids(roomy), ids(full));
  for (size_t i = 0; i < full.size(); ++i) EXPECT_DOUBLE_EQ(roomy[i].score, full[i].score);
}

TEST_F(LexicalBudgetTest, the_rarest_word_is_a_candidate_word_whatever_the_budget) {
  EXPECT_EQ(run({"sea"}, 1).size(), 40u);  // one word: the full search
  EXPECT_EQ(ids(run({"sea", "keeper"}, 1)), (std::vector<int64_t>{42, 4}));
  // A word the index does not hold costs nothing, finds nothing, and is not the one word.
  EXPECT_EQ(ids(run({"zeppelin", "keeper"}, 1)), (std::vector<int64_t>{42, 4}));
  EXPECT_TRUE(run({"zeppelin"}, 1).empty());
}

TEST_F(LexicalBudgetTest, optimize_changes_no_result_and_later_writes_still_count) {
  // More segments first: one upsert per book rewrites them (each transaction adds a segment).
  for (int i = 5; i <= 40; i += 5) {
    ASSERT_TRUE(index_->upsert({doc(i, "s-" + std::to_string(i), "Sea book " + std::to_string(i),
                                    "", "A voyage on the sea, chapter " + std::to_string(i))}));
  }
  const auto before = run({"sea", "lighthouse", "keeper"}, 0);
  const auto before_pruned = run({"sea", "lighthouse", "keeper"}, 6);
  ASSERT_TRUE(index_->optimize());
  const auto after = run({"sea", "lighthouse", "keeper"}, 0);
  ASSERT_EQ(ids(after), ids(before));
  for (size_t i = 0; i < after.size(); ++i) EXPECT_DOUBLE_EQ(after[i].score, before[i].score);
  EXPECT_EQ(ids(run({"sea", "lighthouse", "keeper"}, 6)), ids(before_pruned));
  auto sug = index_->suggest({"lig"}, 10);
  ASSERT_TRUE(sug) << sug.error().message;
  EXPECT_FALSE(sug->empty());
  // A write after the merge is searchable, and a second merge is harmless.
  ASSERT_TRUE(index_->upsert({doc(43, "k-1", "The Keeper", "", "A keeper alone.")}));
  ASSERT_TRUE(index_->optimize());
  const auto keeper = run({"keeper"}, 0);
  std::set<int64_t> got;
  for (const auto& h : keeper) got.insert(h.id);
  EXPECT_EQ(got, (std::set<int64_t>{4, 42, 43}));
}

TEST_F(LexicalBudgetTest, words_the_tokenizer_splits_and_fts5_syntax_work_pruned) {
  // "keeper's" is the phrase "keeper s"; its count is its rarest token's.
  EXPECT_EQ(ids(run({"sea", "keeper's"}, 3)), (std::vector<int64_t>{42}));
  // A word with no token in it (no phrase to score) changes no score.
  std::map<int64_t, double> full;
  for (const auto& h : run({"sea", "lighthouse", "keeper"}, 0)) full[h.id] = h.score;
  for (const auto& terms : std::vector<std::vector<std::string>>{
           {"!!!", "sea", "lighthouse", "keeper"}, {"sea", "!!!", "lighthouse", "keeper", "..."}}) {
    const auto pruned = run(terms, 6);
    ASSERT_EQ(ids(pruned), (std::vector<int64_t>{42, 4}));
    for (const auto& h : pruned) EXPECT_EQ(h.score, full[h.id]) << h.id;
  }
  for (const std::string t : {"\"", "whale\"", "AND", "NEAR(sea", "*", "title:sea", "(sea)", "''",
                              "\x01\x02", "a\nb", "!!!"}) {
    LexicalQuery q{{t, "sea", "keeper"}, {"lighthouse"}, 10, 1};
    auto r = index_->search(q);
    ASSERT_TRUE(r) << "term [" << t << "]: " << r.error().message;
  }
}

// The terms table against FTS5's own count (fts5vocab reads it from the index itself).
std::map<std::string, int64_t> term_table(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  std::map<std::string, int64_t> out;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  EXPECT_EQ(sqlite3_exec(db, "CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(main, fts, row)",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql, -1, &s, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  while (sqlite3_step(s) == SQLITE_ROW) {
    out[reinterpret_cast<const char*>(sqlite3_column_text(s, 0))] = sqlite3_column_int64(s, 1);
  }
  sqlite3_finalize(s);
  sqlite3_close(db);
  return out;
}

TEST(LexicalIndexFile, the_terms_table_counts_each_terms_books_through_every_kind_of_write) {
  TempDir dir;
  const std::string path = dir.file("lexical.db");
  auto r = LexicalIndex::open(path);
  ASSERT_TRUE(r) << r.error().message;
  LexicalIndex& index = **r;
  const std::vector<std::string> words = {"sea",    "seas",     "Café",   "cafe",    "lighthouse",
                                          "keeper", "keeper's", "whale",  "Whaling", "storm",
                                          "the",    "island",   "Müller", "winter",  "é"};
  std::mt19937 rng(5);
  auto text = [&](int n) {
    std::string t;
    for (int i = 0; i < n; ++i) t += words[rng() % words.size()] + (rng() % 3 == 0 ? ", " : " ");
    return t;
  };
  std::map<std::string, int64_t> key_of;  // public id -> primary key, as the index holds them
  int64_t next_key = 1;
  auto check = [&](int step) {
    const auto table = term_table(path, "SELECT term, docs FROM terms");
    const auto fts5 = term_table(path, "SELECT term, doc FROM vocab");
    ASSERT_EQ(table, fts5) << "after step " << step;
  };
  for (int step = 0; step < 300; ++step) {
    const std::string ext = "b-" + std::to_string(rng() % 40);
    const int what = static_cast<int>(rng() % 10);
    if (what < 6) {  // a new book, or new text for an existing one
      int64_t key = key_of.count(ext) ? key_of[ext] : next_key++;
      key_of[ext] = key;
      std::vector<SearchDoc> batch = {
          doc(key, ext, text(3), text(2), text(12), {text(1), text(1)})};
      if (rng() % 4 == 0) {  // and another in the same upsert
        const std::string ext2 = "c-" + std::to_string(step);
        key_of[ext2] = next_key;
        batch.push_back(doc(next_key++, ext2, text(2), "", text(5)));
      }
      ASSERT_TRUE(index.upsert(batch));
    } else if (what < 8) {  // the public id moves to a new primary key
      key_of[ext] = next_key;
      ASSERT_TRUE(index.upsert({doc(next_key++, ext, text(2), text(1), text(6))}));
    } else {
      ASSERT_TRUE(index.remove({ext, "never-there"}));
      key_of.erase(ext);
    }
    if (step % 25 == 24) check(step);
  }
  EXPECT_FALSE(term_table(path, "SELECT term, docs FROM terms").empty());
  ASSERT_TRUE(index.optimize());
  check(-1);
  ASSERT_TRUE(index.clear());
  EXPECT_TRUE(term_table(path, "SELECT term, docs FROM terms").empty());
  // A bulk load leaves the table alone, and one recount fills it.
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(index.upsert({doc(1000 + i, "d-" + std::to_string(i), text(3), text(2), text(10))},
                             LexicalIndex::TermCounts::deferred));
  }
  EXPECT_TRUE(term_table(path, "SELECT term, docs FROM terms").empty());
  ASSERT_TRUE(index.recount_terms());
  check(-2);
  // And writes after it keep it right.
  ASSERT_TRUE(index.upsert({doc(1000, "d-0", "Storm", "", "A storm at sea.")}));
  ASSERT_TRUE(index.remove({"d-1"}));
  check(-3);
}

TEST(LexicalIndexFile, a_reopened_file_keeps_its_documents_and_meta) {
  TempDir dir;
  const std::string path = dir.file("nested/index/lexical.db");  // directories are created
  {
    auto r = LexicalIndex::open(path);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ((*r)->path(), path);
    ASSERT_TRUE((*r)->upsert({doc(1, "b-1", "Moby Dick", "Melville, Herman", "A whale.")}));
    ASSERT_TRUE((*r)->set_meta("watermark", "42"));
    ASSERT_TRUE((*r)->set_meta("watermark", "43"));  // overwrites
    ASSERT_TRUE((*r)->set_meta("store", "sqlite://x"));
    EXPECT_EQ(*(*r)->meta("unset"), "");
  }
  auto r = LexicalIndex::open(path);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*(*r)->count(), 1);
  EXPECT_EQ(*(*r)->meta("watermark"), "43");
  EXPECT_EQ(*(*r)->meta("store"), "sqlite://x");
  auto hits = (*r)->search({{"whale"}, {}, 10});
  ASSERT_TRUE(hits);
  EXPECT_EQ(ids(*hits), std::vector<int64_t>{1});
  auto sug = (*r)->suggest({"mob"}, 5);
  ASSERT_TRUE(sug);
  EXPECT_EQ(sug->size(), 1u);
}

TEST(LexicalIndexFile, a_file_of_another_schema_version_is_recreated_empty) {
  TempDir dir;
  const std::string path = dir.file("lexical.db");
  {
    auto r = LexicalIndex::open(path);
    ASSERT_TRUE(r);
    ASSERT_TRUE((*r)->upsert({doc(1, "b-1", "Moby Dick", "Melville, Herman", "A whale.")}));
    ASSERT_TRUE((*r)->set_meta("watermark", "42"));
    ASSERT_TRUE((*r)->set_meta("schema", "0"));  // as an older build would have left it
  }
  auto r = LexicalIndex::open(path);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*(*r)->count(), 0);
  EXPECT_EQ(*(*r)->meta("watermark"), "");
  EXPECT_EQ(*(*r)->meta("schema"), "3");
  auto hits = (*r)->search({{"whale"}, {}, 10});
  ASSERT_TRUE(hits);
  EXPECT_TRUE(hits->empty());
  // And it works as a new index.
  ASSERT_TRUE((*r)->upsert({doc(2, "b-2", "Typee", "Melville, Herman", "Islands.")}));
  EXPECT_EQ(*(*r)->count(), 1);
}

TEST(LexicalIndexFile, a_temporary_index_is_deleted_on_close) {
  std::string path;
  {
    auto r = LexicalIndex::open("");
    ASSERT_TRUE(r);
    path = (*r)->path();
    ASSERT_TRUE((*r)->upsert({doc(1, "b-1", "Moby Dick", "", "")}));
    EXPECT_TRUE(std::filesystem::exists(path));
  }
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::exists(path + "-wal"));
}

TEST(LexicalIndexFile, a_file_that_is_not_a_database_is_an_error) {
  TempDir dir;
  const std::string path = dir.file("lexical.db");
  {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::fputs("this is not an SQLite database, just some text long enough to be read", f);
    std::fclose(f);
  }
  auto r = LexicalIndex::open(path);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace libromind::search
