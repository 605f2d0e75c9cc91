// BERT WordPiece tokenizer, token for token what Hugging Face's BertTokenizerFast (the tokenizer
// sentence-transformers and CrossEncoder load) produces for uncased and cased BERT vocabularies:
// text cleanup, CJK splitting, lower casing and accent stripping, punctuation split, greedy
// longest-match-first word pieces, special tokens, truncation, padding and pair encoding.
//
//   auto tok = ml::WordPieceTokenizer::load_from_model_dir(model_dir + "/embedder");
//   if (!tok) { return tok.error(); }
//   ml::Batch batch = tok->pad({tok->encode("Pride and Prejudice"), tok->encode("Emma")});
//   ml::Encoding pair = tok->encode_pair(query, description);  // for the cross-encoder
//
// Known divergences from the reference are listed above `WordPieceTokenizer`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/result.hpp"
#include "ml/encoding.hpp"

namespace libromind::ml {

struct TokenizerOptions {
  bool lowercase = true;               // do_lower_case: uncased models
  std::optional<bool> strip_accents;   // NFD and drop nonspacing marks; unset: same as lowercase
  bool tokenize_chinese_chars = true;  // CJK ideographs become tokens of their own
  int32_t max_length = 512;            // ids per encoding, special tokens included (>= 3)
  int32_t max_input_chars_per_word = 100;  // longer words become [UNK]
  bool special_tokens_in_text = true;      // "[SEP]" written in the text is the [SEP] token (as HF)
  std::string cls_token = "[CLS]";         // starts every encoding
  std::string sep_token = "[SEP]";         // ends each segment
  std::string pad_token = "[PAD]";         // fills batches
  std::string unk_token = "[UNK]";         // a word that has no word pieces
  std::string mask_token = "[MASK]";       // only recognised in text, never produced
};

// Parity: the ids equal BertTokenizerFast's (tokenizers 0.23, as sentence-transformers and
// CrossEncoder call it) for every single code point in context and for all texts and pairs
// tried (tests/ml/tokenizer_test.cpp). The reference's Unicode tables are older than utf8proc's
// (Unicode 15), so tokenizer.cpp carries the code points where they differ. Known differences
// between the reference and the slow Python BertTokenizer, where we follow the fast one: a final
// capital sigma (Python's str.lower() gives "ς"), CJK U+2B820..U+2B91F (not split by the fast
// one), equal-length pair truncation ties, and a pair with an empty second text, which
// transformers' unbatched call encodes as a single text ([CLS] a [SEP]); batched calls and the
// CrossEncoder give [CLS] a [SEP] [SEP], as encode_pair does.
class WordPieceTokenizer {
 public:
  // Reads a vocab.txt (one token per line, the id is the line number). Fails naming the file when
  // it cannot be read, is empty, or lacks a special token; or naming the option when an option
  // is out of range.
  static core::Result<WordPieceTokenizer> load(const std::string& vocab_path,
                                               const TokenizerOptions& options = {});

  // The same from tokens in id order (tests, the fuzzer). `source` names them in errors.
  static core::Result<WordPieceTokenizer> from_vocab(std::vector<std::string> tokens,
                                                     const TokenizerOptions& options = {},
                                                     const std::string& source = "vocabulary");

  // Options from a model directory: tokenizer_config.json (do_lower_case, strip_accents,
  // tokenize_chinese_chars, model_max_length, special tokens) and sentence_bert_config.json
  // (max_seq_length, which wins; do_lower_case), each when present. A model_max_length that is
  // HF's "no limit" placeholder (>= 1e9) is ignored and 512 is kept.
  static core::Result<TokenizerOptions> read_model_options(const std::string& dir);

  // load(dir + "/vocab.txt", read_model_options(dir)).
  static core::Result<WordPieceTokenizer> load_from_model_dir(const std::string& dir);

  // [CLS] text [SEP], keeping the first max_length - 2 word pieces. Time is bounded by the input
  // length and stops early once enough pieces exist: a 10 MB text costs about as much as a page.
  Encoding encode(std::string_view text) const;

  // [CLS] a [SEP] b [SEP] with type ids 0 for [CLS] a [SEP] and 1 for b [SEP], truncated with the
  // reference's 'longest_first': the shorter segment is kept whole when the longer can give up
  // enough; otherwise each keeps half of max_length - 3 (the first segment of two equally long
  // ones, or the shorter, gets the smaller half). Both segments are read only up to what the
  // result needs, except when both exceed the budget and their order decides an odd half: then
  // both are counted (linear in the input).
  Encoding encode_pair(std::string_view a, std::string_view b) const;

  // Pads to the longest encoding: [PAD] ids, type id 0, attention mask 0. Empty in, empty out.
  Batch pad(const std::vector<Encoding>& encodings) const;

  // Word pieces of the whole text as strings, without special tokens or truncation (debugging).
  std::vector<std::string> tokenize(std::string_view text) const;

  int32_t vocab_size() const { return static_cast<int32_t>(id_to_token_.size()); }
  std::optional<int32_t> token_to_id(std::string_view token) const;
  const std::string& id_to_token(int32_t id) const;  // empty outside the vocabulary
  const TokenizerOptions& options() const { return options_; }
  int32_t cls_id() const { return cls_id_; }
  int32_t sep_id() const { return sep_id_; }
  int32_t pad_id() const { return pad_id_; }
  int32_t unk_id() const { return unk_id_; }
  int32_t mask_id() const { return mask_id_; }

 private:
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept;
  };
  using PieceMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;
  struct Scratch;
  struct Special {
    std::string text;
    int32_t id = 0;
  };

  WordPieceTokenizer() = default;

  // Appends the word pieces of `text` to `out` (when not null) until `limit` pieces; returns how
  // many were produced.
  size_t run(std::string_view text, size_t limit, std::vector<int32_t>* out,
             Scratch& scratch) const;
  void word_pieces(Scratch& s) const;

  TokenizerOptions options_;
  bool strip_accents_ = true;
  PieceMap vocab_;         // every token
  PieceMap continuation_;  // tokens that start with "##", without it
  size_t max_piece_bytes_ = 0;
  size_t max_continuation_bytes_ = 0;
  std::vector<std::string> id_to_token_;
  std::vector<Special> specials_;  // recognised in text, longest first
  bool special_first_byte_[256] = {};
  int32_t cls_id_ = 0;
  int32_t sep_id_ = 0;
  int32_t pad_id_ = 0;
  int32_t unk_id_ = 0;
  int32_t mask_id_ = 0;
};

}  // namespace libromind::ml
