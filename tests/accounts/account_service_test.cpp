// Accounts on both stores: registration, login, refresh-token rotation with reuse detection,
// logout, and throttling of failed logins (with a clock the test moves).
#include "accounts/account_service.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "../store/test_stores.hpp"
#include "store/migrations.hpp"

namespace libromind::accounts {
namespace {

using store::testing::Backend;
using store::testing::TestDatabase;

constexpr const char* kPassword = "correct horse battery staple";

class AccountServiceTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (auto reason = store::testing::skip_reason(GetParam())) GTEST_SKIP() << *reason;
    auto db = TestDatabase::create(GetParam());
    ASSERT_TRUE(db) << db.error().message;
    db_ = std::move(*db);
    auto s = db_->open(8);
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
    ASSERT_TRUE(store::migrate(*store_));
    AccountOptions o;
    o.now = [this] { return now_.load(); };
    accounts_ = std::make_unique<AccountService>(*store_, hasher(), signer_, o);
  }

  void TearDown() override {
    accounts_.reset();
    store_.reset();
    db_.reset();
  }

  static const PasswordHasher& hasher() {
    static PasswordHasher h({kMinOpsLimit, kMinMemLimitKib});
    return h;
  }

  Session login_ok(const std::string& email, const std::string& address = "10.0.0.1") {
    auto s = accounts_->login(email, kPassword, address);
    EXPECT_TRUE(s) << s.error().message;
    return s ? *s : Session{};
  }

  std::atomic<int64_t> now_{1'800'000'000};
  TokenSigner signer_{{{"k1", std::string(32, 'k')}}};
  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<AccountService> accounts_;
};

TEST_P(AccountServiceTest, register_normalises_the_email_and_refuses_a_second_account) {
  auto u = accounts_->register_user("  Reader@Example.ORG ", kPassword);
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->email, "reader@example.org");
  EXPECT_EQ(u->role, "customer");
  auto again = accounts_->register_user("reader@example.org", kPassword);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, core::ErrorCode::kConflict);
  EXPECT_EQ(again.error().type, "email-taken");
}

TEST_P(AccountServiceTest, login_gives_an_access_token_for_the_user_and_role) {
  ASSERT_TRUE(accounts_->register_user("admin@example.org", kPassword, Role::kAdmin));
  Session s = login_ok("ADMIN@example.org");
  auto claims = accounts_->authenticate(s.access_token);
  ASSERT_TRUE(claims) << claims.error().message;
  EXPECT_EQ(claims->user_id, s.user.id);
  EXPECT_EQ(claims->role, "admin");
  EXPECT_EQ(s.access_expires_in, 900);
  EXPECT_GE(s.refresh_token.size(), 43u);  // 256 bits in base64url
}

TEST_P(AccountServiceTest, wrong_password_and_unknown_account_fail_alike) {
  ASSERT_TRUE(accounts_->register_user("a@example.org", kPassword));
  auto wrong = accounts_->login("a@example.org", "not the password at all", "10.0.0.1");
  auto unknown = accounts_->login("nobody@example.org", kPassword, "10.0.0.1");
  ASSERT_FALSE(wrong);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(wrong.error().type, "invalid-credentials");
  EXPECT_EQ(unknown.error().type, "invalid-credentials");
  EXPECT_EQ(wrong.error().message, unknown.error().message);
}

TEST_P(AccountServiceTest, refresh_rotates_and_the_old_token_works_only_once) {
  ASSERT_TRUE(accounts_->register_user("a@example.org", kPassword));
  Session s1 = login_ok("a@example.org");
  auto s2 = accounts_->refresh(s1.refresh_token);
  ASSERT_TRUE(s2) << s2.error().message;
  EXPECT_NE(s2->refresh_token, s1.refresh_token);
  auto s3 = accounts_->refresh(s2->refresh_token);
  ASSERT_TRUE(s3) << s3.error().message;
}

TEST_P(AccountServiceTest, reusing_a_refresh_token_revokes_the_whole_family) {
  ASSERT_TRUE(accounts_->register_user("a@example.org", kPassword));
  Session s1 = login_ok("a@example.org");
  auto s2 = accounts_->refresh(s1.refresh_token);
  ASSERT_TRUE(s2);
  // An attacker replays the stolen first token: refused, and the thief's and the user's
  // current tokens of that login stop working.
  auto replay = accounts_->refresh(s1.refresh_token);
  ASSERT_FALSE(replay);
  EXPECT_EQ(replay.error().type, "refresh-token-reused");
  EXPECT_FALSE(accounts_->refresh(s2->refresh_token));
  // Another login of the same user is a different family and keeps working.
  Session other = login_ok("a@example.org");
  EXPECT_TRUE(accounts_->refresh(other.refresh_token));
}

TEST_P(AccountServiceTest, concurrent_uses_of_one_refresh_token_give_at_most_one_session) {
  ASSERT_TRUE(accounts_->register_user("a@example.org", kPassword));
  Session s = login_ok("a@example.org");
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      if (accounts_->refresh(s.refresh_token)) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(ok.load(), 1);
}

TEST_P(AccountServiceTest, expired_refresh_token_is_refused) {
  ASSERT_TRUE(accounts_->register_user("a@example.org", kPassword));
  Session s = login_ok("a@example.org");
  now_ += 31 * 24 * 3600;
  EXPECT_FALSE(accounts_->refresh(s.refresh_token));
}

TEST_P(AccountServiceTest, logout_revokes_the_refresh_token) {
  ASSERT_TRUE(accounts_->register_user("a@example.org", kPassword));
  Session s = login_ok("a@example.org");
  ASSERT_TRUE(accounts_->logout(s.refresh_token));
  EXPECT_FALSE(accounts_->refresh(s.refresh_token));
  EXPECT_TRUE(accounts_->logout("never-issued"));  // idempotent
}

TEST_P(AccountServiceTest, failed_logins_are_throttled_with_growing_delays) {
  ASSERT_TRUE(accounts_->register_user("a@example.org", kPassword));
  for (int i = 0; i < 5; ++i) {
    auto r = accounts_->login("a@example.org", "wrong password!", "10.0.0.1");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().type, "invalid-credentials") << "failure " << i + 1 << " is free";
  }
  // The sixth failure sets a 1 s delay; even the right password waits for it.
  ASSERT_FALSE(accounts_->login("a@example.org", "wrong password!", "10.0.0.1"));
  auto blocked = accounts_->login("a@example.org", kPassword, "10.0.0.1");
  ASSERT_FALSE(blocked);
  EXPECT_EQ(blocked.error().code, core::ErrorCode::kTooManyRequests);
  EXPECT_EQ(blocked.error().retry_after_seconds, 1);
  now_ += 1;
  ASSERT_FALSE(accounts_->login("a@example.org", "wrong password!", "10.0.0.1"));  // 7th: 2 s
  auto again = accounts_->login("a@example.org", kPassword, "10.0.0.1");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().retry_after_seconds, 2);
  now_ += 2;
  EXPECT_TRUE(accounts_->login("a@example.org", kPassword, "10.0.0.1"));
  // Success clears the account's counter for that address.
  EXPECT_EQ(accounts_->login("a@example.org", "wrong password!", "10.0.0.1").error().type,
            "invalid-credentials");
}

TEST_P(AccountServiceTest, failures_from_other_addresses_never_lock_the_user_out) {
  ASSERT_TRUE(accounts_->register_user("victim@example.org", kPassword));
  for (int i = 0; i < 12; ++i) {
    (void)accounts_->login("victim@example.org", "attacker guess", "203.0.113.9");
  }
  auto attacker = accounts_->login("victim@example.org", kPassword, "203.0.113.9");
  ASSERT_FALSE(attacker);
  EXPECT_EQ(attacker.error().code, core::ErrorCode::kTooManyRequests);
  // The real user, from their own address, signs in at once.
  EXPECT_TRUE(accounts_->login("victim@example.org", kPassword, "198.51.100.7"));
}

TEST_P(AccountServiceTest, one_address_spraying_many_accounts_is_throttled) {
  for (int i = 0; i < 21; ++i) {
    (void)accounts_->login("user" + std::to_string(i) + "@example.org", "guess guess", "10.9.9.9");
  }
  auto r = accounts_->login("fresh@example.org", "guess guess", "10.9.9.9");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::kTooManyRequests);
}

TEST_P(AccountServiceTest, delays_are_capped_and_forgotten_after_an_hour) {
  EXPECT_EQ(throttle_delay_seconds(5, 5, 900), 0);
  EXPECT_EQ(throttle_delay_seconds(6, 5, 900), 1);
  EXPECT_EQ(throttle_delay_seconds(10, 5, 900), 16);
  EXPECT_EQ(throttle_delay_seconds(40, 5, 900), 900);
  EXPECT_EQ(throttle_delay_seconds(1000, 5, 900), 900);
  ASSERT_TRUE(accounts_->register_user("a@example.org", kPassword));
  for (int i = 0; i < 30; ++i) {
    (void)accounts_->login("a@example.org", "wrong password!", "10.0.0.1");
    now_ += 1000;  // wait out each delay (at most 900 s)
  }
  now_ += 3601;
  EXPECT_TRUE(accounts_->login("a@example.org", kPassword, "10.0.0.1"));
}

TEST_P(AccountServiceTest, new_password_ends_every_session) {
  ASSERT_TRUE(accounts_->register_user("a@example.org", kPassword));
  Session s = login_ok("a@example.org");
  ASSERT_TRUE(accounts_->set_password("a@example.org", "another long passphrase"));
  EXPECT_FALSE(accounts_->refresh(s.refresh_token));
  EXPECT_FALSE(accounts_->login("a@example.org", kPassword, "10.0.0.2"));
  EXPECT_TRUE(accounts_->login("a@example.org", "another long passphrase", "10.0.0.2"));
}

TEST_P(AccountServiceTest, set_role_makes_an_admin) {
  ASSERT_TRUE(accounts_->register_user("a@example.org", kPassword));
  auto u = accounts_->set_role("a@example.org", Role::kAdmin);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->role, "admin");
  EXPECT_FALSE(accounts_->set_role("nobody@example.org", Role::kAdmin));
}

INSTANTIATE_TEST_SUITE_P(Stores, AccountServiceTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const auto& info) { return store::testing::backend_name(info.param); });

}  // namespace
}  // namespace libromind::accounts
