#include "ml/model_files.hpp"

#include <openssl/evp.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <vector>

#include "core/text.hpp"

namespace libromind::ml {

core::Result<std::string> sha256_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::Error::not_found("cannot read " + path);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) {
    return core::Error::internal("SHA-256 is not available");
  }
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    if (in.gcount() > 0) EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<size_t>(in.gcount()));
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), digest, &len);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

core::Result<void> verify_model_files(const std::string& dir, bool allow_unlisted) {
  const std::string sums = dir + "/SHA256SUMS";
  std::ifstream in(sums);
  if (!in) {
    if (!std::filesystem::is_directory(dir)) {
      return core::Error::not_found("no model at " + dir + " (run scripts/fetch-models.sh)");
    }
    if (allow_unlisted) return core::ok();
    return core::Error::not_found("no " + sums + " to check the model files against (run " +
                                  "scripts/fetch-models.sh)");
  }
  int listed = 0;
  for (std::string line; std::getline(in, line);) {
    auto t = core::trim(line);
    if (t.empty() || t.front() == '#') continue;
    // "<64 hex>  <relative path>" (sha256sum's text mode; a '*' marks binary mode).
    if (t.size() < 67 || t[64] != ' ') {
      return core::Error::invalid("malformed line in " + sums + ": " + std::string(t));
    }
    const std::string expected(t.substr(0, 64));
    std::string_view name = t.substr(65);
    if (!name.empty() && (name.front() == ' ' || name.front() == '*')) name.remove_prefix(1);
    const std::string path = dir + "/" + std::string(name);
    if (!std::filesystem::exists(path)) {
      return core::Error::not_found("model file " + path + " is missing (expected SHA-256 " +
                                    expected + "; run scripts/fetch-models.sh)");
    }
    LM_ASSIGN_OR_RETURN(std::string actual, sha256_file(path));
    if (actual != expected) {
      return core::Error::invalid("model file " + path + " is corrupt: SHA-256 " + actual +
                                  ", expected " + expected + " (run scripts/fetch-models.sh)");
    }
    ++listed;
  }
  if (listed == 0) return core::Error::invalid(sums + " lists no files");
  return core::ok();
}

}  // namespace libromind::ml

namespace libromind::ml {

core::Result<std::string> model_id(const std::string& dir) {
  std::string base = dir;
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  const auto slash = base.rfind('/');
  const std::string name = slash == std::string::npos ? base : base.substr(slash + 1);
  std::ifstream in(dir + "/SHA256SUMS");
  for (std::string line; in && std::getline(in, line);) {
    // "<64 hex>  <file>"
    if (line.size() > 66 && line.compare(66, std::string::npos, "model.safetensors") == 0) {
      return name + "-" + line.substr(0, 16);
    }
  }
  LM_ASSIGN_OR_RETURN(std::string hash, sha256_file(dir + "/model.safetensors"));
  return name + "-" + hash.substr(0, 16);
}

}  // namespace libromind::ml
