#include "llm/stream_parser.hpp"

#include <cstring>
#include <nlohmann/json.hpp>

#include "core/text.hpp"

namespace libromind::llm {

namespace {

using nlohmann::json;

// Events are flat; anything nesting deeper is refused before the parser sees it.
constexpr size_t kMaxEventDepth = 32;

constexpr std::string_view kOpenTag = "<think>";
constexpr std::string_view kCloseTag = "</think>";

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// True when `s` (shorter than `tag`) is the beginning of `tag`.
bool is_tag_prefix(std::string_view s, std::string_view tag) {
  return s.size() < tag.size() && tag.substr(0, s.size()) == s;
}

std::optional<json> parse_object(std::string_view text) {
  if (core::json_nesting_depth(text, kMaxEventDepth) > kMaxEventDepth) return std::nullopt;
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

const json* member(const json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

std::string string_member(const json& j, const char* key) {
  const json* v = member(j, key);
  return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
}

int64_t count_member(const json& j, const char* key) {
  const json* v = member(j, key);
  if (v == nullptr || !v->is_number_integer()) return -1;
  auto n = v->get<int64_t>();
  return n >= 0 ? n : -1;
}

// The text of an `error` member: a string, or an object's `message` (OpenAI), else its JSON.
std::string error_text(const json& e) {
  if (e.is_string()) return e.get<std::string>();
  if (const json* m = member(e, "message"); m != nullptr && m->is_string()) {
    return m->get<std::string>();
  }
  return e.dump(-1, ' ', false, json::error_handler_t::replace);
}

bool non_empty_string(const json* v) { return v != nullptr && v->is_string() && !v->empty(); }

}  // namespace

// --- LineSplitter

void LineSplitter::push(std::string_view chunk) {
  if (overflowed_) return;
  // Drop consumed lines before growing, so the buffer holds at most one line plus one chunk.
  if (start_ > 0 && start_ >= buf_.size() / 2) {
    buf_.erase(0, start_);
    scan_ -= start_;
    start_ = 0;
  }
  buf_.append(chunk);
}

bool LineSplitter::next(std::string& line) {
  if (overflowed_) return false;
  const void* hit =
      scan_ < buf_.size() ? std::memchr(buf_.data() + scan_, '\n', buf_.size() - scan_) : nullptr;
  if (hit == nullptr) {
    scan_ = buf_.size();
    // A "\r" at the end may be the first half of "\r\n", which does not count.
    size_t slack = buf_.size() > start_ && buf_.back() == '\r' ? 1 : 0;
    if (buf_.size() - start_ > max_ + slack) {
      overflowed_ = true;
      buf_.clear();
      start_ = scan_ = 0;
    }
    return false;
  }
  size_t nl = static_cast<size_t>(static_cast<const char*>(hit) - buf_.data());
  size_t end = nl;
  if (end > start_ && buf_[end - 1] == '\r') --end;
  if (end - start_ > max_) {
    overflowed_ = true;
    buf_.clear();
    start_ = scan_ = 0;
    return false;
  }
  line.assign(buf_, start_, end - start_);
  start_ = scan_ = nl + 1;
  return true;
}

bool LineSplitter::finish(std::string& line) {
  if (next(line)) return true;
  if (overflowed_ || start_ >= buf_.size()) return false;
  size_t end = buf_.size();
  if (buf_[end - 1] == '\r') --end;
  line.assign(buf_, start_, end - start_);
  buf_.clear();
  start_ = scan_ = 0;
  return true;
}

// --- SseDecoder

std::optional<std::string> SseDecoder::line(std::string_view line) {
  if (overflowed_) return std::nullopt;
  if (line.empty()) {
    if (!has_data_) return std::nullopt;
    has_data_ = false;
    return std::exchange(data_, std::string());
  }
  if (line.front() == ':') return std::nullopt;  // comment (keep-alive)
  std::string_view field = line, value;
  if (size_t colon = line.find(':'); colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field != "data") return std::nullopt;  // event, id, retry and unknown fields
  if (data_.size() + value.size() + 1 > max_) {
    overflowed_ = true;
    data_.clear();
    has_data_ = false;
    return std::nullopt;
  }
  if (has_data_) data_.push_back('\n');
  data_.append(value);
  has_data_ = true;
  return std::nullopt;
}

std::optional<std::string> SseDecoder::finish() {
  if (overflowed_ || !has_data_) return std::nullopt;
  has_data_ = false;
  return std::exchange(data_, std::string());
}

// --- Event shapes

std::optional<StreamEvent> parse_ollama_line(std::string_view line, bool& malformed) {
  malformed = false;
  if (core::trim(line).empty()) return std::nullopt;
  auto j = parse_object(line);
  if (!j) {
    malformed = true;
    return std::nullopt;
  }
  StreamEvent e;
  if (const json* err = member(*j, "error"); err != nullptr && !err->is_null()) {
    e.error = error_text(*err);
    if (e.error.empty()) e.error = "unspecified error";
    return e;
  }
  if (const json* msg = member(*j, "message"); msg != nullptr) {
    if (!msg->is_object()) {
      malformed = true;
      return std::nullopt;
    }
    e.content = string_member(*msg, "content");
    e.reasoning = non_empty_string(member(*msg, "thinking"));
  }
  if (const json* done = member(*j, "done"); done != nullptr && done->is_boolean()) {
    e.done = done->get<bool>();
  }
  e.finish_reason = string_member(*j, "done_reason");
  if (e.done) e.completion_tokens = count_member(*j, "eval_count");
  return e;
}

std::optional<StreamEvent> parse_openai_data(std::string_view data, bool& malformed) {
  malformed = false;
  std::string_view trimmed = core::trim(data);
  if (trimmed.empty()) return std::nullopt;
  StreamEvent e;
  if (trimmed == "[DONE]") {
    e.done = true;
    return e;
  }
  auto j = parse_object(trimmed);
  if (!j) {
    malformed = true;
    return std::nullopt;
  }
  if (const json* err = member(*j, "error"); err != nullptr && !err->is_null()) {
    e.error = error_text(*err);
    if (e.error.empty()) e.error = "unspecified error";
    return e;
  }
  if (const json* choices = member(*j, "choices"); choices != nullptr) {
    if (!choices->is_array()) {
      malformed = true;
      return std::nullopt;
    }
    // One choice is asked for (no `n`); a server that sends more is read for the first only.
    if (!choices->empty()) {
      const json& c = choices->front();
      if (const json* delta = member(c, "delta"); delta != nullptr && delta->is_object()) {
        e.content = string_member(*delta, "content");
        e.reasoning = non_empty_string(member(*delta, "reasoning_content")) ||
                      non_empty_string(member(*delta, "reasoning"));
      }
      e.finish_reason = string_member(c, "finish_reason");
    }
  }
  if (const json* usage = member(*j, "usage"); usage != nullptr && usage->is_object()) {
    e.completion_tokens = count_member(*usage, "completion_tokens");
  }
  return e;
}

// --- StreamDecoder

StreamDecoder::StreamDecoder(Api api, size_t max_line_bytes)
    : api_(api), lines_(max_line_bytes), sse_(max_line_bytes) {}

bool StreamDecoder::feed(std::string_view bytes, std::vector<StreamEvent>& out) {
  if (failed()) return false;
  lines_.push(bytes);
  while (lines_.next(line_)) {
    if (!on_line(line_, out)) return false;
  }
  if (lines_.overflowed()) {
    error_ = "the model server sent a line longer than " + std::to_string(lines_.max_line_bytes()) +
             " bytes";
    return false;
  }
  return true;
}

bool StreamDecoder::finish(std::vector<StreamEvent>& out) {
  if (failed()) return false;
  while (lines_.finish(line_)) {
    if (!on_line(line_, out)) return false;
  }
  if (lines_.overflowed()) {
    error_ = "the model server sent a line longer than " + std::to_string(lines_.max_line_bytes()) +
             " bytes";
    return false;
  }
  if (api_ == Api::kOpenAi) {
    if (auto data = sse_.finish()) return on_data(*data, out);
  }
  return true;
}

bool StreamDecoder::on_line(std::string_view line, std::vector<StreamEvent>& out) {
  if (api_ == Api::kOllama) return on_data(line, out);
  // llama.cpp's server reports a failure during the stream as a non-standard "error:" field,
  // which SSE would ignore; it is the only message the client would get.
  constexpr std::string_view kErrorField = "error:";
  if (line.substr(0, kErrorField.size()) == kErrorField) {
    StreamEvent e;
    e.error = server_error_message(line.substr(kErrorField.size()));
    if (e.error.empty()) e.error = "unspecified error";
    out.push_back(std::move(e));
    return true;
  }
  auto data = sse_.line(line);
  if (sse_.overflowed()) {
    error_ = "the model server sent an event longer than " +
             std::to_string(lines_.max_line_bytes()) + " bytes";
    return false;
  }
  return data ? on_data(*data, out) : true;
}

bool StreamDecoder::on_data(std::string_view data, std::vector<StreamEvent>& out) {
  bool malformed = false;
  auto event = api_ == Api::kOllama ? parse_ollama_line(data, malformed)
                                    : parse_openai_data(data, malformed);
  if (malformed) {
    error_ = "the model server sent a malformed stream event: " + clean_message(data, 80);
    return false;
  }
  if (event) out.push_back(std::move(*event));
  return true;
}

// --- ThinkFilter

std::string ThinkFilter::push(std::string_view piece) {
  std::string joined;
  if (!pending_.empty()) {
    joined = std::move(pending_);
    pending_.clear();
    joined.append(piece);
    piece = joined;
  }
  std::string out;
  size_t i = 0;
  while (i < piece.size()) {
    char c = piece[i];
    if (c == '<') {
      std::string_view rest = piece.substr(i);
      if (rest.substr(0, kOpenTag.size()) == kOpenTag) {
        if (depth_ < 1000000) ++depth_;
        i += kOpenTag.size();
        continue;
      }
      if (rest.substr(0, kCloseTag.size()) == kCloseTag) {
        // A stray closing tag (depth 0) is removed as well: the model's template opened the
        // block, and the tag is never answer text.
        if (depth_ > 0) --depth_;
        if (depth_ == 0) skip_space_ = true;
        i += kCloseTag.size();
        continue;
      }
      if (is_tag_prefix(rest, kOpenTag) || is_tag_prefix(rest, kCloseTag)) {
        pending_.assign(rest);
        break;
      }
    }
    if (depth_ > 0) {
      // Inside reasoning: skip to the next possible tag.
      size_t lt = piece.find('<', i + 1);
      i = lt == std::string_view::npos ? piece.size() : lt;
      continue;
    }
    if (skip_space_) {
      if (is_space(c)) {
        ++i;
        continue;
      }
      skip_space_ = false;
    }
    size_t lt = piece.find('<', i + 1);
    size_t end = lt == std::string_view::npos ? piece.size() : lt;
    out.append(piece.substr(i, end - i));
    i = end;
  }
  return out;
}

std::string ThinkFilter::finish() {
  // Held back but never completed: not a tag. Inside reasoning it is dropped with the rest.
  std::string out = depth_ == 0 ? std::move(pending_) : std::string();
  pending_.clear();
  if (!out.empty()) skip_space_ = false;
  return out;
}

// --- Messages

std::string clean_message(std::string_view text, size_t max_bytes) {
  std::string s(text);
  if (!core::is_valid_utf8(s)) {
    for (char& c : s) {
      if (static_cast<unsigned char>(c) >= 0x80) c = '?';
    }
  }
  for (char& c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = ' ';
  }
  if (s.size() > max_bytes) {
    size_t cut = max_bytes >= 3 ? max_bytes - 3 : 0;
    // Back off to a character boundary (no UTF-8 continuation byte at the cut).
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
    s.resize(cut);
    if (max_bytes >= 3) s += "...";
  }
  return s;
}

std::string server_error_message(std::string_view body, size_t max_bytes) {
  std::string_view trimmed = core::trim(body);
  if (auto j = parse_object(trimmed)) {
    for (const char* key : {"error", "message", "detail"}) {
      if (const json* v = member(*j, key); v != nullptr && !v->is_null()) {
        std::string text = error_text(*v);
        if (!text.empty()) return clean_message(core::trim(text), max_bytes);
      }
    }
  }
  return clean_message(trimmed, max_bytes);
}

}  // namespace libromind::llm
