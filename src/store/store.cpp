#include "store/store.hpp"

#include <charconv>
#include <cmath>
#include <string>
#include <system_error>
#include <type_traits>

#include "store/postgres/postgres_store.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace libromind::store {

namespace {

constexpr std::string_view kSqliteScheme = "sqlite:";
constexpr std::string_view kRedacted = "***";

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

std::string format_int(int64_t v) { return std::to_string(v); }

// Shortest text that reads back as the same double.
std::string format_double(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  if (ec != std::errc()) return std::to_string(v);
  return std::string(buf, end);
}

// Redacts `key=value` query parameters that carry a secret (libpq accepts `?password=...`).
std::string redact_query(std::string_view query) {
  std::string out;
  size_t pos = 0;
  while (pos <= query.size()) {
    size_t amp = query.find('&', pos);
    if (amp == std::string_view::npos) amp = query.size();
    std::string_view pair = query.substr(pos, amp - pos);
    size_t eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    if (eq != std::string_view::npos && (key == "password" || key == "sslpassword")) {
      out.append(key).append("=").append(kRedacted);
    } else {
      out.append(pair);
    }
    if (amp < query.size()) out.push_back('&');
    pos = amp + 1;
  }
  return out;
}

}  // namespace

int64_t as_int(const Value& v, int64_t fallback) {
  return std::visit(
      [&](const auto& x) -> int64_t {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, int64_t>) {
          return x;
        } else if constexpr (std::is_same_v<T, double>) {
          if (!std::isfinite(x) || x < -9.2233720368547758e18 || x >= 9.2233720368547758e18) {
            return fallback;
          }
          return static_cast<int64_t>(x);
        } else if constexpr (std::is_same_v<T, std::string>) {
          int64_t out = 0;
          auto [end, ec] = std::from_chars(x.data(), x.data() + x.size(), out);
          if (ec != std::errc() || end != x.data() + x.size()) return fallback;
          return out;
        } else {
          return fallback;
        }
      },
      v);
}

double as_double(const Value& v, double fallback) {
  return std::visit(
      [&](const auto& x) -> double {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, int64_t>) {
          return static_cast<double>(x);
        } else if constexpr (std::is_same_v<T, double>) {
          return x;
        } else if constexpr (std::is_same_v<T, std::string>) {
          double out = 0;
          auto [end, ec] = std::from_chars(x.data(), x.data() + x.size(), out);
          if (ec != std::errc() || end != x.data() + x.size()) return fallback;
          return out;
        } else {
          return fallback;
        }
      },
      v);
}

std::string as_string(const Value& v) {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, int64_t>) {
          return format_int(x);
        } else if constexpr (std::is_same_v<T, double>) {
          return format_double(x);
        } else if constexpr (std::is_same_v<T, std::string>) {
          return x;
        } else {
          return std::string();
        }
      },
      v);
}

bool is_null(const Value& v) { return std::holds_alternative<std::nullptr_t>(v); }

core::Result<void> run(Connection& conn, std::string_view sql, const Params& params) {
  LM_TRY(conn.exec(sql, params));
  return core::ok();
}

core::Result<std::unique_ptr<Store>> open_store(const StoreOptions& options) {
  std::string_view url = options.url;
  if (options.pool_size < 1) return core::Error::invalid("store pool size must be at least 1");
  if (options.busy_timeout_ms < 0) return core::Error::invalid("store busy timeout is negative");
  if (starts_with(url, "postgresql://") || starts_with(url, "postgres://")) {
    return open_postgres_store(options);
  }
  if (starts_with(url, kSqliteScheme)) {
    std::string_view path = url.substr(kSqliteScheme.size());
    // sqlite://relative/path.db and sqlite:///abs/path.db; also the short form sqlite:path.db.
    if (starts_with(path, "//")) path.remove_prefix(2);
    if (path.empty())
      return core::Error::invalid("store URL has no SQLite file path: " + options.url);
    if (path == ":memory:" || starts_with(path, "file:")) {
      return core::Error::invalid("store URL must name a SQLite file: " + options.url);
    }
    return open_sqlite_store(std::string(path), options);
  }
  return core::Error::invalid(
      "store URL must start with sqlite://, postgresql:// or postgres://: " + redact_url(url));
}

core::Result<std::unique_ptr<Listener>> Store::listen(const std::string& channel) {
  return core::Error::unavailable("store: " + describe() + " cannot LISTEN on '" + channel +
                                  "' (PostgreSQL only)");
}

core::Result<void> with_transaction(Store& store,
                                    const std::function<core::Result<void>(Connection&)>& fn) {
  LM_ASSIGN_OR_RETURN(ConnectionHandle conn, store.acquire(Access::kWrite));
  LM_TRY(conn->begin());
  core::Result<void> r = fn(*conn);
  if (!r) {
    (void)conn->rollback();  // the caller's error is the one that matters
    return r;
  }
  core::Result<void> c = conn->commit();
  if (!c) {
    (void)conn->rollback();  // a failed COMMIT may leave the transaction open (SQLite busy)
    return c;
  }
  return core::ok();
}

std::string placeholder_list(size_t first, size_t n) {
  std::string out = "(";
  for (size_t i = 0; i < n; ++i) {
    if (i) out += ", ";
    out += "$" + std::to_string(first + i);
  }
  return out + ")";
}

std::string redact_url(std::string_view url) {
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::string(url);
  size_t auth_begin = scheme_end + 3;
  size_t auth_end = url.find_first_of("/?#", auth_begin);
  if (auth_end == std::string_view::npos) auth_end = url.size();
  std::string out(url.substr(0, auth_begin));
  std::string_view authority = url.substr(auth_begin, auth_end - auth_begin);
  size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    size_t colon = userinfo.find(':');
    if (colon != std::string_view::npos) {
      out.append(userinfo.substr(0, colon)).append(":").append(kRedacted);
    } else {
      out.append(userinfo);
    }
    out.append(authority.substr(at));
  } else {
    out.append(authority);
  }
  std::string_view rest = url.substr(auth_end);
  size_t q = rest.find('?');
  if (q == std::string_view::npos) {
    out.append(rest);
  } else {
    size_t hash = rest.find('#', q);
    out.append(rest.substr(0, q + 1));
    out.append(
        redact_query(rest.substr(q + 1, hash == std::string_view::npos ? hash : hash - q - 1)));
    if (hash != std::string_view::npos) out.append(rest.substr(hash));
  }
  return out;
}

}  // namespace libromind::store
