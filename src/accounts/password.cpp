#include "accounts/password.hpp"

#include <sodium.h>

#include <algorithm>
#include <cctype>
#include <mutex>
#include <stdexcept>
#include <string>
#include <unordered_set>

#include "core/text.hpp"

namespace libromind::accounts {

// Defined in the generated common_passwords_embedded.cpp (cmake/embed_text.cmake).
extern const char* const kCommonPasswordsText;

namespace {

void init_sodium() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  });
}

const std::unordered_set<std::string>& common_passwords() {
  static const std::unordered_set<std::string> kSet = [] {
    std::unordered_set<std::string> set;
    for (auto line : core::split(kCommonPasswordsText, '\n')) {
      auto t = core::trim(line);
      if (t.empty() || t.front() == '#') continue;
      set.emplace(t);
    }
    return set;
  }();
  return kSet;
}

bool valid_label(std::string_view label) {
  if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
    return false;
  }
  return std::all_of(label.begin(), label.end(),
                     [](unsigned char c) { return std::isalnum(c) || c == '-' || c >= 0x80; });
}

}  // namespace

core::Result<void> validate_params(const Argon2Params& p) {
  if (p.mem_limit_kib < kMinMemLimitKib || p.ops_limit < kMinOpsLimit) {
    return core::Error::invalid(
        "argon2id parameters below OWASP's minimum (m >= 19456 KiB, t >= 2)");
  }
  if (p.mem_limit_kib > 4 * 1024 * 1024 || p.ops_limit > 100) {
    return core::Error::invalid("argon2id parameters above the supported maximum");
  }
  return core::ok();
}

PasswordHasher::PasswordHasher(Argon2Params params) : params_(params) { init_sodium(); }

core::Result<std::string> PasswordHasher::hash(std::string_view password) const {
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), params_.ops_limit,
                            static_cast<size_t>(params_.mem_limit_kib) * 1024,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return core::Error::unavailable("argon2id: out of memory while hashing a password");
  }
  return std::string(out);
}

bool PasswordHasher::verify(std::string_view encoded, std::string_view password) const {
  if (encoded.size() >= crypto_pwhash_STRBYTES) return false;
  std::string z(encoded);  // NUL-terminated copy, as libsodium wants
  return crypto_pwhash_str_verify(z.c_str(), password.data(), password.size()) == 0;
}

void PasswordHasher::verify_dummy(std::string_view password) const {
  // Made on the first login of an unknown account, with this hasher's parameters, so that
  // such a login costs what a real one does (and start-up pays nothing for it).
  std::call_once(dummy_once_, [this] {
    auto h = hash("libromind-dummy-password");
    dummy_hash_ = h ? *h : std::string();
  });
  (void)verify(dummy_hash_, password);
}

bool is_common_password(std::string_view password) {
  std::string lower = core::to_lower_ascii(password);
  return common_passwords().count(lower) > 0;
}

core::Result<void> check_password_policy(std::string_view password, std::string_view email) {
  if (!core::is_valid_utf8(password)) {
    return core::Error::invalid("password must be valid UTF-8", "password");
  }
  const size_t chars = core::utf8_length(password);
  if (chars < kMinPasswordChars) {
    return core::Error::invalid("password must have at least 10 characters", "password");
  }
  if (chars > kMaxPasswordChars) {
    return core::Error::invalid("password must have at most 256 characters", "password");
  }
  if (is_common_password(password)) {
    return core::Error::invalid("this password is on the list of common passwords; choose another",
                                "password");
  }
  std::string lower = core::to_lower_ascii(password);
  std::string_view local = email.substr(0, email.find('@'));
  if (lower == email || (local.size() >= 4 && lower == local)) {
    return core::Error::invalid("password must not be your e-mail address", "password");
  }
  return core::ok();
}

core::Result<std::string> normalize_email(std::string_view email) {
  auto bad = [](const char* why) { return core::Error::invalid(why, "email"); };
  if (!core::is_valid_utf8(email)) return bad("email must be valid UTF-8");
  std::string e = core::to_lower_ascii(core::trim(email));
  if (e.empty()) return bad("email is required");
  if (e.size() > 254) return bad("email must have at most 254 characters");
  auto at = e.find('@');
  if (at == std::string::npos || e.find('@', at + 1) != std::string::npos) {
    return bad("email must have exactly one '@'");
  }
  std::string_view local(e.data(), at), domain(e.data() + at + 1, e.size() - at - 1);
  if (local.empty() || local.size() > 64) return bad("email has an invalid local part");
  for (unsigned char c : local) {
    if (c <= 0x20 || c == 0x7f || c == '"' || c == '(' || c == ')' || c == ',' || c == ':' ||
        c == ';' || c == '<' || c == '>' || c == '[' || c == '\\' || c == ']') {
      return bad("email has an invalid character in its local part");
    }
  }
  auto labels = core::split(domain, '.');
  if (labels.size() < 2) return bad("email domain must have a dot, as in example.org");
  for (auto l : labels) {
    if (!valid_label(l)) return bad("email has an invalid domain");
  }
  return e;
}

}  // namespace libromind::accounts
