// Saving and loading networks as safetensors files, checking every field on the way in.
#include "mlp/model_file.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

#include <nlohmann/json.hpp>

#include "mlp/error.hpp"
#include "mlp/file_io.hpp"

namespace mlp {

static_assert(std::endian::native == std::endian::little,
              "model files hold little-endian float32; a big-endian host would need byte swaps");

namespace {

using nlohmann::json;

// A JSON header over 100 MB is not a model header; refuse before parsing it.
constexpr std::uint64_t max_header_bytes = 100u << 20;
constexpr std::size_t max_model_file_bytes = std::size_t(16) << 30;

std::string weight_name(int i) { return "layers." + std::to_string(i) + ".weight"; }
std::string bias_name(int i) { return "layers." + std::to_string(i) + ".bias"; }

// The file split into its parts, its header parsed and its data bounds known.
struct Parsed {
  json header;
  std::vector<std::uint8_t> bytes;
  std::size_t data_start = 0;
};

Parsed parse(const std::string& path) {
  Parsed parsed;
  parsed.bytes = read_file(path, max_model_file_bytes);
  const auto& bytes = parsed.bytes;
  if (bytes.size() < 8) throw Error(path + ": too short for a model file (" + std::to_string(bytes.size()) + " bytes)");
  std::uint64_t header_length = 0;
  std::memcpy(&header_length, bytes.data(), 8);
  if (header_length > max_header_bytes || header_length > bytes.size() - 8)
    throw Error(path + ": not a model file: its header claims " + std::to_string(header_length) +
                " bytes of the file's " + std::to_string(bytes.size()));
  const char* text = reinterpret_cast<const char*>(bytes.data() + 8);
  parsed.header = json::parse(text, text + header_length, nullptr, /*allow_exceptions=*/false);
  if (!parsed.header.is_object()) throw Error(path + ": not a model file: its header is not a JSON object");
  parsed.data_start = 8 + header_length;
  return parsed;
}

std::map<std::string, std::string> metadata_of(const std::string& path, const json& header) {
  std::map<std::string, std::string> metadata;
  const auto it = header.find("__metadata__");
  if (it == header.end() || !it->is_object()) throw Error(path + ": no __metadata__ in the header; not an mlp model");
  for (const auto& [key, value] : it->items()) {
    if (!value.is_string()) throw Error(path + ": __metadata__." + key + " is not a string");
    metadata[key] = value.get<std::string>();
  }
  return metadata;
}

const std::string& require(const std::string& path, const std::map<std::string, std::string>& metadata,
                           const std::string& key) {
  const auto it = metadata.find(key);
  if (it == metadata.end()) throw Error(path + ": __metadata__ has no '" + key + "'");
  return it->second;
}

// Copies the float32 tensor `name` of shape [rows, cols] (cols = 0: a vector of rows) into
// `out`, element (r, c) going to out[r * row_stride + c * col_stride].
void read_tensor(const std::string& path, const Parsed& parsed, const std::string& name, int rows,
                 int cols, float* out, std::size_t row_stride, std::size_t col_stride,
                 std::vector<std::pair<std::uint64_t, std::uint64_t>>& ranges) {
  const auto it = parsed.header.find(name);
  if (it == parsed.header.end() || !it->is_object()) throw Error(path + ": tensor '" + name + "' is missing");
  const json& info = *it;
  const json expected_shape = cols ? json::array({rows, cols}) : json::array({rows});
  if (info.value("dtype", json()) != "F32")
    throw Error(path + ": tensor '" + name + "' has dtype " + info.value("dtype", json()).dump() + ", expected \"F32\"");
  if (info.value("shape", json()) != expected_shape)
    throw Error(path + ": tensor '" + name + "' has shape " + info.value("shape", json()).dump() + ", expected " +
                expected_shape.dump() + " for layers " + "metadata");
  const json offsets = info.value("data_offsets", json());
  if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() || !offsets[1].is_number_unsigned())
    throw Error(path + ": tensor '" + name + "' has no valid data_offsets");
  const std::uint64_t begin = offsets[0], end = offsets[1];
  const std::uint64_t count = std::uint64_t(rows) * std::max(cols, 1);
  const std::uint64_t data_size = parsed.bytes.size() - parsed.data_start;
  if (begin > end || end > data_size || end - begin != count * 4)
    throw Error(path + ": tensor '" + name + "' has data_offsets [" + std::to_string(begin) + ", " +
                std::to_string(end) + "] that do not hold " + std::to_string(count) + " floats within the " +
                std::to_string(data_size) + " data bytes");
  ranges.emplace_back(begin, end);
  const std::uint8_t* source = parsed.bytes.data() + parsed.data_start + begin;
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < std::max(cols, 1); ++c) {
      float value;
      std::memcpy(&value, source + 4 * (std::size_t(r) * std::max(cols, 1) + c), 4);
      out[r * row_stride + c * col_stride] = value;
    }
}

}  // namespace

void save_model(const std::string& path, const Network<float>& net,
                const std::map<std::string, std::string>& extra) {
  const Architecture& arch = net.architecture();
  json header = json::object();
  json metadata = extra;
  metadata["format"] = "mlp";
  metadata["layers"] = arch.layers_string();
  metadata["activation"] = to_string(arch.hidden);
  metadata["task"] = to_string(arch.task);
  metadata["input"] = arch.pixel_input ? "pixels" : "features";
  if (arch.task == Task::binary) metadata["positive"] = std::to_string(arch.positive);
  header["__metadata__"] = metadata;

  // Data: for each layer, W row by row (the transpose of our column-major storage), then b.
  std::vector<float> data;
  data.reserve(arch.parameter_count());
  for (int l = 1; l <= net.depth(); ++l) {
    const MatrixView<const float> W = net.W(l);
    const std::size_t begin = data.size() * 4;
    for (int r = 0; r < W.rows; ++r)
      for (int c = 0; c < W.cols; ++c) data.push_back(W(r, c));
    header[weight_name(l - 1)] = {{"dtype", "F32"}, {"shape", {W.rows, W.cols}}, {"data_offsets", {begin, data.size() * 4}}};
    const std::size_t bias_begin = data.size() * 4;
    data.insert(data.end(), net.b(l), net.b(l) + W.rows);
    header[bias_name(l - 1)] = {{"dtype", "F32"}, {"shape", {W.rows}}, {"data_offsets", {bias_begin, data.size() * 4}}};
  }
  std::string header_text = header.dump();
  header_text.resize((header_text.size() + 7) / 8 * 8, ' ');  // the data starts 8-byte aligned
  const std::uint64_t header_length = header_text.size();

  std::string file(8, '\0');
  std::memcpy(file.data(), &header_length, 8);
  file += header_text;
  file.append(reinterpret_cast<const char*>(data.data()), data.size() * 4);
  write_file_atomically(path, file);
}

std::map<std::string, std::string> read_model_metadata(const std::string& path) {
  return metadata_of(path, parse(path).header);
}

Network<float> load_model(const std::string& path) {
  const Parsed parsed = parse(path);
  const auto metadata = metadata_of(path, parsed.header);
  Architecture arch;
  arch.sizes = parse_layers(require(path, metadata, "layers"), path + ": __metadata__.layers");
  arch.hidden = parse_activation(require(path, metadata, "activation"), path + ": __metadata__.activation");
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
  const std::uint64_t data_size = parsed.bytes.size() - parsed.data_start;
  if (arch.parameter_count() > data_size / 4)
    throw Error(path + ": layers " + arch.layers_string() + " need " + std::to_string(arch.parameter_count()) +
                " floats but the file holds " + std::to_string(data_size / 4));
  Network<float> net(arch);
  std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;
  std::vector<std::string> names;
  for (int l = 1; l <= net.depth(); ++l) {
    const MatrixView<float> W = net.W(l);
    names.push_back(weight_name(l - 1));
    read_tensor(path, parsed, names.back(), W.rows, W.cols, W.data, 1, W.rows, ranges);
    names.push_back(bias_name(l - 1));
    read_tensor(path, parsed, names.back(), W.rows, 0, net.b(l), 1, 0, ranges);
  }
  for (const auto& [key, value] : parsed.header.items()) {
    const bool known = key == "__metadata__" || std::find(names.begin(), names.end(), key) != names.end();
    if (!known) throw Error(path + ": unexpected tensor '" + key + "' for layers " + arch.layers_string());
  }
  // As in safetensors itself: the tensors tile the data exactly, no overlap and no gap.
  std::sort(ranges.begin(), ranges.end());
  std::uint64_t covered = 0;
  for (const auto& [begin, end] : ranges) {
    if (begin != covered) throw Error(path + ": tensor data overlaps or leaves a gap at byte " + std::to_string(begin));
    covered = end;
  }
  if (covered != parsed.bytes.size() - parsed.data_start)
    throw Error(path + ": " + std::to_string(parsed.bytes.size() - parsed.data_start - covered) + " bytes beyond the last tensor");
  return net;
}

}  // namespace mlp
