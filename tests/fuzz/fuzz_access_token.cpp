// Fuzzes access-token verification and key-ring parsing: arbitrary tokens (and arbitrary
// headers and claims under a valid signature, so the claim checks are reached too) must be
// refused or accepted without crashing, and nothing but our own HS256 tokens may verify.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "accounts/tokens.hpp"
#include "core/crypto.hpp"
#include "core/text.hpp"

using namespace libromind;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const accounts::TokenSigner signer({{"k1", std::string(32, 'k')}});
  constexpr int64_t kNow = 1'800'000'000;
  std::string in(reinterpret_cast<const char*>(data), size);

  // 1. The input as a token.
  auto r = signer.verify(in, kNow);
  if (r && (r->role != "customer" && r->role != "admin")) std::abort();

  // 2. The input split in two as header and claims JSON, signed with the real key.
  size_t cut = in.find('\n');
  if (cut != std::string::npos) {
    std::string input = core::base64url_encode(in.substr(0, cut)) + "." +
                        core::base64url_encode(in.substr(cut + 1));
    std::string token =
        input + "." + core::base64url_encode(core::hmac_sha256(std::string(32, 'k'), input));
    auto c = signer.verify(token, kNow);
    if (c && (c->user_id < 1 || c->expires_at <= kNow || c->session.empty())) std::abort();
  }

  // 3. The input as a key ring file.
  auto ring = accounts::parse_key_ring(in);
  if (ring) {
    for (const auto& k : *ring) {
      if (k.secret.size() < 32 || k.kid.empty()) std::abort();
    }
  }
  return 0;
}
