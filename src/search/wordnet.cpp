#include "search/wordnet.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <memory>
#include <unordered_map>
#include <utility>

namespace libromind::search {
namespace {

using core::Error;

constexpr std::array<PartOfSpeech, 4> kAllPos = {PartOfSpeech::kNoun, PartOfSpeech::kVerb,
                                                 PartOfSpeech::kAdjective, PartOfSpeech::kAdverb};
// File name suffixes (index.noun, noun.exc) in PartOfSpeech order.
constexpr std::array<std::string_view, 4> kPosNames = {"noun", "verb", "adj", "adv"};
// No WordNet file comes near this; a larger one is not WordNet, and is not read into memory.
constexpr size_t kMaxFileBytes = 64u << 20;
// Synonyms are looked up for single query words; WordNet's longest lemma is 71 bytes.
constexpr size_t kMaxWordBytes = 64;
// Senses of each part of speech that give synonyms: beyond the second, WordNet's senses are
// rare readings ("sad" #3 is "deplorable") that drift from what a shopper meant.
constexpr uint32_t kSensesPerPos = 2;
// Synonyms with more words than this read as definitions, not as words to search for.
constexpr size_t kMaxSynonymWords = 3;
// A second sense tagged less than a quarter as often as the first is a rare reading, when the
// first was tagged often enough for the difference to mean something.
constexpr uint32_t kRareSenseRatio = 4;
constexpr uint32_t kMinTagsToJudge = 10;

size_t pos_index(PartOfSpeech p) { return static_cast<size_t>(p); }

// Space-separated fields of a line, read left to right.
class Fields {
 public:
  explicit Fields(std::string_view s) : rest_(s) {}
  bool next(std::string_view& out) {
    size_t i = 0;
    while (i < rest_.size() && rest_[i] == ' ') {
      ++i;
    }
    rest_.remove_prefix(i);
    if (rest_.empty()) {
      return false;
    }
    const size_t end = std::min(rest_.find(' '), rest_.size());
    out = rest_.substr(0, end);
    rest_.remove_prefix(end);
    return true;
  }
  std::string_view rest() const { return rest_; }

 private:
  std::string_view rest_;
};

Error bad(std::string what) { return Error::invalid(std::move(what)); }

// Digits only (no sign, no spaces), in base 10 or 16, fitting in `max`.
bool parse_number(std::string_view s, int base, uint32_t max, uint32_t& out) {
  if (s.empty() || s.size() > 10) {
    return false;
  }
  uint32_t v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc() || p != s.data() + s.size() || v > max) {
    return false;
  }
  // from_chars takes a leading '-' for signed types only, but be explicit about what we accept.
  for (char c : s) {
    const bool digit = c >= '0' && c <= '9';
    const bool hex = base == 16 && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'));
    if (!digit && !hex) {
      return false;
    }
  }
  out = v;
  return true;
}

bool parse_pos(std::string_view s, PartOfSpeech& out, bool satellite_ok) {
  if (s.size() != 1) {
    return false;
  }
  switch (s[0]) {
    case 'n':
      out = PartOfSpeech::kNoun;
      return true;
    case 'v':
      out = PartOfSpeech::kVerb;
      return true;
    case 'a':
      out = PartOfSpeech::kAdjective;
      return true;
    case 's':
      out = PartOfSpeech::kAdjective;
      return satellite_ok;
    case 'r':
      out = PartOfSpeech::kAdverb;
      return true;
    default:
      return false;
  }
}

// A word or lemma field: printable ASCII without spaces (WordNet 3.0 has nothing else; a
// control byte or a non-ASCII one means the file is not what we think it is).
bool plain_word(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    const auto b = static_cast<unsigned char>(c);
    return b > 0x20 && b < 0x7F;
  });
}

// Adjectives in data.adj may carry a syntactic marker: "galore(ip)", "elect(p)", "former(a)".
std::string_view strip_adjective_marker(std::string_view w) {
  for (std::string_view m : {"(a)", "(p)", "(ip)"}) {
    if (w.size() > m.size() && w.ends_with(m)) {
      return w.substr(0, w.size() - m.size());
    }
  }
  return w;
}

char to_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

struct Rule {
  std::string_view suffix;
  std::string_view replacement;
};

// morphy's detachment rules (WordNet's morph.c, morphy(7WN)), tried in this order; the first
// that gives a lemma wins. Adverbs have exceptions only.
constexpr Rule kNounRules[] = {{"s", ""},      {"ses", "s"},   {"xes", "x"},   {"zes", "z"},
                               {"ches", "ch"}, {"shes", "sh"}, {"men", "man"}, {"ies", "y"}};
constexpr Rule kVerbRules[] = {{"s", ""},   {"ies", "y"}, {"es", "e"},  {"es", ""},
                               {"ed", "e"}, {"ed", ""},   {"ing", "e"}, {"ing", ""}};
constexpr Rule kAdjectiveRules[] = {{"er", ""}, {"est", ""}, {"er", "e"}, {"est", "e"}};

// The whole file, or kUnavailable naming it.
core::Result<std::string> read_file(const std::string& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) {
    return Error::unavailable("wordnet: cannot open " + path);
  }
  std::string data;
  char buf[1 << 16];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f.get())) > 0) {
    if (data.size() + n > kMaxFileBytes) {
      return bad("wordnet: " + path + " is larger than " + std::to_string(kMaxFileBytes >> 20) +
                 " MB, not a WordNet file");
    }
    data.append(buf, n);
  }
  if (std::ferror(f.get()) != 0) {
    return Error::unavailable("wordnet: cannot read " + path);
  }
  return data;
}

// Calls fn(line, line_number, byte_offset) for each line that is not empty and not part of the
// license header (which starts with a space). Stops at the first error fn returns.
template <typename Fn>
core::Result<void> for_each_line(std::string_view text, Fn&& fn) {
  size_t pos = 0;
  uint32_t number = 0;
  while (pos < text.size()) {
    const size_t nl = std::min(text.find('\n', pos), text.size());
    std::string_view line = text.substr(pos, nl - pos);
    ++number;
    if (line.ends_with('\r')) {
      line.remove_suffix(1);
    }
    if (!line.empty() && line[0] != ' ') {
      LM_TRY(fn(line, number, pos));
    }
    pos = nl + 1;
  }
  return core::ok();
}

std::string where(const std::string& path, uint32_t line) {
  return "wordnet: " + path + ":" + std::to_string(line) + ": ";
}

}  // namespace

core::Result<WordNetIndexLine> parse_index_line(std::string_view line) {
  WordNetIndexLine out;
  Fields f(line);
  std::string_view tok;
  if (line.empty() || line[0] == ' ' || !f.next(tok) || !plain_word(tok)) {
    return bad("index line: no lemma");
  }
  out.lemma = tok;
  if (!f.next(tok) || !parse_pos(tok, out.pos, false)) {
    return bad("index line: bad part of speech");
  }
  uint32_t synsets = 0;
  uint32_t pointers = 0;
  uint32_t senses = 0;
  // Counts are bounded by the length of the line, so a corrupt one cannot ask for a huge vector.
  const auto limit = static_cast<uint32_t>(line.size() / 2);
  if (!f.next(tok) || !parse_number(tok, 10, limit, synsets) || synsets == 0) {
    return bad("index line: bad synset_cnt");
  }
  if (!f.next(tok) || !parse_number(tok, 10, limit, pointers)) {
    return bad("index line: bad p_cnt");
  }
  for (uint32_t i = 0; i < pointers; ++i) {
    if (!f.next(tok) || !plain_word(tok) || tok.size() > 2) {
      return bad("index line: bad ptr_symbol");
    }
  }
  if (!f.next(tok) || !parse_number(tok, 10, limit, senses) || senses != synsets) {
    return bad("index line: sense_cnt is not synset_cnt");
  }
  if (!f.next(tok) || !parse_number(tok, 10, senses, out.tagged_senses)) {
    return bad("index line: bad tagsense_cnt");
  }
  out.synset_offsets.reserve(synsets);
  for (uint32_t i = 0; i < synsets; ++i) {
    uint32_t offset = 0;
    if (!f.next(tok) || !parse_number(tok, 10, UINT32_MAX, offset)) {
      return bad("index line: bad synset_offset");
    }
    out.synset_offsets.push_back(offset);
  }
  if (f.next(tok)) {
    return bad("index line: more synset offsets than synset_cnt");
  }
  return out;
}

core::Result<WordNetDataLine> parse_data_line(std::string_view line) {
  WordNetDataLine out;
  Fields f(line);
  std::string_view tok;
  if (line.empty() || line[0] == ' ' || !f.next(tok) ||
      !parse_number(tok, 10, UINT32_MAX, out.offset)) {
    return bad("data line: bad synset_offset");
  }
  uint32_t v = 0;
  if (!f.next(tok) || !parse_number(tok, 10, 99, v)) {
    return bad("data line: bad lex_filenum");
  }
  out.lex_filenum = static_cast<uint8_t>(v);
  PartOfSpeech pos;
  if (!f.next(tok) || !parse_pos(tok, pos, true)) {
    return bad("data line: bad ss_type");
  }
  out.ss_type = tok[0];
  uint32_t words = 0;
  if (!f.next(tok) || tok.size() != 2 || !parse_number(tok, 16, 0xFF, words) || words == 0) {
    return bad("data line: bad w_cnt");
  }
  out.words.reserve(words);
  for (uint32_t i = 0; i < words; ++i) {
    WordNetWord w;
    if (!f.next(tok) || !plain_word(tok)) {
      return bad("data line: bad word");
    }
    w.text = out.ss_type == 'a' || out.ss_type == 's' ? strip_adjective_marker(tok) : tok;
    if (!f.next(tok) || tok.size() != 1 || !parse_number(tok, 16, 0xF, v)) {
      return bad("data line: bad lex_id");
    }
    w.lex_id = static_cast<uint8_t>(v);
    out.words.push_back(w);
  }
  uint32_t pointers = 0;
  if (!f.next(tok) || tok.size() != 3 || !parse_number(tok, 10, 999, pointers)) {
    return bad("data line: bad p_cnt");
  }
  out.pointers.reserve(std::min<size_t>(pointers, line.size() / 8));
  for (uint32_t i = 0; i < pointers; ++i) {
    WordNetPointer p;
    if (!f.next(tok) || !plain_word(tok) || tok.size() > 2) {
      return bad("data line: bad pointer_symbol");
    }
    p.symbol = tok;
    if (!f.next(tok) || !parse_number(tok, 10, UINT32_MAX, p.offset)) {
      return bad("data line: bad pointer synset_offset");
    }
    if (!f.next(tok) || !parse_pos(tok, p.pos, true)) {
      return bad("data line: bad pointer pos");
    }
    if (!f.next(tok) || tok.size() != 4 || !parse_number(tok, 16, 0xFFFF, v)) {
      return bad("data line: bad pointer source/target");
    }
    p.source_target = static_cast<uint16_t>(v);
    out.pointers.push_back(p);
  }
  if (out.ss_type == 'v') {  // verb frames: f_cnt, then "+ f_num w_num" each
    uint32_t frames = 0;
    if (!f.next(tok) || !parse_number(tok, 10, 99, frames)) {
      return bad("data line: bad f_cnt");
    }
    for (uint32_t i = 0; i < frames; ++i) {
      if (!f.next(tok) || tok != "+" || !f.next(tok) || !parse_number(tok, 10, 99, v) ||
          !f.next(tok) || !parse_number(tok, 16, 0xFF, v)) {
        return bad("data line: bad verb frame");
      }
    }
  }
  if (f.next(tok)) {
    if (tok != "|") {
      return bad("data line: expected '|' before the gloss");
    }
    std::string_view gloss = f.rest();
    while (!gloss.empty() && gloss.front() == ' ') {
      gloss.remove_prefix(1);
    }
    while (!gloss.empty() && gloss.back() == ' ') {
      gloss.remove_suffix(1);
    }
    out.gloss = gloss;
  }
  return out;
}

// Builds a WordNet from the files. Keeps the file buffers only while loading.
class WordNetLoader {
 public:
  explicit WordNetLoader(std::string dir) : dir_(std::move(dir)) {}

  core::Result<WordNet> run() {
    LM_TRY(read_indexes());
    LM_TRY(build_lemmas());
    for (PartOfSpeech p : kAllPos) {
      LM_TRY(read_data(p));
    }
    LM_TRY(resolve_senses());
    LM_TRY(resolve_similar());
    for (PartOfSpeech p : kAllPos) {
      LM_TRY(read_exceptions(p));
    }
    pack_exceptions();
    wn_.synset_tags_.assign(wn_.synset_type_.size(), 0);
    LM_TRY(read_counts());
    order_satellites();
    wn_.lemma_chars_.shrink_to_fit();
    wn_.synset_words_.shrink_to_fit();
    wn_.senses_.shrink_to_fit();
    return std::move(wn_);
  }

 private:
  struct IndexRecord {
    std::string_view lemma;
    PartOfSpeech pos;
    uint32_t line;
    uint32_t first_offset;  // in record_offsets_
    uint32_t offset_count;
  };
  struct PendingSimilar {
    uint32_t synset;
    uint32_t target_offset;
    uint32_t line;
  };
  struct PendingException {
    std::string_view inflected;
    PartOfSpeech pos;
    uint32_t base;
  };

  std::string path(std::string_view name) const { return dir_ + "/" + std::string(name); }
  std::string index_path(PartOfSpeech p) const {
    return path("index." + std::string(kPosNames[pos_index(p)]));
  }
  std::string data_path(PartOfSpeech p) const {
    return path("data." + std::string(kPosNames[pos_index(p)]));
  }

  core::Result<void> read_indexes() {
    for (PartOfSpeech p : kAllPos) {
      const std::string file = index_path(p);
      LM_ASSIGN_OR_RETURN(buffers_[pos_index(p)], read_file(file));
      LM_TRY(for_each_line(
          buffers_[pos_index(p)],
          [&](std::string_view line, uint32_t number, size_t) -> core::Result<void> {
            auto r = parse_index_line(line);
            if (!r) {
              return bad(where(file, number) + r.error().message);
            }
            if (r->pos != p) {
              return bad(where(file, number) + "a lemma of another part of speech");
            }
            records_.push_back({r->lemma, p, number, static_cast<uint32_t>(record_offsets_.size()),
                                static_cast<uint32_t>(r->synset_offsets.size())});
            record_offsets_.insert(record_offsets_.end(), r->synset_offsets.begin(),
                                   r->synset_offsets.end());
            return core::ok();
          }));
    }
    std::stable_sort(records_.begin(), records_.end(),
                     [](const IndexRecord& a, const IndexRecord& b) {
                       return a.lemma != b.lemma ? a.lemma < b.lemma : a.pos < b.pos;
                     });
    return core::ok();
  }

  core::Result<void> build_lemmas() {
    size_t chars = 0;
    for (const IndexRecord& r : records_) {
      chars += r.lemma.size();
    }
    wn_.lemma_chars_.reserve(chars);
    wn_.entries_.reserve(records_.size());
    std::string_view previous;
    for (size_t i = 0; i < records_.size(); ++i) {
      const IndexRecord& r = records_[i];
      if (i != 0 && r.lemma == previous && r.pos == records_[i - 1].pos) {
        return bad(where(index_path(r.pos), r.line) + "lemma listed twice");
      }
      if (i == 0 || r.lemma != previous) {
        if (i != 0) {
          wn_.lemma_entry_start_.push_back(static_cast<uint32_t>(wn_.entries_.size()));
        }
        wn_.lemma_chars_.append(r.lemma);
        wn_.lemma_start_.push_back(static_cast<uint32_t>(wn_.lemma_chars_.size()));
        previous = r.lemma;
      }
      wn_.entries_.push_back({0, 0, 0, r.pos});
    }
    if (!records_.empty()) {
      wn_.lemma_entry_start_.push_back(static_cast<uint32_t>(wn_.entries_.size()));
    }
    wn_.indexed_lemmas_ = static_cast<uint32_t>(wn_.lemma_start_.size() - 1);
    return core::ok();
  }

  uint32_t intern_word(std::string_view text) {
    lower_.assign(text);
    std::transform(lower_.begin(), lower_.end(), lower_.begin(), to_lower);
    const int64_t id = wn_.find_lemma(lower_);
    if (id >= 0) {
      return static_cast<uint32_t>(id);
    }
    auto [it, inserted] =
        extra_lemmas_.try_emplace(lower_, static_cast<uint32_t>(wn_.lemma_start_.size() - 1));
    if (inserted) {
      wn_.lemma_chars_.append(lower_);
      wn_.lemma_start_.push_back(static_cast<uint32_t>(wn_.lemma_chars_.size()));
    }
    return it->second;
  }

  core::Result<void> read_data(PartOfSpeech p) {
    const std::string file = data_path(p);
    LM_ASSIGN_OR_RETURN(const std::string text, read_file(file));
    std::vector<uint32_t>& offsets = offsets_[pos_index(p)];
    synset_base_[pos_index(p)] = static_cast<uint32_t>(wn_.synset_type_.size());
    return for_each_line(
        text, [&](std::string_view line, uint32_t number, size_t at) -> core::Result<void> {
          auto r = parse_data_line(line);
          if (!r) {
            return bad(where(file, number) + r.error().message);
          }
          PartOfSpeech type = p;
          (void)parse_pos(std::string_view(&r->ss_type, 1), type, true);
          if (type != p) {
            return bad(where(file, number) + "a synset of another part of speech");
          }
          // The offset is the line's byte position: that is how index files and pointers find
          // it, so a file that was edited or truncated shows up here.
          if (r->offset != at) {
            return bad(where(file, number) + "synset_offset " + std::to_string(r->offset) +
                       " is not the line's byte offset " + std::to_string(at));
          }
          const auto id = static_cast<uint32_t>(wn_.synset_type_.size());
          offsets.push_back(r->offset);
          wn_.synset_type_.push_back(r->ss_type);
          for (const WordNetWord& w : r->words) {
            const bool capital = std::any_of(w.text.begin(), w.text.end(),
                                             [](char c) { return c >= 'A' && c <= 'Z'; });
            wn_.synset_words_.push_back(intern_word(w.text) |
                                        (capital ? WordNet::kCapitalised : 0));
          }
          wn_.synset_word_start_.push_back(static_cast<uint32_t>(wn_.synset_words_.size()));
          if (p == PartOfSpeech::kAdjective) {
            for (const WordNetPointer& ptr : r->pointers) {
              if (ptr.symbol == "&" && ptr.pos == PartOfSpeech::kAdjective) {
                similar_.push_back({id, ptr.offset, number});
              }
            }
          }
          return core::ok();
        });
  }

  // The synset id of `offset` in data.<p>, or -1.
  int64_t synset_at(PartOfSpeech p, uint32_t offset) const {
    const std::vector<uint32_t>& o = offsets_[pos_index(p)];
    const auto it = std::lower_bound(o.begin(), o.end(), offset);
    if (it == o.end() || *it != offset) {
      return -1;
    }
    return synset_base_[pos_index(p)] + (it - o.begin());
  }

  core::Result<void> resolve_senses() {
    const size_t total = record_offsets_.size();
    wn_.senses_.reserve(total);
    wn_.sense_tags_.assign(total, 0);
    for (size_t i = 0; i < records_.size(); ++i) {
      const IndexRecord& r = records_[i];
      WordNet::Entry& e = wn_.entries_[i];
      if (r.offset_count > UINT16_MAX) {
        return bad(where(index_path(r.pos), r.line) + "too many senses");
      }
      e.first_sense = static_cast<uint32_t>(wn_.senses_.size());
      e.sense_count = static_cast<uint16_t>(r.offset_count);
      for (uint32_t j = 0; j < r.offset_count; ++j) {
        const uint32_t offset = record_offsets_[r.first_offset + j];
        const int64_t s = synset_at(r.pos, offset);
        if (s < 0) {
          return bad(where(index_path(r.pos), r.line) + "synset " + std::to_string(offset) +
                     " is not in " + data_path(r.pos));
        }
        wn_.senses_.push_back(static_cast<uint32_t>(s));
      }
    }
    records_ = {};
    record_offsets_ = {};
    buffers_ = {};
    return core::ok();
  }

  // Similar-to pointers go both ways (head -> satellites, satellite -> head); the targets are
  // resolved once the whole file is read, as pointers may point forward.
  core::Result<void> resolve_similar() {
    const size_t n = wn_.synset_type_.size();
    std::vector<uint32_t> counts(n, 0);
    std::vector<uint32_t> targets;
    targets.reserve(similar_.size());
    for (const PendingSimilar& s : similar_) {
      const int64_t t = synset_at(PartOfSpeech::kAdjective, s.target_offset);
      if (t < 0) {
        return bad(where(data_path(PartOfSpeech::kAdjective), s.line) + "similar-to synset " +
                   std::to_string(s.target_offset) + " is not in the file");
      }
      targets.push_back(static_cast<uint32_t>(t));
      ++counts[s.synset];
    }
    wn_.synset_similar_start_.assign(n + 1, 0);
    for (size_t i = 0; i < n; ++i) {
      wn_.synset_similar_start_[i + 1] = wn_.synset_similar_start_[i] + counts[i];
    }
    wn_.synset_similar_.assign(targets.size(), 0);
    std::vector<uint32_t> fill(wn_.synset_similar_start_.begin(),
                               wn_.synset_similar_start_.end() - 1);
    for (size_t i = 0; i < similar_.size(); ++i) {
      wn_.synset_similar_[fill[similar_[i].synset]++] = targets[i];
    }
    similar_.clear();
    similar_.shrink_to_fit();
    offsets_ = {};
    return core::ok();
  }

  core::Result<void> read_exceptions(PartOfSpeech p) {
    const std::string file = path(std::string(kPosNames[pos_index(p)]) + ".exc");
    std::string& text = exception_buffers_[pos_index(p)];
    LM_ASSIGN_OR_RETURN(text, read_file(file));
    return for_each_line(
        text, [&](std::string_view line, uint32_t number, size_t) -> core::Result<void> {
          Fields f(line);
          std::string_view inflected;
          std::string_view base;
          if (!f.next(inflected) || !plain_word(inflected) || !f.next(base)) {
            return bad(where(file, number) + "expected an inflected form and its base forms");
          }
          do {
            if (!plain_word(base)) {
              return bad(where(file, number) + "bad base form");
            }
            // Only bases WordNet has in this part of speech are of any use (morphy filters
            // them the same way).
            const int64_t id = wn_.find_lemma(base);
            if (id >= 0 && wn_.find_entry(static_cast<uint32_t>(id), p) != nullptr) {
              pending_exceptions_.push_back({inflected, p, static_cast<uint32_t>(id)});
            }
          } while (f.next(base));
          return core::ok();
        });
  }

  void pack_exceptions() {
    std::stable_sort(pending_exceptions_.begin(), pending_exceptions_.end(),
                     [](const PendingException& a, const PendingException& b) {
                       return a.inflected != b.inflected ? a.inflected < b.inflected
                                                         : a.pos < b.pos;
                     });
    wn_.exceptions_.reserve(pending_exceptions_.size());
    std::string_view previous;
    uint32_t start = 0;
    for (const PendingException& e : pending_exceptions_) {
      if (e.inflected != previous || wn_.exception_chars_.empty()) {
        start = static_cast<uint32_t>(wn_.exception_chars_.size());
        wn_.exception_chars_.append(e.inflected);
        previous = e.inflected;
      }
      wn_.exceptions_.push_back({start, static_cast<uint32_t>(e.inflected.size()), e.base, e.pos});
    }
    pending_exceptions_.clear();
    pending_exceptions_.shrink_to_fit();
    exception_buffers_ = {};
  }

  // cntlist.rev: "sense_key sense_number tag_cnt", the sense key being
  // "lemma%ss_type:lex_filenum:lex_id:head_word:head_id" with ss_type 1..5 (n v a r s).
  core::Result<void> read_counts() {
    const std::string file = path("cntlist.rev");
    auto text = read_file(file);
    if (!text) {
      if (text.error().code == core::ErrorCode::kUnavailable) {
        return core::ok();  // optional: parts of speech are then taken in a fixed order
      }
      return text.error();
    }
    return for_each_line(
        *text, [&](std::string_view line, uint32_t number, size_t) -> core::Result<void> {
          Fields f(line);
          std::string_view key;
          std::string_view sense;
          std::string_view count;
          uint32_t n = 0;
          uint32_t sense_number = 0;
          const size_t percent = line.find('%');
          if (!f.next(key) || !f.next(sense) || !f.next(count) || percent == 0 ||
              percent + 1 >= key.size() || !parse_number(sense, 10, UINT32_MAX, sense_number) ||
              !parse_number(count, 10, UINT32_MAX, n)) {
            return bad(where(file, number) + "expected a sense key, a sense number and a count");
          }
          static constexpr PartOfSpeech kByDigit[] = {
              PartOfSpeech::kNoun, PartOfSpeech::kVerb, PartOfSpeech::kAdjective,
              PartOfSpeech::kAdverb, PartOfSpeech::kAdjective};
          const char digit = key[percent + 1];
          if (digit < '1' || digit > '5') {
            return bad(where(file, number) + "bad ss_type in the sense key");
          }
          const int64_t id = wn_.find_lemma(key.substr(0, percent));
          if (id < 0) {
            return core::ok();
          }
          const PartOfSpeech p = kByDigit[digit - '1'];
          for (uint32_t i = wn_.lemma_entry_start_[id]; i < wn_.lemma_entry_start_[id + 1]; ++i) {
            WordNet::Entry& e = wn_.entries_[i];
            if (e.pos != p) {
              continue;
            }
            e.tag_count = static_cast<uint32_t>(
                std::min<uint64_t>(static_cast<uint64_t>(e.tag_count) + n, UINT32_MAX));
            if (sense_number >= 1 && sense_number <= e.sense_count) {
              const uint32_t k = e.first_sense + sense_number - 1;
              saturating_add(wn_.sense_tags_[k], n);
              saturating_add(wn_.synset_tags_[wn_.senses_[k]], n);
            }
          }
          return core::ok();
        });
  }

  static void saturating_add(uint16_t& t, uint32_t n) {
    t = static_cast<uint16_t>(
        std::min<uint32_t>(uint32_t{t} + std::min<uint32_t>(n, UINT16_MAX), UINT16_MAX));
  }

  // Satellites of a head adjective, most often tagged first (the file has them in alphabetical
  // order): "slow" -> "sluggish" before "bumper-to-bumper".
  void order_satellites() {
    for (size_t s = 0; s < wn_.synset_type_.size(); ++s) {
      if (wn_.synset_type_[s] != 'a') {
        continue;
      }
      auto first = wn_.synset_similar_.begin() + wn_.synset_similar_start_[s];
      auto last = wn_.synset_similar_.begin() + wn_.synset_similar_start_[s + 1];
      std::stable_sort(first, last, [&](uint32_t a, uint32_t b) {
        return wn_.synset_tags_[a] > wn_.synset_tags_[b];
      });
    }
  }

  std::string dir_;
  WordNet wn_;
  std::array<std::string, 4> buffers_;  // index files, viewed by records_
  std::vector<IndexRecord> records_;
  std::vector<uint32_t> record_offsets_;
  std::array<std::vector<uint32_t>, 4> offsets_;  // synset offsets of data.<pos>, ascending
  std::array<uint32_t, 4> synset_base_{};         // id of the first synset of data.<pos>
  std::vector<PendingSimilar> similar_;
  std::unordered_map<std::string, uint32_t> extra_lemmas_;
  std::string lower_;
  std::array<std::string, 4> exception_buffers_;  // viewed by pending_exceptions_
  std::vector<PendingException> pending_exceptions_;
};

core::Result<WordNet> WordNet::load(const std::string& dir) { return WordNetLoader(dir).run(); }

int64_t WordNet::find_lemma(std::string_view s) const {
  uint32_t lo = 0;
  uint32_t hi = indexed_lemmas_;
  while (lo < hi) {
    const uint32_t mid = lo + (hi - lo) / 2;
    if (lemma(mid) < s) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo < indexed_lemmas_ && lemma(lo) == s ? static_cast<int64_t>(lo) : -1;
}

const WordNet::Entry* WordNet::find_entry(uint32_t lemma_id, PartOfSpeech pos) const {
  if (lemma_id >= indexed_lemmas_) {
    return nullptr;
  }
  for (uint32_t i = lemma_entry_start_[lemma_id]; i < lemma_entry_start_[lemma_id + 1]; ++i) {
    if (entries_[i].pos == pos) {
      return &entries_[i];
    }
  }
  return nullptr;
}

void WordNet::forms(std::string_view word, PartOfSpeech pos, std::vector<uint32_t>& out) const {
  auto add = [&](int64_t id) {
    if (id >= 0 && find_entry(static_cast<uint32_t>(id), pos) != nullptr &&
        std::find(out.begin(), out.end(), static_cast<uint32_t>(id)) == out.end()) {
      out.push_back(static_cast<uint32_t>(id));
    }
  };
  add(find_lemma(word));

  // The exception lists replace the rules for the forms they list ("wolves", "ran").
  const auto first = std::lower_bound(
      exceptions_.begin(), exceptions_.end(), std::make_pair(word, pos),
      [&](const Exception& e, const std::pair<std::string_view, PartOfSpeech>& k) {
        const std::string_view s = std::string_view(exception_chars_).substr(e.start, e.size);
        return s != k.first ? s < k.first : e.pos < k.second;
      });
  bool excepted = false;
  for (auto it = first; it != exceptions_.end() && it->pos == pos &&
                        std::string_view(exception_chars_).substr(it->start, it->size) == word;
       ++it) {
    add(it->base);
    excepted = true;
  }
  if (excepted || pos == PartOfSpeech::kAdverb) {
    return;
  }

  std::string_view stem = word;
  std::string_view end;
  if (pos == PartOfSpeech::kNoun) {
    if (word.ends_with("ful")) {  // "boxesful" -> "boxful"
      stem = word.substr(0, word.size() - 3);
      end = "ful";
    } else if (word.ends_with("ss") || word.size() <= 2) {
      return;  // "glass", "as": not plurals
    }
  }
  const Rule* rules = nullptr;
  size_t count = 0;
  switch (pos) {
    case PartOfSpeech::kNoun:
      rules = kNounRules;
      count = std::size(kNounRules);
      break;
    case PartOfSpeech::kVerb:
      rules = kVerbRules;
      count = std::size(kVerbRules);
      break;
    case PartOfSpeech::kAdjective:
      rules = kAdjectiveRules;
      count = std::size(kAdjectiveRules);
      break;
    case PartOfSpeech::kAdverb:
      break;
  }
  std::string candidate;
  for (size_t i = 0; i < count; ++i) {
    const Rule& r = rules[i];
    if (!stem.ends_with(r.suffix) || stem.size() == r.suffix.size()) {
      continue;
    }
    candidate.assign(stem.substr(0, stem.size() - r.suffix.size()));
    candidate.append(r.replacement);
    candidate.append(end);
    const int64_t id = candidate == word ? -1 : find_lemma(candidate);
    if (id >= 0 && find_entry(static_cast<uint32_t>(id), pos) != nullptr) {
      add(id);
      return;
    }
  }
}

namespace {

// The lookup form of a word: trimmed, ASCII lower case, '_' between words; empty when it cannot
// be in WordNet (too long, non-ASCII, control characters).
std::string normalise(std::string_view word) {
  while (!word.empty() && word.front() == ' ') {
    word.remove_prefix(1);
  }
  while (!word.empty() && word.back() == ' ') {
    word.remove_suffix(1);
  }
  if (word.size() > kMaxWordBytes) {
    return {};
  }
  std::string s;
  s.reserve(word.size());
  for (char c : word) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b >= 0x7F) {
      return {};
    }
    s.push_back(c == ' ' ? '_' : to_lower(c));
  }
  return s;
}

}  // namespace

std::vector<std::string> WordNet::base_forms(std::string_view word) const {
  std::vector<std::string> out;
  const std::string w = normalise(word);
  if (w.empty()) {
    return out;
  }
  std::vector<uint32_t> ids;
  for (PartOfSpeech p : kAllPos) {
    forms(w, p, ids);  // `forms` appends and skips ids already there
  }
  for (uint32_t id : ids) {
    std::string s(lemma(id));
    std::replace(s.begin(), s.end(), '_', ' ');
    if (std::find(out.begin(), out.end(), s) == out.end()) {
      out.push_back(std::move(s));
    }
  }
  return out;
}

std::vector<std::string> WordNet::synonyms(std::string_view word, size_t max) const {
  std::vector<std::string> out;
  const std::string w = normalise(word);
  if (w.empty() || max == 0) {
    return out;
  }

  // The word's forms in each part of speech, and how often those were seen in the tagged corpus.
  std::array<std::vector<uint32_t>, 4> forms_by_pos;
  std::array<uint64_t, 4> tagged{};
  std::array<bool, 4> exact{};
  std::vector<uint32_t> excluded;
  const int64_t self = find_lemma(w);
  for (PartOfSpeech p : kAllPos) {
    const size_t k = pos_index(p);
    forms(w, p, forms_by_pos[k]);
    for (uint32_t id : forms_by_pos[k]) {
      tagged[k] += find_entry(id, p)->tag_count;
      exact[k] = exact[k] || static_cast<int64_t>(id) == self;
      excluded.push_back(id);
    }
  }
  // A word that is a lemma as written is read as that lemma: "haunted" is the adjective, not
  // the verb "haunt"; "lost" the adjective, not "lose". Inflected forms keep all readings.
  if (std::find(exact.begin(), exact.end(), true) != exact.end()) {
    for (size_t k = 0; k < 4; ++k) {
      if (!exact[k]) {
        forms_by_pos[k].clear();
        tagged[k] = 0;
      }
    }
  }

  // Parts of speech to draw from, best first.
  constexpr std::array<PartOfSpeech, 4> kPreference = {
      PartOfSpeech::kNoun, PartOfSpeech::kAdjective, PartOfSpeech::kVerb, PartOfSpeech::kAdverb};
  std::vector<PartOfSpeech> chosen;
  const uint64_t most = *std::max_element(tagged.begin(), tagged.end());
  auto take = [&](PartOfSpeech p, bool wanted) {
    if (wanted && !forms_by_pos[pos_index(p)].empty()) {
      chosen.push_back(p);
    }
  };
  if (most > 0) {
    for (PartOfSpeech p : kPreference) {
      take(p, 2 * tagged[pos_index(p)] >= most);
    }
    std::stable_sort(chosen.begin(), chosen.end(), [&](PartOfSpeech a, PartOfSpeech b) {
      return tagged[pos_index(a)] > tagged[pos_index(b)];
    });
  } else {
    // Without frequencies: verbs and adverbs only for words that are neither noun nor adjective.
    const bool nominal = !forms_by_pos[pos_index(PartOfSpeech::kNoun)].empty() ||
                         !forms_by_pos[pos_index(PartOfSpeech::kAdjective)].empty();
    for (PartOfSpeech p : kPreference) {
      take(p, nominal == (p == PartOfSpeech::kNoun || p == PartOfSpeech::kAdjective));
    }
  }

  std::vector<uint32_t> seen;
  auto add_synset = [&](uint32_t synset) {
    for (uint32_t i = synset_word_start_[synset];
         i < synset_word_start_[synset + 1] && out.size() < max; ++i) {
      // Proper names ("Hugo Wolf" for "wolf", "Spanish people") name one thing, not a meaning.
      if ((synset_words_[i] & kCapitalised) != 0) {
        continue;
      }
      const uint32_t id = synset_words_[i];
      if (std::find(excluded.begin(), excluded.end(), id) != excluded.end() ||
          std::find(seen.begin(), seen.end(), id) != seen.end()) {
        continue;
      }
      seen.push_back(id);
      std::string s(lemma(id));
      if (static_cast<size_t>(std::count(s.begin(), s.end(), '_')) >= kMaxSynonymWords) {
        continue;
      }
      std::replace(s.begin(), s.end(), '_', ' ');
      out.push_back(std::move(s));
    }
  };
  // Calls fn(synset) for the first senses of each chosen part of speech, in order. A second
  // sense counts unless it is much rarer than the first: "house" #2 (a firm) was tagged 2 times
  // to #1's 157, "story" #2 14 times to 36, "sad" #2 none to 9 (too few to tell).
  auto for_each_sense = [&](auto&& fn) {
    for (PartOfSpeech p : chosen) {
      for (uint32_t id : forms_by_pos[pos_index(p)]) {
        const Entry* e = find_entry(id, p);
        if (written_capitalised(senses_[e->first_sense], id)) {
          continue;  // a name first ("Arctic", "China", "Spanish"): no synonyms in this reading
        }
        const uint32_t first = sense_tags_[e->first_sense];
        for (uint32_t k = 0; k < std::min<uint32_t>(e->sense_count, kSensesPerPos); ++k) {
          if (k > 0 && first >= kMinTagsToJudge &&
              uint32_t{sense_tags_[e->first_sense + k]} * kRareSenseRatio < first) {
            break;
          }
          fn(senses_[e->first_sense + k]);
        }
      }
    }
  };
  // The synsets themselves, and the head of an adjective satellite: the central adjective that
  // the satellite is a shade of, as close to a synonym as WordNet's adjectives get.
  for_each_sense([&](uint32_t s) {
    add_synset(s);
    if (synset_type_[s] == 's') {
      for (uint32_t i = synset_similar_start_[s]; i < synset_similar_start_[s + 1]; ++i) {
        add_synset(synset_similar_[i]);
      }
    }
  });
  // Then the satellites of a head adjective: narrower, but the only synonyms many have.
  for_each_sense([&](uint32_t s) {
    if (synset_type_[s] == 'a') {
      for (uint32_t i = synset_similar_start_[s]; i < synset_similar_start_[s + 1]; ++i) {
        add_synset(synset_similar_[i]);
      }
    }
  });
  return out;
}

bool WordNet::written_capitalised(uint32_t synset, uint32_t lemma_id) const {
  for (uint32_t i = synset_word_start_[synset]; i < synset_word_start_[synset + 1]; ++i) {
    if ((synset_words_[i] & ~kCapitalised) == lemma_id) {
      return (synset_words_[i] & kCapitalised) != 0;
    }
  }
  return false;
}

size_t WordNet::memory_bytes() const {
  return sizeof(*this) + lemma_chars_.capacity() +
         sizeof(uint32_t) *
             (lemma_start_.capacity() + lemma_entry_start_.capacity() + senses_.capacity() +
              synset_word_start_.capacity() + synset_words_.capacity() +
              synset_similar_start_.capacity() + synset_similar_.capacity()) +
         sizeof(uint16_t) * (sense_tags_.capacity() + synset_tags_.capacity()) +
         sizeof(Entry) * entries_.capacity() + synset_type_.capacity() +
         exception_chars_.capacity() + sizeof(Exception) * exceptions_.capacity();
}

}  // namespace libromind::search
