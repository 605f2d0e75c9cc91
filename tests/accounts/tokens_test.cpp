// Access tokens: what is accepted (our own HS256 tokens from a key in the ring, unexpired) and
// everything that is refused (tampered, wrongly signed, unknown key, `alg: none`, other
// algorithms, expired, malformed).
#include "accounts/tokens.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/crypto.hpp"
#include "core/text.hpp"

namespace libromind::accounts {
namespace {

constexpr int64_t kNow = 1'800'000'000;

SigningKey key(const std::string& kid, char fill) { return {kid, std::string(32, fill)}; }

std::string sign(const SigningKey& k, const nlohmann::json& header, const nlohmann::json& payload) {
  std::string input =
      core::base64url_encode(header.dump()) + "." + core::base64url_encode(payload.dump());
  return input + "." + core::base64url_encode(core::hmac_sha256(k.secret, input));
}

nlohmann::json claims(int64_t exp = kNow + 600) {
  return {{"iss", "libromind"}, {"sub", "7"},  {"role", "customer"},
          {"sid", "fam"},       {"iat", kNow}, {"exp", exp}};
}

TEST(Tokens, issued_token_verifies_with_its_claims) {
  TokenSigner signer({key("k1", 'a')});
  std::string t = signer.issue({7, "admin", "family-1", 0, 0}, kNow);
  auto c = signer.verify(t, kNow + 10);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->user_id, 7);
  EXPECT_EQ(c->role, "admin");
  EXPECT_EQ(c->session, "family-1");
  EXPECT_EQ(c->expires_at, kNow + 900);
}

TEST(Tokens, expire_after_their_ttl) {
  TokenSigner signer({key("k1", 'a')}, 900);
  std::string t = signer.issue({7, "customer", "f", 0, 0}, kNow);
  EXPECT_TRUE(signer.verify(t, kNow + 899));
  auto late = signer.verify(t, kNow + 900);
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code, core::ErrorCode::kUnauthenticated);
  EXPECT_NE(late.error().message.find("expired"), std::string::npos);
}

TEST(Tokens, tampered_claims_are_refused) {
  TokenSigner signer({key("k1", 'a')});
  std::string t = signer.issue({7, "customer", "f", 0, 0}, kNow);
  auto dot1 = t.find('.');
  auto dot2 = t.find('.', dot1 + 1);
  auto payload =
      nlohmann::json::parse(*core::base64url_decode(t.substr(dot1 + 1, dot2 - dot1 - 1)));
  payload["role"] = "admin";
  std::string forged =
      t.substr(0, dot1) + "." + core::base64url_encode(payload.dump()) + t.substr(dot2);
  EXPECT_FALSE(signer.verify(forged, kNow));
}

TEST(Tokens, signature_from_another_secret_with_the_same_kid_is_refused) {
  TokenSigner signer({key("k1", 'a')});
  std::string t = sign(key("k1", 'b'), {{"alg", "HS256"}, {"typ", "JWT"}, {"kid", "k1"}}, claims());
  auto r = signer.verify(t, kNow);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("signature"), std::string::npos);
}

TEST(Tokens, unknown_kid_and_missing_kid_are_refused) {
  TokenSigner signer({key("k1", 'a')});
  EXPECT_FALSE(
      signer.verify(sign(key("k9", 'a'), {{"alg", "HS256"}, {"kid", "k9"}}, claims()), kNow));
  EXPECT_FALSE(signer.verify(sign(key("k1", 'a'), {{"alg", "HS256"}}, claims()), kNow));
}

TEST(Tokens, alg_none_and_other_algorithms_are_refused) {
  TokenSigner signer({key("k1", 'a')});
  std::string none = core::base64url_encode(R"({"alg":"none","kid":"k1"})") + "." +
                     core::base64url_encode(claims().dump()) + ".";
  EXPECT_FALSE(signer.verify(none, kNow));
  for (const char* alg : {"HS512", "RS256", "hs256", "ES256"}) {
    EXPECT_FALSE(signer.verify(sign(key("k1", 'a'), {{"alg", alg}, {"kid", "k1"}}, claims()), kNow))
        << alg;
  }
}

TEST(Tokens, wrong_issuer_role_or_subject_are_refused) {
  TokenSigner signer({key("k1", 'a')});
  nlohmann::json h = {{"alg", "HS256"}, {"kid", "k1"}};
  auto c = claims();
  c["iss"] = "someone-else";
  EXPECT_FALSE(signer.verify(sign(key("k1", 'a'), h, c), kNow));
  c = claims();
  c["role"] = "root";
  EXPECT_FALSE(signer.verify(sign(key("k1", 'a'), h, c), kNow));
  c = claims();
  c["sub"] = "0";
  EXPECT_FALSE(signer.verify(sign(key("k1", 'a'), h, c), kNow));
  c = claims();
  c["exp"] = "later";
  EXPECT_FALSE(signer.verify(sign(key("k1", 'a'), h, c), kNow));
  EXPECT_TRUE(signer.verify(sign(key("k1", 'a'), h, claims()), kNow));
}

TEST(Tokens, malformed_tokens_are_refused_without_crashing) {
  TokenSigner signer({key("k1", 'a')});
  for (const char* bad : {"", ".", "..", "a.b.c", "a.b", "a.b.c.d", "e30.e30.", "!!!.???.***"}) {
    EXPECT_FALSE(signer.verify(bad, kNow)) << bad;
  }
  EXPECT_FALSE(signer.verify(std::string(5000, 'a'), kNow));
}

TEST(Tokens, rotation_signs_with_the_first_key_and_still_accepts_the_old_one) {
  TokenSigner old_signer({key("old", 'a')});
  std::string old_token = old_signer.issue({7, "customer", "f", 0, 0}, kNow);
  TokenSigner rotated({key("new", 'b'), key("old", 'a')});
  EXPECT_TRUE(rotated.verify(old_token, kNow));
  std::string fresh = rotated.issue({7, "customer", "f", 0, 0}, kNow);
  auto header = nlohmann::json::parse(*core::base64url_decode(fresh.substr(0, fresh.find('.'))));
  EXPECT_EQ(header["kid"], "new");
  // Once the old key is removed, its tokens stop working.
  TokenSigner retired({key("new", 'b')});
  EXPECT_FALSE(retired.verify(old_token, kNow));
  EXPECT_TRUE(retired.verify(fresh, kNow));
}

TEST(KeyRing, parses_kid_and_base64url_secret_per_line) {
  std::string secret = core::base64url_encode(std::string(32, 'z'));
  auto ring = parse_key_ring("# comment\n\nk2 " + secret + "\nk1\t" + secret + "\n");
  ASSERT_TRUE(ring) << ring.error().message;
  ASSERT_EQ(ring->size(), 2u);
  EXPECT_EQ((*ring)[0].kid, "k2");
  EXPECT_EQ((*ring)[0].secret, std::string(32, 'z'));
}

TEST(KeyRing, rejects_short_secrets_duplicates_and_empty_rings) {
  std::string secret = core::base64url_encode(std::string(32, 'z'));
  EXPECT_FALSE(parse_key_ring(""));
  EXPECT_FALSE(parse_key_ring("k1 " + core::base64url_encode("short")));
  EXPECT_FALSE(parse_key_ring("k1 " + secret + "\nk1 " + secret));
  EXPECT_FALSE(parse_key_ring("k1"));
  EXPECT_FALSE(parse_key_ring("bad/kid " + secret));
}

}  // namespace
}  // namespace libromind::accounts
