#include "http/server.hpp"

#include <algorithm>
#include <array>
#include <condition_variable>
#include <csignal>
#include <filesystem>
#include <limits>
#include <list>
#include <mutex>
#include <set>
#include <thread>

#include "core/crypto.hpp"
#include "core/text.hpp"
#include "http/asio.hpp"
#include "http/problem.hpp"
#include "telemetry/log.hpp"

namespace libromind::http {
namespace {

using tcp = asio::ip::tcp;
namespace bhttp = beast::http;

// True when a path percent-decodes to UTF-8 without an encoded NUL.
bool path_decodes(std::string_view raw) {
  auto decoded = core::percent_decode(raw);
  return decoded && decoded->find('\0') == std::string::npos && core::is_valid_utf8(*decoded);
}

// Stands for a request path that does not decode; answered 400 after the request id is set.
constexpr std::string_view kInvalidPath = "\x01invalid";

// Metric labels must stay bounded whatever clients send: unknown methods are "other".
std::string method_label(const std::string& method) {
  for (const char* m : {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}) {
    if (method == m) return method;
  }
  return "other";
}

// What a streaming session (on its connection's executor) and its producer (on the stream
// pool) share. The producer appends to `queued` and wakes the session, which sends what is
// queued as one chunk; a producer that runs ahead of its reader waits (back-pressure) and gives
// up after the stall timeout.
struct StreamState final : StreamWriter, std::enable_shared_from_this<StreamState> {
  StreamState(asio::any_io_executor ex, size_t limit, std::chrono::milliseconds stall)
      : wake(std::move(ex)), limit(limit), stall(stall) {}

  asio::steady_timer wake;  // the session waits on it; cancelled to wake it
  const size_t limit;
  const std::chrono::milliseconds stall;

  mutable std::mutex m;
  std::condition_variable drained;  // the session took the queue
  std::string queued;
  bool finished = false;      // the producer returned
  bool watcher_done = false;  // the disconnect watcher ended
  std::atomic<bool> gone{false};
  const char* reason = "completed";  // why it ended early, when `gone`

  bool write(std::string_view data) override {
    std::unique_lock lock(m);
    if (!drained.wait_for(lock, stall, [&] { return gone.load() || queued.size() < limit; })) {
      mark_gone_locked("stalled");
      return false;
    }
    if (gone) return false;
    const bool was_empty = queued.empty();
    queued.append(data);
    lock.unlock();
    if (was_empty) notify();
    return true;
  }
  bool closed() const override { return gone.load(); }

  void close(const char* why) {
    {
      std::lock_guard lock(m);
      mark_gone_locked(why);
    }
    drained.notify_all();
    notify();
  }
  void mark_gone_locked(const char* why) {
    if (gone.exchange(true)) return;
    reason = why;
  }
  // Wakes the session on its own executor (a cancel posted while it is between checking the
  // queue and waiting runs after it waits: the executor is serial).
  void notify() {
    asio::post(wake.get_executor(), [self = shared_from_this()] { self->wake.cancel(); });
  }
};

// Collects a streamed body in memory (handle_now, for tests).
class BufferWriter final : public StreamWriter {
 public:
  explicit BufferWriter(std::string& out) : out_(out) {}
  bool write(std::string_view data) override {
    out_.append(data);
    return true;
  }
  bool closed() const override { return false; }

 private:
  std::string& out_;
};

}  // namespace

struct Server::Impl {
  ServerOptions options;
  const Router& router;
  const Pipeline& pipeline;
  telemetry::Registry& metrics;

  asio::io_context ioc;
  asio::thread_pool pool;
  asio::thread_pool stream_pool;
  std::atomic<int> streams_active{0};
  std::mutex streams_mutex;
  std::set<std::shared_ptr<StreamState>> streams;  // open, for the drain
  tcp::acceptor acceptor{ioc};
  asio::signal_set signals{ioc, SIGINT, SIGTERM};
  std::atomic<int> pending{0};
  ResponseCache cache{options.cache_max_bytes};
  std::atomic<bool> draining{false};

  // Open connections, so that a drain can close the idle ones.
  // Shared with the drain logic: `stream` is cleared (under conns_mutex) before the session's
  // stream is destroyed, so a posted cancel never touches a dead stream.
  struct Conn {
    beast::tcp_stream* stream;
    bool busy = false;
  };
  std::mutex conns_mutex;
  std::list<std::shared_ptr<Conn>> conns;
  std::atomic<int> starting{0};  // sessions spawned that have not registered in `conns` yet

  telemetry::Family<telemetry::Counter>& requests_total;
  telemetry::Family<telemetry::Histogram>& request_seconds;
  telemetry::Family<telemetry::Gauge>& in_flight;
  telemetry::Family<telemetry::Gauge>& open_connections;
  telemetry::Family<telemetry::Gauge>& pool_pending;
  telemetry::Family<telemetry::Counter>& rejected_total;
  telemetry::Family<telemetry::Counter>& cache_lookups;
  telemetry::Family<telemetry::Gauge>& streams_open;
  telemetry::Family<telemetry::Counter>& streams_total;
  telemetry::Family<telemetry::Counter>& stream_bytes;

  Impl(ServerOptions o, const Router& r, const Pipeline& p, telemetry::Registry& m)
      : options(std::move(o)),
        router(r),
        pipeline(p),
        metrics(m),
        pool(static_cast<size_t>(std::max(1, options.blocking_threads))),
        stream_pool(static_cast<size_t>(std::max(1, options.stream_threads))),
        requests_total(m.counter("libromind_http_requests_total",
                                 "HTTP requests answered, by route, method and status",
                                 {"route", "method", "status"})),
        request_seconds(
            m.histogram("libromind_http_request_duration_seconds",
                        "HTTP request latency from first byte read to response, by route",
                        {"route"}, telemetry::latency_buckets())),
        in_flight(m.gauge("libromind_http_requests_in_flight", "HTTP requests being handled")),
        open_connections(m.gauge("libromind_http_connections_open", "Open HTTP connections")),
        pool_pending(m.gauge("libromind_blocking_pool_pending",
                             "Blocking tasks queued or running on the worker pool")),
        rejected_total(m.counter("libromind_http_overload_rejections_total",
                                 "Requests answered 503 because the blocking pool was full")),
        cache_lookups(m.counter("libromind_http_cache_lookups_total",
                                "Response cache lookups of cacheable routes, by result",
                                {"result"})),
        streams_open(m.gauge("libromind_http_streams_open",
                             "Streamed responses (Server-Sent Events) being sent")),
        streams_total(m.counter("libromind_http_streams_total",
                                "Streamed responses ended, by outcome (completed, client_closed, "
                                "stalled, drained, rejected)",
                                {"route", "outcome"})),
        stream_bytes(m.counter("libromind_http_stream_bytes_total",
                               "Bytes of streamed response bodies sent", {"route"})) {
    auto& cache_bytes = m.gauge("libromind_http_cache_bytes", "Bytes held by the response cache");
    m.on_collect(
        [this, &cache_bytes] { cache_bytes.get().set(static_cast<double>(cache.bytes())); });
  }

  Response finish(Request& req, Response resp, size_t ran) {
    pipeline.run_after(req, resp, ran);
    return resp;
  }

  // Everything up to the handler, on the calling thread. Returns a response when the request
  // is answered without its handler (preflight, 404, 405, bad query); else sets `route`.
  std::optional<Response> prepare(Request& req, size_t& ran, const Route*& route) {
    if (auto r = pipeline.run_before(req, ran)) return finish(req, std::move(*r), ran);
    if (req.path == kInvalidPath) {
      req.route = "unmatched";
      return finish(
          req,
          problem(400, "malformed-request", "Malformed request",
                  "the path has an invalid percent-encoding or is not UTF-8", req.request_id),
          ran);
    }
    auto m = router.match(req);
    if (!m.route) {
      if (!m.allowed.empty()) {
        std::string allow;
        for (const auto& a : m.allowed) allow += (allow.empty() ? "" : ", ") + a;
        auto r = problem(405, "method-not-allowed", "Method not allowed", "allowed: " + allow,
                         req.request_id);
        r.set_header("Allow", allow);
        return finish(req, std::move(r), ran);
      }
      return finish(
          req, problem(404, "not-found", "Not found", "no route for " + req.path, req.request_id),
          ran);
    }
    auto q = parse_query_string(req.raw_query);
    if (!q) {
      return finish(req, problem_from_error(q.error(), req.request_id), ran);
    }
    req.query = std::move(*q);
    route = m.route;
    return std::nullopt;
  }

  Response call(const Route& route, Request& req) {
    try {
      return route.handler(req);
    } catch (const std::exception& e) {
      telemetry::log_error(
          "handler_exception",
          {{"request_id", req.request_id}, {"route", req.route}, {"error", e.what()}});
      return problem_from_error(core::Error::internal(e.what()), req.request_id);
    }
  }

  void record(const Request& req, const Response& resp, size_t bytes) {
    double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - req.started).count();
    requests_total.with({req.route, method_label(req.method), std::to_string(resp.status)}).inc();
    request_seconds.with({req.route}).observe(secs);
    if (options.access_log) {
      telemetry::log_info("http_request", {{"request_id", req.request_id},
                                           {"method", req.method},
                                           {"path", req.path},
                                           {"route", req.route},
                                           {"status", resp.status},
                                           {"bytes", bytes},
                                           {"duration_ms", secs * 1000.0},
                                           {"remote", req.remote_address}});
    }
  }

  asio::awaitable<Response> handle(Request& req) {
    size_t ran = 0;
    const Route* route = nullptr;
    if (auto early = prepare(req, ran, route)) co_return std::move(*early);
    const int64_t generation = route->cacheable && req.method == "GET" && options.cache_generation
                                   ? options.cache_generation()
                                   : -1;
    std::string cache_key;
    if (generation >= 0) {
      cache_key = req.path + '?' + req.raw_query;
      if (auto hit = cache.get(cache_key, generation)) {
        cache_lookups.with({"hit"}).inc();
        co_return finish(req, from_cache(req, *hit), ran);
      }
      cache_lookups.with({"miss"}).inc();
    }
    Response resp;
    if (route->inline_handler) {
      resp = call(*route, req);
    } else if (pending.fetch_add(1) >= options.max_pending) {
      pending.fetch_sub(1);
      rejected_total.get().inc();
      resp = problem(503, "overloaded", "Server overloaded",
                     "too many requests are waiting; retry shortly", req.request_id);
      resp.set_header("Retry-After", "1");
    } else {
      pool_pending.get().set(pending.load());
      resp = co_await asio::co_spawn(
          pool.get_executor(),
          [this, route, &req]() -> asio::awaitable<Response> { co_return call(*route, req); },
          asio::use_awaitable);
      pending.fetch_sub(1);
    }
    if (generation >= 0 && resp.status == 200 && resp.cacheable) {
      auto entry = std::make_shared<CachedResponse>();
      entry->response = std::move(resp);
      entry->response.set_header("ETag", etag_for(entry->response.body));
      if (entry->response.body.size() >= 1024 && is_compressible(entry->response.content_type)) {
        entry->gzip_body = gzip_compress(entry->response.body);
      }
      cache.put(cache_key, generation, entry);
      co_return finish(req, from_cache(req, *entry), ran);
    }
    co_return finish(req, std::move(resp), ran);
  }

  static Response from_cache(const Request& req, const CachedResponse& entry) {
    Response r;
    r.status = entry.response.status;
    r.content_type = entry.response.content_type;
    r.headers = entry.response.headers;
    r.cacheable = entry.response.cacheable;
    r.max_age_seconds = entry.response.max_age_seconds;
    const auto* ae = req.header("accept-encoding");
    if (!entry.gzip_body.empty() && entry.gzip_body.size() < entry.response.body.size() && ae &&
        accepts_gzip(*ae)) {
      r.body = entry.gzip_body;
      r.set_header("Content-Encoding", "gzip");
      r.set_header("Vary", "Accept-Encoding");
    } else {
      r.body = entry.response.body;
    }
    return r;
  }

  static Request to_request(const bhttp::request_header<>& in, const std::string& remote) {
    Request req;
    req.method = std::string(in.method_string());
    req.target = std::string(in.target());
    auto qpos = req.target.find('?');
    std::string raw_path = req.target.substr(0, qpos);
    if (qpos != std::string::npos) req.raw_query = req.target.substr(qpos + 1);
    // The router decodes segment by segment (so an encoded '/' stays inside its segment); here
    // the whole path is only checked to decode cleanly.
    req.path = path_decodes(raw_path) ? raw_path : std::string(kInvalidPath);
    for (const auto& f : in) {
      std::string name = core::to_lower_ascii(f.name_string());
      auto it = req.headers.find(name);
      if (it == req.headers.end()) {
        req.headers.emplace(std::move(name), std::string(f.value()));
      } else {
        it->second += ", " + std::string(f.value());
      }
    }
    req.remote_address = remote;
    return req;
  }

  static bhttp::response<bhttp::string_body> to_beast(const Request& req, Response&& r,
                                                      unsigned version, bool keep_alive) {
    bhttp::response<bhttp::string_body> out{static_cast<bhttp::status>(r.status), version};
    out.set(bhttp::field::server, "libromind");
    if (!r.content_type.empty() && r.status != 204 && r.status != 304) {
      out.set(bhttp::field::content_type, r.content_type);
    }
    for (auto& [k, v] : r.headers) out.insert(k, v);
    if (req.method != "HEAD") out.body() = std::move(r.body);
    out.keep_alive(keep_alive);
    out.prepare_payload();
    if (req.method == "HEAD") out.content_length(r.body.size());
    return out;
  }

  // A response for a request that could not be read (too large, malformed).
  Response read_error_response(const beast::error_code& ec, const std::string& request_id,
                               size_t body_limit) {
    if (ec == bhttp::error::header_limit) {
      return problem(431, "header-too-large", "Request header fields too large",
                     "the request line and headers must fit in " +
                         std::to_string(options.header_limit) + " bytes",
                     request_id);
    }
    if (ec == bhttp::error::body_limit) {
      return problem(413, "payload-too-large", "Payload too large",
                     "the request body must be at most " + std::to_string(body_limit) + " bytes",
                     request_id);
    }
    if (ec == beast::errc::make_error_code(beast::errc::io_error)) {
      return problem(500, "internal", "Internal error", "the upload could not be stored",
                     request_id);
    }
    return problem(400, "malformed-request", "Malformed request", ec.message(), request_id);
  }

  // Reads and drops up to `max_bytes` (or until the peer closes, or 5 s pass).
  static asio::awaitable<void> discard_input(beast::tcp_stream& stream, size_t max_bytes) {
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    std::array<char, 64 * 1024> sink;
    size_t dropped = 0;
    stream.expires_after(std::chrono::seconds(5));
    while (dropped < max_bytes) {
      const size_t n = co_await stream.async_read_some(
          asio::buffer(sink), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      dropped += n;
    }
  }

  const UploadRoute* find_upload(const Request& req) const {
    for (const auto& u : options.uploads) {
      if (u.method == req.method && u.path == req.path) return &u;
    }
    return nullptr;
  }

  // Streams an upload's body into a new file in upload_dir; returns its path ("" on error,
  // with `ec` set and the partial file removed).
  asio::awaitable<std::string> read_upload(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                           bhttp::request_parser<bhttp::string_body>& head,
                                           const UploadRoute& route, beast::error_code& ec) {
    std::error_code fs_ec;
    std::filesystem::create_directories(options.upload_dir, fs_ec);
    const std::string path =
        (std::filesystem::path(options.upload_dir) / ("upload-" + core::random_token(12) + ".part"))
            .string();
    bhttp::request_parser<bhttp::file_body> parser{std::move(head)};
    parser.body_limit(route.body_limit);
    parser.get().body().open(path.c_str(), beast::file_mode::write_new, ec);
    if (ec) {
      telemetry::log_error("upload_file_failed", {{"path", path}, {"error", ec.message()}});
      ec = beast::errc::make_error_code(beast::errc::io_error);  // 500: nothing was read
      co_return std::string();
    }
    stream.expires_after(options.upload_timeout);
    co_await bhttp::async_read(stream, buffer, parser,
                               asio::redirect_error(asio::use_awaitable, ec));
    parser.get().body().close();
    if (ec) {
      std::filesystem::remove(path, fs_ec);
      co_return std::string();
    }
    co_return path;
  }

  asio::awaitable<void> session(tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    std::string remote;
    {
      beast::error_code ec;
      auto ep = stream.socket().remote_endpoint(ec);
      if (!ec) remote = ep.address().to_string();
    }
    auto self = std::make_shared<Conn>(Conn{&stream, false});
    std::list<std::shared_ptr<Conn>>::iterator self_it;
    {
      std::lock_guard lock(conns_mutex);
      conns.push_back(self);
      self_it = std::prev(conns.end());
    }
    starting.fetch_sub(1);
    open_connections.get().add(1);
    beast::flat_buffer buffer(options.header_limit + 4096);
    size_t served = 0;
    for (;;) {
      // While draining, a connection's first request is still read: its client sent it before
      // the listener closed (close_idle ends the connections that sent nothing).
      if (draining.load() && served > 0) break;
      beast::error_code ec;
      bhttp::request_parser<bhttp::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(options.header_limit));
      // No limit while reading the head: the route's own limit is applied once it is known.
      parser.body_limit(std::numeric_limits<std::uint64_t>::max());
      stream.expires_after(options.idle_timeout);
      co_await bhttp::async_read_header(stream, buffer, parser,
                                        asio::redirect_error(asio::use_awaitable, ec));
      Request req;
      unsigned version = 11;
      bool client_keep_alive = false;
      bool close_after = false;
      size_t limit = options.body_limit;
      const bool got_head = !ec;
      if (!ec) {
        {
          std::lock_guard lock(conns_mutex);
          self->busy = true;
        }
        auto& head = parser.get();
        version = head.version();
        client_keep_alive = head.keep_alive();
        req = to_request(head, remote);
        const UploadRoute* upload = find_upload(req);
        const bool admitted = upload == nullptr || !upload->admit || upload->admit(req);
        if (!admitted) {
          close_after = true;  // the body stays unread: answer, then close
        } else {
          if (beast::iequals(head[bhttp::field::expect], "100-continue")) {
            bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, version};
            co_await bhttp::async_write(stream, cont,
                                        asio::redirect_error(asio::use_awaitable, ec));
          }
          if (!ec && upload != nullptr) {
            limit = upload->body_limit;
            if (parser.content_length() && *parser.content_length() > limit) {
              ec = bhttp::error::body_limit;
            } else {
              req.body_file = co_await read_upload(stream, buffer, parser, *upload, ec);
            }
          } else if (!ec && parser.content_length() &&
                     *parser.content_length() > options.body_limit) {
            ec = bhttp::error::body_limit;
          } else if (!ec) {
            parser.body_limit(options.body_limit);
            stream.expires_after(options.read_timeout);
            co_await bhttp::async_read(stream, buffer, parser,
                                       asio::redirect_error(asio::use_awaitable, ec));
            if (!ec) req.body = std::move(parser.get().body());
          }
        }
      }
      if (ec) {
        if (ec == bhttp::error::end_of_stream || ec == asio::error::operation_aborted ||
            ec == beast::error::timeout || ec == asio::error::connection_reset ||
            ec == asio::error::eof || (!got_head && !parser.got_some())) {
          break;
        }
        // A bad request: answer it, then close (the stream position is unknown).
        Request bad;
        bad.method = "GET";
        bad.route = "unmatched";
        bad.request_id = generate_request_id();
        auto resp = read_error_response(ec, bad.request_id, limit);
        resp.set_header("X-Request-Id", bad.request_id);
        SecurityHeadersMiddleware{}.after(bad, resp);
        record(bad, resp, resp.body.size());
        auto out = to_beast(bad, std::move(resp), 11, false);
        const bool too_large = ec == bhttp::error::body_limit;
        stream.expires_after(options.read_timeout);
        co_await bhttp::async_write(stream, out, asio::redirect_error(asio::use_awaitable, ec));
        // A client still sending the body it was refused would get a reset instead of the
        // answer if the socket closed with unread data: read and drop what follows, bounded.
        if (too_large && !ec) co_await discard_input(stream, 64 * 1024 * 1024);
        break;
      }
      in_flight.get().add(1);
      Response resp = co_await handle(req);
      if (!req.body_file.empty()) {
        std::error_code rm;
        std::filesystem::remove(req.body_file, rm);  // unless the handler kept (moved) it
      }
      ++served;
      if (resp.stream && req.method != "HEAD") {
        // A stream ends its connection: the body's end is the chunked terminator, and a
        // client that waited minutes on it rarely sends another request.
        const size_t sent = co_await send_stream(stream, req, std::move(resp), version);
        (void)sent;
        in_flight.get().add(-1);
        break;
      }
      resp.stream = nullptr;
      bool keep_alive = client_keep_alive && !close_after && !draining.load() &&
                        served < options.max_requests_per_connection;
      const size_t bytes = resp.body.size();
      record(req, resp, bytes);
      auto out = to_beast(req, std::move(resp), version, keep_alive);
      stream.expires_after(options.read_timeout);
      co_await bhttp::async_write(stream, out, asio::redirect_error(asio::use_awaitable, ec));
      in_flight.get().add(-1);
      {
        std::lock_guard lock(conns_mutex);
        self->busy = false;
      }
      if (!ec && close_after) co_await discard_input(stream, 64 * 1024 * 1024);
      if (ec || !keep_alive) break;
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    {
      std::lock_guard lock(conns_mutex);
      self->stream = nullptr;
      conns.erase(self_it);
    }
    open_connections.get().add(-1);
  }

  // Sends a streamed response: the head, then a chunk whenever the producer wrote, then the
  // terminator. Returns the body bytes sent. Records the request (status, bytes, duration)
  // when the stream ends.
  asio::awaitable<size_t> send_stream(beast::tcp_stream& stream, Request& req, Response resp,
                                      unsigned version) {
    if (streams_active.fetch_add(1) >= options.stream_threads) {
      streams_active.fetch_sub(1);
      streams_total.with({req.route, "rejected"}).inc();
      rejected_total.get().inc();
      auto busy = problem(503, "overloaded", "Server overloaded",
                          "too many streams are open; retry shortly", req.request_id);
      busy.set_header("Retry-After", "1");
      busy.set_header("X-Request-Id", req.request_id);
      SecurityHeadersMiddleware{}.after(req, busy);
      record(req, busy, busy.body.size());
      auto out = to_beast(req, std::move(busy), version, false);
      beast::error_code ec;
      stream.expires_after(options.read_timeout);
      co_await bhttp::async_write(stream, out, asio::redirect_error(asio::use_awaitable, ec));
      co_return 0;
    }
    streams_open.get().add(1);
    bhttp::response<bhttp::empty_body> head{static_cast<bhttp::status>(resp.status), version};
    head.set(bhttp::field::server, "libromind");
    head.set(bhttp::field::content_type, resp.content_type);
    for (auto& [k, v] : resp.headers) head.insert(k, v);
    head.keep_alive(false);
    head.chunked(true);
    bhttp::response_serializer<bhttp::empty_body> serializer{head};
    beast::error_code ec;
    stream.expires_after(options.read_timeout);
    co_await bhttp::async_write_header(stream, serializer,
                                       asio::redirect_error(asio::use_awaitable, ec));

    auto state = std::make_shared<StreamState>(stream.get_executor(), options.stream_queue_limit,
                                               options.stream_stall_timeout);
    size_t sent = 0;
    const char* outcome = "client_closed";
    if (ec) {
      state->close("client_closed");
    } else {
      {
        std::lock_guard lock(streams_mutex);
        streams.insert(state);
      }
      if (draining.load()) state->close("drained");
      asio::co_spawn(stream.get_executor(), watch_disconnect(stream.socket(), state),
                     asio::detached);
      asio::post(stream_pool, [state, producer = std::move(resp.stream), id = req.request_id] {
        try {
          producer(*state);
        } catch (const std::exception& e) {
          telemetry::log_error("stream_producer_exception",
                               {{"request_id", id}, {"error", e.what()}});
        }
        {
          std::lock_guard lock(state->m);
          state->finished = true;
        }
        state->notify();
      });
      sent = co_await pump(stream, *state, resp.stream_heartbeat);
      {
        std::lock_guard lock(state->m);
        outcome = state->gone ? state->reason : "completed";
      }
      // Stop the watcher and wait for it: it reads from the socket this session owns.
      beast::error_code ignored;
      stream.socket().cancel(ignored);
      for (;;) {
        {
          std::lock_guard lock(state->m);
          if (state->watcher_done) break;
        }
        state->wake.expires_after(std::chrono::seconds(1));
        co_await state->wake.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
      }
      std::lock_guard lock(streams_mutex);
      streams.erase(state);
    }
    streams_open.get().add(-1);
    streams_active.fetch_sub(1);
    streams_total.with({req.route, outcome}).inc();
    stream_bytes.with({req.route}).inc(static_cast<double>(sent));
    record(req, resp, sent);
    co_return sent;
  }

  // Until the producer returns: sends what it queued, a heartbeat after a silence, and the
  // terminating chunk when the client is still there.
  asio::awaitable<size_t> pump(beast::tcp_stream& stream, StreamState& state,
                               const std::string& heartbeat) {
    size_t sent = 0;
    for (;;) {
      std::string chunk;
      bool finished;
      {
        std::lock_guard lock(state.m);
        chunk.swap(state.queued);
        finished = state.finished;
      }
      state.drained.notify_all();
      if (!chunk.empty()) {
        if (state.gone) continue;
        beast::error_code ec;
        stream.expires_after(options.stream_stall_timeout);
        co_await asio::async_write(stream, bhttp::make_chunk(asio::buffer(chunk)),
                                   asio::redirect_error(asio::use_awaitable, ec));
        if (ec) {
          state.close(ec == beast::error::timeout ? "stalled" : "client_closed");
        } else {
          sent += chunk.size();
        }
        continue;
      }
      if (finished) break;
      beast::error_code ec;
      state.wake.expires_after(options.stream_heartbeat_after);
      co_await state.wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (!ec && !state.gone && !heartbeat.empty()) {
        std::lock_guard lock(state.m);
        if (state.queued.empty()) state.queued = heartbeat;
      }
    }
    if (!state.gone) {
      beast::error_code ec;
      stream.expires_after(options.stream_stall_timeout);
      co_await asio::async_write(stream, bhttp::make_chunk_last(),
                                 asio::redirect_error(asio::use_awaitable, ec));
      if (ec) state.close("client_closed");
    }
    co_return sent;
  }

  // A client of a stream sends nothing more; a read that ends (EOF, reset) means it left.
  static asio::awaitable<void> watch_disconnect(tcp::socket& socket,
                                                std::shared_ptr<StreamState> state) {
    std::array<char, 512> scratch;
    beast::error_code ec;
    for (;;) {
      co_await socket.async_read_some(asio::buffer(scratch),
                                      asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
    }
    if (ec != asio::error::operation_aborted) state->close("client_closed");
    {
      std::lock_guard lock(state->m);
      state->watcher_done = true;
    }
    state->wake.cancel();
  }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      beast::error_code ec;
      asio::any_io_executor exec = session_executor();
      tcp::socket socket =
          co_await acceptor.async_accept(exec, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
        telemetry::log_warn("accept_failed", {{"error", ec.message()}});
        continue;
      }
      spawn_session(std::move(socket));
    }
  }

  asio::any_io_executor session_executor() {
    // With one I/O thread the io_context is already serial: a strand would only add cost.
    return options.io_threads > 1 ? asio::any_io_executor(asio::make_strand(ioc))
                                  : asio::any_io_executor(ioc.get_executor());
  }

  void spawn_session(tcp::socket socket) {
    beast::error_code ec;
    socket.set_option(tcp::no_delay(true), ec);
    auto socket_exec = socket.get_executor();
    starting.fetch_add(1);
    asio::co_spawn(socket_exec, session(std::move(socket)), [](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        telemetry::log_error("session_failed", {{"error", ex.what()}});
      }
    });
  }

  void begin_drain() {
    if (draining.exchange(true)) return;
    telemetry::log_info("server_draining",
                        {{"deadline_seconds", options.shutdown_timeout.count()}});
    // Connections the kernel completed but this process had not accepted yet carry requests
    // that were sent before the drain began: accept them too (closing the listener would
    // reset them), then close it.
    beast::error_code ec;
    acceptor.non_blocking(true, ec);
    for (int i = 0; i < 4096 && !ec; ++i) {
      tcp::socket socket(session_executor());
      acceptor.accept(socket, ec);
      if (!ec) spawn_session(std::move(socket));
    }
    acceptor.close(ec);
    close_idle();
    {
      // Open streams end now (their producers see the writer closed and stop what feeds
      // them); the clients see the stream end without its final event and may retry.
      std::lock_guard lock(streams_mutex);
      for (const auto& st : streams) st->close("drained");
    }
    auto deadline = std::chrono::steady_clock::now() + options.shutdown_timeout;
    wait_drained(std::make_shared<asio::steady_timer>(ioc), deadline);
  }

  void close_idle() {
    std::lock_guard lock(conns_mutex);
    for (auto& c : conns) {
      if (c->busy || c->stream == nullptr) continue;
      // Cancel on the connection's own executor (its strand), re-checking that it is still
      // open and idle when the cancel runs.
      asio::post(c->stream->get_executor(), [this, c] {
        std::lock_guard inner(conns_mutex);
        if (c->stream == nullptr || c->busy) return;
        beast::error_code ec;
        // Bytes waiting are a request sent before the drain: let it be read and answered.
        if (c->stream->socket().available(ec) > 0 && !ec) return;
        c->stream->socket().cancel(ec);
      });
    }
  }

  void wait_drained(std::shared_ptr<asio::steady_timer> timer,
                    std::chrono::steady_clock::time_point deadline) {
    size_t open;
    {
      std::lock_guard lock(conns_mutex);
      open = conns.size() + static_cast<size_t>(std::max(0, starting.load()));
    }
    if (open == 0 || std::chrono::steady_clock::now() >= deadline) {
      if (open) telemetry::log_warn("server_drain_deadline", {{"open_connections", open}});
      ioc.stop();
      return;
    }
    close_idle();
    timer->expires_after(std::chrono::milliseconds(20));
    timer->async_wait(
        [this, timer, deadline](beast::error_code) { wait_drained(timer, deadline); });
  }
};

Server::Server(ServerOptions options, const Router& router, const Pipeline& pipeline,
               telemetry::Registry& metrics)
    : impl_(std::make_unique<Impl>(std::move(options), router, pipeline, metrics)) {}

Server::~Server() {
  impl_->pool.join();
  impl_->stream_pool.join();
}

core::Result<void> Server::bind() {
  beast::error_code ec;
  auto addr = asio::ip::make_address(impl_->options.host, ec);
  if (ec)
    return core::Error::invalid("invalid listen address '" + impl_->options.host + "'", "listen");
  tcp::endpoint ep{addr, impl_->options.port};
  auto& a = impl_->acceptor;
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return core::Error::unavailable("cannot listen on " + impl_->options.host + ":" +
                                    std::to_string(impl_->options.port) + ": " + ec.message());
  }
  bound_port_ = a.local_endpoint().port();
  return core::ok();
}

void Server::run() {
  auto& impl = *impl_;
  impl.signals.async_wait([&impl](beast::error_code ec, int sig) {
    if (ec) return;
    telemetry::log_info("signal_received", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
    impl.begin_drain();
  });
  asio::co_spawn(impl.ioc, impl.accept_loop(), asio::detached);
  telemetry::log_info("server_listening", {{"host", impl.options.host},
                                           {"port", bound_port_},
                                           {"io_threads", impl.options.io_threads},
                                           {"blocking_threads", impl.options.blocking_threads}});
  std::vector<std::thread> threads;
  for (int i = 1; i < impl.options.io_threads; ++i)
    threads.emplace_back([&impl] { impl.ioc.run(); });
  impl.ioc.run();
  for (auto& t : threads) t.join();
  impl.pool.join();
  impl.stream_pool.join();
  telemetry::log_info("server_stopped");
}

void Server::stop() {
  asio::post(impl_->ioc, [this] { impl_->begin_drain(); });
}

Response Server::handle_now(Request& req) {
  auto& impl = *impl_;
  size_t ran = 0;
  const Route* route = nullptr;
  if (auto early = impl.prepare(req, ran, route)) return std::move(*early);
  Response resp = impl.finish(req, impl.call(*route, req), ran);
  if (resp.stream) {
    BufferWriter out(resp.body);
    resp.stream(out);
    resp.stream = nullptr;
  }
  return resp;
}

}  // namespace libromind::http
