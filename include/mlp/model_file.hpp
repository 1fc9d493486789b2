/// @file
/// Model files in the safetensors layout, readable from Python with standard tools.
#pragma once

#include <map>
#include <string>

#include "mlp/network.hpp"
#include "mlp/tensor_file.hpp"

namespace mlp {

/// `metadata` with the entries that describe `arch`: "format" ("mlp"), "layers", "activation",
/// "task", "input", and "positive" for binary models (model files and ONNX metadata_props).
std::map<std::string, std::string> with_architecture(const Architecture& arch,
                                                     std::map<std::string, std::string> metadata);

/// The file is: an 8-byte little-endian header length N, N bytes of JSON header, then raw
/// little-endian float32 data. Tensors "layers.{i}.weight" [n_out, n_in] (row-major, the layout
/// of PyTorch's nn.Linear) and "layers.{i}.bias" [n_out] for i = 0..L-1 (layer l = i + 1).
/// "__metadata__" holds "layers" ("784-128-10"), "activation", "task", "input" ("pixels" or
/// "features"), "positive" (binary only), "checksum" (see tensor_file.hpp), and any `extra`
/// entries. Written atomically (write_tensor_file). `extra_tensors` (a checkpoint's training
/// state) must be named "train.*"; load_model passes over them.
void save_model(const std::string& path, const Network<float>& net,
                const std::map<std::string, std::string>& extra = {},
                std::span<const TensorData> extra_tensors = {});

/// Reads a model written by save_model (or by PyTorch in the same layout). Every size, offset and
/// metadata field is checked, and the checksum if the file has one (PyTorch's files have none); a
/// bad file throws Error naming it and the problem ("m.safetensors: corrupt: checksum mismatch
/// ...").
Network<float> load_model(const std::string& path);
/// The same from a file already read (a checkpoint reads its other tensors from it too).
Network<float> load_model(const TensorFile& file);

/// The "__metadata__" entries of a model file.
std::map<std::string, std::string> read_model_metadata(const std::string& path);

}  // namespace mlp
