// The words of a shopper's query: case-folded, split at everything that is not a letter or a
// digit, with English stop words told apart. Any bytes are accepted (invalid UTF-8 and control
// characters separate words, like punctuation).
//
//   search::content_words("A slow, SAD novel about memory");  // {"slow", "sad", "novel", "memory"}
//   search::query_words("Lives of the Saints");              // {"lives", "of", "the", "saints"}
//   search::only_stop_words("The The");                      // true: search it as written
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace libromind::search {

// content_words keeps at most this many words, query_words at most kMaxQueryWords.
inline constexpr size_t kMaxContentWords = 32;
inline constexpr size_t kMaxQueryWords = 128;
// A run of letters longer than this (in code points) is not a word: it is dropped.
inline constexpr size_t kMaxWordChars = 64;

// True for a word of the English stop list (Snowball's, see query_terms.cpp), given folded.
bool is_stop_word(std::string_view folded_word);

// Every word of the query in order, case-folded (Unicode case folding, NFC), duplicates and
// stop words included, at most kMaxQueryWords.
std::vector<std::string> query_words(std::string_view query);

// The words that carry meaning: query_words without stop words, one-character words and
// duplicates (the first occurrence stays), in order, at most kMaxContentWords.
std::vector<std::string> content_words(std::string_view query);

// True when the query has words and all of them are stop words ("to be or not to be", "It"):
// content_words is then empty, but the query is not, and should be searched as written.
bool only_stop_words(std::string_view query);

}  // namespace libromind::search
