// libromind: one binary, several subcommands (serve, worker, migrate, import, index, eval, embed,
// rerank, ...).
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/job_commands.hpp"
#include "cli/ml_commands.hpp"
#include "cli/search_commands.hpp"

int main(int argc, char** argv) {
  CLI::App app{"Libro-Mind: an online bookstore whose search understands meaning", "libromind"};
  app.set_version_flag("--version", LIBROMIND_VERSION);
  int exit_code = 0;
  libromind::cli::add_commands(app, exit_code);
  libromind::cli::add_ml_commands(app, exit_code);
  libromind::cli::add_job_commands(app, exit_code);
  libromind::cli::add_search_commands(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return exit_code;
}
