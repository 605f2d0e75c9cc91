// Checks an installed model directory against the SHA-256 sums that scripts/fetch-models.sh
// wrote beside the files (SHA256SUMS, `sha256sum` format), so that missing or corrupt weights
// stop the program with a message naming the file and the expected hash.
//
//   LM_TRY(ml::verify_model_files(model_dir + "/embedder"));
#pragma once

#include <string>

#include "core/result.hpp"

namespace libromind::ml {

// Ok when every file listed in DIR/SHA256SUMS exists and has its hash. A directory without
// SHA256SUMS (a model supplied by hand) is an error unless `allow_unlisted` is set.
core::Result<void> verify_model_files(const std::string& dir, bool allow_unlisted = false);

// SHA-256 of a file as 64 lower-case hex digits.
core::Result<std::string> sha256_file(const std::string& path);

}  // namespace libromind::ml

namespace libromind::ml {

// A stable identity of the weights in an installed model directory: "<dir name>-" and the
// first 16 hex digits of model.safetensors' SHA-256 as listed in SHA256SUMS (hashed on the spot
// when the directory has no sums). Stored with every vector, so two models' never mix.
core::Result<std::string> model_id(const std::string& dir);

}  // namespace libromind::ml
