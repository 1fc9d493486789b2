/// @file
/// ONNX model files: a network written as a standard ONNX graph, and MLPs read back from ONNX
/// (from mlp or from PyTorch's torch.onnx.export).
#pragma once

#include <map>
#include <string>

#include "mlp/model.hpp"
#include "mlp/network.hpp"

namespace mlp {

/// Writes `net` as an ONNX model (IR version 8, opset 13, float32), atomically.
///
/// The graph: one input, then per layer a Gemm (X W[l]ᵀ + b[l]ᵀ, one sample per row as ONNX
/// runtimes expect, transB = 1 so that the initializer is W[l] as stored, [n[l], n[l-1]]), the
/// hidden activation (Relu, Sigmoid, Tanh, or no node for linear) between layers, and the
/// output layer's Softmax (axis 1, multiclass), Sigmoid (binary) or nothing (regression).
/// The batch dimension is dynamic ("batch").
///   - a model for pixels (Architecture::pixel_input) takes input "pixels" [batch, n[0]], the
///     raw values 0..255 as floats, and divides them by 255 in the graph (a Div node), as
///     `mlp predict` does; a model for features takes "features" [batch, n[0]] as they are.
///   - the output is "probabilities" [batch, k] (multiclass), "probability" [batch, 1] (binary:
///     that of the positive class) or "outputs" [batch, k] (regression).
/// metadata_props: `metadata` (e.g. a model file's provenance), then mlp's own keys as
/// save_model writes them: "format" = "mlp", "layers", "activation", "task", "input",
/// "positive" (binary only).
/// @throws Error naming `path` if it cannot be written
void save_onnx(const std::string& path, const Network<float>& net,
               const std::map<std::string, std::string>& metadata = {});

/// save_onnx() of a model trained on a table: the graph takes the raw feature columns and does
/// what Preprocessing::transform does, with the same float operations, before the first Gemm:
/// Where(IsNaN(features), feature_fill, features) when some column has a fill (NaN in
/// feature_fill: no fill, and a missing value stays NaN where mlp would stop), then
/// Sub(feature_center) and Div(feature_scale), each initializer [n[0]] float32. metadata_props
/// also hold "preprocessing" and "classes" as the model file does (write_preprocessing).
/// @throws Error naming `path` for a categorical (one-hot) column: its raw input is text
void save_onnx(const std::string& path, const Model& model, const std::map<std::string, std::string>& metadata = {});

/// Reads an MLP from an ONNX file: one float input [batch, n[0]], then a chain of nodes:
/// optionally Flatten (axis 1) and a scaling by 1/255 (Div by 255 or Mul by 1/255, which marks
/// the model as taking pixels), then per layer Gemm (alpha = beta = 1, transA = 0, either transB)
/// or MatMul (+ Add), with Relu, Sigmoid, Tanh or nothing between layers (one activation for
/// all), and Softmax, Sigmoid (one output unit) or nothing at the end. Identity nodes are passed
/// over. Weights must be float initializers inside the file.
///
/// Hidden activation of a one-layer network and the positive class of a binary one, which the
/// graph cannot say, come from metadata_props ("activation", "positive") when present, else relu
/// and 1.
/// @throws Error naming the file and the first node or field it cannot take, e.g.
///         "m.onnx: node 2 'conv1' (Conv): unsupported op; mlp reads Gemm, MatMul, Add, Relu,
///         Sigmoid, Tanh, Softmax, Identity, Flatten, a /255 scaling and mlp's feature scaling (IsNaN,
///         Where, Sub, Div)". Sizes are checked
///         against the data the file holds before anything is allocated for them.
///         A graph with mlp's feature scaling (see save_onnx of a Model) is refused here: read it
///         with load_onnx_model().
Network<float> load_onnx(const std::string& path);

/// load_onnx() that also takes the feature scaling save_onnx(Model) writes: Where(IsNaN(input),
/// fill, input) (optional), Sub(center), Div(scale), each one value per column, in front of the
/// first layer. The columns' names and the classes come from metadata_props ("preprocessing",
/// "classes"), and their fill, center and scale must have the same bits as the graph's.
/// @throws Error naming the file: as load_onnx(), a scaling without "preprocessing" metadata,
///         metadata that differs from the graph, or metadata describing a scaling the graph lacks
Model load_onnx_model(const std::string& path);

/// The metadata_props of an ONNX file, plus "onnx.producer" ("pytorch 1.13.0") when the file
/// names a producer other than mlp: where a model came from, for the model file it becomes.
/// @throws Error naming the file if it is not an ONNX model
std::map<std::string, std::string> read_onnx_metadata(const std::string& path);

}  // namespace mlp
