// The search subcommands: `libromind index` (compute the embeddings the store is missing) and
// `libromind eval` (search quality on a labelled query file).
#pragma once

#include <CLI/CLI.hpp>

namespace libromind::cli {

void add_search_commands(CLI::App& app, int& exit_code);

}  // namespace libromind::cli
