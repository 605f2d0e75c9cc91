#include "accounts/account_service.hpp"

#include <algorithm>
#include <chrono>

#include "core/crypto.hpp"
#include "core/text.hpp"
#include "telemetry/log.hpp"

namespace libromind::accounts {
namespace {

using store::Params;

core::Error invalid_credentials() {
  return core::Error::make(core::ErrorCode::kUnauthenticated, "wrong e-mail or password",
                           "invalid-credentials");
}

core::Error invalid_refresh(std::string why) {
  return core::Error::make(core::ErrorCode::kUnauthenticated, why, "invalid-refresh-token");
}

User user_from_row(const std::vector<store::Value>& r) {
  return {store::as_int(r[0]), store::as_string(r[1]), store::as_string(r[2]),
          store::as_string(r[3])};
}

constexpr const char* kUserColumns = "id, email, role, created_at";

// Revokes the live refresh tokens matching `where` (a condition on $1). On PostgreSQL the rows
// are locked in id order first: two revocations of one family that locked them in whatever
// order the UPDATE visits them could deadlock.
core::Result<void> revoke_tokens(store::Connection& conn, const char* where, store::Value key,
                                 int64_t t) {
  if (conn.dialect() == store::Dialect::kPostgres) {
    LM_TRY(conn.query(std::string("SELECT id FROM refresh_tokens WHERE ") + where +
                          " AND revoked_at IS NULL ORDER BY id FOR UPDATE",
                      {key}));
  }
  LM_TRY(conn.exec(std::string("UPDATE refresh_tokens SET revoked_at = $2 WHERE ") + where +
                       " AND revoked_at IS NULL",
                   {key, t}));
  return core::ok();
}

}  // namespace

const char* to_string(Role role) { return role == Role::kAdmin ? "admin" : "customer"; }

int64_t throttle_delay_seconds(int64_t failures, int64_t free, int64_t max_delay) {
  if (failures <= free) return 0;
  int64_t over = failures - free;  // 1, 2, 3, ...
  if (over > 30) return max_delay;
  return std::min<int64_t>(int64_t{1} << (over - 1), max_delay);
}

AccountService::AccountService(store::Store& store, const PasswordHasher& hasher,
                               const TokenSigner& signer, AccountOptions options)
    : store_(store), hasher_(hasher), signer_(signer), options_(std::move(options)) {}

int64_t AccountService::now() const { return options_.now ? options_.now() : core::unix_seconds(); }

core::Result<User> AccountService::register_user(std::string_view email, std::string_view password,
                                                 Role role) {
  LM_ASSIGN_OR_RETURN(std::string normalized, normalize_email(email));
  LM_TRY(check_password_policy(password, normalized));
  LM_ASSIGN_OR_RETURN(std::string encoded, hasher_.hash(password));
  const std::string ts = telemetry::utc_timestamp();
  User user;
  auto r = store::with_transaction(store_, [&](store::Connection& conn) -> core::Result<void> {
    LM_ASSIGN_OR_RETURN(auto rows,
                        conn.query("SELECT 1 FROM users WHERE email = $1", {normalized}));
    if (!rows.empty()) {
      return core::Error::make(core::ErrorCode::kConflict,
                               "an account with this e-mail already exists", "email-taken");
    }
    LM_ASSIGN_OR_RETURN(auto ins,
                        conn.query(std::string("INSERT INTO users (email, password_hash, role, "
                                               "created_at, updated_at) VALUES ($1, $2, $3, $4, "
                                               "$4) RETURNING ") +
                                       kUserColumns,
                                   {normalized, encoded, std::string(to_string(role)), ts}));
    user = user_from_row(ins.rows.at(0));
    return core::ok();
  });
  if (!r) {
    // Two registrations racing for one e-mail: the unique index decides.
    if (r.error().code == core::ErrorCode::kConflict && r.error().type.empty()) {
      return core::Error::make(core::ErrorCode::kConflict,
                               "an account with this e-mail already exists", "email-taken");
    }
    return r.error();
  }
  telemetry::log_info("user_registered", {{"user_id", user.id}, {"role", user.role}});
  return user;
}

core::Result<int64_t> AccountService::blocked_until(store::Connection& conn,
                                                    const std::string& key) {
  LM_ASSIGN_OR_RETURN(auto rows, conn.query("SELECT blocked_until, last_failure_at FROM "
                                            "login_throttle WHERE key = $1",
                                            {key}));
  if (rows.empty()) return int64_t{0};
  if (store::as_int(rows.rows[0][1]) < now() - options_.throttle.forget_after_seconds) {
    return int64_t{0};
  }
  return store::as_int(rows.rows[0][0]);
}

core::Result<void> AccountService::record_failure(store::Connection& conn, const std::string& key,
                                                  int64_t free_failures) {
  const int64_t t = now();
  const int64_t forget_before = t - options_.throttle.forget_after_seconds;
  LM_ASSIGN_OR_RETURN(
      auto rows,
      conn.query("INSERT INTO login_throttle (key, failures, last_failure_at, blocked_until) "
                 "VALUES ($1, 1, $2, 0) ON CONFLICT (key) DO UPDATE SET failures = CASE WHEN "
                 "login_throttle.last_failure_at < $3 THEN 1 ELSE login_throttle.failures + 1 "
                 "END, last_failure_at = excluded.last_failure_at RETURNING failures",
                 {key, t, forget_before}));
  const int64_t failures = store::as_int(rows.rows.at(0)[0]);
  const int64_t delay =
      throttle_delay_seconds(failures, free_failures, options_.throttle.max_delay_seconds);
  if (delay > 0) {
    LM_TRY(
        conn.exec("UPDATE login_throttle SET blocked_until = $2 WHERE key = $1", {key, t + delay}));
  }
  return core::ok();
}

core::Result<Session> AccountService::login(std::string_view email, std::string_view password,
                                            const std::string& client_address) {
  auto normalized = normalize_email(email);
  if (!normalized) return invalid_credentials();
  if (password.size() > 4 * kMaxPasswordChars) return invalid_credentials();
  const std::string pair_key = "pair:" + *normalized + "|" + client_address;
  const std::string addr_key = "addr:" + client_address;

  // Throttled attempts are refused before any password work.
  {
    LM_ASSIGN_OR_RETURN(auto conn, store_.acquire(store::Access::kRead));
    LM_ASSIGN_OR_RETURN(int64_t pair_until, blocked_until(*conn, pair_key));
    LM_ASSIGN_OR_RETURN(int64_t addr_until, blocked_until(*conn, addr_key));
    const int64_t until = std::max(pair_until, addr_until);
    const int64_t t = now();
    if (until > t) {
      auto e = core::Error::make(core::ErrorCode::kTooManyRequests,
                                 "too many failed logins; try again later", "login-throttled");
      e.retry_after_seconds = until - t;
      return e;
    }
  }

  std::optional<std::string> hash;
  User user;
  {
    LM_ASSIGN_OR_RETURN(auto conn, store_.acquire(store::Access::kRead));
    LM_ASSIGN_OR_RETURN(auto rows, conn->query(std::string("SELECT ") + kUserColumns +
                                                   ", password_hash FROM users WHERE email = $1",
                                               {*normalized}));
    if (!rows.empty()) {
      user = user_from_row(rows.rows[0]);
      hash = store::as_string(rows.rows[0][4]);
    }
  }
  // Unknown accounts cost the same time as wrong passwords.
  const bool ok = hash ? hasher_.verify(*hash, password) : (hasher_.verify_dummy(password), false);
  if (!ok) {
    LM_TRY(store::with_transaction(store_, [&](store::Connection& conn) -> core::Result<void> {
      LM_TRY(record_failure(conn, pair_key, options_.throttle.pair_free_failures));
      return record_failure(conn, addr_key, options_.throttle.address_free_failures);
    }));
    telemetry::log_info("login_failed", {{"known_account", hash.has_value()}});
    return invalid_credentials();
  }
  Session session;
  LM_TRY(store::with_transaction(store_, [&](store::Connection& conn) -> core::Result<void> {
    LM_TRY(conn.exec("DELETE FROM login_throttle WHERE key = $1", {pair_key}));
    LM_ASSIGN_OR_RETURN(session, issue_session(conn, user, core::random_token(16)));
    return core::ok();
  }));
  telemetry::log_info("login_succeeded", {{"user_id", user.id}});
  return session;
}

core::Result<Session> AccountService::issue_session(store::Connection& conn, const User& user,
                                                    const std::string& family) {
  const int64_t t = now();
  Session s;
  s.user = user;
  s.refresh_token = core::random_token(32);  // 256 bits
  s.refresh_expires_in = options_.refresh_ttl_seconds;
  LM_TRY(conn.exec(
      "INSERT INTO refresh_tokens (family, user_id, token_hash, created_at, "
      "expires_at) VALUES ($1, $2, $3, $4, $5)",
      {family, user.id, core::sha256_hex(s.refresh_token), t, t + options_.refresh_ttl_seconds}));
  s.access_token = signer_.issue({user.id, user.role, family, 0, 0}, t);
  s.access_expires_in = signer_.ttl_seconds();
  return s;
}

core::Result<Session> AccountService::refresh(std::string_view refresh_token) {
  if (refresh_token.empty() || refresh_token.size() > 256) {
    return invalid_refresh("refresh token is malformed");
  }
  const std::string hash = core::sha256_hex(refresh_token);
  Session session;
  std::optional<core::Error> failure;  // committed, then reported (a reuse revokes first)
  LM_TRY(store::with_transaction(store_, [&](store::Connection& conn) -> core::Result<void> {
    const int64_t t = now();
    // On PostgreSQL the token row is locked first, so concurrent users of one token are
    // serialised: the first rotates it, each later one sees it used and revokes the family
    // while holding that lock (two revocations of one family in parallel deadlocked).
    const bool pg = conn.dialect() == store::Dialect::kPostgres;
    LM_ASSIGN_OR_RETURN(auto rows,
                        conn.query(std::string("SELECT r.id, r.family, r.expires_at, r.used_at, "
                                               "r.revoked_at, u.id, u.email, u.role, "
                                               "u.created_at FROM refresh_tokens r JOIN users u "
                                               "ON u.id = r.user_id WHERE r.token_hash = $1") +
                                       (pg ? " FOR UPDATE OF r" : ""),
                                   {hash}));
    if (rows.empty()) {
      failure = invalid_refresh("refresh token is not valid");
      return core::ok();
    }
    const auto& r = rows.rows[0];
    const int64_t id = store::as_int(r[0]);
    const std::string family = store::as_string(r[1]);
    if (!store::is_null(r[4])) {
      failure = invalid_refresh("this session was revoked; sign in again");
      return core::ok();
    }
    // Claim the token: exactly one caller can, so two concurrent uses count as a reuse.
    LM_ASSIGN_OR_RETURN(int64_t claimed,
                        conn.exec("UPDATE refresh_tokens SET used_at = $2 WHERE id = $1 AND "
                                  "used_at IS NULL",
                                  {id, t}));
    if (!store::is_null(r[3]) || claimed == 0) {
      LM_TRY(revoke_tokens(conn, "family = $1", family, t));
      telemetry::log_warn("refresh_token_reuse", {{"user_id", store::as_int(r[5])}});
      failure = invalid_refresh("refresh token was already used; the session was revoked");
      failure->type = "refresh-token-reused";
      return core::ok();
    }
    if (store::as_int(r[2]) <= t) {
      failure = invalid_refresh("refresh token expired; sign in again");
      return core::ok();
    }
    User user{store::as_int(r[5]), store::as_string(r[6]), store::as_string(r[7]),
              store::as_string(r[8])};
    LM_ASSIGN_OR_RETURN(session, issue_session(conn, user, family));
    return core::ok();
  }));
  if (failure) return *failure;
  return session;
}

core::Result<void> AccountService::logout(std::string_view refresh_token) {
  if (refresh_token.empty() || refresh_token.size() > 256) return core::ok();
  const std::string hash = core::sha256_hex(refresh_token);
  return store::with_transaction(store_, [&](store::Connection& conn) -> core::Result<void> {
    LM_ASSIGN_OR_RETURN(auto rows, conn.query("SELECT family FROM refresh_tokens WHERE "
                                              "token_hash = $1",
                                              {hash}));
    if (rows.empty()) return core::ok();
    LM_TRY(revoke_tokens(conn, "family = $1", store::as_string(rows.rows[0][0]), now()));
    return core::ok();
  });
}

core::Result<AccessClaims> AccountService::authenticate(std::string_view access_token) const {
  return signer_.verify(access_token, now());
}

core::Result<User> AccountService::get_user(int64_t id) {
  LM_ASSIGN_OR_RETURN(auto conn, store_.acquire(store::Access::kRead));
  LM_ASSIGN_OR_RETURN(
      auto rows,
      conn->query(std::string("SELECT ") + kUserColumns + " FROM users WHERE id = $1", {id}));
  if (rows.empty()) {
    return core::Error::make(core::ErrorCode::kUnauthenticated, "the account no longer exists",
                             "invalid-token");
  }
  return user_from_row(rows.rows[0]);
}

core::Result<User> AccountService::find_by_email(std::string_view email) {
  LM_ASSIGN_OR_RETURN(std::string normalized, normalize_email(email));
  LM_ASSIGN_OR_RETURN(auto conn, store_.acquire(store::Access::kRead));
  LM_ASSIGN_OR_RETURN(
      auto rows, conn->query(std::string("SELECT ") + kUserColumns + " FROM users WHERE email = $1",
                             {normalized}));
  if (rows.empty()) return core::Error::not_found("no account with e-mail " + normalized);
  return user_from_row(rows.rows[0]);
}

core::Result<User> AccountService::set_role(std::string_view email, Role role) {
  LM_ASSIGN_OR_RETURN(std::string normalized, normalize_email(email));
  LM_TRY(store::with_transaction(store_, [&](store::Connection& conn) -> core::Result<void> {
    LM_ASSIGN_OR_RETURN(int64_t n, conn.exec("UPDATE users SET role = $2, updated_at = $3 WHERE "
                                             "email = $1",
                                             {normalized, std::string(to_string(role)),
                                              telemetry::utc_timestamp()}));
    if (n == 0) return core::Error::not_found("no account with e-mail " + normalized);
    return core::ok();
  }));
  return find_by_email(normalized);
}

core::Result<void> AccountService::set_password(std::string_view email, std::string_view password) {
  LM_ASSIGN_OR_RETURN(std::string normalized, normalize_email(email));
  LM_TRY(check_password_policy(password, normalized));
  LM_ASSIGN_OR_RETURN(std::string encoded, hasher_.hash(password));
  return store::with_transaction(store_, [&](store::Connection& conn) -> core::Result<void> {
    LM_ASSIGN_OR_RETURN(auto rows,
                        conn.query("SELECT id FROM users WHERE email = $1", {normalized}));
    if (rows.empty()) return core::Error::not_found("no account with e-mail " + normalized);
    const int64_t id = store::as_int(rows.rows[0][0]);
    LM_TRY(conn.exec("UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1",
                     {id, encoded, telemetry::utc_timestamp()}));
    // A new password ends every session.
    LM_TRY(revoke_tokens(conn, "user_id = $1", id, now()));
    return core::ok();
  });
}

}  // namespace libromind::accounts
