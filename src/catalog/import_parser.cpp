#include "catalog/import_parser.hpp"

#include <array>
#include <limits>
#include <nlohmann/json.hpp>
#include <unordered_set>
#include <utility>

#include "core/text.hpp"

namespace libromind::catalog {

namespace {

using nlohmann::json;

// ---- Field rules ---------------------------------------------------------------------------

constexpr int64_t kIdMaxChars = 100;
constexpr int64_t kTitleMaxChars = 1000;
constexpr int64_t kDescriptionMaxChars = 20000;
constexpr int64_t kNameMaxChars = 500;  // one author or genre
constexpr size_t kMaxNames = 50;        // authors or genres per book
constexpr int64_t kYearMin = -5000;
constexpr int64_t kYearMax = 2100;
constexpr int64_t kPagesMin = 1;
constexpr int64_t kPagesMax = 100000;
constexpr double kRatingMax = 5.0;
constexpr int64_t kLanguageMinChars = 2;
constexpr int64_t kLanguageMaxChars = 8;
constexpr int64_t kCoverUrlMaxChars = 2000;
constexpr int64_t kPriceCentsMax = 100'000'000;
constexpr int64_t kStockMax = 1'000'000;
constexpr int64_t kSourceMaxChars = 100;
// Only 16 columns are known, so a header wider than this is certainly wrong; the cap keeps a
// hostile header from costing memory.
constexpr size_t kMaxCsvColumns = 64;

// ---- Error collection ----------------------------------------------------------------------

// Collects the errors of one record, at most kMaxErrorsPerRecord plus one "too many" note.
class ErrorList {
 public:
  void add(std::string field, std::string message, int64_t line = 0) {
    if (errors_.size() < kMaxErrorsPerRecord) {
      errors_.push_back({{}, line, std::move(field), std::move(message)});
    } else if (errors_.size() == kMaxErrorsPerRecord) {
      errors_.push_back({{}, line, {}, "too many errors; the rest were not reported"});
    }
  }
  bool empty() const { return errors_.empty(); }
  bool has_field(std::string_view field) const {
    for (const auto& e : errors_) {
      if (e.field == field) {
        return true;
      }
    }
    return false;
  }
  std::vector<FieldError>& items() { return errors_; }

 private:
  std::vector<FieldError> errors_;
};

std::string range_message(int64_t min, int64_t max) {
  return "must be between " + std::to_string(min) + " and " + std::to_string(max);
}

void trim_in_place(std::string& s) {
  std::string_view t = core::trim(s);
  if (t.size() != s.size()) {
    s = std::string(t);
  }
}

// Control characters other than tab and newline: C0, DEL and C1 (U+0080..U+009F).
bool has_control_chars(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7F) {
      return true;
    }
    if (c == 0xC2 && i + 1 < s.size()) {
      auto n = static_cast<unsigned char>(s[i + 1]);
      if (n >= 0x80 && n <= 0x9F) {
        return true;
      }
    }
  }
  return false;
}

int64_t chars(std::string_view s) { return static_cast<int64_t>(core::utf8_length(s)); }

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && core::to_lower_ascii(s.substr(0, prefix.size())) == prefix;
}

bool is_id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == ':' || c == '-';
}

bool valid_ean13(std::string_view digits) {
  int sum = 0;
  for (size_t i = 0; i < 12; ++i) {
    int d = digits[i] - '0';
    sum += (i % 2 == 0) ? d : 3 * d;
  }
  return (10 - sum % 10) % 10 == digits[12] - '0';
}

// Trims an optional text field, makes it absent when empty; false when it is not valid UTF-8.
bool normalise_optional(std::optional<std::string>& v, std::string_view field, ErrorList& errors) {
  if (!v) {
    return false;
  }
  if (!core::is_valid_utf8(*v)) {
    errors.add(std::string(field), "invalid UTF-8");
    return false;
  }
  trim_in_place(*v);
  if (v->empty()) {
    v.reset();
    return false;
  }
  return true;
}

// Authors or genres: each entry checked and trimmed, duplicates dropped (case-insensitive).
void validate_names(std::vector<std::string>& names, std::string_view field, ErrorList& errors) {
  std::vector<std::string> kept;
  std::unordered_set<std::string> seen;
  for (size_t i = 0; i < names.size(); ++i) {
    std::string name = std::move(names[i]);
    std::string item = std::string(field) + "[" + std::to_string(i) + "]";
    if (!core::is_valid_utf8(name)) {
      errors.add(item, "invalid UTF-8");
      continue;
    }
    trim_in_place(name);
    if (name.empty()) {
      errors.add(item, "must not be empty");
      continue;
    }
    if (chars(name) > kNameMaxChars) {
      errors.add(item, "must be at most " + std::to_string(kNameMaxChars) + " characters");
    }
    if (has_control_chars(name)) {
      errors.add(item, "must not contain control characters");
    }
    if (seen.insert(core::to_lower_ascii(name)).second) {
      kept.push_back(std::move(name));
    }
  }
  if (kept.size() > kMaxNames) {
    errors.add(std::string(field), "at most " + std::to_string(kMaxNames) + " allowed, got " +
                                       std::to_string(kept.size()));
  }
  names = std::move(kept);
}

// Text that went through a Windows-1252 -> Latin-1 mix-up carries C1 control characters where
// punctuation was meant (U+0097 for an em dash). Map each to its Windows-1252 character; the five
// positions Windows-1252 leaves undefined stay, and are rejected as control characters.
void repair_cp1252_controls(std::string& s) {
  static constexpr const char* kMap[32] = {
      "\u20AC", nullptr,  "\u201A", "\u0192", "\u201E", "\u2026", "\u2020", "\u2021",
      "\u02C6", "\u2030", "\u0160", "\u2039", "\u0152", nullptr,  "\u017D", nullptr,
      nullptr,  "\u2018", "\u2019", "\u201C", "\u201D", "\u2022", "\u2013", "\u2014",
      "\u02DC", "\u2122", "\u0161", "\u203A", "\u0153", nullptr,  "\u017E", "\u0178"};
  if (s.find('\xC2') == std::string::npos) return;
  std::string out;
  out.reserve(s.size() + 8);
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == 0xC2 && i + 1 < s.size()) {
      auto n = static_cast<unsigned char>(s[i + 1]);
      if (n >= 0x80 && n <= 0x9F && kMap[n - 0x80] != nullptr) {
        out += kMap[n - 0x80];
        ++i;
        continue;
      }
    }
    out += s[i];
  }
  s = std::move(out);
}

void validate_into(BookRecord& r, ErrorList& errors) {
  if (core::is_valid_utf8(r.title)) repair_cp1252_controls(r.title);
  if (core::is_valid_utf8(r.description)) repair_cp1252_controls(r.description);
  for (auto& a : r.authors) {
    if (core::is_valid_utf8(a)) repair_cp1252_controls(a);
  }
  for (auto& g : r.genres) {
    if (core::is_valid_utf8(g)) repair_cp1252_controls(g);
  }
  // id
  if (!core::is_valid_utf8(r.id)) {
    errors.add("id", "invalid UTF-8");
  } else {
    trim_in_place(r.id);
    bool id_ok = static_cast<int64_t>(r.id.size()) <= kIdMaxChars;
    for (char c : r.id) {
      id_ok = id_ok && is_id_char(c);
    }
    if (!id_ok) {
      errors.add("id", "must be 1 to 100 characters of A-Z, a-z, 0-9, '.', '_', ':' or '-'");
    }
  }

  // title
  if (!core::is_valid_utf8(r.title)) {
    errors.add("title", "invalid UTF-8");
  } else {
    trim_in_place(r.title);
    if (r.title.empty()) {
      if (!errors.has_field("title")) {
        errors.add("title", "required");
      }
    } else {
      if (chars(r.title) > kTitleMaxChars) {
        errors.add("title", "must be at most " + std::to_string(kTitleMaxChars) + " characters");
      }
      if (has_control_chars(r.title)) {
        errors.add("title", "must not contain control characters");
      }
    }
  }

  // description
  if (!core::is_valid_utf8(r.description)) {
    errors.add("description", "invalid UTF-8");
  } else {
    trim_in_place(r.description);
    if (chars(r.description) > kDescriptionMaxChars) {
      errors.add("description",
                 "must be at most " + std::to_string(kDescriptionMaxChars) + " characters");
    }
  }

  validate_names(r.authors, "authors", errors);
  validate_names(r.genres, "genres", errors);

  if (r.year && (*r.year < kYearMin || *r.year > kYearMax)) {
    errors.add("year", range_message(kYearMin, kYearMax));
  }

  // isbn13: hyphens and spaces are presentation only.
  if (r.isbn13) {
    if (!core::is_valid_utf8(*r.isbn13)) {
      errors.add("isbn13", "invalid UTF-8");
    } else {
      std::string digits;
      for (char c : core::trim(*r.isbn13)) {
        if (c != '-' && c != ' ') {
          digits.push_back(c);
        }
      }
      r.isbn13 = digits;
      bool all_digits = digits.size() == 13;
      for (char c : digits) {
        all_digits = all_digits && c >= '0' && c <= '9';
      }
      if (digits.empty()) {
        r.isbn13.reset();
      } else if (!all_digits) {
        errors.add("isbn13", "must be 13 digits");
      } else if (!valid_ean13(digits)) {
        errors.add("isbn13", "invalid check digit");
      }
    }
  }

  if (r.pages && (*r.pages < kPagesMin || *r.pages > kPagesMax)) {
    errors.add("pages", range_message(kPagesMin, kPagesMax));
  }
  if (r.rating && !(*r.rating >= 0.0 && *r.rating <= kRatingMax)) {
    errors.add("rating", "must be between 0 and 5");
  }
  if (r.downloads < 0) {
    errors.add("downloads", "must be >= 0");
  }

  if (normalise_optional(r.language, "language", errors)) {
    *r.language = core::to_lower_ascii(*r.language);
    auto n = static_cast<int64_t>(r.language->size());
    bool ok = n >= kLanguageMinChars && n <= kLanguageMaxChars;
    for (char c : *r.language) {
      ok = ok && ((c >= 'a' && c <= 'z') || c == '-');
    }
    if (!ok) {
      errors.add("language", "must be 2 to 8 characters of a-z or '-'");
    }
  }

  if (normalise_optional(r.cover_url, "cover_url", errors)) {
    const std::string& url = *r.cover_url;
    if (!starts_with_ci(url, "http://") && !starts_with_ci(url, "https://")) {
      errors.add("cover_url", "must start with http:// or https://");
    }
    if (chars(url) > kCoverUrlMaxChars) {
      errors.add("cover_url",
                 "must be at most " + std::to_string(kCoverUrlMaxChars) + " characters");
    }
    if (url.find_first_of(" \t\n") != std::string::npos || has_control_chars(url)) {
      errors.add("cover_url", "must not contain spaces or control characters");
    }
  }

  if (r.price_cents && (*r.price_cents < 0 || *r.price_cents > kPriceCentsMax)) {
    errors.add("price_cents", range_message(0, kPriceCentsMax));
  }
  if (normalise_optional(r.currency, "currency", errors)) {
    bool ok = r.currency->size() == 3;
    for (char c : *r.currency) {
      ok = ok && c >= 'A' && c <= 'Z';
    }
    if (!ok) {
      errors.add("currency", "must be 3 upper-case letters (ISO 4217)");
    }
  }
  if (r.stock && (*r.stock < 0 || *r.stock > kStockMax)) {
    errors.add("stock", range_message(0, kStockMax));
  }
  if (normalise_optional(r.source, "source", errors) && chars(*r.source) > kSourceMaxChars) {
    errors.add("source", "must be at most " + std::to_string(kSourceMaxChars) + " characters");
  }

  if (r.id.empty() && !r.isbn13 && !errors.has_field("id") && !errors.has_field("isbn13")) {
    errors.add("id", "id or isbn13 is required");
  }
}

// ---- Field table shared by the JSON and CSV readers ---------------------------------------

enum class Kind { kText, kList, kInt, kNumber };

enum class FieldId {
  kId,
  kTitle,
  kAuthors,
  kDescription,
  kGenres,
  kYear,
  kIsbn13,
  kPages,
  kRating,
  kDownloads,
  kLanguage,
  kCoverUrl,
  kSource,
  kPriceCents,
  kCurrency,
  kStock,
};

struct FieldSpec {
  std::string_view name;
  FieldId id;
  Kind kind;
};

constexpr std::array<FieldSpec, 16> kFields = {{
    {"id", FieldId::kId, Kind::kText},
    {"title", FieldId::kTitle, Kind::kText},
    {"authors", FieldId::kAuthors, Kind::kList},
    {"description", FieldId::kDescription, Kind::kText},
    {"genres", FieldId::kGenres, Kind::kList},
    {"year", FieldId::kYear, Kind::kInt},
    {"isbn13", FieldId::kIsbn13, Kind::kText},
    {"pages", FieldId::kPages, Kind::kInt},
    {"rating", FieldId::kRating, Kind::kNumber},
    {"downloads", FieldId::kDownloads, Kind::kInt},
    {"language", FieldId::kLanguage, Kind::kText},
    {"cover_url", FieldId::kCoverUrl, Kind::kText},
    {"source", FieldId::kSource, Kind::kText},
    {"price_cents", FieldId::kPriceCents, Kind::kInt},
    {"currency", FieldId::kCurrency, Kind::kText},
    {"stock", FieldId::kStock, Kind::kInt},
}};

const FieldSpec* find_field(std::string_view name) {
  for (const auto& f : kFields) {
    if (f.name == name) {
      return &f;
    }
  }
  return nullptr;
}

void set_text(BookRecord& r, FieldId id, std::string v) {
  switch (id) {
    case FieldId::kId:
      r.id = std::move(v);
      break;
    case FieldId::kTitle:
      r.title = std::move(v);
      break;
    case FieldId::kDescription:
      r.description = std::move(v);
      break;
    case FieldId::kIsbn13:
      r.isbn13 = std::move(v);
      break;
    case FieldId::kLanguage:
      r.language = std::move(v);
      break;
    case FieldId::kCoverUrl:
      r.cover_url = std::move(v);
      break;
    case FieldId::kSource:
      r.source = std::move(v);
      break;
    case FieldId::kCurrency:
      r.currency = std::move(v);
      break;
    default:
      break;
  }
}

void set_list(BookRecord& r, FieldId id, std::vector<std::string> v) {
  (id == FieldId::kAuthors ? r.authors : r.genres) = std::move(v);
}

// A value outside int32 is clamped: it is far outside the field's range, so validate() reports
// the range error with the usual message.
int32_t clamp32(int64_t v) {
  if (v < std::numeric_limits<int32_t>::min()) {
    return std::numeric_limits<int32_t>::min();
  }
  if (v > std::numeric_limits<int32_t>::max()) {
    return std::numeric_limits<int32_t>::max();
  }
  return static_cast<int32_t>(v);
}

void set_int(BookRecord& r, FieldId id, int64_t v) {
  switch (id) {
    case FieldId::kYear:
      r.year = clamp32(v);
      break;
    case FieldId::kPages:
      r.pages = clamp32(v);
      break;
    case FieldId::kDownloads:
      r.downloads = v;
      break;
    case FieldId::kPriceCents:
      r.price_cents = v;
      break;
    case FieldId::kStock:
      r.stock = v;
      break;
    default:
      break;
  }
}

// Stores one JSON value into the record; null means absent.
void assign_json(BookRecord& r, const FieldSpec& f, const json& v, ErrorList& errors) {
  if (v.is_null()) {
    return;
  }
  std::string name(f.name);
  switch (f.kind) {
    case Kind::kText:
      if (!v.is_string()) {
        errors.add(name, "expected string or null");
        return;
      }
      set_text(r, f.id, v.get<std::string>());
      return;
    case Kind::kList: {
      if (!v.is_array()) {
        errors.add(name, "expected array of strings or null");
        return;
      }
      std::vector<std::string> items;
      for (size_t i = 0; i < v.size(); ++i) {
        if (!v[i].is_string()) {
          errors.add(name + "[" + std::to_string(i) + "]", "expected string");
          continue;
        }
        items.push_back(v[i].get<std::string>());
      }
      set_list(r, f.id, std::move(items));
      return;
    }
    case Kind::kInt:
      if (!v.is_number_integer()) {
        errors.add(name, "expected integer or null");
        return;
      }
      if (v.is_number_unsigned() &&
          v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        errors.add(name, "integer out of range");
        return;
      }
      set_int(r, f.id, v.get<int64_t>());
      return;
    case Kind::kNumber:
      if (!v.is_number()) {
        errors.add(name, "expected number or null");
        return;
      }
      r.rating = v.get<double>();
      return;
  }
}

// Stores one CSV cell into the record; an empty cell means absent.
void assign_cell(BookRecord& r, const FieldSpec& f, std::string_view cell, ErrorList& errors) {
  if (cell.empty()) {
    return;
  }
  std::string name(f.name);
  if (!core::is_valid_utf8(cell)) {
    errors.add(name, "invalid UTF-8");
    return;
  }
  std::string_view t = core::trim(cell);
  switch (f.kind) {
    case Kind::kText:
      set_text(r, f.id, std::string(cell));
      return;
    case Kind::kList: {
      if (!t.empty() && t.front() == '[') {
        try {
          assign_json(r, f, json::parse(t), errors);
        } catch (const json::exception& e) {
          errors.add(name, std::string("invalid JSON array: ") + e.what());
        }
        return;
      }
      std::vector<std::string> items;
      for (std::string_view part : core::split(t, ';')) {
        part = core::trim(part);
        if (!part.empty()) {
          items.emplace_back(part);
        }
      }
      set_list(r, f.id, std::move(items));
      return;
    }
    case Kind::kInt: {
      if (t.empty()) {
        return;
      }
      auto v = core::parse_int(t);
      if (!v) {
        errors.add(name, "expected integer");
        return;
      }
      set_int(r, f.id, *v);
      return;
    }
    case Kind::kNumber: {
      if (t.empty()) {
        return;
      }
      auto v = core::parse_double(t);
      if (!v) {
        errors.add(name, "expected number");
        return;
      }
      r.rating = *v;
      return;
    }
  }
}

// "authors[3]" -> "authors"
std::string_view base_field(std::string_view field) { return field.substr(0, field.find('[')); }

// A column name for a message, cut so that a hostile header cannot make huge messages.
std::string quote_name(std::string_view name) {
  constexpr size_t kMaxShown = 100;
  return "'" + std::string(name.substr(0, kMaxShown)) + (name.size() > kMaxShown ? "...'" : "'");
}

constexpr int kEof = std::char_traits<char>::eof();

}  // namespace

// ---- Public helpers ------------------------------------------------------------------------

core::Result<Format> detect_format(std::string_view file_name) {
  std::string lower = core::to_lower_ascii(file_name);
  auto ends_with = [&](std::string_view ext) {
    return lower.size() >= ext.size() &&
           lower.compare(lower.size() - ext.size(), ext.size(), ext) == 0;
  };
  if (ends_with(".jsonl") || ends_with(".ndjson") || ends_with(".json")) {
    return Format::kJsonLines;
  }
  if (ends_with(".csv")) {
    return Format::kCsv;
  }
  return core::Error::invalid("cannot tell the format of '" + std::string(file_name) +
                                  "': expected a .jsonl, .ndjson, .json or .csv file",
                              "file");
}

std::string to_string(const FieldError& e) {
  std::string out = e.file;
  if (e.line > 0) {
    out += (out.empty() ? "line " : ":") + std::to_string(e.line);
  }
  if (!out.empty()) {
    out += ": ";
  }
  if (!e.field.empty()) {
    out += e.field + ": ";
  }
  return out + e.message;
}

std::vector<FieldError> validate(BookRecord& record) {
  ErrorList errors;
  validate_into(record, errors);
  return std::move(errors.items());
}

// ---- RecordReader --------------------------------------------------------------------------

RecordReader::RecordReader(std::istream& in, Format format, std::string file_name)
    : in_(&in), format_(format), file_name_(std::move(file_name)) {}

core::Result<RecordReader> RecordReader::open(std::istream& in, Format format,
                                              std::string file_name) {
  if (!in.good() || in.rdbuf() == nullptr) {
    return core::Error::invalid("cannot read '" + file_name + "'", "file");
  }
  RecordReader reader(in, format, std::move(file_name));
  // Skip a UTF-8 BOM. Bytes of a partial match are kept for the parser.
  static constexpr unsigned char kBom[] = {0xEF, 0xBB, 0xBF};
  std::streambuf* sb = in.rdbuf();
  size_t matched = 0;
  while (matched < 3 && sb->sgetc() == kBom[matched]) {
    sb->sbumpc();
    ++matched;
  }
  if (matched > 0 && matched < 3) {
    reader.pending_.assign(reinterpret_cast<const char*>(kBom), matched);
  }
  return reader;
}

int RecordReader::get() {
  if (pending_pos_ < pending_.size()) {
    return static_cast<unsigned char>(pending_[pending_pos_++]);
  }
  return in_->rdbuf()->sbumpc();
}

int RecordReader::peek() {
  if (pending_pos_ < pending_.size()) {
    return static_cast<unsigned char>(pending_[pending_pos_]);
  }
  return in_->rdbuf()->sgetc();
}

FieldError RecordReader::error_at(int64_t line, std::string field, std::string message) const {
  return {file_name_, line, std::move(field), std::move(message)};
}

std::optional<ParsedRecord> RecordReader::next() {
  if (done_) {
    return std::nullopt;
  }
  return format_ == Format::kJsonLines ? next_jsonl() : next_csv();
}

std::optional<ParsedRecord> RecordReader::next_jsonl() {
  std::string line;
  while (true) {
    if (peek() == kEof) {
      done_ = true;
      return std::nullopt;
    }
    int64_t start = line_;
    line.clear();
    bool too_long = false;
    int c;
    while ((c = get()) != kEof && c != '\n') {
      // One byte of slack for the '\r' of a CRLF ending.
      if (line.size() <= kMaxRecordBytes) {
        line.push_back(static_cast<char>(c));
      } else {
        too_long = true;
      }
    }
    if (c == '\n') {
      ++line_;
    }
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    if (too_long || line.size() > kMaxRecordBytes) {
      return ParsedRecord{
          start, std::vector<FieldError>{error_at(
                     start, "", "line longer than " + std::to_string(kMaxRecordBytes) + " bytes")}};
    }
    if (core::trim(line).empty()) {
      continue;
    }
    if (!core::is_valid_utf8(line)) {
      return ParsedRecord{start, std::vector<FieldError>{error_at(start, "", "invalid UTF-8")}};
    }
    json doc;
    try {
      doc = json::parse(line);
    } catch (const json::exception& e) {
      return ParsedRecord{start, std::vector<FieldError>{error_at(start, "", e.what())}};
    }
    if (!doc.is_object()) {
      return ParsedRecord{start,
                          std::vector<FieldError>{error_at(start, "", "expected a JSON object")}};
    }
    BookRecord record;
    ErrorList errors;
    for (const auto& f : kFields) {
      auto it = doc.find(std::string(f.name));
      if (it != doc.end()) {
        assign_json(record, f, *it, errors);
      }
    }
    validate_into(record, errors);
    if (errors.empty()) {
      return ParsedRecord{start, std::move(record)};
    }
    for (auto& e : errors.items()) {
      e.file = file_name_;
      e.line = start;
    }
    return ParsedRecord{start, std::move(errors.items())};
  }
}

// RFC 4180 with LF or CRLF line ends. Cells past `max_cells` are counted but not kept, and a
// record over kMaxRecordBytes is consumed to its end without being kept, so memory stays bounded
// whatever the input.
bool RecordReader::read_csv_row(CsvRow& row, size_t max_cells) {
  // Blank lines between records are skipped.
  while (true) {
    int c = peek();
    if (c == kEof) {
      return false;
    }
    if (c == '\n') {
      get();
      ++line_;
      continue;
    }
    if (c == '\r') {
      get();
      if (peek() == '\n') {
        get();
        ++line_;
        continue;
      }
      // A lone CR is data; give it back.
      pending_ = std::string("\r") + pending_.substr(pending_pos_);
      pending_pos_ = 0;
    }
    break;
  }

  enum class State { kFieldStart, kUnquoted, kQuoted, kAfterQuote };
  State state = State::kFieldStart;
  row.line = line_;
  std::string cell;
  int64_t cell_line = line_;
  int64_t quote_line = 0;
  size_t bytes = 0;
  bool too_long = false;
  bool cell_error = false;  // one syntax error per cell is enough

  auto column = [&]() -> std::string {
    return row.cell_count < columns_.size() ? columns_[row.cell_count] : std::string();
  };
  auto add_error = [&](int64_t line, std::string message) {
    if (row.errors.size() < kMaxErrorsPerRecord) {
      row.errors.push_back(error_at(line, column(), std::move(message)));
    }
  };
  auto append = [&](char ch) {
    if (++bytes > kMaxRecordBytes) {
      too_long = true;
    }
    if (!too_long) {
      cell.push_back(ch);
    }
  };
  auto end_cell = [&]() {
    if (row.cells.size() < max_cells && !too_long) {
      row.cells.push_back(std::move(cell));
      row.cell_lines.push_back(cell_line);
    }
    ++row.cell_count;
    cell.clear();
    cell_line = line_;
    cell_error = false;
  };
  // Consumes the LF of a CRLF pair; true when the record ends here.
  auto at_line_end = [&](int ch) {
    if (ch == '\n') {
      ++line_;
      return true;
    }
    if (ch == '\r' && peek() == '\n') {
      get();
      ++line_;
      return true;
    }
    return false;
  };

  while (true) {
    int c = get();
    if (c == kEof) {
      if (state == State::kQuoted) {
        add_error(quote_line,
                  "unterminated quoted field starting at line " + std::to_string(quote_line));
      }
      end_cell();
      break;
    }
    char ch = static_cast<char>(c);
    if (state == State::kFieldStart) {
      cell_line = line_;
      if (ch == '"') {
        state = State::kQuoted;
        quote_line = line_;
        continue;
      }
      state = State::kUnquoted;
    }
    if (state == State::kQuoted) {
      if (ch == '"') {
        if (peek() == '"') {
          get();
          append('"');
        } else {
          state = State::kAfterQuote;
        }
        continue;
      }
      if (ch == '\n') {
        ++line_;
      }
      append(ch);
      continue;
    }
    // Unquoted, or just after a closing quote.
    if (ch == ',') {
      end_cell();
      state = State::kFieldStart;
      continue;
    }
    if (at_line_end(c)) {
      end_cell();
      break;
    }
    if (state == State::kAfterQuote) {
      if (!cell_error) {
        add_error(line_, "unexpected character after closing quote");
        cell_error = true;
      }
      state = State::kUnquoted;
    } else if (ch == '"' && !cell_error) {
      add_error(line_, "quote in the middle of an unquoted field");
      cell_error = true;
    }
    append(ch);
  }
  if (too_long) {
    row.errors.insert(
        row.errors.begin(),
        error_at(row.line, "", "record longer than " + std::to_string(kMaxRecordBytes) + " bytes"));
  }
  return true;
}

bool RecordReader::read_header() {
  CsvRow row;
  if (!read_csv_row(row, kMaxCsvColumns + 1)) {
    header_errors_.push_back(error_at(1, "", "empty file: missing the header row"));
    return false;
  }
  header_line_ = row.line;
  header_errors_ = std::move(row.errors);
  if (row.cell_count > kMaxCsvColumns) {
    header_errors_.push_back(error_at(
        row.line, "", "header has more than " + std::to_string(kMaxCsvColumns) + " columns"));
    return false;
  }
  std::unordered_set<std::string> seen;
  for (const auto& raw : row.cells) {
    std::string name(core::trim(raw));
    if (!core::is_valid_utf8(name)) {
      header_errors_.push_back(error_at(row.line, "", "header: invalid UTF-8"));
      name = "?";
    } else if (find_field(name) == nullptr) {
      header_errors_.push_back(error_at(row.line, name, "unknown column " + quote_name(name)));
    } else if (!seen.insert(name).second) {
      header_errors_.push_back(error_at(row.line, name, "duplicated column " + quote_name(name)));
    }
    columns_.push_back(std::move(name));
  }
  if (seen.count("title") == 0) {
    header_errors_.push_back(error_at(row.line, "title", "missing required column 'title'"));
  }
  if (header_errors_.size() > kMaxErrorsPerRecord) {
    header_errors_.resize(kMaxErrorsPerRecord);
    header_errors_.push_back(error_at(row.line, "", "too many errors; the rest were not reported"));
  }
  return header_errors_.empty();
}

std::optional<ParsedRecord> RecordReader::next_csv() {
  if (!header_read_) {
    header_read_ = true;
    if (!read_header()) {
      done_ = true;
      return ParsedRecord{header_line_, std::move(header_errors_)};
    }
  }
  CsvRow row;
  if (!read_csv_row(row, columns_.size())) {
    done_ = true;
    return std::nullopt;
  }
  if (row.errors.empty() && row.cell_count != columns_.size()) {
    row.errors.push_back(error_at(row.line, "",
                                  "expected " + std::to_string(columns_.size()) + " cells, found " +
                                      std::to_string(row.cell_count)));
  }
  if (!row.errors.empty()) {
    return ParsedRecord{row.line, std::move(row.errors)};
  }

  BookRecord record;
  ErrorList errors;
  for (size_t i = 0; i < columns_.size(); ++i) {
    assign_cell(record, *find_field(columns_[i]), row.cells[i], errors);
  }
  validate_into(record, errors);
  if (errors.empty()) {
    return ParsedRecord{row.line, std::move(record)};
  }
  // Point each error at the line where its cell starts (records can span lines).
  for (auto& e : errors.items()) {
    e.file = file_name_;
    e.line = row.line;
    std::string_view base = base_field(e.field);
    for (size_t i = 0; i < columns_.size(); ++i) {
      if (!base.empty() && columns_[i] == base) {
        e.line = row.cell_lines[i];
      }
    }
  }
  return ParsedRecord{row.line, std::move(errors.items())};
}

}  // namespace libromind::catalog
