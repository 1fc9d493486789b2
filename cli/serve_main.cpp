// `mlp-serve`, the program `mlp serve` runs: the server alone, with the HTTP and TLS libraries
// only it loads. It takes the same command line as mlp (`mlp-serve serve --model ...`).
#include <CLI/CLI.hpp>

#include "command_line.hpp"
#include "serve.hpp"

using namespace mlp::cli;

int main(int argc, char** argv) {
  CLI::App app{"mlp: train and run multilayer perceptrons on MNIST-style images and tabular data"};
  GlobalOptions global;
  add_global_options(app, global);
  ServeCommand serve;
  add_serve_command(app, serve);
  return parse_and_run(app, argc, argv, global, [&] { return run_serve(serve); });
}
