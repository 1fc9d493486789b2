// `mlp-onnx`, the program `mlp export` and `mlp import` run: ONNX's protobuf libraries load with it
// only. It takes the same command line as mlp (`mlp-onnx export --model ...`).
#include <CLI/CLI.hpp>

#include "command_line.hpp"
#include "onnx.hpp"

using namespace mlp::cli;

int main(int argc, char** argv) {
  CLI::App app{"mlp: train and run multilayer perceptrons on MNIST-style images and tabular data"};
  GlobalOptions global;
  add_global_options(app, global);
  ExportCommand export_command;
  ImportCommand import_command;
  CLI::App* export_app = add_export_command(app, export_command);
  add_import_command(app, import_command);
  return parse_and_run(app, argc, argv, global,
                       [&] { return *export_app ? run_export(export_command) : run_import(import_command); });
}
