// Server-Sent Events (the WHATWG `text/event-stream` format) on top of a streamed Response.
//
//   return sse_response([results](StreamWriter& out) {
//     SseWriter sse(out);
//     if (!sse.event("results", results.dump())) return;  // the client left
//     ...
//   });
//
// The response carries the headers that keep proxies from buffering, transforming or caching
// the stream (Cache-Control: no-store, no-transform; X-Accel-Buffering: no) and a comment
// heartbeat every 15 s of silence.
#pragma once

#include <string>
#include <string_view>

#include "http/message.hpp"

namespace libromind::http {

// One event: `event:` (when not empty), `id:` (when not empty), one `data:` line per line of
// `data` (CR, LF and CRLF all end a line, as the format says), then a blank line. Event names
// and ids are kept to one line (line breaks are dropped).
std::string sse_event(std::string_view event, std::string_view data, std::string_view id = {});
// A comment line (": text"), ignored by clients; line breaks are dropped.
std::string sse_comment(std::string_view text);

// 200, text/event-stream, the anti-buffering headers and `producer` as the body.
Response sse_response(StreamProducer producer);

class SseWriter {
 public:
  explicit SseWriter(StreamWriter& out) : out_(out) {}
  // False once the client is gone: stop and cancel what feeds the stream.
  bool event(std::string_view name, std::string_view data) {
    return out_.write(sse_event(name, data));
  }
  bool comment(std::string_view text) { return out_.write(sse_comment(text)); }
  bool closed() const { return out_.closed(); }

 private:
  StreamWriter& out_;
};

}  // namespace libromind::http
