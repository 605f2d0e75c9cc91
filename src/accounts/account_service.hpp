// Accounts: registration, login with throttling, refresh-token rotation with reuse detection,
// logout, and the user directory. Works on any store::Store.
//
//   accounts::AccountService accounts(store, hasher, signer, {});
//   LM_ASSIGN_OR_RETURN(auto user, accounts.register_user("a@example.org", "long passphrase"));
//   LM_ASSIGN_OR_RETURN(auto session, accounts.login("a@example.org", "long passphrase", ip));
//   LM_ASSIGN_OR_RETURN(auto next, accounts.refresh(session.refresh_token));
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "accounts/password.hpp"
#include "accounts/tokens.hpp"
#include "core/result.hpp"
#include "store/store.hpp"

namespace libromind::accounts {

enum class Role { kCustomer, kAdmin };
const char* to_string(Role role);

struct User {
  int64_t id = 0;
  std::string email;
  std::string role;  // "customer" or "admin"
  std::string created_at;
};

struct Session {
  std::string access_token;
  int64_t access_expires_in = 0;  // seconds
  std::string refresh_token;
  int64_t refresh_expires_in = 0;  // seconds
  User user;
};

// Growing delays after failed logins. Two counters per attempt: the (account, address) pair
// and the address alone. A counter allows `free_failures` failures, then blocks the next
// attempt for 1 s, 2 s, 4 s, ... up to `max_delay_seconds`; it is forgotten after
// `forget_after_seconds` without failures, and a successful login clears the pair. Failures
// from other addresses never block a user's own address, so an attacker cannot lock a real
// user out; at worst one address waits `max_delay_seconds` between guesses.
struct ThrottlePolicy {
  int64_t pair_free_failures = 5;
  int64_t address_free_failures = 20;
  int64_t max_delay_seconds = 900;
  int64_t forget_after_seconds = 3600;
};

// The delay after the `failures`-th consecutive failure of a counter that allows `free`.
int64_t throttle_delay_seconds(int64_t failures, int64_t free, int64_t max_delay);

struct AccountOptions {
  int64_t refresh_ttl_seconds = 30 * 24 * 3600;
  ThrottlePolicy throttle;
  std::function<int64_t()> now;  // Unix seconds; the system clock when unset
};

class AccountService {
 public:
  AccountService(store::Store& store, const PasswordHasher& hasher, const TokenSigner& signer,
                 AccountOptions options);

  // Normalises the e-mail, applies the password policy; a taken e-mail is a conflict.
  core::Result<User> register_user(std::string_view email, std::string_view password,
                                   Role role = Role::kCustomer);
  // Wrong e-mail or password: unauthenticated ("invalid-credentials"); throttled: too many
  // requests with retry_after_seconds.
  core::Result<Session> login(std::string_view email, std::string_view password,
                              const std::string& client_address);
  // Rotates the refresh token. A token used twice revokes its whole family.
  core::Result<Session> refresh(std::string_view refresh_token);
  // Revokes the family of the given refresh token; unknown tokens are not an error.
  core::Result<void> logout(std::string_view refresh_token);

  core::Result<AccessClaims> authenticate(std::string_view access_token) const;
  core::Result<User> get_user(int64_t id);
  core::Result<User> find_by_email(std::string_view email);
  core::Result<User> set_role(std::string_view email, Role role);
  core::Result<void> set_password(std::string_view email, std::string_view password);

  int64_t now() const;

 private:
  core::Result<Session> issue_session(store::Connection& conn, const User& user,
                                      const std::string& family);
  core::Result<int64_t> blocked_until(store::Connection& conn, const std::string& key);
  core::Result<void> record_failure(store::Connection& conn, const std::string& key,
                                    int64_t free_failures);

  store::Store& store_;
  const PasswordHasher& hasher_;
  const TokenSigner& signer_;
  AccountOptions options_;
};

}  // namespace libromind::accounts
