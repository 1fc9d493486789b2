// `mlp export` and `mlp import`: thin shells over save_onnx / load_onnx and the model files.
#include "onnx.hpp"

#include <algorithm>
#include <cstdio>
#include <map>

#include <mlp/error.hpp>
#include <mlp/file_io.hpp>
#include <mlp/model.hpp>
#include <mlp/model_file.hpp>
#include <mlp/onnx.hpp>

namespace mlp::cli {

namespace {

// One line on what the model computes: "784-128-10 relu multiclass, input pixels 0..255".
std::string summary(const Architecture& arch, const Preprocessing& preprocessing) {
  std::string text = arch.layers_string() + " " + to_string(arch.hidden_activation) + " " + to_string(arch.task);
  if (arch.task == Task::binary) text += " (positive class " + std::to_string(arch.positive) + ")";
  if (arch.pixel_input) return text + ", input: raw pixels 0..255";
  if (preprocessing.identity()) return text + ", input: features as they are";
  return text + ", input: raw features, scaled in the graph (" + to_string(preprocessing.scaling) +
         (preprocessing.imputation == Imputation::none ? "" : ", missing filled by " + to_string(preprocessing.imputation)) + ")";
}

}  // namespace

int run_export(const ExportCommand& command) {
  check_writable(command.onnx);
  const Model model = Model::load(command.model);
  // Scaling and fills become nodes of the graph; a one-hot column's raw input is text, which the
  // graph's float input cannot carry.
  for (const FeatureColumn& column : model.preprocessing.columns)
    if (!column.categories.empty())
      throw Error(command.model + ": column '" + column.name + "' is categorical (one-hot): an ONNX graph takes the "
                  "network's numbers, not category names; export a model trained without --categorical");
  // The file's provenance (seed, optimizer, data, ...) travels as metadata_props.
  save_onnx(command.onnx, model, read_model_metadata(command.model));
  const Architecture& arch = model.network.architecture();
  if (!command.quiet)
    std::printf("wrote %s: %s; input '%s' [batch, %d], output '%s' [batch, %d]\n", command.onnx.c_str(),
                summary(arch, model.preprocessing).c_str(), arch.pixel_input ? "pixels" : "features", arch.sizes[0],
                arch.task == Task::multiclass ? "probabilities" : arch.task == Task::binary ? "probability" : "outputs",
                arch.outputs());
  return 0;
}

int run_import(const ImportCommand& command) {
  check_writable(command.out);
  Model model = load_onnx_model(command.onnx);
  Network<float>& net = model.network;
  if (command.input == "pixels" && !model.preprocessing.identity())
    throw Error(command.onnx + ": the graph scales feature columns, so it takes features, not --input pixels");
  if (command.input == "features" && net.architecture().pixel_input)
    throw Error(command.onnx + ": the graph divides its input by 255, so it takes pixels, not --input features");
  if (command.input == "pixels" && !net.architecture().pixel_input) {
    // The graph takes pixel/255 already scaled: the same weights, marked for mlp to scale pixels.
    Architecture arch = net.architecture();
    arch.pixel_input = true;
    Network<float> marked(arch);
    std::copy(net.parameters().begin(), net.parameters().end(), marked.parameters().begin());
    net = std::move(marked);
  }
  // What the network is comes from the graph; everything else in metadata_props is provenance
  // and is kept, so that mlp -> ONNX -> mlp gives back the same file.
  std::map<std::string, std::string> extra = read_onnx_metadata(command.onnx);
  for (const char* key : {"format", "layers", "activation", "task", "input", "positive", "checksum", "preprocessing", "classes"})
    extra.erase(key);
  model.save(command.out, extra);
  if (!command.quiet)
    std::printf("wrote %s: %s\n", command.out.c_str(), summary(net.architecture(), model.preprocessing).c_str());
  return 0;
}

}  // namespace mlp::cli
