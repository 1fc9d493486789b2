// The frame of the three programs, `mlp` and the `mlp-serve` and `mlp-onnx` it runs: the
// top-level options, then a subcommand parsed and run with one-line errors.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace mlp::cli {

// What runs the subcommand that was given, its options filled in; returns the exit status.
using RunCommand = std::function<int()>;

// Puts the top-level options (--threads, --version) into an app and the subcommands that `add`
// puts in, parses argv and calls what `add` returned. An unknown subcommand, a syntax error, an
// mlp::Error or running out of memory is one line on stderr and a non-zero status.
int run_program(int argc, char** argv, const std::function<RunCommand(CLI::App&)>& add);

}  // namespace mlp::cli
