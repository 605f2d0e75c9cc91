// Query words: case folding, splitting, stop words and the bounds, on ordinary and hostile input.
#include "search/query_terms.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace libromind::search {
namespace {

using Words = std::vector<std::string>;

TEST(QueryTerms, content_words_drop_stop_words_and_keep_order) {
  EXPECT_EQ(content_words("a slow sad novel about memory and a lost brother"),
            (Words{"slow", "sad", "novel", "memory", "lost", "brother"}));
  EXPECT_EQ(content_words("whaling voyages in the arctic ice"),
            (Words{"whaling", "voyages", "arctic", "ice"}));
}

TEST(QueryTerms, words_are_case_folded_and_split_at_punctuation) {
  EXPECT_EQ(content_words("Haunted-House GHOST story!!"),
            (Words{"haunted", "house", "ghost", "story"}));
  EXPECT_EQ(content_words("\xc3\x89MILE Zola, Stra\xc3\x9f"
                          "e"),  // ÉMILE Zola, Straße
            (Words{"\xc3\xa9mile", "zola", "strasse"}));
  EXPECT_EQ(content_words("one\ttwo\nthree\r\nfour"), (Words{"one", "two", "three", "four"}));
}

TEST(QueryTerms, duplicates_and_one_letter_words_are_dropped) {
  EXPECT_EQ(content_words("Sea sea SEA x y z sea-shanty"), (Words{"sea", "shanty"}));
}

TEST(QueryTerms, digits_are_words) {
  EXPECT_EQ(content_words("1984 orwell 2nd edition"), (Words{"1984", "orwell", "2nd", "edition"}));
  EXPECT_TRUE(content_words("7").empty());
}

TEST(QueryTerms, contractions_leave_no_stop_word_pieces) {
  EXPECT_EQ(content_words("don't you'll they're we've shouldn't"), Words{});
  EXPECT_EQ(content_words("o'brien's novels"), (Words{"brien", "novels"}));
  // A typographic apostrophe splits the same way.
  EXPECT_EQ(content_words("don\xe2\x80\x99t panic"), Words{"panic"});
}

TEST(QueryTerms, combining_marks_stay_inside_their_word) {
  // "cafe" + U+0301: composed to "café" by NFC.
  EXPECT_EQ(content_words("Cafe\xcc\x81 society"), (Words{"caf\xc3\xa9", "society"}));
}

TEST(QueryTerms, non_latin_scripts_are_words_too) {
  // Война и мир: "и" is one letter.
  EXPECT_EQ(
      content_words("\xd0\x92\xd0\xbe\xd0\xb9\xd0\xbd\xd0\xb0 \xd0\xb8 \xd0\xbc\xd0\xb8\xd1\x80"),
      (Words{"\xd0\xb2\xd0\xbe\xd0\xb9\xd0\xbd\xd0\xb0", "\xd0\xbc\xd0\xb8\xd1\x80"}));
  // 海上的小说 has no spaces: one word.
  EXPECT_EQ(content_words("\xe6\xb5\xb7\xe4\xb8\x8a\xe7\x9a\x84\xe5\xb0\x8f\xe8\xaf\xb4"),
            Words{"\xe6\xb5\xb7\xe4\xb8\x8a\xe7\x9a\x84\xe5\xb0\x8f\xe8\xaf\xb4"});
}

TEST(QueryTerms, invalid_utf8_and_control_characters_separate_words) {
  EXPECT_EQ(content_words("ghost\xffstory"), (Words{"ghost", "story"}));
  EXPECT_EQ(content_words("ghost\x01story\x7f"
                          "book"),
            (Words{"ghost", "story", "book"}));
  EXPECT_EQ(content_words(std::string("sea\0ice", 7)), (Words{"sea", "ice"}));
  EXPECT_EQ(content_words("\xc3"), Words{});                     // truncated sequence
  EXPECT_EQ(content_words("\xed\xa0\x80 moon"), Words{"moon"});  // an encoded surrogate
  EXPECT_EQ(content_words("\xc0\xaf moon"), Words{"moon"});      // an overlong "/"
}

TEST(QueryTerms, empty_and_blank_queries_have_no_words) {
  for (const std::string q : {"", " ", "\t\n ", "!!! ??? ...", "\xff\xfe"}) {
    EXPECT_TRUE(content_words(q).empty()) << q;
    EXPECT_TRUE(query_words(q).empty()) << q;
    EXPECT_FALSE(only_stop_words(q)) << q;
  }
}

TEST(QueryTerms, long_queries_are_bounded) {
  std::string q;
  for (int i = 0; i < 2000; ++i) {
    q += "word" + std::to_string(i) + " the ";
  }
  ASSERT_GT(q.size(), 10u * 1024);
  const Words c = content_words(q);
  ASSERT_EQ(c.size(), kMaxContentWords);
  EXPECT_EQ(c.front(), "word0");
  EXPECT_EQ(c.back(), "word31");
  EXPECT_EQ(query_words(q).size(), kMaxQueryWords);
}

TEST(QueryTerms, a_run_too_long_to_be_a_word_is_dropped) {
  EXPECT_EQ(content_words(std::string(10 * 1024, 'a') + " sea"), Words{"sea"});
  EXPECT_EQ(content_words(std::string(kMaxWordChars, 'b')), Words{std::string(kMaxWordChars, 'b')});
}

TEST(QueryTerms, query_words_keep_stop_words_and_duplicates) {
  EXPECT_EQ(query_words("The Sea, the SEA!"), (Words{"the", "sea", "the", "sea"}));
}

TEST(QueryTerms, stop_words_are_snowballs) {
  for (const char* w : {"a", "about", "and", "the", "of", "yourselves", "cannot", "don", "ll"}) {
    EXPECT_TRUE(is_stop_word(w)) << w;
  }
  // Homonyms Snowball leaves in, and ordinary words.
  for (const char* w : {"can", "will", "may", "must", "won", "sea", "book", "", "The"}) {
    EXPECT_FALSE(is_stop_word(w)) << w;
  }
}

TEST(QueryTerms, only_stop_words_is_true_for_queries_of_nothing_but_stop_words) {
  EXPECT_TRUE(only_stop_words("The The"));
  EXPECT_TRUE(only_stop_words("It"));
  EXPECT_TRUE(only_stop_words("to be, or not to be?"));
  EXPECT_FALSE(only_stop_words("the sea"));
  EXPECT_FALSE(only_stop_words("x"));  // one letter, but not a stop word
  std::string many;
  for (int i = 0; i < 3000; ++i) {
    many += "of the ";
  }
  EXPECT_TRUE(only_stop_words(many));
  EXPECT_FALSE(only_stop_words(many + "whales"));
}

}  // namespace
}  // namespace libromind::search
