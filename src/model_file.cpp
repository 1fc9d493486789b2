// Saving and loading networks as tensor files: the layout of layers and metadata, checked on the way in.
#include "mlp/model_file.hpp"

#include <algorithm>

#include "mlp/error.hpp"
#include "mlp/tensor_file.hpp"

namespace mlp {

namespace {

constexpr std::size_t max_model_file_bytes = std::size_t(16) << 30;

// A checkpoint's optimizer and training state: carried by the file, not part of the model.
const std::string training_state_prefix = "train.";

std::string weight_name(int i) { return "layers." + std::to_string(i) + ".weight"; }
std::string bias_name(int i) { return "layers." + std::to_string(i) + ".bias"; }

const std::string& require(const std::string& path, const std::map<std::string, std::string>& metadata,
                           const std::string& key) {
  const auto it = metadata.find(key);
  if (it == metadata.end()) throw Error(path + ": __metadata__ has no '" + key + "'");
  return it->second;
}

TensorFile read_model_file(const std::string& path) {
  TensorFile file = TensorFile::read(path, max_model_file_bytes);
  if (!file.has_metadata()) throw Error(path + ": no __metadata__ in the header; not an mlp model");
  return file;
}

}  // namespace

std::map<std::string, std::string> with_architecture(const Architecture& arch, std::map<std::string, std::string> metadata) {
  metadata["format"] = "mlp";
  metadata["layers"] = arch.layers_string();
  metadata["activation"] = to_string(arch.hidden_activation);
  metadata["task"] = to_string(arch.task);
  metadata["input"] = arch.pixel_input ? "pixels" : "features";
  if (arch.task == Task::binary) metadata["positive"] = std::to_string(arch.positive);
  return metadata;
}

void save_model(const std::string& path, const Network<float>& net,
                const std::map<std::string, std::string>& extra, std::span<const TensorData> extra_tensors) {
  const Architecture& arch = net.architecture();
  const std::map<std::string, std::string> metadata = with_architecture(arch, extra);

  // For each layer W row by row (the transpose of our column-major storage), then b.
  std::vector<std::vector<float>> weights(net.depth());
  std::vector<TensorData> tensors;
  for (int l = 1; l <= net.depth(); ++l) {
    const MatrixView<const float> W = net.W(l);
    std::vector<float>& row_major = weights[l - 1];
    row_major.reserve(W.size());
    for (int r = 0; r < W.rows; ++r)
      for (int c = 0; c < W.cols; ++c) row_major.push_back(W(r, c));
    tensors.push_back({weight_name(l - 1), {std::uint64_t(W.rows), std::uint64_t(W.cols)}, row_major});
    tensors.push_back({bias_name(l - 1), {std::uint64_t(W.rows)}, {net.b(l), std::size_t(W.rows)}});
  }
  for (const TensorData& tensor : extra_tensors) {
    if (!tensor.name.starts_with(training_state_prefix))
      throw Error(path + ": extra tensor '" + tensor.name + "' must be named " + training_state_prefix + "*");
    tensors.push_back(tensor);
  }
  write_tensor_file(path, tensors, metadata);
}

std::map<std::string, std::string> read_model_metadata(const std::string& path) {
  return read_model_file(path).metadata();
}

Network<float> load_model(const std::string& path) { return load_model(read_model_file(path)); }

Network<float> load_model(const TensorFile& file) {
  const std::string& path = file.path();
  if (!file.has_metadata()) throw Error(path + ": no __metadata__ in the header; not an mlp model");
  const auto& metadata = file.metadata();
  Architecture arch;
  arch.sizes = parse_layers(require(path, metadata, "layers"), path + ": __metadata__.layers");
  arch.hidden_activation = parse_activation(require(path, metadata, "activation"), path + ": __metadata__.activation");
  arch.task = parse_task(require(path, metadata, "task"), path + ": __metadata__.task");
  check_architecture(arch, path + ": __metadata__.layers");
  if (const auto input = metadata.find("input"); input != metadata.end()) {
    if (input->second != "pixels" && input->second != "features")
      throw Error(path + ": __metadata__.input is '" + input->second + "', expected pixels or features");
    arch.pixel_input = input->second == "pixels";
  }
  if (arch.task == Task::binary) {
    const std::string& positive = require(path, metadata, "positive");
    try {
      std::size_t used = 0;
      arch.positive = std::stoi(positive, &used);
      if (used != positive.size()) throw std::invalid_argument("trailing");
    } catch (const std::exception&) {
      throw Error(path + ": __metadata__.positive is '" + positive + "', not an integer");
    }
  }

  // The metadata may claim any size: hold it against the data before allocating anything for it.
  if (arch.parameter_count() > file.float_count())
    throw Error(path + ": layers " + arch.layers_string() + " need " + std::to_string(arch.parameter_count()) +
                " floats but the file holds " + std::to_string(file.float_count()));
  std::vector<std::string> names;
  for (int i = 0; i < arch.depth(); ++i) {
    names.push_back(weight_name(i));
    names.push_back(bias_name(i));
  }
  for (const std::string& name : file.names())
    if (std::find(names.begin(), names.end(), name) == names.end() && !name.starts_with(training_state_prefix))
      throw Error(path + ": unexpected tensor '" + name + "' for layers " + arch.layers_string());

  Network<float> net(arch);
  const std::string for_layers = "for layers " + arch.layers_string();
  for (int l = 1; l <= net.depth(); ++l) {
    const MatrixView<float> W = net.W(l);
    const std::uint64_t rows = W.rows, cols = W.cols;
    const std::vector<float> row_major = file.floats(weight_name(l - 1), std::vector{rows, cols}, for_layers);
    for (int r = 0; r < W.rows; ++r)
      for (int c = 0; c < W.cols; ++c) W(r, c) = row_major[std::size_t(r) * W.cols + c];
    file.copy(bias_name(l - 1), std::vector{rows}, {net.b(l), std::size_t(W.rows)}, for_layers);
  }
  return net;
}

}  // namespace mlp
