#include "store/postgres/postgres_store.hpp"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace libromind::store {

namespace {

// Type OIDs from pg_type.h (server headers are not needed for a handful of constants).
constexpr Oid kBoolOid = 16;
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;
constexpr Oid kFloat4Oid = 700;
constexpr Oid kFloat8Oid = 701;
constexpr Oid kNumericOid = 1700;

constexpr const char* kApplicationName = "libromind";
constexpr const char* kConnectTimeoutSeconds = "5";

using ResultPtr = std::unique_ptr<PGresult, decltype(&PQclear)>;

void ignore_notice(void* /*arg*/, const char* /*message*/) {}

// The password in the user-info part of a URL, to keep it out of error messages.
std::string url_password(std::string_view url) {
  size_t begin = url.find("://");
  if (begin == std::string_view::npos) return {};
  begin += 3;
  size_t at = url.rfind('@');
  if (at == std::string_view::npos || at < begin) return {};
  std::string_view userinfo = url.substr(begin, at - begin);
  size_t colon = userinfo.find(':');
  return colon == std::string_view::npos ? std::string() : std::string(userinfo.substr(colon + 1));
}

// One-line libpq message with any secret replaced.
std::string clean_message(std::string_view msg, const std::string& secret) {
  std::string out;
  for (char c : msg) {
    if (c == '\n' || c == '\t') {
      if (!out.empty() && out.back() != ' ') out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  if (!secret.empty()) {
    for (size_t pos = out.find(secret); pos != std::string::npos; pos = out.find(secret, pos)) {
      out.replace(pos, secret.size(), "***");
      pos += 3;
    }
  }
  return out;
}

core::ErrorCode code_for_sqlstate(std::string_view state) {
  if (state == "23505" || state == "23514" || state == "23503") return core::ErrorCode::kConflict;
  // Connection exceptions, shutdown, too many connections, and the transient failures a retry
  // cures (serialization, deadlock, lock or statement timeout).
  if (state.substr(0, 2) == "08" || state == "57P01" || state == "57P02" || state == "57P03" ||
      state == "53300" || state == "40001" || state == "40P01" || state == "55P03" ||
      state == "57014") {
    return core::ErrorCode::kUnavailable;
  }
  return core::ErrorCode::kInternal;
}

std::string format_double(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  if (ec != std::errc()) return std::to_string(v);
  return std::string(buf, end);
}

Value convert(Oid type, const char* text, int length) {
  std::string_view s(text, static_cast<size_t>(length));
  switch (type) {
    case kInt2Oid:
    case kInt4Oid:
    case kInt8Oid: {
      int64_t v = 0;
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      if (ec == std::errc() && end == s.data() + s.size()) return v;
      break;
    }
    case kFloat4Oid:
    case kFloat8Oid:
    case kNumericOid: {
      double v = 0;
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      if (ec == std::errc() && end == s.data() + s.size()) return v;
      return std::strtod(text, nullptr);  // out of range numeric: +-inf or 0, as C does
    }
    case kBoolOid:
      return int64_t{s == "t" ? 1 : 0};
    default:
      break;
  }
  return std::string(s);
}

class PgConnection final : public Connection {
 public:
  PgConnection(PGconn* conn, const std::string* secret) : conn_(conn), secret_(secret) {}
  ~PgConnection() override { PQfinish(conn_); }
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  Dialect dialect() const override { return Dialect::kPostgres; }

  bool connected() const { return !broken_ && PQstatus(conn_) == CONNECTION_OK; }

  // Cheap liveness check before lending the connection out: reading what the server sent
  // while the connection sat idle notices a server that restarted or closed the socket.
  // A server that shuts down first sends an error (57P01), then closes: read until the socket
  // has nothing more, so that the close is seen too.
  bool healthy() {
    for (int i = 0; i < 8 && connected(); ++i) {
      pollfd pfd{PQsocket(conn_), POLLIN, 0};
      int ready = poll(&pfd, 1, 0);
      if (ready < 0) return false;
      if (ready == 0) return true;  // nothing arrived while idle
      if (PQconsumeInput(conn_) == 0) return false;
    }
    return false;
  }

  bool reconnect() {
    PQreset(conn_);
    broken_ = PQstatus(conn_) != CONNECTION_OK;
    return !broken_;
  }

  // Leaves the connection outside any transaction for its next user, or marks it broken.
  void tidy() {
    if (broken_) return;
    switch (PQtransactionStatus(conn_)) {
      case PQTRANS_IDLE:
        return;
      case PQTRANS_INTRANS:
      case PQTRANS_INERROR:
        if (!rollback()) broken_ = true;
        return;
      default:
        broken_ = true;
    }
  }

  std::string last_error() const { return clean_message(PQerrorMessage(conn_), *secret_); }

  core::Result<Rows> query(std::string_view sql, const Params& params) override {
    LM_ASSIGN_OR_RETURN(ResultPtr res, run(sql, params));
    PGresult* r = res.get();
    int nfields = PQnfields(r);
    int ntuples = PQntuples(r);
    Rows out;
    std::vector<Oid> types(static_cast<size_t>(nfields));
    out.columns.reserve(types.size());
    for (int c = 0; c < nfields; ++c) {
      out.columns.emplace_back(PQfname(r, c));
      types[static_cast<size_t>(c)] = PQftype(r, c);
    }
    out.rows.reserve(static_cast<size_t>(ntuples));
    for (int t = 0; t < ntuples; ++t) {
      std::vector<Value> row;
      row.reserve(types.size());
      for (int c = 0; c < nfields; ++c) {
        if (PQgetisnull(r, t, c)) {
          row.emplace_back(nullptr);
        } else {
          row.push_back(
              convert(types[static_cast<size_t>(c)], PQgetvalue(r, t, c), PQgetlength(r, t, c)));
        }
      }
      out.rows.push_back(std::move(row));
    }
    return out;
  }

  core::Result<int64_t> exec(std::string_view sql, const Params& params) override {
    LM_ASSIGN_OR_RETURN(ResultPtr res, run(sql, params));
    std::string_view tuples = PQcmdTuples(res.get());
    int64_t n = 0;
    std::from_chars(tuples.data(), tuples.data() + tuples.size(), n);
    return n;
  }

  core::Result<void> exec_script(std::string_view sql) override {
    std::string text(sql);
    LM_TRY(check(PQexec(conn_, text.c_str())));
    return core::ok();
  }

  core::Result<void> begin() override {
    LM_TRY(check(PQexec(conn_, "BEGIN")));
    return core::ok();
  }

  core::Result<void> commit() override {
    LM_ASSIGN_OR_RETURN(ResultPtr res, check(PQexec(conn_, "COMMIT")));
    // COMMIT of a transaction that an earlier statement aborted succeeds as a ROLLBACK.
    if (std::string_view(PQcmdStatus(res.get())) == "ROLLBACK") {
      return core::Error::internal(
          "store: the transaction was aborted by an earlier error and has been rolled back");
    }
    return core::ok();
  }

  core::Result<void> rollback() override {
    LM_TRY(check(PQexec(conn_, "ROLLBACK")));
    return core::ok();
  }

 private:
  core::Result<ResultPtr> run(std::string_view sql, const Params& params) {
    std::string text(sql);
    std::vector<std::string> storage(params.size());
    std::vector<const char*> values(params.size(), nullptr);
    std::vector<Oid> types(params.size(), 0);  // 0: let the server infer (text, NULL)
    for (size_t i = 0; i < params.size(); ++i) {
      const Value& v = params[i];
      if (const auto* i64 = std::get_if<int64_t>(&v)) {
        storage[i] = std::to_string(*i64);
        types[i] = kInt8Oid;
        values[i] = storage[i].c_str();
      } else if (const auto* d = std::get_if<double>(&v)) {
        storage[i] = format_double(*d);
        types[i] = kFloat8Oid;
        values[i] = storage[i].c_str();
      } else if (const auto* s = std::get_if<std::string>(&v)) {
        if (s->find('\0') != std::string::npos) {
          return core::Error::invalid("store: text parameter $" + std::to_string(i + 1) +
                                      " contains a NUL byte");
        }
        values[i] = s->c_str();
      }
    }
    return check(PQexecParams(conn_, text.c_str(), static_cast<int>(params.size()), types.data(),
                              values.data(), nullptr, nullptr, 0));
  }

  core::Result<ResultPtr> check(PGresult* raw) {
    ResultPtr res(raw, &PQclear);
    ExecStatusType status = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return res;
    if (PQstatus(conn_) == CONNECTION_BAD) {
      broken_ = true;  // reconnected when next acquired; no retry, the caller decides
      return core::Error::unavailable("store: lost the connection to PostgreSQL: " + last_error());
    }
    if (status == PGRES_COPY_IN || status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH) {
      broken_ = true;
      return core::Error::internal("store: COPY is not supported");
    }
    const char* state = res ? PQresultErrorField(res.get(), PG_DIAG_SQLSTATE) : nullptr;
    const char* primary = res ? PQresultErrorField(res.get(), PG_DIAG_MESSAGE_PRIMARY) : nullptr;
    std::string message = primary != nullptr ? clean_message(primary, *secret_) : last_error();
    if (message.empty()) message = PQresStatus(status);
    return core::Error{code_for_sqlstate(state != nullptr ? state : ""), "store: " + message, {}};
  }

  PGconn* conn_;
  const std::string* secret_;  // owned by the pool
  bool broken_ = false;
};

// LISTEN on a connection of its own (not pooled: it stays subscribed).
class PgListener final : public Listener {
 public:
  PgListener(PGconn* conn, std::string secret) : conn_(conn), secret_(std::move(secret)) {}
  ~PgListener() override { PQfinish(conn_); }

  core::Result<bool> wait(std::chrono::milliseconds timeout) override {
    if (drain()) return true;
    pollfd pfd{PQsocket(conn_), POLLIN, 0};
    if (pfd.fd < 0) return lost();
    int rc = ::poll(&pfd, 1, static_cast<int>(std::max<int64_t>(0, timeout.count())));
    if (rc < 0) return errno == EINTR ? core::Result<bool>(false) : lost();
    if (rc == 0) return false;
    if (PQconsumeInput(conn_) == 0) return lost();
    return drain();
  }

 private:
  // Consumes every notification already received; true when there was one.
  bool drain() {
    bool any = false;
    while (PGnotify* n = PQnotifies(conn_)) {
      any = true;
      PQfreemem(n);
    }
    return any;
  }

  core::Error lost() {
    return core::Error::unavailable("store: the LISTEN connection was lost: " +
                                    clean_message(PQerrorMessage(conn_), secret_));
  }

  PGconn* conn_;
  std::string secret_;
};

// The connections of one store. Handles keep it alive, so a handle may outlive its store.
class PgPool {
 public:
  PgPool(const StoreOptions& options, std::string secret)
      : url_(options.url),
        secret_(std::move(secret)),
        described_(redact_url(options.url)),
        max_size_(static_cast<size_t>(options.pool_size)),
        busy_timeout_(options.busy_timeout_ms) {}

  const std::string& described() const { return described_; }

  core::Result<PgConnection*> acquire() {
    PgConnection* conn = nullptr;
    {
      std::unique_lock lock(mu_);
      auto deadline = std::chrono::steady_clock::now() + busy_timeout_;
      auto available = [&] { return !idle_.empty() || all_.size() + opening_ < max_size_; };
      if (!available()) {
        ++waiting_;
        bool ok = cv_.wait_until(lock, deadline, available);
        --waiting_;
        if (!ok) return core::Error::unavailable("store connection pool exhausted");
      }
      if (!idle_.empty()) {
        conn = idle_.back();
        idle_.pop_back();
      } else {
        ++opening_;  // connect outside the lock: it may take up to the connect timeout
      }
    }
    if (conn == nullptr) return open_new();
    if (!conn->healthy() && !conn->reconnect()) {
      std::string msg = conn->last_error();
      release(conn);
      return core::Error::unavailable("store: cannot reach PostgreSQL at " + described_ + ": " +
                                      msg);
    }
    return conn;
  }

  void release(PgConnection* conn) {
    conn->tidy();
    std::lock_guard lock(mu_);
    idle_.push_back(conn);
    cv_.notify_one();
  }

  core::Result<std::unique_ptr<Listener>> listen(const std::string& channel) {
    const char* keys[] = {"application_name", "connect_timeout", "dbname", nullptr};
    const char* values[] = {kApplicationName, kConnectTimeoutSeconds, url_.c_str(), nullptr};
    PGconn* raw = PQconnectdbParams(keys, values, 1);
    if (raw == nullptr) return core::Error::unavailable("store: out of memory");
    PQsetNoticeProcessor(raw, ignore_notice, nullptr);
    auto fail = [&](std::string what) -> core::Error {
      std::string msg = clean_message(PQerrorMessage(raw), secret_);
      PQfinish(raw);
      return core::Error::unavailable("store: cannot " + what + " at " + described_ + ": " + msg);
    };
    if (PQstatus(raw) != CONNECTION_OK) return fail("connect to PostgreSQL");
    char* ident = PQescapeIdentifier(raw, channel.c_str(), channel.size());
    if (ident == nullptr) return fail("LISTEN");
    std::string sql = std::string("LISTEN ") + ident;
    PQfreemem(ident);
    ResultPtr res(PQexec(raw, sql.c_str()), &PQclear);
    if (!res || PQresultStatus(res.get()) != PGRES_COMMAND_OK) return fail("LISTEN");
    return std::unique_ptr<Listener>(std::make_unique<PgListener>(raw, secret_));
  }

  PoolStats stats() {
    std::lock_guard lock(mu_);
    PoolStats s;
    s.size = static_cast<int64_t>(all_.size());
    s.in_use = static_cast<int64_t>(all_.size() - idle_.size());
    s.waiting = waiting_;
    return s;
  }

 private:
  core::Result<PgConnection*> open_new() {
    // Our settings come before the URL, so that the URL's own parameters win.
    const char* keys[] = {"application_name", "connect_timeout", "dbname", nullptr};
    const char* values[] = {kApplicationName, kConnectTimeoutSeconds, url_.c_str(), nullptr};
    PGconn* raw = PQconnectdbParams(keys, values, 1);
    std::unique_ptr<PgConnection> conn;
    std::string error;
    if (raw == nullptr) {
      error = "out of memory";
    } else {
      conn = std::make_unique<PgConnection>(raw, &secret_);
      PQsetNoticeProcessor(raw, ignore_notice, nullptr);
      if (PQstatus(raw) != CONNECTION_OK) error = conn->last_error();
    }
    std::lock_guard lock(mu_);
    --opening_;
    if (!error.empty()) {
      cv_.notify_one();  // the slot is free again
      return core::Error::unavailable("store: cannot connect to PostgreSQL at " + described_ +
                                      ": " + error);
    }
    all_.push_back(std::move(conn));
    return all_.back().get();
  }

  const std::string url_;
  const std::string secret_;
  const std::string described_;
  const size_t max_size_;
  const std::chrono::milliseconds busy_timeout_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<PgConnection>> all_;
  std::vector<PgConnection*> idle_;
  size_t opening_ = 0;
  int64_t waiting_ = 0;
};

class PostgresStore final : public Store {
 public:
  explicit PostgresStore(std::shared_ptr<PgPool> pool) : pool_(std::move(pool)) {}

  Dialect dialect() const override { return Dialect::kPostgres; }

  // Both kinds of access get any pooled connection: PostgreSQL has no single writer.
  core::Result<ConnectionHandle> acquire(Access /*access*/) override {
    LM_ASSIGN_OR_RETURN(PgConnection * conn, pool_->acquire());
    return ConnectionHandle(
        conn, [pool = pool_](Connection* c) { pool->release(static_cast<PgConnection*>(c)); });
  }

  PoolStats pool_stats() const override { return pool_->stats(); }

  std::string describe() const override { return pool_->described(); }

  core::Result<std::unique_ptr<Listener>> listen(const std::string& channel) override {
    return pool_->listen(channel);
  }

 private:
  std::shared_ptr<PgPool> pool_;
};

}  // namespace

core::Result<std::unique_ptr<Store>> open_postgres_store(const StoreOptions& options) {
  std::string secret = url_password(options.url);
  char* error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(options.url.c_str(), &error);
  if (parsed == nullptr) {
    std::string msg = error != nullptr ? clean_message(error, secret) : "out of memory";
    PQfreemem(error);
    return core::Error::invalid("store: invalid PostgreSQL URL " + redact_url(options.url) + ": " +
                                msg);
  }
  for (PQconninfoOption* opt = parsed; opt->keyword != nullptr; ++opt) {
    if (std::string_view(opt->keyword) == "password" && opt->val != nullptr && secret.empty()) {
      secret = opt->val;  // given as ?password=...
    }
  }
  PQconninfoFree(parsed);
  auto pool = std::make_shared<PgPool>(options, std::move(secret));
  return std::unique_ptr<Store>(std::make_unique<PostgresStore>(std::move(pool)));
}

}  // namespace libromind::store
