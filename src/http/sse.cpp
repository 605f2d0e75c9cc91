#include "http/sse.hpp"

namespace libromind::http {
namespace {

void append_one_line(std::string& out, std::string_view text) {
  for (char c : text) {
    if (c != '\n' && c != '\r') out += c;
  }
}

}  // namespace

std::string sse_event(std::string_view event, std::string_view data, std::string_view id) {
  std::string out;
  out.reserve(data.size() + event.size() + 16);
  if (!event.empty()) {
    out += "event: ";
    append_one_line(out, event);
    out += '\n';
  }
  if (!id.empty()) {
    out += "id: ";
    append_one_line(out, id);
    out += '\n';
  }
  size_t start = 0;
  for (;;) {
    size_t end = data.find_first_of("\r\n", start);
    out += "data: ";
    out.append(data.substr(start, end == std::string_view::npos ? end : end - start));
    out += '\n';
    if (end == std::string_view::npos) break;
    start = end + 1;
    if (data[end] == '\r' && start < data.size() && data[start] == '\n') ++start;
  }
  out += '\n';
  return out;
}

std::string sse_comment(std::string_view text) {
  std::string out = ": ";
  append_one_line(out, text);
  out += "\n\n";
  return out;
}

Response sse_response(StreamProducer producer) {
  Response r;
  r.status = 200;
  r.content_type = "text/event-stream; charset=utf-8";
  r.set_header("Cache-Control", "no-store, no-transform");
  r.set_header("X-Accel-Buffering", "no");  // nginx and its ingress: pass each chunk on
  r.stream = std::move(producer);
  r.stream_heartbeat = sse_comment("keep-alive");
  return r;
}

}  // namespace libromind::http
