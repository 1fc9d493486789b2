// `mlp export` and `mlp import`: a model file to ONNX and back.
#pragma once

#include <string>

namespace CLI {
class App;
}  // namespace CLI

namespace mlp::cli {

struct ExportCommand {
  std::string model;  // a model file (safetensors layout)
  std::string onnx;   // the ONNX file to write
  bool quiet = false;
};

struct ImportCommand {
  std::string onnx;   // an ONNX file: mlp's own or an nn.Sequential from torch.onnx.export
  std::string out;    // the model file to write
  std::string input;  // "pixels" or "features": what the first layer takes, when the graph cannot say
  bool quiet = false;
};

CLI::App* add_export_command(CLI::App& app, ExportCommand& command);
CLI::App* add_import_command(CLI::App& app, ImportCommand& command);
int run_export(const ExportCommand& command);
int run_import(const ImportCommand& command);

}  // namespace mlp::cli
