// WordNet: the line parsers, loading (real Debian wordnet-base data, and small hand-made
// databases for the failure cases), morphy's base forms and the synonyms the offline expander
// uses, pinned on what WordNet 3.0 really says.
#include "search/wordnet.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace libromind::search {
namespace {

namespace fs = std::filesystem;
using Words = std::vector<std::string>;

constexpr const char* kWordNetDir = "/usr/share/wordnet";

// Loaded once for the whole file; wordnet-base is in scripts/setup.sh's packages.
const WordNet& wordnet() {
  static const std::optional<WordNet> wn = [] {
    auto r = WordNet::load(kWordNetDir);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message) << " (install wordnet-base)";
    return r.ok() ? std::optional<WordNet>(std::move(r).value()) : std::nullopt;
  }();
  if (!wn) {
    std::fprintf(stderr, "WordNet did not load from %s\n", kWordNetDir);
    std::abort();
  }
  return *wn;
}

bool has(const Words& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// --- the line parsers ---------------------------------------------------------------------

TEST(WordNetParse, index_line_gives_lemma_pos_and_synsets_in_sense_order) {
  auto r = parse_index_line("sad a 3 3 ! & + 3 1 01361863 01366277 01126841  ");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->lemma, "sad");
  EXPECT_EQ(r->pos, PartOfSpeech::kAdjective);
  EXPECT_EQ(r->tagged_senses, 1u);
  EXPECT_EQ(r->synset_offsets, (std::vector<uint32_t>{1361863, 1366277, 1126841}));
}

TEST(WordNetParse, data_line_gives_words_pointers_and_gloss) {
  auto r = parse_data_line(
      "01126841 00 s 06 deplorable 0 distressing 0 lamentable 0 pitiful 0 sad 0 sorry 0 004 & "
      "01125429 a 0000 + 05140278 n 0602 + 04631470 n 0503 + 00911368 v 0302 | bad; unfortunate  ");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->offset, 1126841u);
  EXPECT_EQ(r->ss_type, 's');
  ASSERT_EQ(r->words.size(), 6u);
  EXPECT_EQ(r->words[4].text, "sad");
  ASSERT_EQ(r->pointers.size(), 4u);
  EXPECT_EQ(r->pointers[0].symbol, "&");
  EXPECT_EQ(r->pointers[0].offset, 1125429u);
  EXPECT_EQ(r->pointers[0].pos, PartOfSpeech::kAdjective);
  EXPECT_EQ(r->pointers[1].source_target, 0x0602);
  EXPECT_EQ(r->gloss, "bad; unfortunate");
}

TEST(WordNetParse, verb_line_with_frames_parses) {
  auto r = parse_data_line(
      "01950816 38 v 03 transport 1 send 0 ship 0 002 @ 01850333 v 0000 ~ 01950520 v 0000 04 + 08 "
      "00 + 09 00 + 20 00 + 21 00 | transport commercially  ");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->words[0].text, "transport");
  EXPECT_EQ(r->words[0].lex_id, 1);
  EXPECT_EQ(r->gloss, "transport commercially");
}

TEST(WordNetParse, adjective_markers_are_not_part_of_the_word) {
  auto r = parse_data_line(
      "00014358 00 s 02 abounding 0 galore(ip) 0 001 & 00013887 a 0000 | existing in abundance");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->words[1].text, "galore");
}

TEST(WordNetParse, malformed_lines_are_errors_not_crashes) {
  const std::vector<std::string> bad_index = {
      "",
      "  1 This software and database is being provided",
      "sad",
      "sad x 1 0 1 0 01361863",
      "sad a 3 0 3 1 01361863 01366277",   // fewer offsets than synset_cnt
      "sad a 1 0 1 0 01361863 01366277",   // more
      "sad a 1 0 2 0 01361863",            // sense_cnt differs
      "sad a 99999999999 0 1 0 01361863",  // overflow
      "sad a 1 -1 1 0 01361863",           // sign
      "sad a 1 0 1 2 01361863",            // more tagged senses than senses
      "sad a 1 3 ! & 1 0 01361863",        // pointer symbols run into the counts
      std::string("s\x01"
                  "d a 1 0 1 0 01361863"),  // control byte in the lemma
  };
  for (const std::string& line : bad_index) {
    auto r = parse_index_line(line);
    EXPECT_FALSE(r.ok()) << line;
    if (!r.ok()) {
      EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument);
    }
  }
  const std::vector<std::string> bad_data = {
      "",
      "00001740 03 n",
      "00001740 03 q 01 entity 0 000 | gloss",
      "00001740 03 n 00 000 | no words",
      "00001740 03 n 02 entity 0 000 | one word short",
      "00001740 03 n 01 entity x 000 | bad lex_id",
      "00001740 03 n 01 entity 0 001 ~ 00001930 n | pointer cut short",
      "00001740 03 n 01 entity 0 001 ~ 00001930 q 0000 | bad pointer pos",
      "00001740 03 n 01 entity 0 000 junk | gloss",
      "01950816 38 v 01 ship 0 000 02 + 08 00 | frames cut short",
      "01950816 38 v 01 ship 0 000 | no frame count",
  };
  for (const std::string& line : bad_data) {
    auto r = parse_data_line(line);
    EXPECT_FALSE(r.ok()) << line;
  }
}

// --- loading -----------------------------------------------------------------------------

TEST(WordNetLoad, debian_wordnet_loads_quickly_into_modest_memory) {
  const auto start = std::chrono::steady_clock::now();
  auto wn = WordNet::load(kWordNetDir);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(wn.ok()) << wn.error().message;
  EXPECT_EQ(wn->synset_count(), 117659u);  // WordNet 3.0: 82115 n, 13767 v, 18156 a, 3621 r
  EXPECT_GT(wn->lemma_count(), 147000u);
  EXPECT_LT(wn->memory_bytes(), 16u << 20);
  // About 0.3 s in a release build; generous for sanitizer builds on a busy machine.
  EXPECT_LT(seconds, 10.0);
  std::printf("WordNet: %zu lemmas, %zu synsets, %.1f MB, loaded in %.3f s\n", wn->lemma_count(),
              wn->synset_count(), static_cast<double>(wn->memory_bytes()) / (1 << 20), seconds);
}

// A tiny WordNet written by the test: data lines get their true byte offsets, which the index
// files and pointers refer to by "@<n>" (the n-th synset of that file).
class TinyWordNet {
 public:
  TinyWordNet() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("lm-wordnet-" + std::to_string(::getpid()) + "-" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    // noun: 0 {wolf}, 1 {ship}, 2 {vessel, watercraft}; verb: 0 {run, scat}
    data("noun", {"03 n 01 wolf 0 000 | a canine", "06 n 01 ship 0 001 @ @2 n 0000 | a boat",
                  "06 n 02 vessel 0 watercraft 0 000 | a craft"});
    data("verb", {"38 v 02 run 0 scat 0 000 01 + 01 00 | move fast"});
    data("adj",
         {"00 a 01 sad 0 001 & @1 a 0000 | unhappy", "00 s 01 blue 0 001 & @0 a 0000 | low"});
    data("adv", {});
    write("index.noun",
          "  1 license line\nship n 1 1 @ 1 0 @1\nvessel n 1 0 1 0 @2\n"
          "watercraft n 1 0 1 0 @2\nwolf n 1 0 1 0 @0\n",
          "noun");
    write("index.verb", "run v 1 0 1 0 @0\nscat v 1 0 1 0 @0\n", "verb");
    write("index.adj", "blue a 1 0 1 0 @1\nsad a 1 0 1 0 @0\n", "adj");
    write("index.adv", "");
    write("noun.exc", "wolves wolf\n");
    write("verb.exc", "ran run\nsang sing\n");  // "sing" is not in this WordNet: ignored
    write("adj.exc", "");
    write("adv.exc", "");
  }
  ~TinyWordNet() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  TinyWordNet(const TinyWordNet&) = delete;
  TinyWordNet& operator=(const TinyWordNet&) = delete;

  std::string dir() const { return dir_.string(); }
  std::string read(const std::string& name) const {
    std::ifstream in(dir_ / name, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  // Writes a file; "@<n>" in it becomes the offset of the n-th synset of data.<pos>.
  void write(const std::string& name, const std::string& text, const std::string& pos = "") {
    std::string t = text;
    if (!pos.empty()) {
      const std::vector<std::string>& offsets = offsets_.at(pos);
      for (size_t i = 0; i < offsets.size(); ++i) {
        replace_all(t, "@" + std::to_string(i), offsets[i]);
      }
    }
    std::ofstream(dir_ / name, std::ios::binary) << t;
  }

 private:
  static void replace_all(std::string& s, const std::string& from, const std::string& to) {
    for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
      s.replace(at, from.size(), to);
    }
  }
  // Lines after their offset field; "@<n>" in them is the offset of line n of the same file.
  void data(const std::string& pos, const std::vector<std::string>& lines) {
    const std::string header = "  1 license line\n";
    std::vector<std::string> offsets;
    size_t at = header.size();
    for (const std::string& l : lines) {
      char buf[16];
      std::snprintf(buf, sizeof buf, "%08zu", at);
      offsets.emplace_back(buf);
      at += 9 + l.size() + 1;  // "NNNNNNNN " + line + "\n"
      for (size_t k = 0; k + 1 < l.size(); ++k) {
        if (l[k] == '@' && l[k + 1] >= '0' && l[k + 1] <= '9') {
          at += 6;  // "@n" becomes 8 digits
        }
      }
    }
    std::string text = header;
    for (size_t i = 0; i < lines.size(); ++i) {
      std::string l = lines[i];
      for (size_t k = 0; k < offsets.size(); ++k) {
        replace_all(l, "@" + std::to_string(k), offsets[k]);
      }
      text += offsets[i] + " " + l + "\n";
    }
    offsets_[pos] = offsets;
    std::ofstream(dir_ / ("data." + pos), std::ios::binary) << text;
  }

  fs::path dir_;
  std::map<std::string, std::vector<std::string>> offsets_;
};

TEST(WordNetLoad, a_small_database_loads_and_answers) {
  TinyWordNet tiny;
  auto wn = WordNet::load(tiny.dir());
  ASSERT_TRUE(wn.ok()) << wn.error().message;
  EXPECT_EQ(wn->synset_count(), 6u);
  EXPECT_EQ(wn->base_forms("wolves"), Words{"wolf"});
  EXPECT_EQ(wn->base_forms("ran"), Words{"run"});
  EXPECT_EQ(wn->synonyms("vessel", 5), Words{"watercraft"});
  EXPECT_EQ(wn->synonyms("blue", 5), Words{"sad"});  // satellite -> head
  EXPECT_EQ(wn->synonyms("sad", 5), Words{"blue"});  // head -> satellite
  EXPECT_EQ(wn->synonyms("ran", 5), Words{"scat"});  // no frequencies: a verb-only word
  EXPECT_TRUE(wn->synonyms("ship", 5).empty());      // a hypernym is not a synonym
}

TEST(WordNetLoad, a_missing_file_is_unavailable_and_named) {
  TinyWordNet tiny;
  fs::remove(fs::path(tiny.dir()) / "index.adv");
  auto wn = WordNet::load(tiny.dir());
  ASSERT_FALSE(wn.ok());
  EXPECT_EQ(wn.error().code, core::ErrorCode::kUnavailable);
  EXPECT_NE(wn.error().message.find("index.adv"), std::string::npos) << wn.error().message;

  auto none = WordNet::load("/nonexistent/wordnet");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, core::ErrorCode::kUnavailable);
}

TEST(WordNetLoad, a_corrupt_line_is_invalid_and_named_with_its_line_number) {
  TinyWordNet tiny;
  std::string noun = tiny.read("data.noun");
  noun.replace(noun.find("06 n 01 ship 0 001"), 18, "06 n 07 ship 0 001");  // w_cnt too big
  tiny.write("data.noun", noun);
  auto wn = WordNet::load(tiny.dir());
  ASSERT_FALSE(wn.ok());
  EXPECT_EQ(wn.error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_NE(wn.error().message.find("data.noun:3:"), std::string::npos) << wn.error().message;
}

TEST(WordNetLoad, an_index_pointing_past_the_data_is_invalid) {
  TinyWordNet tiny;
  tiny.write("index.verb", "run v 1 0 1 0 @0\nscat v 1 0 1 0 99999999\n", "verb");
  auto wn = WordNet::load(tiny.dir());
  ASSERT_FALSE(wn.ok());
  EXPECT_EQ(wn.error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_NE(wn.error().message.find("index.verb:2:"), std::string::npos) << wn.error().message;
}

TEST(WordNetLoad, a_data_line_at_the_wrong_byte_offset_is_invalid) {
  TinyWordNet tiny;
  std::string verb = tiny.read("data.verb");
  verb.insert(0, "  2 another license line\n");  // shifts the synset, its offset field stays
  tiny.write("data.verb", verb);
  auto wn = WordNet::load(tiny.dir());
  ASSERT_FALSE(wn.ok());
  EXPECT_NE(wn.error().message.find("data.verb:3:"), std::string::npos) << wn.error().message;
  EXPECT_NE(wn.error().message.find("byte offset"), std::string::npos) << wn.error().message;
}

TEST(WordNetLoad, a_lemma_listed_twice_is_invalid) {
  TinyWordNet tiny;
  tiny.write("index.verb", "run v 1 0 1 0 @0\nrun v 1 0 1 0 @0\nscat v 1 0 1 0 @0\n", "verb");
  auto wn = WordNet::load(tiny.dir());
  ASSERT_FALSE(wn.ok());
  EXPECT_NE(wn.error().message.find("index.verb:2:"), std::string::npos) << wn.error().message;
}

TEST(WordNetLoad, a_file_that_is_not_wordnet_is_invalid) {
  TinyWordNet tiny;
  tiny.write("noun.exc", "wolves\n");
  auto wn = WordNet::load(tiny.dir());
  ASSERT_FALSE(wn.ok());
  EXPECT_NE(wn.error().message.find("noun.exc:1:"), std::string::npos) << wn.error().message;
}

// --- base forms (morphy) -----------------------------------------------------------------

TEST(WordNetBaseForms, exception_lists_give_irregular_base_forms) {
  const WordNet& wn = wordnet();
  EXPECT_EQ(wn.base_forms("wolves"), Words{"wolf"});
  EXPECT_EQ(wn.base_forms("ran"), Words{"run"});
  EXPECT_TRUE(has(wn.base_forms("lives"), "life"));
  EXPECT_TRUE(has(wn.base_forms("happiest"), "happy"));
}

TEST(WordNetBaseForms, detachment_rules_give_regular_base_forms) {
  const WordNet& wn = wordnet();
  EXPECT_EQ(wn.base_forms("voyages"), Words{"voyage"});
  EXPECT_EQ(wn.base_forms("fishermen"), Words{"fisherman"});
  EXPECT_EQ(wn.base_forms("memories"), Words{"memory"});
  EXPECT_EQ(wn.base_forms("boxesful"), Words{"boxful"});
  EXPECT_EQ(wn.base_forms("lives"), (Words{"life", "live"}));  // noun, then verb
  EXPECT_TRUE(has(wn.base_forms("whaling"), "whale"));
  EXPECT_TRUE(has(wn.base_forms("haunted"), "haunt"));
}

TEST(WordNetBaseForms, a_lemma_is_its_own_base_form_and_keeps_its_plural_reading) {
  const WordNet& wn = wordnet();
  EXPECT_EQ(wn.base_forms("glasses"), (Words{"glasses", "glass"}));
  EXPECT_EQ(wn.base_forms("glass"), Words{"glass"});  // "-ss" is not a plural
  EXPECT_EQ(wn.base_forms("Sea"), Words{"sea"});
  EXPECT_EQ(wn.base_forms("ice cream"), Words{"ice cream"});
}

TEST(WordNetBaseForms, unknown_and_hostile_words_have_none) {
  const WordNet& wn = wordnet();
  for (const std::string w : {"", "   ", "qzxv", "\xff\xfe", "sad\x01", "\xe4\xb9\xa6",
                              "\xd0\xb2\xd0\xbe\xd0\xb9\xd0\xbd\xd0\xb0"}) {
    EXPECT_TRUE(wn.base_forms(w).empty()) << w;
  }
  EXPECT_TRUE(wn.base_forms(std::string(10000, 's')).empty());
}

// --- synonyms ----------------------------------------------------------------------------

TEST(WordNetSynonyms, sad_is_sorrowful_first_then_its_shades) {
  const Words s = wordnet().synonyms("sad", 5);
  // sad #2 is a satellite of "sorrowful"; sad #1's satellites follow, most frequent first.
  EXPECT_EQ(s, (Words{"sorrowful", "tragic", "tragical", "melancholy", "melancholic"}));
  EXPECT_TRUE(has(wordnet().synonyms("sad", 20), "doleful"));
}

TEST(WordNetSynonyms, nouns_give_the_other_words_of_their_first_senses) {
  const WordNet& wn = wordnet();
  EXPECT_EQ(wn.synonyms("ghost", 3), (Words{"shade", "spook", "wraith"}));
  EXPECT_EQ(wn.synonyms("story", 3), (Words{"narrative", "narration", "tale"}));
  EXPECT_EQ(wn.synonyms("memory", 3), Words{"remembering"});
  EXPECT_EQ(wn.synonyms("glasses", 3), (Words{"spectacles", "specs", "eyeglasses"}));
}

TEST(WordNetSynonyms, ship_has_none_because_vessel_is_its_hypernym) {
  // WordNet's ship synset is {ship} alone; "vessel" is the synset above it, and the verb
  // readings ("transport", "send") are not used for a word that is mostly a noun.
  EXPECT_TRUE(wordnet().synonyms("ship", 5).empty());
}

TEST(WordNetSynonyms, inflected_words_give_the_synonyms_of_their_base_forms) {
  const WordNet& wn = wordnet();
  EXPECT_EQ(wn.synonyms("ghosts", 3), wn.synonyms("ghost", 3));
  EXPECT_EQ(wn.synonyms("fishermen", 3), Words{"fisher"});
  EXPECT_EQ(wn.synonyms("voyages", 3), Words{"ocean trip"});
  const Words wolves = wn.synonyms("wolves", 10);
  EXPECT_FALSE(has(wolves, "wolf"));
  EXPECT_FALSE(has(wolves, "hugo wolf"));  // a proper name, not a synonym
  EXPECT_FALSE(has(wn.synonyms("lives", 10), "life"));
}

TEST(WordNetSynonyms, the_likely_part_of_speech_wins) {
  const WordNet& wn = wordnet();
  EXPECT_FALSE(has(wn.synonyms("novel", 10), "new"));  // a noun, not the adjective
  EXPECT_EQ(wn.synonyms("haunted", 2), (Words{"obsessed", "preoccupied"}));  // not "stalk"
  EXPECT_FALSE(has(wn.synonyms("lost", 20), "mislay"));  // the adjective, not "lose"
  EXPECT_FALSE(has(wn.synonyms("house", 10), "firm"));   // #2, tagged 2 times to 157
  EXPECT_EQ(wn.synonyms("quickly", 2), (Words{"rapidly", "speedily"}));
}

TEST(WordNetSynonyms, names_have_no_synonyms) {
  const WordNet& wn = wordnet();
  EXPECT_TRUE(wn.synonyms("plutarch", 5).empty());
  EXPECT_TRUE(wn.synonyms("spanish", 5).empty());  // not "spanish people"
  EXPECT_TRUE(wn.synonyms("arctic", 5).empty());   // the region, not the overshoe "galosh"
}

TEST(WordNetSynonyms, results_are_clean_bounded_and_stable) {
  const WordNet& wn = wordnet();
  for (const std::string w :
       {"sad",   "slow",  "lost",   "brother", "sea",    "ice",      "house", "ghost",
        "story", "run",   "ran",    "running", "book",   "love",     "war",   "peace",
        "dark",  "happy", "murder", "mystery", "travel", "children", "cook",  "garden"}) {
    for (size_t max : {0, 1, 3, 50}) {
      const Words s = wn.synonyms(w, max);
      EXPECT_LE(s.size(), max) << w;
      EXPECT_EQ(s, wn.synonyms(w, max)) << w;
      for (size_t i = 0; i < s.size(); ++i) {
        EXPECT_NE(s[i], w);
        EXPECT_FALSE(s[i].empty());
        EXPECT_EQ(s[i].find('_'), std::string::npos) << s[i];
        EXPECT_LE(std::count(s[i].begin(), s[i].end(), ' '), 2) << s[i];
        EXPECT_TRUE(std::none_of(s[i].begin(), s[i].end(), [](char c) {
          return c >= 'A' && c <= 'Z';
        })) << s[i];
        EXPECT_EQ(std::count(s.begin(), s.end(), s[i]), 1) << s[i];
        EXPECT_FALSE(has(wn.base_forms(w), s[i])) << w << " -> " << s[i];
      }
      if (max > 1 && !s.empty()) {
        // A smaller max is a prefix of a larger one.
        const Words fewer = wn.synonyms(w, max - 1);
        EXPECT_TRUE(std::equal(fewer.begin(), fewer.end(), s.begin())) << w;
      }
    }
  }
}

TEST(WordNetSynonyms, case_and_surrounding_spaces_do_not_matter) {
  const WordNet& wn = wordnet();
  EXPECT_EQ(wn.synonyms("SAD", 5), wn.synonyms("sad", 5));
  EXPECT_EQ(wn.synonyms("  Ghost ", 5), wn.synonyms("ghost", 5));
}

TEST(WordNetSynonyms, bad_input_gives_nothing_and_does_not_crash) {
  const WordNet& wn = wordnet();
  const std::vector<std::string> inputs = {
      "",
      "   ",
      "\t\n",
      std::string(10 * 1024, 'a'),
      "sad\x01",
      std::string("sa\0d", 4),
      "\xff\xfe\xfd",
      "\xc3",                                              // truncated UTF-8
      "\xe4\xb9\xa6",                                      // 书
      "\xe6\xb5\xb7\xe4\xb8\x8a",                          // 海上
      "\xd0\xbf\xd0\xb5\xd1\x87\xd0\xb0\xd0\xbb\xd1\x8c",  // печаль
      "caf\xc3\xa9",                                       // café: WordNet is ASCII
  };
  for (const std::string& w : inputs) {
    EXPECT_TRUE(wn.synonyms(w, 10).empty()) << w.substr(0, 20);
  }
}

}  // namespace
}  // namespace libromind::search
