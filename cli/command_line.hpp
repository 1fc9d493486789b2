// What both programs share, `mlp` and the `mlp-serve` it runs for `mlp serve`: the top-level
// options, and parsing and running a subcommand with one-line errors.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace mlp::cli {

// The options given before the subcommand (--threads, --version).
struct GlobalOptions {
  int threads = 0;  // 0: all cores
};

void add_global_options(CLI::App& app, GlobalOptions& options);

// Parses argv into `app` and calls `run` with the subcommand's options filled in. A syntax error,
// an mlp::Error or running out of memory is one line on stderr and a non-zero status.
int parse_and_run(CLI::App& app, int argc, char** argv, const GlobalOptions& options, const std::function<int()>& run);

}  // namespace mlp::cli
