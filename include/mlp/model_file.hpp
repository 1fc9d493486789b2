// Model files in the safetensors layout, readable from Python with standard tools.
#pragma once

#include <map>
#include <string>

#include "mlp/network.hpp"

namespace mlp {

// The file is: an 8-byte little-endian header length N, N bytes of JSON header, then raw
// little-endian float32 data. Tensors "layers.{i}.weight" [n_out, n_in] (row-major, the layout
// of PyTorch's nn.Linear) and "layers.{i}.bias" [n_out] for i = 0..L-1 (layer l = i + 1).
// "__metadata__" holds "layers" ("784-128-10"), "activation", "task", "input" ("pixels" or
// "features"), "positive" (binary only), and any `extra` entries. Written atomically.
void save_model(const std::string& path, const Network<float>& net,
                const std::map<std::string, std::string>& extra = {});

// Reads a model written by save_model (or by PyTorch in the same layout). Every size, offset and
// metadata field is checked; a bad file throws Error naming it and the problem.
Network<float> load_model(const std::string& path);

// The "__metadata__" entries of a model file.
std::map<std::string, std::string> read_model_metadata(const std::string& path);

}  // namespace mlp
