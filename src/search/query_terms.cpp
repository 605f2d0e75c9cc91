#include "search/query_terms.hpp"

#include <utf8proc.h>

#include <algorithm>
#include <cstdlib>
#include <iterator>

namespace libromind::search {
namespace {

// The Snowball English stop list (Martin Porter,
// https://snowballstem.org/algorithms/english/stop.txt, BSD licence; the list Lucene's
// EnglishAnalyzer ships as snowball/english_stop.txt). Its contractions ("don't", "they'll")
// cannot be words here, since words split at the apostrophe, so it lists what they split into
// instead, as NLTK's English list does ("don", "ll", "re", "ve"; one-letter pieces are dropped
// anyway). Left out, as in Snowball, for their homonyms: "can" (tin can), "will", "may",
// "must", "might"; and "won" (won't) and "let" (let's), which are words of their own. Sorted.
constexpr std::string_view kStopWords[] = {
    "a",       "about",   "above",      "after",  "again",    "against",    "all",  "am",
    "an",      "and",     "any",        "are",    "aren",     "as",         "at",   "be",
    "because", "been",    "before",     "being",  "below",    "between",    "both", "but",
    "by",      "cannot",  "could",      "couldn", "did",      "didn",       "do",   "does",
    "doesn",   "doing",   "don",        "down",   "during",   "each",       "few",  "for",
    "from",    "further", "had",        "hadn",   "has",      "hasn",       "have", "haven",
    "having",  "he",      "her",        "here",   "hers",     "herself",    "him",  "himself",
    "his",     "how",     "i",          "if",     "in",       "into",       "is",   "isn",
    "it",      "its",     "itself",     "ll",     "me",       "more",       "most", "mustn",
    "my",      "myself",  "no",         "nor",    "not",      "of",         "off",  "on",
    "once",    "only",    "or",         "other",  "ought",    "our",        "ours", "ourselves",
    "out",     "over",    "own",        "re",     "same",     "shan",       "she",  "should",
    "shouldn", "so",      "some",       "such",   "than",     "that",       "the",  "their",
    "theirs",  "them",    "themselves", "then",   "there",    "these",      "they", "this",
    "those",   "through", "to",         "too",    "under",    "until",      "up",   "ve",
    "very",    "was",     "wasn",       "we",     "were",     "weren",      "what", "when",
    "where",   "which",   "while",      "who",    "whom",     "why",        "with", "would",
    "wouldn",  "you",     "your",       "yours",  "yourself", "yourselves",
};
static_assert(std::is_sorted(std::begin(kStopWords), std::end(kStopWords)));

bool is_word_char(utf8proc_int32_t c, bool inside_word) {
  switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
      return true;
    case UTF8PROC_CATEGORY_MN:  // combining marks belong to the letter before them
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
      return inside_word;
    default:
      return false;
  }
}

// Case folding and NFC of a word that is valid UTF-8 (the scanner only cuts valid code points).
std::string fold(std::string_view word) {
  utf8proc_uint8_t* out = nullptr;
  const auto options =
      static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD);
  const utf8proc_ssize_t n =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(word.data()),
                   static_cast<utf8proc_ssize_t>(word.size()), &out, options);
  if (n < 0) {
    return {};  // cannot happen for valid input; the word is then skipped
  }
  std::string folded(reinterpret_cast<const char*>(out), static_cast<size_t>(n));
  std::free(out);
  return folded;
}

// Calls fn(folded_word, chars) for each word of `query` up to kMaxWordChars code points, in
// order, until fn returns false. `chars` counts the code points before folding.
template <typename Fn>
void for_each_word(std::string_view query, Fn&& fn) {
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(query.data());
  const size_t n = query.size();
  size_t start = 0;  // of the current word
  size_t chars = 0;  // code points in it; 0: not in a word
  auto end_word = [&](size_t end) {
    const size_t c = chars;
    chars = 0;
    if (c == 0 || c > kMaxWordChars) {
      return true;
    }
    std::string folded = fold(query.substr(start, end - start));
    return folded.empty() || fn(std::move(folded), c);
  };
  size_t i = 0;
  while (i < n) {
    utf8proc_int32_t c = -1;
    utf8proc_ssize_t len = 1;
    if (p[i] < 0x80) {
      c = p[i];
    } else {
      len = utf8proc_iterate(p + i, static_cast<utf8proc_ssize_t>(n - i), &c);
      if (len <= 0) {  // an invalid byte separates words
        len = 1;
        c = -1;
      }
    }
    const bool word =
        c >= 0 &&
        (c < 0x80 ? ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
                  : is_word_char(c, chars > 0));
    if (word) {
      if (chars == 0) {
        start = i;
      }
      ++chars;
    } else if (!end_word(i)) {
      return;
    }
    i += static_cast<size_t>(len);
  }
  end_word(n);
}

}  // namespace

bool is_stop_word(std::string_view folded_word) {
  return std::binary_search(std::begin(kStopWords), std::end(kStopWords), folded_word);
}

std::vector<std::string> query_words(std::string_view query) {
  std::vector<std::string> out;
  for_each_word(query, [&](std::string w, size_t) {
    out.push_back(std::move(w));
    return out.size() < kMaxQueryWords;
  });
  return out;
}

std::vector<std::string> content_words(std::string_view query) {
  std::vector<std::string> out;
  for_each_word(query, [&](std::string w, size_t chars) {
    if (chars > 1 && !is_stop_word(w) && std::find(out.begin(), out.end(), w) == out.end()) {
      out.push_back(std::move(w));
    }
    return out.size() < kMaxContentWords;
  });
  return out;
}

bool only_stop_words(std::string_view query) {
  bool any = false;
  bool all = true;
  for_each_word(query, [&](std::string w, size_t) {
    any = true;
    all = is_stop_word(w);
    return all;
  });
  return any && all;
}

}  // namespace libromind::search
