// The ML subcommands: `libromind embed` and `libromind rerank`, for operators and scripts.
#pragma once

#include <CLI/CLI.hpp>

namespace libromind::cli {

void add_ml_commands(CLI::App& app, int& exit_code);

}  // namespace libromind::cli
