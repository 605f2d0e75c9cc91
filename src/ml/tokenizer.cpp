#include "ml/tokenizer.hpp"

#include <utf8proc.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <utility>

namespace libromind::ml {
namespace {

constexpr int32_t kReplacementChar = 0xFFFD;
constexpr size_t kNoLimit = std::numeric_limits<size_t>::max();
// HF's VERY_LARGE_INTEGER (int(1e30)) stands for "no model_max_length"; anything this large is
// that placeholder, not a real limit.
constexpr double kNoMaxLengthPlaceholder = 1e9;

// The code point ranges of BertTokenizerFast's `is_chinese_char` (CJK Unified Ideographs and
// extensions, compatibility ideographs); kana and hangul are not in them. The reference starts
// the fifth range at U+2B920 where the Python tokenizer has U+2B820; we follow the fast one.
bool is_cjk(int32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
         (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

// HF counts every non-alphanumeric printable ASCII character as punctuation ("$", "+", "^"...),
// not only Unicode's P* ones.
bool is_ascii_punct(int32_t c) {
  return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) ||
         (c >= 123 && c <= 126);
}

// What cleanup, accent stripping and pre-tokenisation do with a code point.
enum class CharClass : uint8_t {
  kDrop,    // control, format, surrogate, private use: removed without splitting the word
  kSpace,   // separators: end the word
  kPunct,   // a word of its own
  kMark,    // nonspacing mark: removed when stripping accents
  kLetter,  // part of a word
  kAsIs,    // part of a word, without canonical decomposition (see kReferenceOverrides)
};

struct Override {
  int32_t first;
  int32_t last;
  CharClass cls;
};

// Where the reference's Unicode tables classify code points differently from utf8proc's: its
// general categories and decompositions come from an older Unicode version, so characters
// assigned or re-categorised since are ordinary letters to it (kAsIs: not decomposed either),
// and a few keep their old category. Derived against utf8proc 2.8.0 (Unicode 15.0) and
// tokenizers 0.23.3 by normalising and pre-tokenising "a<c>a" for every code point with the
// reference's BertNormalizer/BertPreTokenizer in the four case/accent settings and with this
// file, keeping the differences (a test pins the utf8proc Unicode version). Sorted, disjoint.
constexpr Override kReferenceOverrides[] = {
    {0x61D, 0x61D, CharClass::kAsIs},     {0x7FD, 0x7FD, CharClass::kAsIs},
    {0x890, 0x891, CharClass::kAsIs},     {0x898, 0x89F, CharClass::kAsIs},
    {0x8CA, 0x8E2, CharClass::kAsIs},     {0x9FD, 0x9FE, CharClass::kAsIs},
    {0xA76, 0xA76, CharClass::kAsIs},     {0xAFA, 0xAFF, CharClass::kAsIs},
    {0xB55, 0xB55, CharClass::kAsIs},     {0xC04, 0xC04, CharClass::kAsIs},
    {0xC3C, 0xC3C, CharClass::kAsIs},     {0xC77, 0xC77, CharClass::kAsIs},
    {0xC84, 0xC84, CharClass::kAsIs},     {0xD00, 0xD00, CharClass::kAsIs},
    {0xD3B, 0xD3C, CharClass::kAsIs},     {0xD81, 0xD81, CharClass::kAsIs},
    {0xEBA, 0xEBA, CharClass::kAsIs},     {0xECE, 0xECE, CharClass::kAsIs},
    {0x166D, 0x166D, CharClass::kPunct},  {0x1734, 0x1734, CharClass::kMark},
    {0x180F, 0x180F, CharClass::kAsIs},   {0x1885, 0x1886, CharClass::kAsIs},
    {0x1ABF, 0x1ACE, CharClass::kAsIs},   {0x1B7D, 0x1B7E, CharClass::kAsIs},
    {0x1C89, 0x1C89, CharClass::kAsIs},   {0x1DF6, 0x1DFB, CharClass::kAsIs},
    {0x2E43, 0x2E4F, CharClass::kAsIs},   {0x2E52, 0x2E5D, CharClass::kAsIs},
    {0xA7CB, 0xA7CC, CharClass::kAsIs},   {0xA7CE, 0xA7CE, CharClass::kAsIs},
    {0xA7D2, 0xA7D2, CharClass::kAsIs},   {0xA7D4, 0xA7D4, CharClass::kAsIs},
    {0xA7DA, 0xA7DA, CharClass::kAsIs},   {0xA7DC, 0xA7DC, CharClass::kAsIs},
    {0xA82C, 0xA82C, CharClass::kAsIs},   {0xA8C5, 0xA8C5, CharClass::kAsIs},
    {0xA8FF, 0xA8FF, CharClass::kAsIs},   {0xA9BD, 0xA9BD, CharClass::kAsIs},
    {0x10D24, 0x10D27, CharClass::kAsIs}, {0x10D50, 0x10D65, CharClass::kAsIs},
    {0x10EAB, 0x10EAD, CharClass::kAsIs}, {0x10EFD, 0x10EFF, CharClass::kAsIs},
    {0x10F46, 0x10F50, CharClass::kAsIs}, {0x10F55, 0x10F59, CharClass::kAsIs},
    {0x10F82, 0x10F89, CharClass::kAsIs}, {0x11070, 0x11070, CharClass::kAsIs},
    {0x11073, 0x11074, CharClass::kAsIs}, {0x110C2, 0x110C2, CharClass::kAsIs},
    {0x110CD, 0x110CD, CharClass::kAsIs}, {0x111C9, 0x111C9, CharClass::kPunct},
    {0x111CF, 0x111CF, CharClass::kAsIs}, {0x1123E, 0x1123E, CharClass::kAsIs},
    {0x11241, 0x11241, CharClass::kAsIs}, {0x1133B, 0x1133B, CharClass::kAsIs},
    {0x11438, 0x1143F, CharClass::kAsIs}, {0x11442, 0x11444, CharClass::kAsIs},
    {0x11446, 0x11446, CharClass::kAsIs}, {0x1144B, 0x1144F, CharClass::kAsIs},
    {0x1145A, 0x1145B, CharClass::kAsIs}, {0x1145D, 0x1145E, CharClass::kAsIs},
    {0x11660, 0x1166C, CharClass::kAsIs}, {0x116B9, 0x116B9, CharClass::kAsIs},
    {0x1182F, 0x11837, CharClass::kAsIs}, {0x11839, 0x1183B, CharClass::kAsIs},
    {0x11938, 0x11938, CharClass::kAsIs}, {0x1193B, 0x1193C, CharClass::kAsIs},
    {0x1193E, 0x1193E, CharClass::kAsIs}, {0x11943, 0x11946, CharClass::kAsIs},
    {0x119D4, 0x119D7, CharClass::kAsIs}, {0x119DA, 0x119DB, CharClass::kAsIs},
    {0x119E0, 0x119E0, CharClass::kAsIs}, {0x119E2, 0x119E2, CharClass::kAsIs},
    {0x11A01, 0x11A0A, CharClass::kAsIs}, {0x11A33, 0x11A38, CharClass::kAsIs},
    {0x11A3B, 0x11A47, CharClass::kAsIs}, {0x11A51, 0x11A56, CharClass::kAsIs},
    {0x11A59, 0x11A5B, CharClass::kAsIs}, {0x11A8A, 0x11A96, CharClass::kAsIs},
    {0x11A98, 0x11A9C, CharClass::kAsIs}, {0x11A9E, 0x11AA2, CharClass::kAsIs},
    {0x11B00, 0x11B09, CharClass::kAsIs}, {0x11C30, 0x11C36, CharClass::kAsIs},
    {0x11C38, 0x11C3D, CharClass::kAsIs}, {0x11C3F, 0x11C3F, CharClass::kAsIs},
    {0x11C41, 0x11C45, CharClass::kAsIs}, {0x11C70, 0x11C71, CharClass::kAsIs},
    {0x11C92, 0x11CA7, CharClass::kAsIs}, {0x11CAA, 0x11CB0, CharClass::kAsIs},
    {0x11CB2, 0x11CB3, CharClass::kAsIs}, {0x11CB5, 0x11CB6, CharClass::kAsIs},
    {0x11D31, 0x11D36, CharClass::kAsIs}, {0x11D3A, 0x11D3A, CharClass::kAsIs},
    {0x11D3C, 0x11D3D, CharClass::kAsIs}, {0x11D3F, 0x11D45, CharClass::kAsIs},
    {0x11D47, 0x11D47, CharClass::kAsIs}, {0x11D90, 0x11D91, CharClass::kAsIs},
    {0x11D95, 0x11D95, CharClass::kAsIs}, {0x11D97, 0x11D97, CharClass::kAsIs},
    {0x11EF3, 0x11EF4, CharClass::kAsIs}, {0x11EF7, 0x11EF8, CharClass::kAsIs},
    {0x11F00, 0x11F01, CharClass::kAsIs}, {0x11F36, 0x11F3A, CharClass::kAsIs},
    {0x11F40, 0x11F40, CharClass::kAsIs}, {0x11F42, 0x11F4F, CharClass::kAsIs},
    {0x11FFF, 0x11FFF, CharClass::kAsIs}, {0x12FF1, 0x12FF2, CharClass::kAsIs},
    {0x13430, 0x13440, CharClass::kAsIs}, {0x13447, 0x13455, CharClass::kAsIs},
    {0x16E97, 0x16E9A, CharClass::kAsIs}, {0x16EA0, 0x16EB8, CharClass::kAsIs},
    {0x16F4F, 0x16F4F, CharClass::kAsIs}, {0x16FE2, 0x16FE2, CharClass::kAsIs},
    {0x16FE4, 0x16FE4, CharClass::kAsIs}, {0x1CF00, 0x1CF2D, CharClass::kAsIs},
    {0x1CF30, 0x1CF46, CharClass::kAsIs}, {0x1E000, 0x1E006, CharClass::kAsIs},
    {0x1E008, 0x1E018, CharClass::kAsIs}, {0x1E01B, 0x1E021, CharClass::kAsIs},
    {0x1E023, 0x1E024, CharClass::kAsIs}, {0x1E026, 0x1E02A, CharClass::kAsIs},
    {0x1E08F, 0x1E08F, CharClass::kAsIs}, {0x1E130, 0x1E136, CharClass::kAsIs},
    {0x1E2AE, 0x1E2AE, CharClass::kAsIs}, {0x1E2EC, 0x1E2EF, CharClass::kAsIs},
    {0x1E4EC, 0x1E4EF, CharClass::kAsIs}, {0x1E944, 0x1E94A, CharClass::kAsIs},
    {0x1E95E, 0x1E95F, CharClass::kAsIs},
};

struct LowerCase {
  int32_t from;
  int32_t to;
};

// Lower-case mappings the reference has (its case tables are Unicode 16) for characters that
// utf8proc does not know yet; all of them are kAsIs above. Sorted.
constexpr LowerCase kReferenceLower[] = {
    {0x1C89, 0x1C8A},   {0xA7CB, 0x264},    {0xA7CC, 0xA7CD},   {0xA7CE, 0xA7CF},
    {0xA7D2, 0xA7D3},   {0xA7D4, 0xA7D5},   {0xA7DA, 0xA7DB},   {0xA7DC, 0x19B},
    {0x10D50, 0x10D70}, {0x10D51, 0x10D71}, {0x10D52, 0x10D72}, {0x10D53, 0x10D73},
    {0x10D54, 0x10D74}, {0x10D55, 0x10D75}, {0x10D56, 0x10D76}, {0x10D57, 0x10D77},
    {0x10D58, 0x10D78}, {0x10D59, 0x10D79}, {0x10D5A, 0x10D7A}, {0x10D5B, 0x10D7B},
    {0x10D5C, 0x10D7C}, {0x10D5D, 0x10D7D}, {0x10D5E, 0x10D7E}, {0x10D5F, 0x10D7F},
    {0x10D60, 0x10D80}, {0x10D61, 0x10D81}, {0x10D62, 0x10D82}, {0x10D63, 0x10D83},
    {0x10D64, 0x10D84}, {0x10D65, 0x10D85}, {0x16EA0, 0x16EBB}, {0x16EA1, 0x16EBC},
    {0x16EA2, 0x16EBD}, {0x16EA3, 0x16EBE}, {0x16EA4, 0x16EBF}, {0x16EA5, 0x16EC0},
    {0x16EA6, 0x16EC1}, {0x16EA7, 0x16EC2}, {0x16EA8, 0x16EC3}, {0x16EA9, 0x16EC4},
    {0x16EAA, 0x16EC5}, {0x16EAB, 0x16EC6}, {0x16EAC, 0x16EC7}, {0x16EAD, 0x16EC8},
    {0x16EAE, 0x16EC9}, {0x16EAF, 0x16ECA}, {0x16EB0, 0x16ECB}, {0x16EB1, 0x16ECC},
    {0x16EB2, 0x16ECD}, {0x16EB3, 0x16ECE}, {0x16EB4, 0x16ECF}, {0x16EB5, 0x16ED0},
    {0x16EB6, 0x16ED1}, {0x16EB7, 0x16ED2}, {0x16EB8, 0x16ED3},
};

int32_t reference_lower(int32_t c) {
  const auto* end = std::end(kReferenceLower);
  const auto* it = std::lower_bound(std::begin(kReferenceLower), end, c,
                                    [](const LowerCase& l, int32_t v) { return l.from < v; });
  return it != end && it->from == c ? it->to : c;
}

CharClass char_class(int32_t c) {
  if (c < 0x80) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      return CharClass::kSpace;
    }
    if (c < 0x20 || c == 0x7F) {
      return CharClass::kDrop;
    }
    return is_ascii_punct(c) ? CharClass::kPunct : CharClass::kLetter;
  }
  const auto* end = std::end(kReferenceOverrides);
  const auto* it = std::upper_bound(std::begin(kReferenceOverrides), end, c,
                                    [](int32_t v, const Override& o) { return v < o.first; });
  if (it != std::begin(kReferenceOverrides) && c <= (it - 1)->last) {
    return (it - 1)->cls;
  }
  switch (utf8proc_category(c)) {
    // Unassigned code points (Cn) are kept, as the reference does.
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO:
      return CharClass::kDrop;
    case UTF8PROC_CATEGORY_ZS:
    case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP:
      return CharClass::kSpace;
    case UTF8PROC_CATEGORY_PC:
    case UTF8PROC_CATEGORY_PD:
    case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE:
    case UTF8PROC_CATEGORY_PI:
    case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO:
      return CharClass::kPunct;
    case UTF8PROC_CATEGORY_MN:
      return CharClass::kMark;
    default:
      return CharClass::kLetter;
  }
}

void append_utf8(std::string& s, int32_t c) {
  utf8proc_uint8_t buf[4];
  const auto n = utf8proc_encode_char(c, buf);
  s.append(reinterpret_cast<const char*>(buf), static_cast<size_t>(n));
}

// tokenizers' LongestFirst for a pair: how many pieces each segment keeps out of `budget`.
std::pair<size_t, size_t> longest_first(size_t n1, size_t n2, size_t budget) {
  if (n1 + n2 <= budget) {
    return {n1, n2};
  }
  const bool swap = n1 > n2;
  if (swap) {
    std::swap(n1, n2);
  }
  n2 = n1 > budget ? n1 : std::max(n1, budget - n1);
  if (n1 + n2 > budget) {
    n1 = budget / 2;
    n2 = n1 + budget % 2;
  }
  if (swap) {
    std::swap(n1, n2);
  }
  return {n1, n2};
}

core::Error config_error(const std::string& file, const std::string& field,
                         const std::string& what) {
  return core::Error::invalid(file + ": field '" + field + "' " + what, field);
}

core::Result<nlohmann::json> read_json_object(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return core::Error::not_found("cannot open " + path);
  }
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    return core::Error::invalid(path + ": not valid JSON: " + e.what());
  }
  if (!j.is_object()) {
    return core::Error::invalid(path + ": expected a JSON object");
  }
  return j;
}

// Sets `dst` from an optional boolean field; null counts as absent.
core::Result<void> read_bool(const nlohmann::json& j, const std::string& file,
                             const std::string& key, bool& dst) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    return core::ok();
  }
  if (!it->is_boolean()) {
    return config_error(file, key, "must be true or false");
  }
  dst = it->get<bool>();
  return core::ok();
}

// A sequence length field: a whole number >= 3, or HF's huge placeholder (ignored).
core::Result<void> read_length(const nlohmann::json& j, const std::string& file,
                               const std::string& key, int32_t& dst) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    return core::ok();
  }
  if (!it->is_number()) {
    return config_error(file, key, "must be a number");
  }
  const double v = it->get<double>();
  if (v >= kNoMaxLengthPlaceholder) {
    return core::ok();
  }
  if (v < 3 || v != std::floor(v)) {
    return config_error(file, key, "must be a whole number of at least 3");
  }
  dst = static_cast<int32_t>(v);
  return core::ok();
}

// A special token: a string or an AddedToken object {"content": "..."}.
core::Result<void> read_token(const nlohmann::json& j, const std::string& file,
                              const std::string& key, std::string& dst) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    return core::ok();
  }
  if (it->is_string()) {
    dst = it->get<std::string>();
    return core::ok();
  }
  if (it->is_object()) {
    auto c = it->find("content");
    if (c != it->end() && c->is_string()) {
      dst = c->get<std::string>();
      return core::ok();
    }
  }
  return config_error(file, key, "must be a string or an object with a string 'content'");
}

}  // namespace

// Per-call working state, so that encode() is const and thread-safe; the buffers are reused
// for every word of the call.
struct WordPieceTokenizer::Scratch {
  std::string word;              // the current word, UTF-8, at most max_input_chars_per_word
  std::vector<uint32_t> starts;  // byte offset of each character of `word`
  size_t chars = 0;              // characters seen in the word (may exceed what `word` holds)
  std::vector<int32_t> pieces;   // the current word's pieces until the word is known to split
  std::vector<int32_t>* out = nullptr;
  size_t produced = 0;
  size_t limit = 0;

  bool full() const { return produced >= limit; }
  void emit(int32_t id) {
    if (produced < limit) {
      if (out != nullptr) {
        out->push_back(id);
      }
      ++produced;
    }
  }
};

size_t WordPieceTokenizer::StringHash::operator()(std::string_view s) const noexcept {
  return std::hash<std::string_view>{}(s);
}

core::Result<WordPieceTokenizer> WordPieceTokenizer::load(const std::string& vocab_path,
                                                          const TokenizerOptions& options) {
  std::ifstream in(vocab_path, std::ios::binary);
  if (!in) {
    return core::Error::not_found("cannot open vocabulary " + vocab_path);
  }
  std::vector<std::string> tokens;
  std::string line;
  while (std::getline(in, line)) {
    // As the reference reads vocab.txt: the line without its trailing whitespace (and "\r").
    size_t end = line.size();
    while (end > 0 && (line[end - 1] == '\r' || line[end - 1] == ' ' || line[end - 1] == '\t' ||
                       line[end - 1] == '\n' || line[end - 1] == '\v' || line[end - 1] == '\f')) {
      --end;
    }
    line.resize(end);
    tokens.push_back(std::move(line));
    line.clear();
  }
  if (in.bad()) {
    return core::Error::unavailable("error reading vocabulary " + vocab_path);
  }
  return from_vocab(std::move(tokens), options, vocab_path);
}

core::Result<WordPieceTokenizer> WordPieceTokenizer::from_vocab(std::vector<std::string> tokens,
                                                                const TokenizerOptions& options,
                                                                const std::string& source) {
  if (options.max_length < 3) {
    return core::Error::invalid(
        "max_length must be at least 3 (got " + std::to_string(options.max_length) + ")",
        "max_length");
  }
  if (options.max_input_chars_per_word < 1) {
    return core::Error::invalid("max_input_chars_per_word must be at least 1",
                                "max_input_chars_per_word");
  }
  if (tokens.empty()) {
    return core::Error::invalid(source + " has no tokens");
  }
  if (tokens.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    return core::Error::invalid(source + " has too many tokens");
  }

  WordPieceTokenizer t;
  t.options_ = options;
  t.strip_accents_ = options.strip_accents.value_or(options.lowercase);
  t.vocab_.reserve(tokens.size());
  for (size_t i = 0; i < tokens.size(); ++i) {
    const auto id = static_cast<int32_t>(i);
    const std::string& tok = tokens[i];
    // A token listed twice gets its last id, as the reference's map does.
    t.vocab_[tok] = id;
    t.max_piece_bytes_ = std::max(t.max_piece_bytes_, tok.size());
    if (tok.size() > 2 && tok.starts_with("##")) {
      t.continuation_[tok.substr(2)] = id;
      t.max_continuation_bytes_ = std::max(t.max_continuation_bytes_, tok.size() - 2);
    }
  }
  t.id_to_token_ = std::move(tokens);

  const std::pair<const char*, const std::string*> specials[] = {
      {"cls_token", &options.cls_token},   {"sep_token", &options.sep_token},
      {"pad_token", &options.pad_token},   {"unk_token", &options.unk_token},
      {"mask_token", &options.mask_token},
  };
  int32_t* ids[] = {&t.cls_id_, &t.sep_id_, &t.pad_id_, &t.unk_id_, &t.mask_id_};
  for (size_t i = 0; i < std::size(specials); ++i) {
    const char* name = specials[i].first;
    const std::string& text = *specials[i].second;
    auto it = t.vocab_.find(text);
    if (text.empty() || it == t.vocab_.end()) {
      return core::Error::invalid(source + " has no special token '" + text + "' (" + name + ")",
                                  name);
    }
    *ids[i] = it->second;
    if (options.special_tokens_in_text &&
        std::none_of(t.specials_.begin(), t.specials_.end(),
                     [&](const Special& s) { return s.text == text; })) {
      t.specials_.push_back({text, it->second});
      t.special_first_byte_[static_cast<unsigned char>(text[0])] = true;
    }
  }
  // Leftmost-longest, as the reference's matcher.
  std::stable_sort(t.specials_.begin(), t.specials_.end(), [](const Special& a, const Special& b) {
    return a.text.size() > b.text.size();
  });
  return t;
}

core::Result<TokenizerOptions> WordPieceTokenizer::read_model_options(const std::string& dir) {
  namespace fs = std::filesystem;
  TokenizerOptions o;
  std::error_code ec;

  const std::string tc = dir + "/tokenizer_config.json";
  if (fs::exists(tc, ec)) {
    LM_ASSIGN_OR_RETURN(nlohmann::json j, read_json_object(tc));
    LM_TRY(read_bool(j, tc, "do_lower_case", o.lowercase));
    auto sa = j.find("strip_accents");
    if (sa != j.end() && !sa->is_null()) {
      if (!sa->is_boolean()) {
        return config_error(tc, "strip_accents", "must be true, false or null");
      }
      o.strip_accents = sa->get<bool>();
    }
    LM_TRY(read_bool(j, tc, "tokenize_chinese_chars", o.tokenize_chinese_chars));
    LM_TRY(read_length(j, tc, "model_max_length", o.max_length));
    LM_TRY(read_token(j, tc, "cls_token", o.cls_token));
    LM_TRY(read_token(j, tc, "sep_token", o.sep_token));
    LM_TRY(read_token(j, tc, "pad_token", o.pad_token));
    LM_TRY(read_token(j, tc, "unk_token", o.unk_token));
    LM_TRY(read_token(j, tc, "mask_token", o.mask_token));
  }

  const std::string sb = dir + "/sentence_bert_config.json";
  if (fs::exists(sb, ec)) {
    LM_ASSIGN_OR_RETURN(nlohmann::json j, read_json_object(sb));
    LM_TRY(read_length(j, sb, "max_seq_length", o.max_length));
    // sentence-transformers lower-cases the text itself before tokenizing; accent handling stays
    // what the tokenizer's config says.
    bool st_lower = false;
    LM_TRY(read_bool(j, sb, "do_lower_case", st_lower));
    if (st_lower) {
      o.strip_accents = o.strip_accents.value_or(o.lowercase);
      o.lowercase = true;
    }
  }
  return o;
}

core::Result<WordPieceTokenizer> WordPieceTokenizer::load_from_model_dir(const std::string& dir) {
  LM_ASSIGN_OR_RETURN(TokenizerOptions options, read_model_options(dir));
  return load(dir + "/vocab.txt", options);
}

const std::string& WordPieceTokenizer::id_to_token(int32_t id) const {
  static const std::string kNone;
  if (id < 0 || static_cast<size_t>(id) >= id_to_token_.size()) {
    return kNone;
  }
  return id_to_token_[static_cast<size_t>(id)];
}

std::optional<int32_t> WordPieceTokenizer::token_to_id(std::string_view token) const {
  auto it = vocab_.find(token);
  if (it == vocab_.end()) {
    return std::nullopt;
  }
  return it->second;
}

// Greedy longest-match-first over the current word: the longest prefix in the vocabulary, then
// the longest "##" continuation of the rest, and so on; a word with a part that matches nothing,
// or one longer than max_input_chars_per_word, is a single [UNK].
void WordPieceTokenizer::word_pieces(Scratch& s) const {
  if (s.chars > static_cast<size_t>(options_.max_input_chars_per_word)) {
    s.emit(unk_id_);
    return;
  }
  const size_t n = s.chars;
  s.starts.push_back(static_cast<uint32_t>(s.word.size()));
  const std::string_view word(s.word);
  s.pieces.clear();
  size_t start = 0;
  while (start < n) {
    const PieceMap& map = start == 0 ? vocab_ : continuation_;
    const size_t max_bytes = start == 0 ? max_piece_bytes_ : max_continuation_bytes_;
    int32_t id = -1;
    size_t end = n;
    for (; end > start; --end) {
      const size_t bytes = s.starts[end] - s.starts[start];
      if (bytes > max_bytes) {
        continue;  // longer than any token: cannot match
      }
      auto it = map.find(word.substr(s.starts[start], bytes));
      if (it != map.end()) {
        id = it->second;
        break;
      }
    }
    if (id < 0) {
      s.emit(unk_id_);
      return;
    }
    s.pieces.push_back(id);
    start = end;
  }
  for (int32_t id : s.pieces) {
    s.emit(id);
  }
}

size_t WordPieceTokenizer::run(std::string_view text, size_t limit, std::vector<int32_t>* out,
                               Scratch& s) const {
  s.word.clear();
  s.starts.clear();
  s.chars = 0;
  s.out = out;
  s.produced = 0;
  s.limit = limit;
  if (limit == 0) {
    return 0;
  }
  const size_t max_chars = static_cast<size_t>(options_.max_input_chars_per_word);
  const bool lowercase = options_.lowercase;

  auto push_char = [&](int32_t c) {
    ++s.chars;
    if (s.chars <= max_chars) {  // beyond that the word is [UNK]; only the count matters
      s.starts.push_back(static_cast<uint32_t>(s.word.size()));
      append_utf8(s.word, c);
    }
  };
  auto end_word = [&] {
    if (s.chars > 0) {
      word_pieces(s);
      s.word.clear();
      s.starts.clear();
      s.chars = 0;
    }
  };
  auto lone = [&](int32_t c) {
    end_word();
    push_char(c);
    end_word();
  };

  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n && !s.full()) {
    const unsigned char b = p[i];
    if (special_first_byte_[b]) {
      const Special* hit = nullptr;
      for (const Special& sp : specials_) {
        if (text.substr(i).starts_with(sp.text)) {
          hit = &sp;
          break;
        }
      }
      if (hit != nullptr) {
        end_word();
        s.emit(hit->id);
        i += hit->text.size();
        continue;
      }
    }
    if (b < 0x80) {  // ASCII: no decomposition, no marks, simple case mapping
      ++i;
      if (b == ' ' || b == '\t' || b == '\n' || b == '\r') {
        end_word();
      } else if (b < 0x20 || b == 0x7F) {
        // control character: dropped
      } else if (is_ascii_punct(b)) {
        lone(b);
      } else {
        push_char(lowercase && b >= 'A' && b <= 'Z' ? b + ('a' - 'A') : b);
      }
      continue;
    }
    utf8proc_int32_t c = 0;
    const utf8proc_ssize_t len = utf8proc_iterate(p + i, static_cast<utf8proc_ssize_t>(n - i), &c);
    if (len <= 0) {
      ++i;  // an invalid byte reads as U+FFFD, which cleanup drops
      continue;
    }
    i += static_cast<size_t>(len);
    if (c == kReplacementChar) {
      continue;
    }
    const CharClass cls = char_class(c);
    if (cls == CharClass::kDrop) {
      continue;
    }
    if (cls == CharClass::kSpace) {
      end_word();
      continue;
    }
    const bool cjk = options_.tokenize_chinese_chars && is_cjk(c);
    if (cjk) {
      end_word();
    }
    // Normalisation in the reference's order: NFD and drop nonspacing marks, then lower case.
    utf8proc_int32_t decomposed[16];
    utf8proc_ssize_t nd = 1;
    decomposed[0] = c;
    if (strip_accents_ && cls != CharClass::kAsIs) {
      int boundclass = 0;
      nd = utf8proc_decompose_char(c, decomposed, 16, UTF8PROC_DECOMPOSE, &boundclass);
      if (nd < 1 || nd > 16) {
        nd = 1;
        decomposed[0] = c;
      }
    }
    for (utf8proc_ssize_t k = 0; k < nd; ++k) {
      int32_t d = decomposed[k];
      const CharClass dcls = d == c ? cls : char_class(d);
      if (strip_accents_ && dcls == CharClass::kMark) {
        continue;
      }
      if (lowercase) {
        if (d == 0x130) {  // the one full lower-case mapping longer than a character: "i̇"
          push_char('i');
          d = 0x307;
        } else {
          d = dcls == CharClass::kAsIs ? reference_lower(d) : utf8proc_tolower(d);
        }
      }
      if (dcls == CharClass::kPunct) {
        lone(d);
      } else {
        push_char(d);
      }
    }
    if (cjk) {
      end_word();
    }
  }
  if (!s.full()) {
    end_word();
  }
  return s.produced;
}

Encoding WordPieceTokenizer::encode(std::string_view text) const {
  const size_t budget = static_cast<size_t>(options_.max_length) - 2;
  Encoding e;
  // Every piece consumes at least one input byte.
  e.ids.reserve(std::min(budget, text.size()) + 2);
  e.ids.push_back(cls_id_);
  Scratch s;
  run(text, budget, &e.ids, s);
  e.ids.push_back(sep_id_);
  e.type_ids.assign(e.ids.size(), 0);
  e.attention_mask.assign(e.ids.size(), 1);
  return e;
}

Encoding WordPieceTokenizer::encode_pair(std::string_view a, std::string_view b) const {
  const size_t budget = static_cast<size_t>(options_.max_length) - 3;
  Scratch s;
  std::vector<int32_t> a_ids;
  std::vector<int32_t> b_ids;
  // One piece past the budget tells whether a segment is over it.
  size_t na = run(a, budget + 1, &a_ids, s);
  size_t nb = run(b, budget + 1, &b_ids, s);
  if (na > budget && nb > budget && budget % 2 == 1) {
    // Both over: the shorter keeps budget / 2 and the longer one more, so their true order
    // matters. Count the one with fewer bytes fully, the other only as far as needed.
    const bool a_first = a.size() <= b.size();
    const size_t n_first = run(a_first ? a : b, kNoLimit, nullptr, s);
    const size_t n_second = run(a_first ? b : a, n_first + 1, nullptr, s);
    na = a_first ? n_first : n_second;
    nb = a_first ? n_second : n_first;
  }
  const auto [keep_a, keep_b] = longest_first(na, nb, budget);
  a_ids.resize(std::min(keep_a, a_ids.size()));
  b_ids.resize(std::min(keep_b, b_ids.size()));

  Encoding e;
  const size_t total = a_ids.size() + b_ids.size() + 3;
  e.ids.reserve(total);
  e.ids.push_back(cls_id_);
  e.ids.insert(e.ids.end(), a_ids.begin(), a_ids.end());
  e.ids.push_back(sep_id_);
  const size_t first_len = e.ids.size();
  e.ids.insert(e.ids.end(), b_ids.begin(), b_ids.end());
  e.ids.push_back(sep_id_);
  e.type_ids.assign(total, 1);
  std::fill(e.type_ids.begin(), e.type_ids.begin() + static_cast<std::ptrdiff_t>(first_len), 0);
  e.attention_mask.assign(total, 1);
  return e;
}

Batch WordPieceTokenizer::pad(const std::vector<Encoding>& encodings) const {
  Batch batch;
  size_t seq_len = 0;
  for (const Encoding& e : encodings) {
    seq_len = std::max(seq_len, e.ids.size());
  }
  batch.batch_size = static_cast<int32_t>(encodings.size());
  batch.seq_len = static_cast<int32_t>(seq_len);
  batch.ids.assign(encodings.size() * seq_len, pad_id_);
  batch.type_ids.assign(encodings.size() * seq_len, 0);
  batch.attention_mask.assign(encodings.size() * seq_len, 0);
  for (size_t r = 0; r < encodings.size(); ++r) {
    const Encoding& e = encodings[r];
    const size_t row = r * seq_len;
    // type_ids and attention_mask are as long as ids in every Encoding this class makes; the
    // bound keeps a hand-made one from writing into the next row.
    auto copy_row = [&](const std::vector<int32_t>& from, std::vector<int32_t>& to) {
      const size_t n = std::min(from.size(), e.ids.size());
      std::copy_n(from.begin(), n, to.begin() + static_cast<std::ptrdiff_t>(row));
    };
    copy_row(e.ids, batch.ids);
    copy_row(e.type_ids, batch.type_ids);
    copy_row(e.attention_mask, batch.attention_mask);
  }
  return batch;
}

std::vector<std::string> WordPieceTokenizer::tokenize(std::string_view text) const {
  std::vector<int32_t> ids;
  Scratch s;
  run(text, kNoLimit, &ids, s);
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    tokens.push_back(id_to_token_[static_cast<size_t>(id)]);
  }
  return tokens;
}

}  // namespace libromind::ml
