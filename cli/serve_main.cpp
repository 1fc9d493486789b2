// `mlp-serve`, the program `mlp serve` runs: the server alone, with the HTTP and TLS libraries
// only it loads. It takes the same command line as mlp (`mlp-serve serve --model ...`).
#include "command_line.hpp"
#include "serve.hpp"

using namespace mlp::cli;

int main(int argc, char** argv) {
  ServeCommand serve;
  return run_program(argc, argv, [&](CLI::App& app) -> RunCommand {
    add_serve_command(app, serve);
    return [&] { return run_serve(serve); };
  });
}
