// Query expansion without a model server: the fallback for the LLM expander, from WordNet
// synonyms of the query's content words. Deterministic, a few microseconds per query. Two forms,
// from one computation (expand_query_offline):
//  - variants: the query rewritten, for stages that take whole queries (dense retrieval, the
//    LLM expander's slot in fusion). Variant i puts the i-th synonym in place of every content
//    word that has one; the words are the query's, case-folded, joined by single spaces;
//  - terms: the added synonyms as a bag, for the lexical stage to OR into its FTS query.
//
//   auto wn = search::WordNet::load();
//   search::expand_offline(*wn, "haunted house ghost story");
//     // {"obsessed house shade narrative", "preoccupied house spook narration",
//     //  "taken up house wraith tale"}
//   search::expansion_terms(*wn, "haunted house ghost story");
//     // "obsessed shade narrative preoccupied spook narration wraith tale"
//
// Words WordNet does not know (names, other languages) are kept as they are; a query with no
// synonyms at all has no variants and no terms.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "search/wordnet.hpp"

namespace libromind::search {

struct OfflineExpansionParams {
  size_t max_variants = 3;       // rewritten queries at most
  size_t synonyms_per_word = 3;  // synonyms looked up per content word (variants use the first
                                 // max_variants of them, terms all)
  size_t max_terms = 12;         // added terms at most
};

OfflineExpansionParams default_offline_expansion_params();

struct OfflineExpansion {
  std::vector<std::string> words;                  // content_words(query)
  std::vector<std::vector<std::string>> synonyms;  // of each of `words`, best first; may be empty
  // Rewritten queries: never empty, never the query itself (nor its folded form), no
  // duplicates; fewer than max_variants when the words have fewer synonyms.
  std::vector<std::string> variants;
  // The synonyms, best first across words (every word's first synonym, then every second one),
  // without duplicates and without words of the query; phrases ("ocean trip") included.
  std::vector<std::string> terms;
};

OfflineExpansion expand_query_offline(
    const WordNet& wordnet, std::string_view query,
    const OfflineExpansionParams& params = default_offline_expansion_params());

// The variants of expand_query_offline.
std::vector<std::string> expand_offline(const WordNet& wordnet, std::string_view query,
                                        size_t max_variants = 3);

// The terms of expand_query_offline that are single words of letters and digits, not stop
// words, joined by single spaces ("" when there are none): safe to OR into an FTS5 query as
// barewords. Phrases are left out, as OR-ing their words one by one would match each alone;
// take them from expand_query_offline's `terms` to quote them.
std::string expansion_terms(const WordNet& wordnet, std::string_view query, size_t max_terms = 12);

}  // namespace libromind::search
