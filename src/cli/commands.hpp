// The libromind subcommands. Every flag has an environment twin (LIBROMIND_*); see the
// configuration table in README.md.
#pragma once

#include <CLI/CLI.hpp>

namespace libromind::cli {

// Adds the subcommands to `app`; the chosen one runs from within CLI11's callback and sets
// `exit_code`.
void add_commands(CLI::App& app, int& exit_code);

}  // namespace libromind::cli
