// The options of `mlp export` and `mlp import`: `mlp` checks them before it runs mlp-onnx.
#include "onnx.hpp"

#include <CLI/CLI.hpp>

namespace mlp::cli {

CLI::App* add_export_command(CLI::App& app, ExportCommand& command) {
  CLI::App* command_app = app.add_subcommand(
      "export", "Write a model as ONNX (opset 13, float32, dynamic batch; a table model's scaling and fills become "
                "the graph's first nodes, so it takes raw features; see docs/interop.md)");
  command_app->add_option("--model", command.model, "Model file (safetensors)")->required();
  command_app->add_option("--onnx", command.onnx, "ONNX file to write")->required();
  command_app->add_flag("--quiet,-q", command.quiet, "Print nothing");
  return command_app;
}

CLI::App* add_import_command(CLI::App& app, ImportCommand& command) {
  CLI::App* command_app = app.add_subcommand(
      "import", "Read an MLP from ONNX (mlp's own, or torch.onnx.export of an nn.Sequential) into a model file");
  command_app->add_option("--onnx", command.onnx, "ONNX file")->required();
  command_app->add_option("--out", command.out, "Model file to write (safetensors)")->required();
  command_app->add_option("--input", command.input,
                          "pixels: the network takes pixel/255 (as PyTorch models of images do), so mlp scales "
                          "pixels for it; features: values as they are (default: pixels if the graph divides by "
                          "255, else features)")
      ->check(CLI::IsMember({"pixels", "features"}));
  command_app->add_flag("--quiet,-q", command.quiet, "Print nothing");
  return command_app;
}

}  // namespace mlp::cli
