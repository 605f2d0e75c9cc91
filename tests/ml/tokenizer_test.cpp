// WordPiece tokenizer: behaviour on a tiny hand-written vocabulary, and parity with the reference
// (BertTokenizerFast) on the real models' vocabularies and the fixtures of tests/ml/fixtures/.
#include "ml/tokenizer.hpp"
#include "ml_test_support.hpp"

#include <gtest/gtest.h>
#include <unistd.h>
#include <utf8proc.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace libromind::ml {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kTinyVocab = {
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the",  "quick", "brown", "fox",
    ",",     ".",     "!",     "un",    "##want", "##ed", "want",  "cafe",  "naive",
    "中",    "国",    "hello", "world", "'",      "s",    "a",     "b",     "##a",
    "Café",  "Cafe",  "##s",   "i",     "̇",       "`",    "$",     "i̇",     "##es",
};

int32_t id_of(const WordPieceTokenizer& t, const std::string& token) {
  auto id = t.token_to_id(token);
  EXPECT_TRUE(id.has_value()) << token;
  return id.value_or(-1);
}

WordPieceTokenizer tiny(TokenizerOptions options = {}) {
  auto t = WordPieceTokenizer::from_vocab(kTinyVocab, options, "tiny vocab");
  EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.error().message);
  return std::move(t).value();
}

std::vector<std::string> pieces(const WordPieceTokenizer& t, const Encoding& e) {
  std::vector<std::string> out;
  for (int32_t id : e.ids) {
    out.push_back(t.id_to_token(id));
  }
  return out;
}

using Tokens = std::vector<std::string>;

// A fresh directory for files a test writes, removed at the end.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() /
            ("lm-tokenizer-" + std::to_string(::getpid()) + "-" + info->name());
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string write(const std::string& name, const std::string& content) const {
    const fs::path p = path_ / name;
    std::ofstream(p, std::ios::binary) << content;
    return p.string();
  }
  std::string path() const { return path_.string(); }

 private:
  fs::path path_;
};

std::string vocab_file_text(const std::vector<std::string>& tokens) {
  std::string s;
  for (const auto& t : tokens) {
    s += t + "\n";
  }
  return s;
}

TEST(Tokenizer, PunctuationBecomesSeparateTokens) {
  auto t = tiny();
  EXPECT_EQ(t.tokenize("Hello, world!"), (Tokens{"hello", ",", "world", "!"}));
  EXPECT_EQ(t.tokenize("the fox's"), (Tokens{"the", "fox", "'", "s"}));
  // Every non-alphanumeric printable ASCII character is punctuation, symbols included.
  EXPECT_EQ(t.tokenize("$a`b"), (Tokens{"$", "a", "`", "b"}));
}

TEST(Tokenizer, UncasedModelLowercasesAndStripsAccents) {
  auto t = tiny();
  EXPECT_EQ(t.tokenize("Café NAÏVE"), (Tokens{"cafe", "naive"}));
  // Decomposed input (e + combining acute) gives the same.
  EXPECT_EQ(t.tokenize("cafe\xCC\x81"), (Tokens{"cafe"}));
  // U+0130 (İ) lower-cases to i + combining dot, which accent stripping removes.
  EXPECT_EQ(t.tokenize("\xC4\xB0"), (Tokens{"i"}));
}

TEST(Tokenizer, CasedModelKeepsCaseAndAccents) {
  TokenizerOptions o;
  o.lowercase = false;  // strip_accents unset follows lowercase, as in the reference
  auto t = tiny(o);
  EXPECT_EQ(t.tokenize("Café cafe"), (Tokens{"Café", "cafe"}));
}

TEST(Tokenizer, AccentStrippingCanBeChosenApartFromCase) {
  TokenizerOptions o;
  o.lowercase = false;
  o.strip_accents = true;
  EXPECT_EQ(tiny(o).tokenize("Café"), (Tokens{"Cafe"}));
  o.lowercase = true;
  o.strip_accents = false;
  // Without stripping, İ lower-cases to the two code points "i̇", as Python's str.lower().
  EXPECT_EQ(tiny(o).tokenize("\xC4\xB0"), (Tokens{"i̇"}));
}

TEST(Tokenizer, CjkIdeographsAreTokensOfTheirOwn) {
  auto t = tiny();
  EXPECT_EQ(t.tokenize("中国"), (Tokens{"中", "国"}));
  EXPECT_EQ(t.tokenize("the中国fox"), (Tokens{"the", "中", "国", "fox"}));
  TokenizerOptions o;
  o.tokenize_chinese_chars = false;
  EXPECT_EQ(tiny(o).tokenize("the中国fox"), (Tokens{"[UNK]"}));
}

TEST(Tokenizer, WordsSplitIntoLongestContinuationPieces) {
  auto t = tiny();
  EXPECT_EQ(t.tokenize("unwanted"), (Tokens{"un", "##want", "##ed"}));
  EXPECT_EQ(t.tokenize("wanted foxes"), (Tokens{"want", "##ed", "fox", "##es"}));
}

TEST(Tokenizer, WordWithoutPiecesOrTooLongBecomesOneUnk) {
  auto t = tiny();
  EXPECT_EQ(t.tokenize("xyz"), (Tokens{"[UNK]"}));
  EXPECT_EQ(t.tokenize("unwantedx fox"), (Tokens{"[UNK]", "fox"}));
  const std::string hundred(100, 'a');
  const auto pieces_100 = t.tokenize(hundred);
  ASSERT_EQ(pieces_100.size(), 100u);
  EXPECT_EQ(pieces_100[0], "a");
  EXPECT_EQ(pieces_100[99], "##a");
  EXPECT_EQ(t.tokenize(hundred + "a"), (Tokens{"[UNK]"}));
  EXPECT_EQ(t.tokenize(std::string(1'000'000, 'a') + " fox"), (Tokens{"[UNK]", "fox"}));
}

TEST(Tokenizer, EncodeAddsClsAndSepWithTypeZeroAndFullMask) {
  auto t = tiny();
  const Encoding e = t.encode("the fox");
  EXPECT_EQ(pieces(t, e), (Tokens{"[CLS]", "the", "fox", "[SEP]"}));
  EXPECT_EQ(e.type_ids, (std::vector<int32_t>{0, 0, 0, 0}));
  EXPECT_EQ(e.attention_mask, (std::vector<int32_t>{1, 1, 1, 1}));
}

TEST(Tokenizer, EmptyOrBlankTextEncodesToClsSep) {
  auto t = tiny();
  EXPECT_EQ(pieces(t, t.encode("")), (Tokens{"[CLS]", "[SEP]"}));
  EXPECT_EQ(pieces(t, t.encode(" \t\r\n\xC2\xA0\x01")), (Tokens{"[CLS]", "[SEP]"}));
}

TEST(Tokenizer, SingleTextKeepsFirstPiecesUpToMaxLength) {
  TokenizerOptions o;
  o.max_length = 5;
  auto t = tiny(o);
  EXPECT_EQ(pieces(t, t.encode("the quick brown fox")),
            (Tokens{"[CLS]", "the", "quick", "brown", "[SEP]"}));
  // Truncation may cut a word between its pieces, as the reference does.
  EXPECT_EQ(pieces(t, t.encode("the fox unwanted")),
            (Tokens{"[CLS]", "the", "fox", "un", "[SEP]"}));
}

// `n` single-piece words.
std::string words(char w, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) {
    s += w;
    s += ' ';
  }
  return s;
}

std::pair<int, int> pair_lengths(const WordPieceTokenizer& t, const Encoding& e) {
  int a = 0;
  int b = 0;
  for (size_t i = 1; i + 1 < e.ids.size(); ++i) {
    if (e.ids[i] == t.sep_id()) {
      continue;
    }
    (e.type_ids[i] == 0 ? a : b)++;
  }
  return {a, b};
}

TEST(Tokenizer, PairEncodingHasSegmentsAndTypeIds) {
  auto t = tiny();
  const Encoding e = t.encode_pair("the fox", "hello");
  EXPECT_EQ(pieces(t, e), (Tokens{"[CLS]", "the", "fox", "[SEP]", "hello", "[SEP]"}));
  EXPECT_EQ(e.type_ids, (std::vector<int32_t>{0, 0, 0, 0, 1, 1}));
  EXPECT_EQ(e.attention_mask, (std::vector<int32_t>(6, 1)));
}

TEST(Tokenizer, PairTruncationIsLongestFirst) {
  TokenizerOptions o;
  o.max_length = 8;  // 5 pieces for the two segments
  auto t = tiny(o);
  auto lengths = [&](int na, int nb) {
    return pair_lengths(t, t.encode_pair(words('a', na), words('b', nb)));
  };
  EXPECT_EQ(lengths(2, 3), std::make_pair(2, 3));  // fits
  EXPECT_EQ(lengths(6, 2), std::make_pair(3, 2));  // only the longer gives up pieces
  EXPECT_EQ(lengths(1, 9), std::make_pair(1, 4));
  EXPECT_EQ(lengths(3, 3), std::make_pair(2, 3));  // equal: the first gets the smaller half
  EXPECT_EQ(lengths(6, 6), std::make_pair(2, 3));
  EXPECT_EQ(lengths(7, 6), std::make_pair(3, 2));  // the longer gets the larger half
  EXPECT_EQ(lengths(6, 7), std::make_pair(2, 3));
  EXPECT_EQ(lengths(40, 30), std::make_pair(3, 2));  // both over the budget: true order counts
  EXPECT_EQ(lengths(30, 40), std::make_pair(2, 3));
  EXPECT_EQ(lengths(0, 9), std::make_pair(0, 5));

  o.max_length = 9;  // even budget: halves are equal
  auto even = tiny(o);
  EXPECT_EQ(pair_lengths(even, even.encode_pair(words('a', 40), words('b', 30))),
            std::make_pair(3, 3));
}

TEST(Tokenizer, PadFillsToLongestWithPadIdAndZeroMask) {
  auto t = tiny();
  const Batch b = t.pad({t.encode("the quick fox"), t.encode_pair("a", "b"), t.encode("")});
  ASSERT_EQ(b.batch_size, 3);
  ASSERT_EQ(b.seq_len, 5);
  const int32_t cls = t.cls_id();
  const int32_t sep = t.sep_id();
  const int32_t pad = t.pad_id();
  EXPECT_EQ(b.ids, (std::vector<int32_t>{cls, id_of(t, "the"), id_of(t, "quick"), id_of(t, "fox"),
                                         sep, cls, id_of(t, "a"), sep, id_of(t, "b"), sep, cls, sep,
                                         pad, pad, pad}));
  EXPECT_EQ(b.type_ids, (std::vector<int32_t>{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0}));
  EXPECT_EQ(b.attention_mask, (std::vector<int32_t>{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0}));
  const Batch empty = t.pad({});
  EXPECT_EQ(empty.batch_size, 0);
  EXPECT_TRUE(empty.ids.empty());
}

TEST(Tokenizer, ControlCharactersAreDroppedAndWhitespaceSplits) {
  auto t = tiny();
  // Controls (Cc), format characters (Cf: zero-width space, BOM), NUL and U+FFFD vanish without
  // splitting the word.
  EXPECT_EQ(t.tokenize(std::string("qu\x07ick fo\0x", 11)), (Tokens{"quick", "fox"}));
  EXPECT_EQ(t.tokenize("qu\xE2\x80\x8Bick \xEF\xBB\xBF"
                       "fox br\xEF\xBF\xBDown"),
            (Tokens{"quick", "fox", "brown"}));
  // Tab, newline, carriage return, no-break space, ideographic space, line separator split.
  EXPECT_EQ(t.tokenize("the\tquick\nbrown\rfox\xC2\xA0the\xE3\x80\x80"
                       "fox\xE2\x80\xA8the"),
            (Tokens{"the", "quick", "brown", "fox", "the", "fox", "the"}));
}

TEST(Tokenizer, InvalidUtf8IsReplacedAndDroppedNeverACrash) {
  auto t = tiny();
  EXPECT_EQ(t.tokenize("qu\xFFick"), (Tokens{"quick"}));
  EXPECT_EQ(t.tokenize("the \xE2\x82 fox"), (Tokens{"the", "fox"}));           // truncated sequence
  EXPECT_EQ(t.tokenize("the \xED\xA0\x80 fox"), (Tokens{"the", "fox"}));       // encoded surrogate
  EXPECT_EQ(t.tokenize("the \xC0\xAF fox"), (Tokens{"the", "fox"}));           // overlong "/"
  EXPECT_EQ(t.tokenize("\x80\x80\xF4\x90\x80\x80 fox\xC3"), (Tokens{"fox"}));  // > U+10FFFF, cut
  const Encoding e = t.encode("\xFE\xFF\xC3");
  EXPECT_EQ(pieces(t, e), (Tokens{"[CLS]", "[SEP]"}));
}

TEST(Tokenizer, SpecialTokensWrittenInTextAreRecognised) {
  auto t = tiny();
  EXPECT_EQ(t.tokenize("the [MASK] fox[SEP]"), (Tokens{"the", "[MASK]", "fox", "[SEP]"}));
  // Only the exact spelling; lower-case is ordinary text.
  EXPECT_EQ(t.tokenize("[mask]"), (Tokens{"[UNK]", "[UNK]", "[UNK]"}));  // "[", "mask", "]"
  TokenizerOptions o;
  o.special_tokens_in_text = false;
  EXPECT_EQ(tiny(o).tokenize("[MASK]"), (Tokens{"[UNK]", "[UNK]", "[UNK]"}));
}

TEST(Tokenizer, TenMegabyteTextIsTruncatedQuickly) {
  auto t = tiny();
  std::string big;
  while (big.size() < 10'000'000) {
    big += "the quick brown fox unwanted, naïve café! ";
  }
  const auto start = std::chrono::steady_clock::now();
  const Encoding e = t.encode(big);
  const Encoding p = t.encode_pair("the quick fox", big);
  const Encoding one_word = t.encode(std::string(10'000'000, 'x'));
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  EXPECT_EQ(e.ids.size(), 512u);
  EXPECT_EQ(e.ids.back(), t.sep_id());
  EXPECT_EQ(p.ids.size(), 512u);
  EXPECT_EQ(pieces(t, one_word), (Tokens{"[CLS]", "[UNK]", "[SEP]"}));
  // Stopping early makes this a few milliseconds; the bound leaves room for sanitizers.
  EXPECT_LT(ms, 2000) << "10 MB inputs took " << ms << " ms";
}

TEST(Tokenizer, TwoHugeSegmentsStillEncodeAsTheReferenceWould) {
  TokenizerOptions o;
  o.max_length = 8;
  auto t = tiny(o);
  const std::string a = words('a', 200'000);
  const std::string b = words('b', 200'001);
  EXPECT_EQ(pair_lengths(t, t.encode_pair(a, b)), std::make_pair(2, 3));
  EXPECT_EQ(pair_lengths(t, t.encode_pair(b, a)), std::make_pair(3, 2));
  EXPECT_EQ(pair_lengths(t, t.encode_pair(a, a)), std::make_pair(2, 3));
}

TEST(Tokenizer, LoadReadsVocabFileAndLooksUpSpecialTokens) {
  TempDir dir;
  const std::string path = dir.write("vocab.txt", vocab_file_text(kTinyVocab));
  auto t = WordPieceTokenizer::load(path);
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(t->vocab_size(), static_cast<int32_t>(kTinyVocab.size()));
  EXPECT_EQ(t->cls_id(), 2);
  EXPECT_EQ(t->sep_id(), 3);
  EXPECT_EQ(t->pad_id(), 0);
  EXPECT_EQ(t->unk_id(), 1);
  EXPECT_EQ(t->mask_id(), 4);
  EXPECT_EQ(t->tokenize("Unwanted"), (Tokens{"un", "##want", "##ed"}));

  // CRLF line ends are tolerated.
  std::string crlf;
  for (const auto& tok : kTinyVocab) {
    crlf += tok + "\r\n";
  }
  auto t2 = WordPieceTokenizer::load(dir.write("crlf.txt", crlf));
  ASSERT_TRUE(t2.ok()) << t2.error().message;
  EXPECT_EQ(t2->tokenize("the fox"), (Tokens{"the", "fox"}));
}

TEST(Tokenizer, LoadErrorsNameTheFileAndTheProblem) {
  TempDir dir;
  auto missing = WordPieceTokenizer::load(dir.path() + "/nope.txt");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("nope.txt"), std::string::npos);

  std::vector<std::string> no_mask = kTinyVocab;
  no_mask.erase(no_mask.begin() + 4);
  const std::string path = dir.write("vocab.txt", vocab_file_text(no_mask));
  auto r = WordPieceTokenizer::load(path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find(path), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("[MASK]"), std::string::npos) << r.error().message;

  TokenizerOptions o;
  o.max_length = 2;
  auto short_max = WordPieceTokenizer::from_vocab(kTinyVocab, o);
  ASSERT_FALSE(short_max.ok());
  EXPECT_EQ(short_max.error().field, "max_length");
}

TEST(Tokenizer, ModelDirConfigsSetOptionsAndSentenceBertMaxLengthWins) {
  TempDir dir;
  dir.write("vocab.txt", vocab_file_text(kTinyVocab));
  dir.write("tokenizer_config.json",
            R"({"do_lower_case": false, "strip_accents": null, "tokenize_chinese_chars": false,
                "model_max_length": 1000000000000000019884624838656,
                "unk_token": {"content": "[UNK]", "special": true}, "cls_token": "[CLS]"})");
  auto o = WordPieceTokenizer::read_model_options(dir.path());
  ASSERT_TRUE(o.ok()) << o.error().message;
  EXPECT_FALSE(o->lowercase);
  EXPECT_FALSE(o->strip_accents.has_value());
  EXPECT_FALSE(o->tokenize_chinese_chars);
  EXPECT_EQ(o->max_length, 512);  // HF's "no limit" placeholder is ignored

  dir.write("tokenizer_config.json", R"({"do_lower_case": true, "model_max_length": 512})");
  dir.write("sentence_bert_config.json", R"({"max_seq_length": 6, "do_lower_case": false})");
  auto t = WordPieceTokenizer::load_from_model_dir(dir.path());
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(t->options().max_length, 6);
  EXPECT_EQ(t->encode("the quick brown fox the quick").ids.size(), 6u);
  EXPECT_EQ(t->tokenize("Café"), (Tokens{"cafe"}));
}

TEST(Tokenizer, ModelDirErrorsNameTheFileAndField) {
  TempDir dir;
  dir.write("vocab.txt", vocab_file_text(kTinyVocab));
  const std::string tc = dir.write("tokenizer_config.json", R"({"do_lower_case": "yes"})");
  auto r = WordPieceTokenizer::load_from_model_dir(dir.path());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find(tc), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().field, "do_lower_case");

  dir.write("tokenizer_config.json", "{");
  r = WordPieceTokenizer::load_from_model_dir(dir.path());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("not valid JSON"), std::string::npos) << r.error().message;

  dir.write("tokenizer_config.json", "{}");
  const std::string sb = dir.write("sentence_bert_config.json", R"({"max_seq_length": 2})");
  r = WordPieceTokenizer::load_from_model_dir(dir.path());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find(sb), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().field, "max_seq_length");

  fs::remove(sb);
  fs::remove(dir.path() + "/vocab.txt");
  r = WordPieceTokenizer::load_from_model_dir(dir.path());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("vocab.txt"), std::string::npos) << r.error().message;
}

TEST(Tokenizer, UnicodeTablesAreTheOnesTheReferenceOverridesWereDerivedFor) {
  // kReferenceOverrides in src/ml/tokenizer.cpp lists where utf8proc's Unicode 15.0 tables
  // and the reference's disagree. Another utf8proc version needs that list derived again.
  EXPECT_STREQ(utf8proc_unicode_version(), "15.0.0");
}

TEST(Tokenizer, FollowsTheReferenceWhereItsUnicodeTablesAreOlder) {
  auto t = tiny();
  // U+0378 is unassigned: kept (an unknown word), not dropped as a control character.
  EXPECT_EQ(t.tokenize("a\u0378a"), (Tokens{"[UNK]"}));
  // U+2E55 (Unicode 14 punctuation) is a letter to the reference: no split.
  EXPECT_EQ(t.tokenize("a\u2E55a"), (Tokens{"[UNK]"}));
  // U+1734 became a spacing mark in Unicode 14; the reference still strips it as nonspacing.
  EXPECT_EQ(t.tokenize("a\u1734a"), (Tokens{"a", "##a"}));
  // U+1FEF decomposes to "`", which is punctuation.
  EXPECT_EQ(t.tokenize("a\u1FEFb"), (Tokens{"a", "`", "b"}));
  // U+2B820 is CJK, but outside the fast tokenizer's ranges.
  EXPECT_EQ(t.tokenize("a\U0002B820a"), (Tokens{"[UNK]"}));
}

// ---- Parity with the reference on the real models ----------------------------------------

std::string model_dir(const std::string& role) { return testing::model_root() + "/" + role; }

std::string fixture_path(const std::string& name) {
  return testing::source_dir() + "/tests/ml/fixtures/" + name;
}

// The fixture's cases as objects, whether it is a list, {"cases": [...]}, or parallel arrays.
std::vector<nlohmann::json> fixture_cases(const nlohmann::json& j) {
  std::vector<nlohmann::json> cases;
  if (j.is_array()) {
    cases.assign(j.begin(), j.end());
    return cases;
  }
  for (const char* key : {"cases", "pairs", "items", "examples"}) {
    if (j.contains(key) && j[key].is_array() && !j[key].empty() && j[key][0].is_object()) {
      cases.assign(j[key].begin(), j[key].end());
      return cases;
    }
  }
  const char* list_key = j.contains("texts") ? "texts" : (j.contains("pairs") ? "pairs" : nullptr);
  if (list_key != nullptr && j.contains("input_ids")) {
    for (size_t i = 0; i < j[list_key].size(); ++i) {
      nlohmann::json c;
      c[list_key == std::string("texts") ? "text" : "pair"] = j[list_key][i];
      c["input_ids"] = j["input_ids"][i];
      for (const char* k : {"token_type_ids", "attention_mask"}) {
        if (j.contains(k)) {
          c[k] = j[k][i];
        }
      }
      cases.push_back(std::move(c));
    }
  }
  return cases;
}

// The reference ids without batch padding (attention mask 0).
std::vector<int32_t> unpadded(const nlohmann::json& c, const char* key) {
  std::vector<int32_t> v = c.at(key).get<std::vector<int32_t>>();
  if (c.contains("attention_mask")) {
    const auto mask = c["attention_mask"].get<std::vector<int32_t>>();
    size_t n = 0;
    while (n < mask.size() && mask[n] != 0) {
      ++n;
    }
    v.resize(std::min(v.size(), n));
  }
  return v;
}

struct Parity {
  nlohmann::json fixture;
  std::optional<WordPieceTokenizer> tokenizer;
  std::string skip;
};

// The tokenizer of `dir` (max_length from the fixture's head when it names one) and the fixture,
// or why the test must be skipped.
Parity load_parity(const std::string& dir, const std::string& fixture_name) {
  Parity p;
  if (!fs::exists(dir + "/vocab.txt")) {
    p.skip = "no vocab.txt in " + dir + " (scripts/fetch-models.sh installs the models)";
    return p;
  }
  const std::string path = fixture_path(fixture_name);
  std::ifstream in(path);
  if (!in) {
    p.skip = "no fixture " + path + " (tools/make_parity_fixtures.py makes it)";
    return p;
  }
  p.fixture = nlohmann::json::parse(in);
  auto options = WordPieceTokenizer::read_model_options(dir);
  EXPECT_TRUE(options.ok()) << (options.ok() ? "" : options.error().message);
  if (!options.ok()) {
    return p;
  }
  for (const char* key : {"max_length", "max_seq_length"}) {
    if (p.fixture.contains(key) && p.fixture[key].is_number_integer()) {
      EXPECT_EQ(options->max_length, p.fixture[key].get<int32_t>())
          << "the model's configs give another max_length than the reference used";
      options->max_length = p.fixture[key].get<int32_t>();
    }
  }
  auto t = WordPieceTokenizer::load(dir + "/vocab.txt", *options);
  EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.error().message);
  if (t.ok()) {
    p.tokenizer = std::move(t).value();
  }
  return p;
}

std::string describe(const WordPieceTokenizer& t, const std::vector<int32_t>& ids) {
  std::string s;
  for (int32_t id : ids) {
    s += (id >= 0 && id < t.vocab_size() ? t.id_to_token(id) : "?") + " ";
  }
  return s;
}

TEST(TokenizerParity, EmbedderIdsMatchTheReferenceOnEveryFixtureText) {
  Parity p = load_parity(model_dir("embedder"), "embedder_parity.json");
  if (!p.skip.empty()) {
    LM_SKIP_OR_FAIL(p.skip);
  }
  ASSERT_TRUE(p.tokenizer.has_value());
  const auto cases = fixture_cases(p.fixture);
  ASSERT_FALSE(cases.empty()) << "no cases in embedder_parity.json";
  size_t matched = 0;
  for (const auto& c : cases) {
    const std::string text = c.at("text").get<std::string>();
    const std::vector<int32_t> want = unpadded(c, "input_ids");
    const Encoding got = p.tokenizer->encode(text);
    EXPECT_EQ(got.ids, want) << "text: " << text.substr(0, 200)
                             << "\n  ours: " << describe(*p.tokenizer, got.ids).substr(0, 400)
                             << "\n  ref:  " << describe(*p.tokenizer, want).substr(0, 400);
    matched += got.ids == want ? 1 : 0;
  }
  RecordProperty("matched", std::to_string(matched) + "/" + std::to_string(cases.size()));
}

void expect_pair_parity(const Parity& p, const std::string& fixture_name) {
  const auto cases = fixture_cases(p.fixture);
  ASSERT_FALSE(cases.empty()) << "no pairs in " << fixture_name;
  for (const auto& c : cases) {
    std::string a;
    std::string b;
    if (c.contains("pair")) {
      a = c["pair"].at(0).get<std::string>();
      b = c["pair"].at(1).get<std::string>();
    } else {
      a = c.at("query").get<std::string>();
      b = c.at("document").get<std::string>();
    }
    const Encoding got = p.tokenizer->encode_pair(a, b);
    const std::vector<int32_t> want = unpadded(c, "input_ids");
    EXPECT_EQ(got.ids, want) << "pair: " << a.substr(0, 100) << " | " << b.substr(0, 100)
                             << "\n  ours: " << describe(*p.tokenizer, got.ids).substr(0, 400)
                             << "\n  ref:  " << describe(*p.tokenizer, want).substr(0, 400);
    if (c.contains("token_type_ids")) {
      EXPECT_EQ(got.type_ids, unpadded(c, "token_type_ids")) << "pair: " << a.substr(0, 100);
    }
  }
}

TEST(TokenizerParity, RerankerPairIdsAndTypeIdsMatchTheReference) {
  Parity p = load_parity(model_dir("reranker"), "reranker_parity.json");
  if (!p.skip.empty()) {
    GTEST_SKIP() << p.skip;
  }
  ASSERT_TRUE(p.tokenizer.has_value());
  expect_pair_parity(p, "reranker_parity.json");
}

TEST(TokenizerParity, TinyCrossEncoderPairIdsMatchTheReference) {
  Parity p = load_parity(fixture_path("tiny-cross-encoder"), "tiny_reranker_parity.json");
  if (!p.skip.empty()) {
    LM_SKIP_OR_FAIL(p.skip);
  }
  ASSERT_TRUE(p.tokenizer.has_value());
  expect_pair_parity(p, "tiny_reranker_parity.json");
}

}  // namespace
}  // namespace libromind::ml
