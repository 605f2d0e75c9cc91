// The password policy and argon2id hashing: what a person registering is told, and that stored
// hashes verify only the right password.
#include "accounts/password.hpp"

#include <gtest/gtest.h>

namespace libromind::accounts {
namespace {

TEST(PasswordPolicy, accepts_a_long_uncommon_passphrase) {
  EXPECT_TRUE(check_password_policy("correct horse battery staple", "a@example.org"));
}

TEST(PasswordPolicy, rejects_fewer_than_ten_characters) {
  auto r = check_password_policy("short1!", "a@example.org");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().field, "password");
  EXPECT_NE(r.error().message.find("10"), std::string::npos);
}

TEST(PasswordPolicy, counts_characters_not_bytes) {
  // Nine characters, eighteen bytes: still too short.
  EXPECT_FALSE(check_password_policy("ééééééééé", "a@example.org"));
  EXPECT_TRUE(check_password_policy("éééééééééé", "a@example.org"));
}

TEST(PasswordPolicy, rejects_common_passwords_in_any_case) {
  EXPECT_TRUE(is_common_password("password123"));
  EXPECT_TRUE(is_common_password("PassWord123"));
  EXPECT_FALSE(check_password_policy("Password123", "a@example.org"));
  EXPECT_FALSE(check_password_policy("qwertyuiop", "a@example.org"));
}

TEST(PasswordPolicy, rejects_the_email_address_as_password) {
  EXPECT_FALSE(check_password_policy("longname@example.org", "longname@example.org"));
  EXPECT_FALSE(check_password_policy("averylonglocalpart", "averylonglocalpart@example.org"));
}

TEST(PasswordPolicy, rejects_over_256_characters_and_invalid_utf8) {
  EXPECT_FALSE(check_password_policy(std::string(257, 'x') + "y", "a@example.org"));
  EXPECT_FALSE(check_password_policy("abcdefghij\xff", "a@example.org"));
}

TEST(Email, is_trimmed_and_lower_cased) {
  auto e = normalize_email("  Reader.One@Example.ORG ");
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(*e, "reader.one@example.org");
}

TEST(Email, rejects_malformed_addresses) {
  for (const char* bad :
       {"", "no-at-sign", "a@b", "two@@example.org", "a@example..org", "sp ace@example.org",
        "a@-example.org", "@example.org", "a\x01b@example.org"}) {
    EXPECT_FALSE(normalize_email(bad)) << bad;
  }
  EXPECT_FALSE(normalize_email(std::string(250, 'a') + "@example.org"));
}

TEST(Argon2, parameters_below_owasp_minimum_are_refused) {
  EXPECT_FALSE(validate_params({1, 65536}));
  EXPECT_FALSE(validate_params({2, 8192}));
  EXPECT_TRUE(validate_params({kMinOpsLimit, kMinMemLimitKib}));
}

TEST(Argon2, hash_verifies_only_the_right_password_and_records_its_parameters) {
  PasswordHasher hasher({kMinOpsLimit, kMinMemLimitKib});
  auto h = hasher.hash("correct horse battery staple");
  ASSERT_TRUE(h) << h.error().message;
  EXPECT_EQ(h->rfind("$argon2id$v=19$m=19456,t=2,p=1$", 0), 0u) << *h;
  EXPECT_TRUE(hasher.verify(*h, "correct horse battery staple"));
  EXPECT_FALSE(hasher.verify(*h, "correct horse battery stapl"));
  EXPECT_FALSE(hasher.verify("not a hash", "correct horse battery staple"));
  // Two hashes of one password differ (random salt).
  auto h2 = hasher.hash("correct horse battery staple");
  ASSERT_TRUE(h2);
  EXPECT_NE(*h, *h2);
}

}  // namespace
}  // namespace libromind::accounts
