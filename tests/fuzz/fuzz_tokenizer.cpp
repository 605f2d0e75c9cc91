// libFuzzer target: arbitrary bytes through the WordPiece tokenizer, as one text and as a pair
// split at a point the input chooses. The first byte picks the options (case, accents, CJK,
// max_length). Checks: ids inside the vocabulary, lengths within max_length, special tokens and
// type ids where they belong, and that the early-stopping encoders give exactly the prefixes the
// reference's truncation of the full tokenization gives. The vocabulary is a small embedded one,
// or the file named by LIBROMIND_FUZZ_VOCAB (e.g. a real model's vocab.txt).
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ml/tokenizer.hpp"

namespace {

using libromind::ml::Encoding;
using libromind::ml::TokenizerOptions;
using libromind::ml::WordPieceTokenizer;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
  }
}

std::vector<std::string> embedded_vocab() {
  return {"[PAD]", "[UNK]", "[CLS]", "[SEP]",  "[MASK]", "the",  "a",    "an",   "book", "##s",
          "##ed",  "##ing", "un",    "##want", "read",   "##er", "cafe", "café", "i",    "̇",
          "中",    "国",    "日",    "本",     "ö",      "##ö",  "e",    "##e",  "é",    "##é",
          ",",     ".",     "!",     "?",      "'",      "\"",   "-",    "(",    ")",    "$",
          "[",     "]",     "#",     "##a",    "##b",    "##c",  "b",    "c",    "x",    "##x",
          "1",     "##1",   "2",     "##2",    "ß",      "σ",    "ς",    "ا",    "##ل",  "😀"};
}

const std::vector<std::string>& vocab() {
  static const std::vector<std::string> v = [] {
    const char* path = std::getenv("LIBROMIND_FUZZ_VOCAB");
    if (path == nullptr || *path == '\0') {
      return embedded_vocab();
    }
    auto t = WordPieceTokenizer::load(path);
    if (!t) {
      std::fprintf(stderr, "LIBROMIND_FUZZ_VOCAB: %s\n", t.error().message.c_str());
      std::abort();
    }
    std::vector<std::string> tokens;
    for (int32_t i = 0; i < t->vocab_size(); ++i) {
      tokens.push_back(t->id_to_token(i));
    }
    return tokens;
  }();
  return v;
}

constexpr std::array<int32_t, 4> kMaxLengths = {3, 4, 9, 64};

const WordPieceTokenizer& tokenizer(uint8_t selector) {
  static std::array<std::unique_ptr<WordPieceTokenizer>, 32> cache;
  const size_t k = selector & 31;
  if (!cache[k]) {
    TokenizerOptions o;
    o.lowercase = (k & 1) != 0;
    if ((k & 2) != 0) {
      o.strip_accents = !o.lowercase;
    }
    o.tokenize_chinese_chars = (k & 4) != 0;
    o.max_length = kMaxLengths[(k >> 3) & 3];
    auto t = WordPieceTokenizer::from_vocab(vocab(), o, "fuzz vocabulary");
    check(t.ok(), "the vocabulary loads");
    cache[k] = std::make_unique<WordPieceTokenizer>(std::move(t).value());
  }
  return *cache[k];
}

void check_ids(const WordPieceTokenizer& t, const Encoding& e) {
  check(e.type_ids.size() == e.ids.size(), "type_ids as long as ids");
  check(e.attention_mask.size() == e.ids.size(), "attention_mask as long as ids");
  check(e.ids.size() <= static_cast<size_t>(t.options().max_length), "within max_length");
  check(e.ids.size() >= 2 && e.ids.front() == t.cls_id() && e.ids.back() == t.sep_id(),
        "[CLS] ... [SEP]");
  for (size_t i = 0; i < e.ids.size(); ++i) {
    check(e.ids[i] >= 0 && e.ids[i] < t.vocab_size(), "id inside the vocabulary");
    check(e.attention_mask[i] == 1, "mask is all ones before padding");
  }
}

// Pieces [from, to) of `e` as token strings equal the first pieces of `full`.
void check_prefix(const WordPieceTokenizer& t, const Encoding& e, size_t from, size_t to,
                  const std::vector<std::string>& full, const char* what) {
  check(to - from <= full.size(), what);
  for (size_t i = from; i < to; ++i) {
    check(t.id_to_token(e.ids[i]) == full[i - from], what);
  }
}

// The reference's longest_first, written out independently of the library's version.
std::pair<size_t, size_t> expected_pair_lengths(size_t na, size_t nb, size_t budget) {
  if (na + nb <= budget) {
    return {na, nb};
  }
  const size_t shorter = na > nb ? nb : na;
  size_t keep_short = shorter;
  size_t keep_long = budget - shorter;
  if (shorter > budget / 2 && 2 * shorter > budget) {
    keep_short = budget / 2;
    keep_long = budget - keep_short;
  }
  // Equal lengths: the first takes the role of the shorter.
  return na > nb ? std::make_pair(keep_long, keep_short) : std::make_pair(keep_short, keep_long);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  const WordPieceTokenizer& t = tokenizer(data[0]);
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const size_t max_length = static_cast<size_t>(t.options().max_length);

  const std::vector<std::string> full = t.tokenize(text);
  const Encoding single = t.encode(text);
  check_ids(t, single);
  for (int32_t type : single.type_ids) {
    check(type == 0, "single text has type id 0");
  }
  check(single.ids.size() - 2 == std::min(full.size(), max_length - 2),
        "single text keeps min(pieces, max_length - 2)");
  check_prefix(t, single, 1, single.ids.size() - 1, full, "single text is a prefix");

  const size_t cut = text.empty() ? 0 : (static_cast<size_t>(data[0]) * 131) % (text.size() + 1);
  const std::string_view a = text.substr(0, cut);
  const std::string_view b = text.substr(cut);
  const std::vector<std::string> full_a = t.tokenize(a);
  const std::vector<std::string> full_b = t.tokenize(b);
  const Encoding pair = t.encode_pair(a, b);
  check_ids(t, pair);
  size_t first = 0;  // [CLS] a [SEP]
  while (first < pair.type_ids.size() && pair.type_ids[first] == 0) {
    ++first;
  }
  for (size_t i = first; i < pair.type_ids.size(); ++i) {
    check(pair.type_ids[i] == 1, "type ids are 0...0 1...1");
  }
  check(first >= 2 && pair.ids[first - 1] == t.sep_id(), "first segment ends with [SEP]");
  check(pair.ids.size() - first >= 1, "second segment has its [SEP]");
  const auto [keep_a, keep_b] = expected_pair_lengths(full_a.size(), full_b.size(), max_length - 3);
  check(first - 2 == keep_a, "first segment truncated as the reference does");
  check(pair.ids.size() - first - 1 == keep_b, "second segment truncated as the reference does");
  check_prefix(t, pair, 1, first - 1, full_a, "first segment is a prefix");
  check_prefix(t, pair, first, pair.ids.size() - 1, full_b, "second segment is a prefix");

  const auto batch = t.pad({single, pair});
  check(batch.batch_size == 2, "batch size");
  check(static_cast<size_t>(batch.seq_len) == std::max(single.ids.size(), pair.ids.size()),
        "padded to the longest");
  return 0;
}
