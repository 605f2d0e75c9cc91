#include "search/offline_expansion.hpp"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "search/query_terms.hpp"

namespace libromind::search {
namespace {

std::string join(const std::vector<std::string>& words) {
  std::string s;
  for (const std::string& w : words) {
    if (!s.empty()) {
      s.push_back(' ');
    }
    s.append(w);
  }
  return s;
}

bool contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// One word of letters and digits, as the query tokenizer would cut it, and not a stop word.
bool bareword(std::string_view term) {
  const std::vector<std::string> w = query_words(term);
  return w.size() == 1 && w[0] == term && !is_stop_word(term);
}

}  // namespace

OfflineExpansionParams default_offline_expansion_params() { return {}; }

OfflineExpansion expand_query_offline(const WordNet& wordnet, std::string_view query,
                                      const OfflineExpansionParams& params) {
  OfflineExpansion out;
  out.words = content_words(query);
  out.synonyms.reserve(out.words.size());
  const size_t per_word = std::max(params.synonyms_per_word, params.max_variants);
  for (const std::string& w : out.words) {
    out.synonyms.push_back(wordnet.synonyms(w, per_word));
  }

  const std::vector<std::string> all = query_words(query);
  const std::string folded = join(all);
  for (size_t i = 0; i < params.max_variants; ++i) {
    std::vector<std::string> words = all;
    bool changed = false;
    for (std::string& w : words) {
      const auto at = std::find(out.words.begin(), out.words.end(), w);
      if (at == out.words.end()) {
        continue;  // a stop word, a one-letter word, or past kMaxContentWords
      }
      const std::vector<std::string>& syn =
          out.synonyms[static_cast<size_t>(at - out.words.begin())];
      if (i < syn.size()) {
        w = syn[i];
        changed = true;
      }
    }
    if (!changed) {
      break;  // no word has an i-th synonym, nor any later one
    }
    std::string v = join(words);
    if (!v.empty() && v != query && v != folded && !contains(out.variants, v)) {
      out.variants.push_back(std::move(v));
    }
  }

  for (size_t rank = 0; out.terms.size() < params.max_terms; ++rank) {
    bool any = false;
    for (size_t k = 0; k < out.synonyms.size() && out.terms.size() < params.max_terms; ++k) {
      if (rank >= out.synonyms[k].size()) {
        continue;
      }
      any = true;
      const std::string& t = out.synonyms[k][rank];
      if (!contains(out.terms, t) && !contains(all, t)) {
        out.terms.push_back(t);
      }
    }
    if (!any) {
      break;
    }
  }
  return out;
}

std::vector<std::string> expand_offline(const WordNet& wordnet, std::string_view query,
                                        size_t max_variants) {
  OfflineExpansionParams p = default_offline_expansion_params();
  p.max_variants = max_variants;
  p.max_terms = 0;
  return expand_query_offline(wordnet, query, p).variants;
}

std::string expansion_terms(const WordNet& wordnet, std::string_view query, size_t max_terms) {
  OfflineExpansionParams p = default_offline_expansion_params();
  p.max_variants = 0;
  // Phrases and hyphenated terms are dropped below; look further so they do not use up the cap.
  p.max_terms = max_terms > SIZE_MAX / 2 ? SIZE_MAX : max_terms * 2;
  std::vector<std::string> kept;
  for (std::string& t : expand_query_offline(wordnet, query, p).terms) {
    if (kept.size() < max_terms && bareword(t)) {
      kept.push_back(std::move(t));
    }
  }
  return join(kept);
}

}  // namespace libromind::search
