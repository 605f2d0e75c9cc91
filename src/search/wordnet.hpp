// WordNet 3.0 read from its database files (Debian's wordnet-base: index.*, data.*, *.exc,
// cntlist.rev), for the offline query-expansion fallback: a word's base forms (morphy) and the
// synonyms of its most frequent senses. Loaded once at start-up (~0.3 s, 9 MB for WordNet 3.0),
// then read-only and safe to share between threads.
//
//   auto wn = search::WordNet::load();  // "/usr/share/wordnet"
//   if (!wn) { return wn.error(); }
//   wn->base_forms("wolves");    // {"wolf"}
//   wn->synonyms("sad", 3);      // {"sorrowful", "tragic", "tragical"}
//   wn->synonyms("ship", 3);     // {}: its synset is {ship}; "vessel" is a hypernym
//
// The line parsers are public so that a single line can be checked (and fuzzed) on its own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace libromind::search {

enum class PartOfSpeech : uint8_t { kNoun = 0, kVerb = 1, kAdjective = 2, kAdverb = 3 };

// One line of an index.<pos> file (wndb(5)): a lemma and its synsets in sense order, which is
// the order of decreasing frequency in WordNet's sense-tagged corpus.
struct WordNetIndexLine {
  std::string_view lemma;  // lower case, words joined by '_' ("ice_cream")
  PartOfSpeech pos = PartOfSpeech::kNoun;
  uint32_t tagged_senses = 0;            // tagsense_cnt: how many senses have a frequency
  std::vector<uint32_t> synset_offsets;  // byte offsets into data.<pos>, most frequent first
};

struct WordNetWord {
  std::string_view text;  // as written: case kept, '_' between words, adjective marker removed
  uint8_t lex_id = 0;     // tells apart senses of one lemma in one lexicographer file
};

struct WordNetPointer {
  std::string_view symbol;  // "@" hypernym, "&" similar to, "!" antonym... (wninput(5))
  uint32_t offset = 0;      // of the target synset in data.<pos>
  PartOfSpeech pos = PartOfSpeech::kNoun;
  uint16_t source_target = 0;  // 0: between synsets; else source and target word numbers
};

// One line of a data.<pos> file (wndb(5)): a synset, its words and its pointers.
struct WordNetDataLine {
  uint32_t offset = 0;  // the line's own byte offset in the file, which is its key
  uint8_t lex_filenum = 0;
  char ss_type = 'n';  // n, v, a, s (adjective satellite), r
  std::vector<WordNetWord> words;
  std::vector<WordNetPointer> pointers;
  std::string_view gloss;  // after "| ", may be empty
};

// Parse one line (without its newline). The views point into `line`. Errors are
// kInvalidArgument and name the field that is wrong; license lines (starting with a space) are
// refused too, the loader skips them before parsing.
core::Result<WordNetIndexLine> parse_index_line(std::string_view line);
core::Result<WordNetDataLine> parse_data_line(std::string_view line);

class WordNet {
 public:
  // Reads the database in `dir`. A missing or unreadable index/data/exception file is
  // kUnavailable; a malformed line or a dangling synset offset is kInvalidArgument naming the
  // file and line. cntlist.rev (sense frequencies) is optional: without it every part of speech
  // of a word counts as equally frequent.
  static core::Result<WordNet> load(const std::string& dir = "/usr/share/wordnet");

  // Base forms of an inflected word in any part of speech, as WordNet's morphy finds them: the
  // exception lists ("wolves" -> "wolf", "ran" -> "run") or else the detachment rules ("-ies"
  // -> "-y", "-es", "-ed", "-ing"...), kept only when WordNet has the result. The word itself is
  // included when it is a lemma. Nouns first, then verbs, adjectives, adverbs; no duplicates.
  std::vector<std::string> base_forms(std::string_view word) const;

  // Up to `max` synonyms of `word` (any case; inflected forms are reduced to base forms),
  // lower case, multiword ones with spaces ("ocean trip") and at most 3 words, without the word
  // itself, its base forms and proper names ("Hugo Wolf"), no duplicates, best first:
  //  - a word that is a lemma as written keeps only those parts of speech ("haunted" is the
  //    adjective, not the verb "haunt"), an inflected one all those of its base forms;
  //    a part of speech whose first sense is a name ("Arctic", "Spanish") gives nothing;
  //  - of these, the parts of speech whose sense-tagged frequency (cntlist.rev) is at least
  //    half of the most frequent one's, most frequent first ("novel" is a noun, not the
  //    adjective "new"); without frequencies, nouns and adjectives, else verbs and adverbs;
  //  - in each, the first sense, and the second unless the first was tagged 10 times or more
  //    and the second less than a quarter as often ("house" #2 is a firm): the other words of
  //    the synset, and for an adjective satellite the words of its head ("sad" -> "sorrowful");
  //  - then the satellites of head adjectives among those senses, most frequent first ("sad"
  //    -> "melancholy").
  // Empty for unknown words, words longer than 64 bytes, and non-ASCII text.
  std::vector<std::string> synonyms(std::string_view word, size_t max) const;

  size_t lemma_count() const { return lemma_start_.size() - 1; }
  size_t synset_count() const { return synset_word_start_.size() - 1; }
  // Bytes held by the tables (capacities), for the start-up log.
  size_t memory_bytes() const;

 private:
  // A lemma in one part of speech: its senses are senses_[first_sense, first_sense + count).
  struct Entry {
    uint32_t first_sense = 0;
    uint32_t tag_count = 0;  // sum of the sense-tagged frequencies of its senses (cntlist.rev)
    uint16_t sense_count = 0;
    PartOfSpeech pos = PartOfSpeech::kNoun;
  };
  // An inflected form whose base form is given by an exception list: one row per base.
  struct Exception {
    uint32_t start = 0;  // in exception_chars_
    uint32_t size = 0;
    uint32_t base = 0;  // lemma id
    PartOfSpeech pos = PartOfSpeech::kNoun;
  };
  friend class WordNetLoader;
  // Set in synset_words_ on a word the data file writes with a capital (a proper name).
  static constexpr uint32_t kCapitalised = 1u << 31;

  std::string_view lemma(uint32_t id) const {
    return std::string_view(lemma_chars_)
        .substr(lemma_start_[id], lemma_start_[id + 1] - lemma_start_[id]);
  }
  // The id of an indexed lemma (lower case, '_' between words), or -1.
  int64_t find_lemma(std::string_view s) const;
  const Entry* find_entry(uint32_t lemma_id, PartOfSpeech pos) const;
  // Whether `synset` writes the lemma with a capital: it is a name in that sense.
  bool written_capitalised(uint32_t synset, uint32_t lemma_id) const;
  // Lemma ids of the base forms of `word` (already normalised) in `pos`, itself first.
  void forms(std::string_view word, PartOfSpeech pos, std::vector<uint32_t>& out) const;

  // Lemmas sorted bytewise, then the few words of data files no index lists (not searchable).
  std::string lemma_chars_;
  std::vector<uint32_t> lemma_start_{0};  // lemma i is [lemma_start_[i], lemma_start_[i + 1])
  uint32_t indexed_lemmas_ = 0;
  std::vector<uint32_t> lemma_entry_start_{0};  // entries of lemma i, for i < indexed_lemmas_
  std::vector<Entry> entries_;
  std::vector<uint32_t> senses_;      // synset ids
  std::vector<uint16_t> sense_tags_;  // tagged frequency of each sense (saturating)
  // Synset i: words synset_words_[synset_word_start_[i] ...], similar-to synsets likewise.
  std::vector<uint32_t> synset_word_start_{0};
  std::vector<uint32_t> synset_words_;  // lemma ids, | kCapitalised
  std::vector<uint32_t> synset_similar_start_{0};
  std::vector<uint32_t> synset_similar_;  // adjectives only: satellite -> head, head -> satellites
  std::vector<char> synset_type_;         // ss_type
  std::vector<uint16_t> synset_tags_;     // tagged frequency of the synset's senses (saturating)
  std::string exception_chars_;
  std::vector<Exception> exceptions_;  // sorted by (inflected form, pos)
};

}  // namespace libromind::search
