// A fault-injecting fake model server for the client tests: a small blocking HTTP/1.1 server on
// 127.0.0.1 (port 0) that speaks the streamed chat API of Ollama (NDJSON) or of OpenAI (SSE) and
// plays a script of replies: pieces with a delay, a stall before the first byte or mid-stream, a
// close mid-stream or before any answer, an error status with a body. It records what it was sent
// and notices when a client leaves before the answer is over.
//
//   FakeModelServer server(Api::kOllama);
//   server.push({.pieces = {"Hel", "lo"}, .delay_ms = 10});
//   server.push({.fault = Fault::kStatus, .status = 500, .body = R"({"error":"boom"})"});
//   llm::Client client(options_for(server));
//
// Constructed with `listening = false`, the port is bound but refuses connections until
// listen() is called.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "core/text.hpp"
#include "llm/client.hpp"

namespace libromind::llm::testing {

enum class Fault {
  kNone,                  // stream the pieces and end properly
  kStallBeforeFirstByte,  // read the request, then send nothing for stall_ms
  kStallMidStream,        // send fault_after pieces, then nothing for stall_ms
  kCloseMidStream,        // send fault_after pieces, then close without ending the stream
  kCloseBeforeAnswer,     // read the request, then close without a byte of answer
  kStatus,                // answer `status` with `body` (application/json)
};

struct FakeReply {
  Fault fault = Fault::kNone;
  std::vector<std::string> pieces{};    // answer pieces, one event each
  std::vector<std::string> thinking{};  // reasoning events sent first (message.thinking /
                                        // delta.reasoning_content)
  int delay_ms = 0;                     // before each piece
  int stall_ms = 10000;
  size_t fault_after = 0;          // pieces sent before a mid-stream fault
  int status = 200;                // for kStatus
  std::string body{};              // for kStatus
  bool split_events = false;       // send every event in two writes, cut in its middle
  std::vector<std::string> raw{};  // when not empty: these bytes are the body, as they are
};

struct SeenRequest {
  std::string method, path, body;
  std::map<std::string, std::string> headers;  // names in lower case
};

class FakeModelServer {
 public:
  explicit FakeModelServer(Api api, bool listening = true) : api_(api) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) std::abort();
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    if (listening) listen();
  }

  ~FakeModelServer() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    if (acceptor_.joinable()) acceptor_.join();
    ::close(fd_);
    std::vector<std::thread> handlers;
    {
      std::lock_guard lock(mutex_);
      handlers.swap(handlers_);
    }
    for (auto& h : handlers) h.join();
  }

  FakeModelServer(const FakeModelServer&) = delete;
  FakeModelServer& operator=(const FakeModelServer&) = delete;

  // Starts accepting connections (until then they are refused).
  void listen() {
    if (::listen(fd_, 64) != 0) std::abort();
    acceptor_ = std::thread([this] { accept_loop(); });
  }

  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }

  // Replies for the next requests, in order; after the script, the default reply.
  void push(FakeReply r) {
    std::lock_guard lock(mutex_);
    script_.push_back(std::move(r));
  }
  void set_default(FakeReply r) {
    std::lock_guard lock(mutex_);
    default_ = std::move(r);
  }

  size_t requests() const {
    std::lock_guard lock(mutex_);
    return seen_.size();
  }
  std::vector<SeenRequest> seen() const {
    std::lock_guard lock(mutex_);
    return seen_;
  }
  bool wait_for_requests(size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return seen_.size() >= n; });
  }
  // True once a client left while the server was still streaming or stalling.
  bool wait_for_disconnect(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return disconnects_ > 0; });
  }
  int disconnects() const {
    std::lock_guard lock(mutex_);
    return disconnects_;
  }
  // Answer pieces written to sockets, over all connections.
  size_t pieces_sent() const { return pieces_sent_.load(); }

 private:
  void accept_loop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      int one = 1;
      ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      std::lock_guard lock(mutex_);
      handlers_.emplace_back([this, c] {
        serve(c);
        ::close(c);
      });
    }
  }

  // Waits `ms` unless the server stops; false when the client went away meanwhile.
  bool pause(int c, int ms) {
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (!stop_) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                      until - std::chrono::steady_clock::now())
                      .count();
      if (left <= 0) return true;
      pollfd p{c, POLLIN | POLLRDHUP, 0};
      int r = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 20)));
      if (r > 0) {
        if ((p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0) return false;
        char b;
        ssize_t n = ::recv(c, &b, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) return false;
        // The client sent more (it should not): drop it so that poll does not spin.
        ::recv(c, &b, 1, MSG_DONTWAIT);
      }
    }
    return false;
  }

  static bool send_all(int c, std::string_view s) {
    while (!s.empty()) {
      ssize_t n = ::send(c, s.data(), s.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      s.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  static bool send_chunk(int c, std::string_view data) {
    char size[32];
    std::snprintf(size, sizeof size, "%zx\r\n", data.size());
    return send_all(c, std::string(size) + std::string(data) + "\r\n");
  }

  bool read_request(int c, SeenRequest& req) {
    std::string buf;
    size_t header_end = std::string::npos;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    size_t need = 0;
    while (!stop_ && std::chrono::steady_clock::now() < deadline) {
      if (header_end == std::string::npos) {
        header_end = buf.find("\r\n\r\n");
        if (header_end != std::string::npos) {
          std::string head = buf.substr(0, header_end);
          size_t eol = head.find("\r\n");
          std::string first = head.substr(0, eol);
          size_t sp1 = first.find(' '), sp2 = first.find(' ', sp1 + 1);
          req.method = first.substr(0, sp1);
          req.path = first.substr(sp1 + 1, sp2 - sp1 - 1);
          size_t pos = eol == std::string::npos ? head.size() : eol + 2;
          while (pos < head.size()) {
            size_t e = head.find("\r\n", pos);
            if (e == std::string::npos) e = head.size();
            std::string line = head.substr(pos, e - pos);
            size_t colon = line.find(':');
            if (colon != std::string::npos) {
              req.headers[core::to_lower_ascii(line.substr(0, colon))] =
                  std::string(core::trim(line.substr(colon + 1)));
            }
            pos = e + 2;
          }
          need = header_end + 4;
          if (auto it = req.headers.find("content-length"); it != req.headers.end()) {
            need += std::stoul(it->second);
          }
        }
      }
      if (header_end != std::string::npos && buf.size() >= need) {
        req.body = buf.substr(header_end + 4, need - header_end - 4);
        return true;
      }
      pollfd p{c, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      char tmp[4096];
      ssize_t n = ::recv(c, tmp, sizeof tmp, 0);
      if (n <= 0) return false;
      buf.append(tmp, static_cast<size_t>(n));
    }
    return false;
  }

  std::string event(const std::string& content, bool thinking) const {
    using nlohmann::json;
    if (api_ == Api::kOllama) {
      json msg = {{"role", "assistant"}, {"content", thinking ? "" : content}};
      if (thinking) msg["thinking"] = content;
      json j = {{"model", "fake"},
                {"created_at", "2025-01-01T00:00:00Z"},
                {"message", msg},
                {"done", false}};
      return j.dump() + "\n";
    }
    json delta = {{thinking ? "reasoning_content" : "content", content}};
    json j = {
        {"id", "chatcmpl-1"},
        {"object", "chat.completion.chunk"},
        {"model", "fake"},
        {"choices", json::array({{{"index", 0}, {"delta", delta}, {"finish_reason", nullptr}}})}};
    return "data: " + j.dump() + "\n\n";
  }

  std::string final_events(size_t pieces) const {
    using nlohmann::json;
    if (api_ == Api::kOllama) {
      json j = {{"model", "fake"},
                {"message", {{"role", "assistant"}, {"content", ""}}},
                {"done", true},
                {"done_reason", "stop"},
                {"eval_count", pieces}};
      return j.dump() + "\n";
    }
    json j = {
        {"id", "chatcmpl-1"},
        {"object", "chat.completion.chunk"},
        {"choices",
         json::array({{{"index", 0}, {"delta", json::object()}, {"finish_reason", "stop"}}})}};
    return "data: " + j.dump() + "\n\ndata: [DONE]\n\n";
  }

  void client_left() {
    std::lock_guard lock(mutex_);
    ++disconnects_;
    changed_.notify_all();
  }

  void serve(int c) {
    SeenRequest req;
    if (!read_request(c, req)) return;
    FakeReply reply;
    {
      std::lock_guard lock(mutex_);
      seen_.push_back(req);
      if (!script_.empty()) {
        reply = std::move(script_.front());
        script_.pop_front();
      } else {
        reply = default_;
      }
      changed_.notify_all();
    }
    switch (reply.fault) {
      case Fault::kCloseBeforeAnswer:
        return;
      case Fault::kStatus: {
        std::string head = "HTTP/1.1 " + std::to_string(reply.status) +
                           " Fake\r\nContent-Type: application/json\r\nContent-Length: " +
                           std::to_string(reply.body.size()) + "\r\nConnection: close\r\n\r\n";
        send_all(c, head + reply.body);
        return;
      }
      case Fault::kStallBeforeFirstByte:
        if (!pause(c, reply.stall_ms)) client_left();
        return;
      default:
        break;
    }
    std::string head = std::string("HTTP/1.1 200 OK\r\nContent-Type: ") +
                       (api_ == Api::kOllama ? "application/x-ndjson" : "text/event-stream") +
                       "\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    if (!send_all(c, head)) return;
    auto send_event = [&](const std::string& e) {
      if (!reply.split_events || e.size() < 2) return send_chunk(c, e);
      size_t half = e.size() / 2;
      if (!send_chunk(c, std::string_view(e).substr(0, half))) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      return send_chunk(c, std::string_view(e).substr(half));
    };
    if (!reply.raw.empty()) {
      for (const auto& r : reply.raw) {
        if (!send_chunk(c, r) || !pause(c, reply.delay_ms)) {
          client_left();
          return;
        }
      }
      send_all(c, "0\r\n\r\n");
      return;
    }
    for (const auto& t : reply.thinking) {
      if (!pause(c, reply.delay_ms) || !send_event(event(t, true))) {
        client_left();
        return;
      }
    }
    for (size_t i = 0; i < reply.pieces.size(); ++i) {
      if (i == reply.fault_after && reply.fault == Fault::kCloseMidStream) {
        ::shutdown(c, SHUT_RDWR);
        return;
      }
      if (i == reply.fault_after && reply.fault == Fault::kStallMidStream) {
        if (!pause(c, reply.stall_ms)) client_left();
        return;
      }
      if (!pause(c, reply.delay_ms) || !send_event(event(reply.pieces[i], false))) {
        client_left();
        return;
      }
      ++pieces_sent_;
    }
    // The client may leave as soon as it has the end marker; errors here do not matter.
    if (send_event(final_events(reply.pieces.size()))) send_all(c, "0\r\n\r\n");
  }

  Api api_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::thread> handlers_;
  std::deque<FakeReply> script_;
  FakeReply default_;
  std::vector<SeenRequest> seen_;
  int disconnects_ = 0;
  std::atomic<size_t> pieces_sent_{0};
};

}  // namespace libromind::llm::testing
