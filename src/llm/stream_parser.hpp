// Incremental parsing of a model server's streamed answer, independent of the transport: a line
// splitter that works across arbitrary chunk boundaries, the SSE field decoder (OpenAI-compatible
// API), the JSON event shapes of both APIs, and the filter that removes reasoning
// (`<think>...</think>`) from the piece stream. No I/O, so it is unit-tested and fuzzed.
//
//   llm::StreamDecoder decoder(llm::Api::kOllama);
//   llm::ThinkFilter think;
//   std::vector<llm::StreamEvent> events;
//   if (!decoder.feed(chunk, events)) { fail(decoder.error()); }
//   for (const auto& e : events) { show(think.push(e.content)); }
//   ... at the end of the body: decoder.finish(events), then show(think.finish()).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llm/client.hpp"

namespace libromind::llm {

// The longest line the stream parsers accept by default (an Ollama or SSE line is one JSON event,
// usually under 1 KiB).
inline constexpr size_t kDefaultMaxLineBytes = size_t{1} << 20;

// Splits a byte stream into lines ended by "\n" (a "\r" before it is dropped), whatever the chunk
// boundaries. A line longer than the limit (counted without its "\r\n") is a protocol error: the
// splitter then stays in error and yields no more lines, and it never buffers more than the limit
// plus one chunk.
class LineSplitter {
 public:
  explicit LineSplitter(size_t max_line_bytes = kDefaultMaxLineBytes) : max_(max_line_bytes) {}

  void push(std::string_view chunk);
  // The next complete line into `line`; false when more input is needed or after an overflow.
  bool next(std::string& line);
  // At the end of the stream: the next line, complete or not (call until it returns false).
  bool finish(std::string& line);
  bool overflowed() const { return overflowed_; }
  size_t max_line_bytes() const { return max_; }

 private:
  size_t max_;
  std::string buf_;
  size_t start_ = 0;  // where the current line begins in buf_
  size_t scan_ = 0;   // where the search for "\n" resumes (everything before has none)
  bool overflowed_ = false;
};

// Server-Sent Events (the WHATWG event-stream format, as far as a chat stream uses it): "data:"
// lines are joined with "\n" and dispatched at the blank line that ends the event; comments
// (":..."), "event:", "id:" and "retry:" are ignored. The pending data is capped like a line.
class SseDecoder {
 public:
  explicit SseDecoder(size_t max_data_bytes = kDefaultMaxLineBytes) : max_(max_data_bytes) {}

  // One line (without its terminator). Returns the data of an event that this line completes.
  std::optional<std::string> line(std::string_view line);
  // At the end of the stream: the data of an event that was not ended by a blank line.
  std::optional<std::string> finish();
  bool overflowed() const { return overflowed_; }

 private:
  size_t max_;
  std::string data_;
  bool has_data_ = false;
  bool overflowed_ = false;
};

// One decoded event of either API. Reasoning text (`message.thinking`, `delta.reasoning_content`,
// `delta.reasoning`) is never put in `content`; `reasoning` only says that some arrived.
struct StreamEvent {
  std::string content;             // answer text carried by the event (may hold <think> tags)
  bool reasoning = false;          // the event carried reasoning text (dropped)
  bool done = false;               // the server's end marker: `"done":true` or `data: [DONE]`
  std::string finish_reason;       // OpenAI `finish_reason` / Ollama `done_reason`, when sent
  int64_t completion_tokens = -1;  // Ollama `eval_count` / OpenAI `usage.completion_tokens`
  std::string error;               // non-empty: the server reported an error in the stream
};

// Decodes one NDJSON line of `POST /api/chat` (Ollama). An empty line gives nullopt; a line that
// is not a JSON object of the expected shape gives nullopt and sets `malformed`.
std::optional<StreamEvent> parse_ollama_line(std::string_view line, bool& malformed);

// Decodes the data of one SSE event of `POST /v1/chat/completions`: `[DONE]`, or a JSON chunk
// (`choices[0].delta.content`, `usage`, or `{"error": ...}`). Same contract as above.
std::optional<StreamEvent> parse_openai_data(std::string_view data, bool& malformed);

// The whole response body decoder for one API: line splitting, SSE (OpenAI) and the event JSON.
// The first protocol error (over-long line, malformed event) is sticky: feed() and finish() then
// return false and error() says what went wrong. Events decoded before the error are kept.
class StreamDecoder {
 public:
  explicit StreamDecoder(Api api, size_t max_line_bytes = kDefaultMaxLineBytes);

  // Appends the events completed by `bytes` to `out`.
  bool feed(std::string_view bytes, std::vector<StreamEvent>& out);
  // End of the body: decodes an unterminated last line or SSE event.
  bool finish(std::vector<StreamEvent>& out);
  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }

 private:
  bool on_line(std::string_view line, std::vector<StreamEvent>& out);
  bool on_data(std::string_view data, std::vector<StreamEvent>& out);

  Api api_;
  LineSplitter lines_;
  SseDecoder sse_;
  std::string line_;  // reused buffer
  std::string error_;
};

// Removes reasoning blocks from a stream of answer pieces: `<think>...</think>` (nested blocks
// count their depth), a leading block that never ends (everything after `<think>` is dropped), a
// stray `</think>`, and tags split across pieces ("<th" + "ink>"): a piece ending in what may be
// the start of a tag is held back (at most 7 bytes) until the next piece decides. Whitespace
// right after a closing tag is dropped too (models put "\n\n" between reasoning and answer);
// everything else passes through unchanged. Only ASCII bytes are removed, so valid UTF-8 stays
// valid. The output does not depend on how the input was cut into pieces.
class ThinkFilter {
 public:
  // The answer text of `piece` (possibly empty).
  std::string push(std::string_view piece);
  // At the end of the stream: held-back text that turned out not to be a tag.
  std::string finish();
  bool in_reasoning() const { return depth_ > 0; }

 private:
  std::string pending_;  // a possible partial tag from the previous piece
  int depth_ = 0;
  bool skip_space_ = false;
};

// The message in an error body or error event, for an Error and a log line: `error` (a string,
// or an object with `message`), `message` or `detail` of a JSON object, else the text itself.
// Always valid UTF-8 without control characters, at most `max_bytes` bytes.
std::string server_error_message(std::string_view body, size_t max_bytes = 300);

// `text` made safe for a message: control characters become spaces, invalid UTF-8 becomes '?',
// and it is cut (at a character boundary, with "...") to at most `max_bytes` bytes.
std::string clean_message(std::string_view text, size_t max_bytes);

}  // namespace libromind::llm
