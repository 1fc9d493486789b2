// The frame of the three programs, `mlp` and the `mlp-serve` and `mlp-onnx` it runs: the
// top-level options, then a subcommand parsed and run with one-line errors.
#pragma once

#include <functional>

// CLI11's App, declared only: including CLI11 costs each file that includes this one seconds.
namespace CLI {
class App;
}  // namespace CLI

namespace mlp::cli {

// What runs the subcommand that was given, its options filled in; returns the exit status.
using RunCommand = std::function<int()>;

// Puts the top-level options (--threads, --version) into an app and the subcommands that `add`
// puts in, parses argv and calls what `add` returned. An unknown subcommand, a syntax error, an
// mlp::Error or running out of memory is one line on stderr and a non-zero status.
int run_program(int argc, char** argv, const std::function<RunCommand(CLI::App&)>& add);

// Whether `command` is the subcommand given on the command line.
bool chosen(const CLI::App* command);

}  // namespace mlp::cli
