// libFuzzer target: the WordNet line parsers and the query-word splitter on arbitrary bytes, and,
// when a WordNet database loads (LIBROMIND_FUZZ_WORDNET, default /usr/share/wordnet), morphy,
// the synonyms and the offline expansion of the input as a query. The first byte picks what the
// rest is: 0 an index line, 1 a data line, 2 a query. Checks: parsed views lie inside the line
// and counts match; words are valid UTF-8, bounded and unique; synonyms and variants are clean.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/text.hpp"
#include "search/offline_expansion.hpp"
#include "search/query_terms.hpp"
#include "search/wordnet.hpp"

namespace {

using namespace libromind::search;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
  }
}

bool inside(std::string_view part, std::string_view whole) {
  return part.empty() ||
         (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

const WordNet* wordnet() {
  static const std::unique_ptr<WordNet> wn = []() -> std::unique_ptr<WordNet> {
    const char* dir = std::getenv("LIBROMIND_FUZZ_WORDNET");
    auto r = WordNet::load(dir != nullptr && *dir != '\0' ? dir : "/usr/share/wordnet");
    if (!r) {
      std::fprintf(stderr, "fuzz_wordnet: no WordNet (%s); parsers and words only\n",
                   r.error().message.c_str());
      return nullptr;
    }
    return std::make_unique<WordNet>(std::move(r).value());
  }();
  return wn.get();
}

void fuzz_index_line(std::string_view line) {
  auto r = parse_index_line(line);
  if (!r) {
    check(!r.error().message.empty(), "errors say what is wrong");
    return;
  }
  check(!r->lemma.empty() && inside(r->lemma, line), "lemma inside the line");
  check(!r->synset_offsets.empty(), "at least one synset");
  check(r->tagged_senses <= r->synset_offsets.size(), "tagged senses are senses");
}

void fuzz_data_line(std::string_view line) {
  auto r = parse_data_line(line);
  if (!r) {
    check(!r.error().message.empty(), "errors say what is wrong");
    return;
  }
  check(!r->words.empty() && r->words.size() <= 0xFF, "1..255 words");
  for (const WordNetWord& w : r->words) {
    check(!w.text.empty() && inside(w.text, line), "word inside the line");
    check(w.lex_id <= 0xF, "lex_id is one hex digit");
  }
  check(r->pointers.size() <= 999, "p_cnt has three digits");
  for (const WordNetPointer& p : r->pointers) {
    check(!p.symbol.empty() && p.symbol.size() <= 2 && inside(p.symbol, line), "pointer symbol");
  }
  check(inside(r->gloss, line), "gloss inside the line");
  check(std::string_view("nvasr").find(r->ss_type) != std::string_view::npos, "ss_type");
}

void check_clean(const std::string& s, const char* what) {
  check(!s.empty(), what);
  check(std::none_of(s.begin(), s.end(),
                     [](char c) { return c == '_' || (c >= 'A' && c <= 'Z') || c < 0x20; }),
        what);
}

void fuzz_query(std::string_view query) {
  const std::vector<std::string> words = content_words(query);
  check(words.size() <= kMaxContentWords, "content words bounded");
  for (size_t i = 0; i < words.size(); ++i) {
    check(!words[i].empty() && libromind::core::is_valid_utf8(words[i]), "words are UTF-8");
    check(!is_stop_word(words[i]), "no stop words");
    check(std::count(words.begin(), words.end(), words[i]) == 1, "no duplicates");
  }
  const std::vector<std::string> all = query_words(query);
  check(all.size() <= kMaxQueryWords, "query words bounded");
  for (const std::string& w : all) {
    check(!w.empty() && libromind::core::is_valid_utf8(w), "query words are UTF-8");
  }
  if (only_stop_words(query)) {
    check(words.empty() && !all.empty(), "only stop words: no content words");
  }

  const WordNet* wn = wordnet();
  if (wn == nullptr) {
    return;
  }
  for (const std::string& w : wn->base_forms(query)) {
    check_clean(w, "base forms are lemmas");
  }
  const std::vector<std::string> syn = wn->synonyms(query, 5);
  check(syn.size() <= 5, "synonyms bounded");
  for (const std::string& s : syn) {
    check_clean(s, "synonyms are clean");
  }
  const OfflineExpansion e = expand_query_offline(*wn, query);
  check(e.variants.size() <= 3, "variants bounded");
  for (const std::string& v : e.variants) {
    check(!v.empty() && v != query && libromind::core::is_valid_utf8(v), "variants are new text");
  }
  const std::string bag = expansion_terms(*wn, query);
  check(bag.empty() || (bag.front() != ' ' && bag.back() != ' '), "bag is space-joined");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 3) {
    case 0:
      fuzz_index_line(rest);
      break;
    case 1:
      fuzz_data_line(rest);
      break;
    default:
      fuzz_query(rest);
      break;
  }
  return 0;
}
