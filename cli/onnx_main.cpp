// `mlp-onnx`, the program `mlp export` and `mlp import` run: ONNX's protobuf libraries load with it
// only. It takes the same command line as mlp (`mlp-onnx export --model ...`).
#include "command_line.hpp"
#include "onnx.hpp"

using namespace mlp::cli;

int main(int argc, char** argv) {
  ExportCommand export_command;
  ImportCommand import_command;
  return run_program(argc, argv, [&](CLI::App& app) -> RunCommand {
    CLI::App* export_app = add_export_command(app, export_command);
    add_import_command(app, import_command);
    return [&, export_app] { return chosen(export_app) ? run_export(export_command) : run_import(import_command); };
  });
}
