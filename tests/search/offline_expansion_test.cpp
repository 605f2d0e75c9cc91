// Offline query expansion on the real WordNet: the variants and the term bag for shoppers'
// queries, and what comes out of queries WordNet cannot help with.
#include "search/offline_expansion.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "search/query_terms.hpp"

namespace libromind::search {
namespace {

using Words = std::vector<std::string>;

const WordNet& wordnet() {
  static const std::optional<WordNet> wn = [] {
    auto r = WordNet::load("/usr/share/wordnet");
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message) << " (install wordnet-base)";
    return r.ok() ? std::optional<WordNet>(std::move(r).value()) : std::nullopt;
  }();
  if (!wn) {
    std::fprintf(stderr, "WordNet did not load from /usr/share/wordnet\n");
    std::abort();
  }
  return *wn;
}

TEST(OfflineExpansion, variant_i_uses_the_ith_synonym_of_every_word_that_has_one) {
  EXPECT_EQ(expand_offline(wordnet(), "haunted house ghost story"),
            (Words{"obsessed house shade narrative", "preoccupied house spook narration",
                   "taken up house wraith tale"}));
}

TEST(OfflineExpansion, variants_keep_the_stop_words_and_words_without_synonyms) {
  const Words v = expand_offline(wordnet(), "A slow, sad novel about memory and a lost brother");
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0], "a lazy sorrowful novel about remembering and a confused blood brother");
  EXPECT_EQ(v[1], "a sluggish tragic novel about memory and a disoriented brother");
}

TEST(OfflineExpansion, fewer_variants_when_the_words_have_fewer_synonyms) {
  EXPECT_EQ(expand_offline(wordnet(), "spanish novels about the sea and fishermen"),
            Words{"spanish novels about the sea and fisher"});
  EXPECT_EQ(expand_offline(wordnet(), "haunted house ghost story", 1),
            Words{"obsessed house shade narrative"});
  EXPECT_TRUE(expand_offline(wordnet(), "haunted house ghost story", 0).empty());
}

TEST(OfflineExpansion, terms_are_the_added_synonyms_best_first_across_words) {
  const OfflineExpansion e = expand_query_offline(wordnet(), "haunted house ghost story");
  EXPECT_EQ(e.words, (Words{"haunted", "house", "ghost", "story"}));
  ASSERT_EQ(e.synonyms.size(), 4u);
  EXPECT_TRUE(e.synonyms[1].empty());  // house
  EXPECT_EQ(e.terms, (Words{"obsessed", "shade", "narrative", "preoccupied", "spook", "narration",
                            "taken up", "wraith", "tale"}));
}

TEST(OfflineExpansion, the_term_bag_holds_single_words_only) {
  EXPECT_EQ(expansion_terms(wordnet(), "haunted house ghost story"),
            "obsessed shade narrative preoccupied spook narration wraith tale");
  // "blood brother" and "bumper-to-bumper"-like terms would match their parts alone.
  const std::string bag =
      expansion_terms(wordnet(), "a slow sad novel about memory and a lost brother");
  EXPECT_EQ(bag.find("blood"), std::string::npos) << bag;
  EXPECT_NE(bag.find("sorrowful"), std::string::npos) << bag;
  EXPECT_EQ(expansion_terms(wordnet(), "haunted house ghost story", 2), "obsessed shade");
  EXPECT_EQ(expansion_terms(wordnet(), "haunted house ghost story", 0), "");
  for (const std::string q : {"whaling voyages in the arctic ice", "plutarch lives",
                              "a slow sad novel about memory and a lost brother"}) {
    for (const std::string& t : query_words(expansion_terms(wordnet(), q))) {
      EXPECT_TRUE(std::all_of(t.begin(), t.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
      })) << t;
      EXPECT_FALSE(is_stop_word(t)) << t;
    }
  }
}

TEST(OfflineExpansion, never_the_query_itself_never_empty_never_twice_and_deterministic) {
  for (const std::string q :
       {"haunted house ghost story", "whaling voyages in the arctic ice", "plutarch lives",
        "spanish novels about the sea and fishermen", "story", "sad", "Sad Story",
        "a slow sad novel about memory and a lost brother", "ghost ghost ghost"}) {
    const OfflineExpansion e = expand_query_offline(wordnet(), q);
    const std::string folded = [&] {
      std::string s;
      for (const std::string& w : query_words(q)) {
        s += (s.empty() ? "" : " ") + w;
      }
      return s;
    }();
    for (const std::string& v : e.variants) {
      EXPECT_FALSE(v.empty()) << q;
      EXPECT_NE(v, q);
      EXPECT_NE(v, folded);
      EXPECT_EQ(std::count(e.variants.begin(), e.variants.end(), v), 1) << v;
    }
    for (const std::string& t : e.terms) {
      EXPECT_FALSE(t.empty()) << q;
      EXPECT_EQ(std::count(e.terms.begin(), e.terms.end(), t), 1) << t;
      EXPECT_EQ(std::count(e.words.begin(), e.words.end(), t), 0) << t;
    }
    const OfflineExpansion again = expand_query_offline(wordnet(), q);
    EXPECT_EQ(again.variants, e.variants) << q;
    EXPECT_EQ(again.terms, e.terms) << q;
  }
}

TEST(OfflineExpansion, case_and_punctuation_do_not_change_the_expansion) {
  EXPECT_EQ(expand_offline(wordnet(), "HAUNTED House: Ghost-Story!"),
            expand_offline(wordnet(), "haunted house ghost story"));
}

TEST(OfflineExpansion, names_and_unknown_words_give_nothing) {
  EXPECT_TRUE(expand_offline(wordnet(), "plutarch").empty());
  EXPECT_TRUE(expand_offline(wordnet(), "spanish ship").empty());
  EXPECT_EQ(expansion_terms(wordnet(), "qzxv flurbl"), "");
}

TEST(OfflineExpansion, bad_input_gives_nothing_and_does_not_crash) {
  std::string controls;
  for (int c = 0; c < 32; ++c) {
    controls.push_back(static_cast<char>(c));
  }
  const std::vector<std::string> queries = {
      "",
      "   \t\n",
      controls,
      "\xff\xfe\xfd\xc3",
      "\xe6\xb5\xb7\xe4\xb8\x8a\xe7\x9a\x84\xe5\xb0\x8f\xe8\xaf\xb4",  // 海上的小说
      "\xd0\x92\xd0\xbe\xd0\xb9\xd0\xbd\xd0\xb0 \xd0\xb8 \xd0\xbc\xd0\xb8\xd1\x80",  // Война и мир
      "the of and to be or not",
      "It",
  };
  for (const std::string& q : queries) {
    const OfflineExpansion e = expand_query_offline(wordnet(), q);
    EXPECT_TRUE(e.variants.empty()) << q;
    EXPECT_TRUE(e.terms.empty()) << q;
    EXPECT_EQ(expansion_terms(wordnet(), q), "") << q;
  }
}

TEST(OfflineExpansion, a_10_kb_query_gives_bounded_output) {
  std::string q;
  while (q.size() < 10 * 1024) {
    q += "the sad ghost story of a haunted house, \xff\x01 ";
  }
  const OfflineExpansion e = expand_query_offline(wordnet(), q);
  EXPECT_LE(e.words.size(), kMaxContentWords);
  EXPECT_EQ(e.variants.size(), 3u);
  for (const std::string& v : e.variants) {
    EXPECT_LT(v.size(), 4u * 1024) << v.substr(0, 80);
  }
  EXPECT_LE(e.terms.size(), default_offline_expansion_params().max_terms);
  EXPECT_LT(expansion_terms(wordnet(), q).size(), 1024u);
}

}  // namespace
}  // namespace libromind::search
