// libFuzzer target: arbitrary bytes as a model server's streamed body (Ollama NDJSON or OpenAI
// SSE, chosen by the input), fed to the stream decoder and the reasoning filter in a random
// chunking. Checks that the events, the protocol error and the filtered text do not depend on
// where the chunks are cut, that the filter matches a plain whole-string implementation, and
// that answer pieces and error messages stay valid UTF-8.
//
// Input layout (FuzzedDataProvider reads the parameters from the end): the body, then one byte
// (odd: a 64-byte line limit), four bytes of chunking seed, one byte (odd: OpenAI).
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "core/text.hpp"
#include "llm/stream_parser.hpp"

namespace {

using libromind::llm::StreamDecoder;
using libromind::llm::StreamEvent;
using libromind::llm::ThinkFilter;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
  }
}

// Chunk sizes from a small deterministic generator (xorshift32), 1..max bytes each.
class Chunker {
 public:
  explicit Chunker(uint32_t seed) : state_(seed | 1) {}
  size_t next(size_t max) {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 17;
    state_ ^= state_ << 5;
    return 1 + state_ % max;
  }

 private:
  uint32_t state_;
};

struct Decoded {
  std::vector<StreamEvent> events;
  bool ok = true;
  std::string error;
};

Decoded decode(libromind::llm::Api api, size_t max_line, std::string_view body, Chunker* chunker) {
  StreamDecoder d(api, max_line);
  Decoded out;
  size_t pos = 0;
  while (pos < body.size() && out.ok) {
    size_t n = chunker != nullptr ? std::min(chunker->next(97), body.size() - pos) : body.size();
    out.ok = d.feed(body.substr(pos, n), out.events);
    pos += n;
  }
  if (out.ok) out.ok = d.finish(out.events);
  check(out.ok == !d.failed(), "failed() agrees with the return value");
  out.error = d.error();
  return out;
}

bool same(const StreamEvent& a, const StreamEvent& b) {
  return a.content == b.content && a.reasoning == b.reasoning && a.done == b.done &&
         a.finish_reason == b.finish_reason && a.completion_tokens == b.completion_tokens &&
         a.error == b.error;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// The filter's rules applied to the whole text at once, without any holding back.
std::string reference_strip(std::string_view s) {
  std::string out;
  int depth = 0;
  bool skip = false;
  size_t i = 0;
  while (i < s.size()) {
    if (s.substr(i, 7) == "<think>") {
      ++depth;
      i += 7;
      continue;
    }
    if (s.substr(i, 8) == "</think>") {
      if (depth > 0) --depth;
      if (depth == 0) skip = true;
      i += 8;
      continue;
    }
    if (depth == 0 && !(skip && is_space(s[i]))) {
      skip = false;
      out.push_back(s[i]);
    }
    ++i;
  }
  return out;
}

std::string filter_chunked(std::string_view text, Chunker& chunker) {
  ThinkFilter f;
  std::string out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t n = std::min(chunker.next(11), text.size() - pos);
    out += f.push(text.substr(pos, n));
    pos += n;
  }
  return out + f.finish();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using libromind::core::is_valid_utf8;
  FuzzedDataProvider in(data, size);
  auto api = in.ConsumeBool() ? libromind::llm::Api::kOpenAi : libromind::llm::Api::kOllama;
  uint32_t seed = in.ConsumeIntegral<uint32_t>();
  size_t max_line = in.ConsumeBool() ? 64 : libromind::llm::kDefaultMaxLineBytes;
  std::string body = in.ConsumeRemainingBytesAsString();

  Decoded whole = decode(api, max_line, body, nullptr);
  Chunker chunker(seed);
  Decoded cut = decode(api, max_line, body, &chunker);
  check(whole.ok == cut.ok, "a protocol error does not depend on the chunking");
  check(whole.error == cut.error, "the error message does not depend on the chunking");
  check(whole.events.size() == cut.events.size(), "event count does not depend on the chunking");
  for (size_t i = 0; i < whole.events.size(); ++i) {
    check(same(whole.events[i], cut.events[i]), "events do not depend on the chunking");
  }
  check(is_valid_utf8(whole.error), "the error message is valid UTF-8");

  // The answer as the client streams it: each event's content is one piece.
  ThinkFilter filter;
  std::string joined, streamed;
  for (const auto& e : whole.events) {
    check(is_valid_utf8(e.content), "event content is valid UTF-8");
    check(e.error.empty() || is_valid_utf8(e.error), "event error is valid UTF-8");
    joined += e.content;
    std::string piece = filter.push(e.content);
    check(is_valid_utf8(piece), "a filtered piece is valid UTF-8");
    streamed += piece;
  }
  std::string tail = filter.finish();
  check(is_valid_utf8(tail), "the filter's tail is valid UTF-8");
  streamed += tail;
  check(streamed == reference_strip(joined), "filter matches the whole-text rules");
  check(filter_chunked(joined, chunker) == streamed, "filter does not depend on the pieces");

  // The filter on raw bytes, cut anywhere.
  check(filter_chunked(body, chunker) == reference_strip(body), "filter on raw bytes");

  std::string msg = libromind::llm::server_error_message(body);
  check(msg.size() <= 300 && is_valid_utf8(msg), "server error message is bounded UTF-8");
  return 0;
}
