// ONNX model files: writing a network as an ONNX graph and reading MLPs back, with Debian's
// ONNX protobuf classes (libonnx-dev) doing the encoding.
#include "mlp/onnx.hpp"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <bit>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "mlp/error.hpp"
#include "mlp/file_io.hpp"
#include "mlp/model_file.hpp"
#include "mlp/preprocessing.hpp"

namespace mlp {
namespace {

// protobuf parses at most 2 GiB; the largest MLP worth exporting is far below.
constexpr std::size_t max_onnx_file_bytes = (std::size_t(1) << 31) - 1;
constexpr std::int64_t onnx_opset = 13;
constexpr std::int64_t onnx_ir_version = 8;  // ONNX 1.10-1.12; any runtime since 2021 reads it
// What a single initializer may claim: above every real MLP layer, and it keeps the products of
// dimensions far from overflow.
constexpr std::uint64_t max_tensor_elements = INT_MAX;

// save_model's own keys: written from the network, never taken over from the caller.
const char* const structural_keys[] = {"format", "layers", "activation", "task", "input", "positive"};

std::string type_name(std::int32_t type) {
  if (onnx::TensorProto_DataType_IsValid(type)) return onnx::TensorProto_DataType_Name(type);
  return "type " + std::to_string(type);
}

void add_float_tensor(onnx::GraphProto& graph, const std::string& name, std::vector<std::int64_t> dims,
                      const float* data, std::size_t count) {
  onnx::TensorProto& tensor = *graph.add_initializer();
  tensor.set_name(name);
  tensor.set_data_type(onnx::TensorProto::FLOAT);
  for (const std::int64_t d : dims) tensor.add_dims(d);
  // raw_data is little-endian float32, as on every machine mlp builds for.
  static_assert(std::endian::native == std::endian::little);
  tensor.set_raw_data(std::string(reinterpret_cast<const char*>(data), count * sizeof(float)));
}

void set_tensor_type(onnx::ValueInfoProto& value, const std::string& name, int columns, const std::string& doc) {
  value.set_name(name);
  value.set_doc_string(doc);
  onnx::TypeProto_Tensor& tensor = *value.mutable_type()->mutable_tensor_type();
  tensor.set_elem_type(onnx::TensorProto::FLOAT);
  tensor.mutable_shape()->add_dim()->set_dim_param("batch");
  tensor.mutable_shape()->add_dim()->set_dim_value(columns);
}

onnx::NodeProto& add_node(onnx::GraphProto& graph, const std::string& op, std::vector<std::string> inputs,
                          const std::string& output) {
  onnx::NodeProto& node = *graph.add_node();
  node.set_op_type(op);
  node.set_name(op + "_" + std::to_string(graph.node_size() - 1));
  for (const std::string& input : inputs) node.add_input(input);
  node.add_output(output);
  return node;
}

void add_int_attribute(onnx::NodeProto& node, const std::string& name, std::int64_t value) {
  onnx::AttributeProto& attribute = *node.add_attribute();
  attribute.set_name(name);
  attribute.set_type(onnx::AttributeProto::INT);
  attribute.set_i(value);
}

// ---- reading

struct Layer {
  int rows = 0, cols = 0;    // n[l], n[l-1]
  std::vector<float> W;      // row-major [n[l], n[l-1]], as nn.Linear and save_model keep it
  std::vector<float> b;      // n[l]; zero until an Add gives it
  bool awaiting_bias = false;  // a MatMul whose Add may follow
};

// What follows a layer before the next one: at most one activation node.
struct Gap {
  std::string op;  // "" none, else Relu, Sigmoid, Tanh or Softmax
  std::string node;  // how to name it in errors
};

class OnnxReader {
 public:
  OnnxReader(const std::string& path, const onnx::ModelProto& model) : path_(path), model_(model) {}

  Network<float> read();
  // What the graph does to each feature before the first layer (empty: nothing), as
  // FeatureColumn holds it: fill (NaN: none), center, scale.
  std::vector<float> fill_, center_, scale_;

 private:
  [[noreturn]] void fail(const std::string& message) const { throw Error(path_ + ": " + message); }
  std::string describe(int index, const onnx::NodeProto& node) const {
    std::string text = "node " + std::to_string(index);
    if (!node.name().empty()) text += " '" + node.name() + "'";
    return text + " (" + node.op_type() + ")";
  }
  const onnx::TensorProto* initializer(const std::string& name) const {
    const auto it = initializers_.find(name);
    return it == initializers_.end() ? nullptr : it->second;
  }
  // The floats of an initializer, after holding its dimensions against the data it carries.
  std::vector<float> floats(const onnx::TensorProto& tensor, const std::string& where) const;
  const onnx::TensorProto& weight_input(const onnx::NodeProto& node, int position, const std::string& where) const;
  const onnx::AttributeProto* attribute(const onnx::NodeProto& node, const std::string& name) const;
  std::int64_t int_attribute(const onnx::NodeProto& node, const std::string& name, std::int64_t fallback,
                             const std::string& where) const;
  float float_attribute(const onnx::NodeProto& node, const std::string& name, float fallback,
                        const std::string& where) const;
  // The data input of `node`: the chain so far (the output of the node before).
  void check_inputs(int index, const onnx::NodeProto& node, const std::string& where) const;
  void add_layer(Layer layer, const std::string& where);
  void read_gemm(const onnx::NodeProto& node, const std::string& where);
  void read_matmul(const onnx::NodeProto& node, const std::string& where);
  void read_add(const onnx::NodeProto& node, const std::string& where);
  void read_scaling(const onnx::NodeProto& node, const std::string& where);
  // mlp's feature preprocessing in front of the first layer: IsNaN and Where (the fill), Sub
  // (the center), Div (the scale), each with one value per column.
  std::vector<float> column_values(const onnx::NodeProto& node, int position, const std::string& where) const;
  void read_missing(const onnx::NodeProto& node, const std::string& where);
  void read_fill(const onnx::NodeProto& node, const std::string& where);
  void read_center(const onnx::NodeProto& node, const std::string& where);
  void read_divisor(const onnx::NodeProto& node, const std::string& where);
  void read_activation(const onnx::NodeProto& node, const std::string& where);
  void read_flatten(const onnx::NodeProto& node, const std::string& where);

  // The steps of read(): the model's opset, the graph's input, its nodes in order, its output,
  // and the network they describe.
  void check_opset();
  void read_input(const onnx::GraphProto& graph);
  void read_input_shape(const onnx::TensorShapeProto& shape);
  void read_nodes(const onnx::GraphProto& graph);
  void check_node(const onnx::NodeProto& node, const std::string& where) const;
  void read_node(int index, const onnx::NodeProto& node);
  void check_output(const onnx::GraphProto& graph) const;
  Architecture architecture() const;
  void read_hidden_activation(const std::map<std::string, std::string>& metadata, Architecture& arch) const;
  void read_task(Architecture& arch) const;
  void read_positive(const std::map<std::string, std::string>& metadata, Architecture& arch) const;
  Network<float> network(const Architecture& arch) const;

  const std::string& path_;
  const onnx::ModelProto& model_;
  std::int64_t opset_ = 0;
  std::unordered_map<std::string, const onnx::TensorProto*> initializers_;
  std::unordered_map<std::string, int> producer_;  // tensor name -> the node that outputs it
  std::string input_;      // the graph's one data input
  std::string current_;    // the tensor the chain has reached
  int input_columns_ = 0;  // n[0] if the input's shape says, else 0
  bool pixels_ = false;
  std::string missing_;  // IsNaN's output, which only Where may read
  std::string first_layer_;  // how to name the first layer in errors
  std::vector<Layer> layers_;
  std::vector<Gap> gaps_;  // gaps_[k]: after layers_[k]
};

std::vector<float> OnnxReader::floats(const onnx::TensorProto& tensor, const std::string& where) const {
  const std::string what = where + ": initializer '" + tensor.name() + "'";
  if (tensor.data_type() != onnx::TensorProto::FLOAT)
    fail(what + " is " + type_name(tensor.data_type()) + ", mlp reads float32 only");
  if (tensor.data_location() == onnx::TensorProto::EXTERNAL || tensor.external_data_size() > 0)
    fail(what + " keeps its data in an external file; mlp reads weights stored in the model");
  std::uint64_t count = 1;
  std::string shape;
  for (const std::int64_t d : tensor.dims()) {
    if (!shape.empty()) shape += 'x';
    shape += std::to_string(d);
    if (d < 0 || std::uint64_t(d) > max_tensor_elements)
      fail(what + " has a dimension " + std::to_string(d) + ", outside 0.." + std::to_string(max_tensor_elements));
    count *= std::uint64_t(d);  // each factor <= 2^31 - 1 and the product checked: no overflow
    if (count > max_tensor_elements) fail(what + " claims " + shape + "... elements, more than any MLP layer");
  }
  if (shape.empty()) shape = "scalar";
  const std::uint64_t held = tensor.has_raw_data() ? tensor.raw_data().size() / sizeof(float)
                                                   : std::uint64_t(tensor.float_data_size());
  if ((tensor.has_raw_data() && tensor.raw_data().size() % sizeof(float) != 0) || held != count)
    fail(what + " claims " + shape + " = " + std::to_string(count) + " floats but holds " +
         (tensor.has_raw_data() ? std::to_string(tensor.raw_data().size()) + " bytes"
                                : std::to_string(held) + " floats"));
  std::vector<float> values(count);
  if (tensor.has_raw_data()) std::memcpy(values.data(), tensor.raw_data().data(), count * sizeof(float));
  else std::copy(tensor.float_data().begin(), tensor.float_data().end(), values.begin());
  return values;
}

const onnx::TensorProto& OnnxReader::weight_input(const onnx::NodeProto& node, int position,
                                                  const std::string& where) const {
  const onnx::TensorProto* tensor = initializer(node.input(position));
  if (tensor == nullptr)
    fail(where + ": input '" + node.input(position) + "' is not an initializer; mlp reads weights stored as initializers");
  return *tensor;
}

const onnx::AttributeProto* OnnxReader::attribute(const onnx::NodeProto& node, const std::string& name) const {
  for (const onnx::AttributeProto& a : node.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}

std::int64_t OnnxReader::int_attribute(const onnx::NodeProto& node, const std::string& name, std::int64_t fallback,
                                       const std::string& where) const {
  const onnx::AttributeProto* a = attribute(node, name);
  if (a == nullptr) return fallback;
  if (a->type() != onnx::AttributeProto::INT) fail(where + ": attribute " + name + " is not an integer");
  return a->i();
}

float OnnxReader::float_attribute(const onnx::NodeProto& node, const std::string& name, float fallback,
                                  const std::string& where) const {
  const onnx::AttributeProto* a = attribute(node, name);
  if (a == nullptr) return fallback;
  if (a->type() != onnx::AttributeProto::FLOAT) fail(where + ": attribute " + name + " is not a float");
  return a->f();
}

void OnnxReader::check_inputs(int index, const onnx::NodeProto& node, const std::string& where) const {
  bool reads_chain = false;
  for (const std::string& name : node.input()) {
    if (name == current_) {
      reads_chain = true;
      continue;
    }
    if (initializer(name) != nullptr) continue;
    const auto producer = producer_.find(name);
    if (name.empty()) fail(where + ": an empty (optional) input; mlp reads the plain form of each op");
    if (producer == producer_.end())
      fail(where + ": input '" + name + "' is neither the graph input, an initializer nor any node's output (a missing initializer?)");
    if (producer->second >= index)
      fail(where + ": input '" + name + "' comes from node " + std::to_string(producer->second) +
           ", which is not before it: the graph has a cycle or is not in topological order");
    if (name == input_)
      fail(where + ": reads the graph input '" + name + "' again; mlp reads a single chain of layers");
    fail(where + ": input '" + name + "' is not the output of the node before it; mlp reads a single chain of layers");
  }
  if (!reads_chain) fail(where + ": does not read '" + current_ + "', the chain's value so far; mlp reads a single chain of layers");
}

void OnnxReader::add_layer(Layer layer, const std::string& where) {
  if (layers_.empty()) {
    if (!missing_.empty() && fill_.empty()) fail(where + ": an IsNaN before it that no Where uses");
    if (!fill_.empty() && center_.empty())
      fail(where + ": a Where before it without the Sub and Div of a scaling; mlp reads a fill only before its scaling");
    if (!center_.empty() && scale_.empty()) fail(where + ": a Sub before it without the Div of a scaling");
    for (const std::vector<float>* values : {&fill_, &center_, &scale_})
      if (!values->empty() && int(values->size()) != layer.cols)
        fail(where + ": takes " + std::to_string(layer.cols) + " inputs but the scaling before it has " +
             std::to_string(values->size()) + " columns");
  }
  const int inputs = layers_.empty() ? input_columns_ : layers_.back().rows;
  if (inputs > 0 && layer.cols != inputs)
    fail(where + ": takes " + std::to_string(layer.cols) + " inputs but the value before it has " +
         std::to_string(inputs) + " columns");
  if (layer.rows == 0 || layer.cols == 0) fail(where + ": a layer with no units");
  if (!gaps_.empty() && gaps_.back().op == "Softmax")
    fail(gaps_.back().node + ": Softmax between layers; mlp has it only at the output");
  layers_.push_back(std::move(layer));
  gaps_.push_back({});
}

void OnnxReader::read_gemm(const onnx::NodeProto& node, const std::string& where) {
  if (node.input_size() < 2 || node.input_size() > 3 || node.input(0) != current_)
    fail(where + ": expected Gemm(chain, weight[, bias])");
  if (float_attribute(node, "alpha", 1, where) != 1 || float_attribute(node, "beta", 1, where) != 1)
    fail(where + ": alpha and beta other than 1 are not an MLP layer mlp reads");
  if (int_attribute(node, "transA", 0, where) != 0) fail(where + ": transA = 1 is not an MLP layer mlp reads");
  const bool transposed = int_attribute(node, "transB", 0, where) != 0;
  const onnx::TensorProto& B = weight_input(node, 1, where);
  if (B.dims_size() != 2) fail(where + ": weight '" + B.name() + "' is not a matrix");
  const std::vector<float> values = floats(B, where);
  Layer layer;
  // transB = 1: B is [n_out, n_in] as nn.Linear keeps it; transB = 0: B is [n_in, n_out].
  layer.rows = int(transposed ? B.dims(0) : B.dims(1));
  layer.cols = int(transposed ? B.dims(1) : B.dims(0));
  layer.W = values;
  if (!transposed)
    for (int r = 0; r < layer.rows; ++r)
      for (int c = 0; c < layer.cols; ++c) layer.W[std::size_t(r) * layer.cols + c] = values[std::size_t(c) * layer.rows + r];
  layer.b.assign(layer.rows, 0.0f);
  if (node.input_size() == 3) {
    const onnx::TensorProto& C = weight_input(node, 2, where);
    const bool row = (C.dims_size() == 1 && C.dims(0) == layer.rows) ||
                     (C.dims_size() == 2 && C.dims(0) == 1 && C.dims(1) == layer.rows);
    if (!row) fail(where + ": bias '" + C.name() + "' is not a vector of " + std::to_string(layer.rows));
    layer.b = floats(C, where);
  }
  add_layer(std::move(layer), where);
}

void OnnxReader::read_matmul(const onnx::NodeProto& node, const std::string& where) {
  if (node.input_size() != 2 || node.input(0) != current_) fail(where + ": expected MatMul(chain, weight)");
  const onnx::TensorProto& B = weight_input(node, 1, where);
  if (B.dims_size() != 2) fail(where + ": weight '" + B.name() + "' is not a matrix");
  const std::vector<float> values = floats(B, where);  // [n_in, n_out]
  Layer layer;
  layer.rows = int(B.dims(1));
  layer.cols = int(B.dims(0));
  layer.W.resize(values.size());
  for (int r = 0; r < layer.rows; ++r)
    for (int c = 0; c < layer.cols; ++c) layer.W[std::size_t(r) * layer.cols + c] = values[std::size_t(c) * layer.rows + r];
  layer.b.assign(layer.rows, 0.0f);
  layer.awaiting_bias = true;
  add_layer(std::move(layer), where);
}

void OnnxReader::read_add(const onnx::NodeProto& node, const std::string& where) {
  if (layers_.empty() || !layers_.back().awaiting_bias || !gaps_.back().op.empty())
    fail(where + ": an Add that is not the bias of a MatMul");
  if (node.input_size() != 2) fail(where + ": expected Add(chain, bias)");
  const int position = node.input(0) == current_ ? 1 : 0;
  const onnx::TensorProto& C = weight_input(node, position, where);
  Layer& layer = layers_.back();
  const bool row = (C.dims_size() == 1 && C.dims(0) == layer.rows) ||
                   (C.dims_size() == 2 && C.dims(0) == 1 && C.dims(1) == layer.rows);
  if (!row) fail(where + ": bias '" + C.name() + "' is not a vector of " + std::to_string(layer.rows));
  layer.b = floats(C, where);
  layer.awaiting_bias = false;
}

void OnnxReader::read_scaling(const onnx::NodeProto& node, const std::string& where) {
  if (!layers_.empty() || pixels_ || !center_.empty())
    fail(where + ": mlp reads a scaling only once, before the first layer");
  if (node.input_size() != 2 || node.input(0) != current_) fail(where + ": expected " + node.op_type() + "(input, scalar)");
  const onnx::TensorProto& s = weight_input(node, 1, where);
  if (s.dims_size() > 1 || (s.dims_size() == 1 && s.dims(0) != 1)) fail(where + ": scales by a tensor, not a scalar");
  const float value = floats(s, where)[0];
  // Exactly what mlp and PyTorch compute for pixels: p / 255 (or the product by 1/255 a file may
  // hold instead, within rounding of it).
  const bool divides = node.op_type() == "Div" && value == 255.0f;
  const bool multiplies = node.op_type() == "Mul" && value == 1.0f / 255.0f;
  if (!divides && !multiplies)
    fail(where + ": scales the input by " + std::to_string(value) + "; mlp reads only the pixel scaling /255");
  pixels_ = true;
}

std::vector<float> OnnxReader::column_values(const onnx::NodeProto& node, int position,
                                             const std::string& where) const {
  const onnx::TensorProto& t = weight_input(node, position, where);
  const bool row = (t.dims_size() == 1 && t.dims(0) > 0) || (t.dims_size() == 2 && t.dims(0) == 1 && t.dims(1) > 0);
  if (!row) fail(where + ": '" + t.name() + "' is not one value per column ([n] or [1, n])");
  return floats(t, where);
}

void OnnxReader::read_missing(const onnx::NodeProto& node, const std::string& where) {
  if (!layers_.empty() || pixels_ || !missing_.empty() || current_ != input_)
    fail(where + ": mlp reads IsNaN only once, on the graph input, as the mask of a fill");
  if (node.input_size() != 1 || node.input(0) != input_) fail(where + ": expected IsNaN(input)");
  missing_ = node.output(0);
}

void OnnxReader::read_fill(const onnx::NodeProto& node, const std::string& where) {
  if (missing_.empty() || !fill_.empty() || current_ != input_)
    fail(where + ": mlp reads Where only once, as the fill of missing features: Where(IsNaN(input), fill, input)");
  if (node.input_size() != 3 || node.input(0) != missing_ || node.input(2) != input_)
    fail(where + ": expected Where(IsNaN(input), fill, input)");
  fill_ = column_values(node, 1, where);
}

void OnnxReader::read_center(const onnx::NodeProto& node, const std::string& where) {
  if (!layers_.empty() || pixels_ || !center_.empty())
    fail(where + ": mlp reads Sub only once, as the center of the feature scaling before the first layer");
  if (node.input_size() != 2 || node.input(0) != current_) fail(where + ": expected Sub(input, center)");
  center_ = column_values(node, 1, where);
  for (const float c : center_)
    if (!std::isfinite(c)) fail(where + ": a center that is not finite");
}

void OnnxReader::read_divisor(const onnx::NodeProto& node, const std::string& where) {
  if (node.input_size() != 2 || node.input(0) != current_) fail(where + ": expected Div(centered input, scale)");
  scale_ = column_values(node, 1, where);
  for (const float s : scale_)
    if (!(s > 0) || !std::isfinite(s)) fail(where + ": a scale that is not a positive finite number");
}

void OnnxReader::read_activation(const onnx::NodeProto& node, const std::string& where) {
  if (node.input_size() != 1) fail(where + ": expected one input");
  if (layers_.empty()) fail(where + ": an activation before the first layer");
  Gap& gap = gaps_.back();
  if (layers_.back().awaiting_bias) layers_.back().awaiting_bias = false;  // a MatMul without bias
  if (!gap.op.empty()) fail(where + ": a second activation after " + gap.node + "; mlp has one between layers");
  if (node.op_type() == "Softmax") {
    const std::int64_t axis = int_attribute(node, "axis", opset_ >= 13 ? -1 : 1, where);
    if (axis != 1 && axis != -1) fail(where + ": softmax over axis " + std::to_string(axis) + ", not over the units");
  }
  gap = {node.op_type(), where};
}

Network<float> OnnxReader::read() {
  check_opset();
  if (!model_.has_graph()) fail("no graph: not an ONNX model");
  const onnx::GraphProto& graph = model_.graph();
  for (const onnx::TensorProto& tensor : graph.initializer()) initializers_.emplace(tensor.name(), &tensor);
  read_input(graph);
  if (graph.output_size() != 1)
    fail("the graph has " + std::to_string(graph.output_size()) + " outputs; an MLP has one");
  if (graph.node_size() == 0) fail("the graph has no nodes");
  read_nodes(graph);
  check_output(graph);
  return network(architecture());
}

void OnnxReader::check_opset() {
  for (const onnx::OperatorSetIdProto& opset : model_.opset_import())
    if (opset.domain().empty() || opset.domain() == "ai.onnx") opset_ = opset.version();
  if (opset_ <= 0) fail("no opset_import for the standard ONNX operators: not an ONNX model mlp can read");
}

void OnnxReader::read_input(const onnx::GraphProto& graph) {
  // The one data input; IR version 3 models also list their initializers as inputs.
  for (const onnx::ValueInfoProto& value : graph.input()) {
    if (initializer(value.name()) != nullptr) continue;
    if (!input_.empty())
      fail("graph input '" + value.name() + "' is a second input besides '" + input_ + "'; an MLP takes one");
    input_ = value.name();
    if (!value.type().has_tensor_type()) fail("graph input '" + input_ + "' is not a tensor");
    const onnx::TypeProto_Tensor& type = value.type().tensor_type();
    if (type.elem_type() != onnx::TensorProto::FLOAT)
      fail("graph input '" + input_ + "' is " + type_name(type.elem_type()) + ", mlp reads float32 only");
    if (type.has_shape()) read_input_shape(type.shape());
  }
  if (input_.empty()) fail("the graph has no input");
}

void OnnxReader::read_input_shape(const onnx::TensorShapeProto& shape) {
  if (shape.dim_size() != 2)
    fail("graph input '" + input_ + "' has " + std::to_string(shape.dim_size()) +
         " dimensions; an MLP takes [batch, features]");
  const onnx::TensorShapeProto_Dimension& columns = shape.dim(1);
  if (!columns.has_dim_value()) return;
  if (columns.dim_value() <= 0 || columns.dim_value() > INT_MAX)
    fail("graph input '" + input_ + "' has " + std::to_string(columns.dim_value()) + " columns");
  input_columns_ = int(columns.dim_value());
}

void OnnxReader::read_nodes(const onnx::GraphProto& graph) {
  for (int i = 0; i < graph.node_size(); ++i)
    for (const std::string& output : graph.node(i).output()) producer_.emplace(output, i);
  current_ = input_;
  for (int i = 0; i < graph.node_size(); ++i) read_node(i, graph.node(i));
}

void OnnxReader::check_node(const onnx::NodeProto& node, const std::string& where) const {
  const std::string& op = node.op_type();
  if (!node.domain().empty() && node.domain() != "ai.onnx")
    fail(where + ": an op of domain '" + node.domain() + "'; mlp reads standard ONNX ops only");
  const bool known = op == "Gemm" || op == "MatMul" || op == "Add" || op == "Relu" || op == "Sigmoid" ||
                     op == "Tanh" || op == "Softmax" || op == "Identity" || op == "Flatten" || op == "Div" ||
                     op == "Mul" || op == "Sub" || op == "IsNaN" || op == "Where";
  if (!known)
    fail(where + ": unsupported op; mlp reads Gemm, MatMul, Add, Relu, Sigmoid, Tanh, Softmax, Identity, "
                 "Flatten, a /255 scaling and mlp's feature scaling (IsNaN, Where, Sub, Div)");
  if (node.output_size() != 1) fail(where + ": has " + std::to_string(node.output_size()) + " outputs, expected 1");
}

void OnnxReader::read_node(int index, const onnx::NodeProto& node) {
  const std::string where = describe(index, node);
  const std::string& op = node.op_type();
  check_node(node, where);
  // The fill reads the graph input twice (in the mask and as the values): outside the chain rule.
  if (op == "IsNaN") {
    read_missing(node, where);
    return;
  }
  if (op == "Where") {
    read_fill(node, where);
    current_ = node.output(0);
    return;
  }
  check_inputs(index, node, where);
  if (op == "Gemm") read_gemm(node, where);
  else if (op == "MatMul") read_matmul(node, where);
  else if (op == "Add") read_add(node, where);
  else if (op == "Sub") read_center(node, where);
  else if (op == "Div" && !center_.empty() && scale_.empty()) read_divisor(node, where);
  else if (op == "Div" || op == "Mul") read_scaling(node, where);
  else if (op == "Flatten") read_flatten(node, where);
  else if (op != "Identity") read_activation(node, where);
  current_ = node.output(0);
}

void OnnxReader::read_flatten(const onnx::NodeProto& node, const std::string& where) {
  if (!layers_.empty() || int_attribute(node, "axis", 1, where) != 1)
    fail(where + ": mlp reads Flatten only with axis 1, before the first layer");
}

void OnnxReader::check_output(const onnx::GraphProto& graph) const {
  const onnx::ValueInfoProto& output = graph.output(0);
  if (output.name() != current_)
    fail("graph output '" + output.name() + "' is not the end of the chain ('" + current_ + "')");
  if (output.type().has_tensor_type() && output.type().tensor_type().elem_type() != onnx::TensorProto::FLOAT)
    fail("graph output '" + current_ + "' is " + type_name(output.type().tensor_type().elem_type()) +
         ", mlp computes float32");
  if (layers_.empty()) fail("no Gemm or MatMul: no layer to read");
}

Architecture OnnxReader::architecture() const {
  // The metadata the graph cannot show (see the header).
  std::map<std::string, std::string> metadata;
  for (const onnx::StringStringEntryProto& entry : model_.metadata_props()) metadata[entry.key()] = entry.value();

  Architecture arch;
  arch.pixel_input = pixels_;
  arch.sizes.push_back(layers_.front().cols);
  for (const Layer& layer : layers_) arch.sizes.push_back(layer.rows);
  read_hidden_activation(metadata, arch);
  read_task(arch);
  if (arch.task == Task::binary) read_positive(metadata, arch);
  check_architecture(arch, path_ + ": the graph's layers");
  return arch;
}

void OnnxReader::read_hidden_activation(const std::map<std::string, std::string>& metadata, Architecture& arch) const {
  std::optional<Gap> hidden;
  for (std::size_t k = 0; k + 1 < gaps_.size(); ++k) {
    if (hidden && gaps_[k].op != hidden->op)
      fail((gaps_[k].op.empty() ? "layer " + std::to_string(k + 2) + " follows layer " + std::to_string(k + 1) + " without an activation"
                                : gaps_[k].node + ": a different activation") +
           " than after layer 1 (" + (hidden->op.empty() ? "none" : hidden->op) +
           "); mlp uses one activation for all hidden layers");
    hidden = gaps_[k];
  }
  if (hidden) {
    arch.hidden_activation = hidden->op == "Relu" ? Activation::relu
                : hidden->op == "Sigmoid" ? Activation::sigmoid
                : hidden->op == "Tanh" ? Activation::tanh : Activation::linear;
  } else if (const auto it = metadata.find("activation"); it != metadata.end()) {
    arch.hidden_activation = parse_activation(it->second, path_ + ": metadata_props activation");
  }
}

void OnnxReader::read_task(Architecture& arch) const {
  const Gap& last = gaps_.back();
  if (last.op == "Softmax") arch.task = Task::multiclass;
  else if (last.op.empty()) arch.task = Task::regression;
  else if (last.op == "Sigmoid" && arch.outputs() == 1) arch.task = Task::binary;
  else if (last.op == "Sigmoid")
    fail(last.node + ": Sigmoid on " + std::to_string(arch.outputs()) + " outputs; mlp's binary task has one output unit");
  else fail(last.node + ": " + last.op + " at the output; mlp's output layer has Softmax, Sigmoid or nothing");
}

void OnnxReader::read_positive(const std::map<std::string, std::string>& metadata, Architecture& arch) const {
  const auto it = metadata.find("positive");
  if (it == metadata.end()) return;
  try {
    std::size_t used = 0;
    arch.positive = std::stoi(it->second, &used);
    if (used != it->second.size()) throw std::invalid_argument("trailing");
  } catch (const std::exception&) {
    fail("metadata_props positive is '" + it->second + "', not an integer");
  }
}

Network<float> OnnxReader::network(const Architecture& arch) const {
  Network<float> net(arch);
  for (int l = 1; l <= net.depth(); ++l) {
    const Layer& layer = layers_[l - 1];
    const MatrixView<float> W = net.W(l);
    for (int r = 0; r < W.rows; ++r)
      for (int c = 0; c < W.cols; ++c) W(r, c) = layer.W[std::size_t(r) * W.cols + c];
    std::copy(layer.b.begin(), layer.b.end(), net.b(l));
  }
  return net;
}

onnx::ModelProto parse(const std::string& path) {
  const std::vector<std::uint8_t> bytes = read_file(path, max_onnx_file_bytes);
  onnx::ModelProto model;
  if (!model.ParseFromArray(bytes.data(), int(bytes.size())))
    throw Error(path + ": not an ONNX model (the protobuf does not parse: truncated, or another kind of file)");
  return model;
}

// "z3": appended, because g++ 12 warns falsely (-Wrestrict) on "z" + std::to_string(l) inlined here.
std::string numbered(const char* prefix, int l) {
  std::string name = prefix;
  name += std::to_string(l);
  return name;
}

void write_onnx(const std::string& path, const Network<float>& net, const Preprocessing& preprocessing,
                const std::map<std::string, std::string>& metadata) {
  const Architecture& arch = net.architecture();
  for (const FeatureColumn& column : preprocessing.columns)
    if (!column.categories.empty())
      throw Error(path + ": column '" + column.name + "' is categorical (one-hot); an ONNX graph takes numbers, "
                  "not its category names");
  if (!preprocessing.identity() && arch.pixel_input)
    throw Error(path + ": a network for pixels with a preprocessing of feature columns");
  if (!preprocessing.identity() && int(preprocessing.columns.size()) != net.units(0))
    throw Error(path + ": the preprocessing's " + std::to_string(preprocessing.columns.size()) +
                " columns do not match the network's " + std::to_string(net.units(0)) + " feature inputs");
  onnx::ModelProto model;
  model.set_ir_version(onnx_ir_version);
  model.set_producer_name("mlp");
  model.set_producer_version("0.1.0");
  model.set_doc_string("A multilayer perceptron " + arch.layers_string() + " written by mlp");
  onnx::OperatorSetIdProto& opset = *model.add_opset_import();
  opset.set_domain("");
  opset.set_version(onnx_opset);

  std::map<std::string, std::string> props = metadata;
  for (const char* key : structural_keys) props.erase(key);
  props.erase("checksum");
  props = with_architecture(arch, std::move(props));
  for (const auto& [key, value] : props) {
    onnx::StringStringEntryProto& entry = *model.add_metadata_props();
    entry.set_key(key);
    entry.set_value(value);
  }

  onnx::GraphProto& graph = *model.mutable_graph();
  graph.set_name("mlp");
  const int n0 = net.units(0);
  std::string current;
  if (arch.pixel_input) {
    set_tensor_type(*graph.add_input(), "pixels", n0,
                    "One sample per row: " + std::to_string(n0) +
                        " raw pixel values 0..255 as floats (an image row by row); the graph divides them by 255");
    const float scale = 255.0f;
    add_float_tensor(graph, "pixel_scale", {}, &scale, 1);
    add_node(graph, "Div", {"pixels", "pixel_scale"}, "x");
    current = "x";
  } else if (preprocessing.identity()) {
    set_tensor_type(*graph.add_input(), "features", n0,
                    "One sample per row: " + std::to_string(n0) + " feature values, used as they are");
    current = "features";
  } else {
    set_tensor_type(*graph.add_input(), "features", n0,
                    "One sample per row: the " + std::to_string(n0) +
                        " raw feature columns (metadata_props preprocessing names them); the graph fills missing "
                        "values (NaN) and scales them as mlp predict does");
    current = "features";
    // The same float operations as Preprocessing::transform, so that the inputs of the first
    // layer have the same bits: a missing value takes its fill, then (value - center) / scale.
    std::vector<float> fill, center, scale;
    bool fills = false;
    for (const FeatureColumn& column : preprocessing.columns) {
      fill.push_back(column.fill);  // NaN: none, and NaN stays NaN
      fills = fills || !std::isnan(column.fill);
      center.push_back(column.center);
      scale.push_back(column.scale);
    }
    if (fills) {
      add_float_tensor(graph, "feature_fill", {n0}, fill.data(), fill.size());
      add_node(graph, "IsNaN", {"features"}, "missing");
      add_node(graph, "Where", {"missing", "feature_fill", "features"}, "filled");
      current = "filled";
    }
    add_float_tensor(graph, "feature_center", {n0}, center.data(), center.size());
    add_float_tensor(graph, "feature_scale", {n0}, scale.data(), scale.size());
    add_node(graph, "Sub", {current, "feature_center"}, "centered");
    add_node(graph, "Div", {"centered", "feature_scale"}, "x");
    current = "x";
  }
  const std::string output = arch.task == Task::multiclass ? "probabilities"
                           : arch.task == Task::binary     ? "probability"
                                                           : "outputs";
  for (int l = 1; l <= net.depth(); ++l) {
    const MatrixView<const float> W = net.W(l);
    const std::string layer = "layers." + std::to_string(l - 1);
    // W[l] row by row: the transpose of the column-major block, the layout of nn.Linear.
    std::vector<float> row_major;
    row_major.reserve(W.size());
    for (int r = 0; r < W.rows; ++r)
      for (int c = 0; c < W.cols; ++c) row_major.push_back(W(r, c));
    add_float_tensor(graph, layer + ".weight", {W.rows, W.cols}, row_major.data(), row_major.size());
    add_float_tensor(graph, layer + ".bias", {W.rows}, net.b(l), std::size_t(W.rows));
    const bool last = l == net.depth();
    const std::string z = last && arch.task == Task::regression ? output : numbered("z", l);
    add_int_attribute(add_node(graph, "Gemm", {current, layer + ".weight", layer + ".bias"}, z), "transB", 1);
    current = z;
    if (last) break;
    const std::string a = numbered("a", l);
    switch (arch.hidden_activation) {
      case Activation::relu: add_node(graph, "Relu", {z}, a); break;
      case Activation::sigmoid: add_node(graph, "Sigmoid", {z}, a); break;
      case Activation::tanh: add_node(graph, "Tanh", {z}, a); break;
      case Activation::linear: continue;
    }
    current = a;
  }
  if (arch.task == Task::multiclass) add_int_attribute(add_node(graph, "Softmax", {current}, output), "axis", 1);
  if (arch.task == Task::binary) add_node(graph, "Sigmoid", {current}, output);
  set_tensor_type(*graph.add_output(), output, net.units(net.depth()),
                  arch.task == Task::multiclass ? "The probability of each class, one sample per row"
                  : arch.task == Task::binary
                      ? "The probability of the positive class (" + std::to_string(arch.positive) + "), one sample per row"
                      : "The network's outputs, one sample per row");

  std::string bytes;
  if (!model.SerializeToString(&bytes)) throw Error(path + ": the ONNX model could not be encoded (over 2 GiB?)");
  write_file_atomically(path, bytes);
}

bool same_bits(float a, float b) { return std::bit_cast<std::uint32_t>(a) == std::bit_cast<std::uint32_t>(b); }

}  // namespace

void save_onnx(const std::string& path, const Network<float>& net, const std::map<std::string, std::string>& metadata) {
  write_onnx(path, net, Preprocessing{}, metadata);
}

void save_onnx(const std::string& path, const Model& model, const std::map<std::string, std::string>& metadata) {
  // The model's own description of its columns and classes, whatever `metadata` held.
  std::map<std::string, std::string> props = metadata;
  props.erase("preprocessing");
  props.erase("classes");
  write_preprocessing(model.preprocessing, props);
  write_onnx(path, model.network, model.preprocessing, props);
}

Network<float> load_onnx(const std::string& path) {
  const onnx::ModelProto model = parse(path);
  OnnxReader reader(path, model);
  Network<float> net = reader.read();
  if (!reader.center_.empty())
    throw Error(path + ": the graph scales its features before the first layer; read it with its preprocessing "
                "(load_onnx_model, mlp import)");
  return net;
}

Model load_onnx_model(const std::string& path) {
  const onnx::ModelProto model = parse(path);
  OnnxReader reader(path, model);
  Network<float> net = reader.read();
  std::map<std::string, std::string> metadata;
  for (const onnx::StringStringEntryProto& entry : model.metadata_props()) metadata[entry.key()] = entry.value();
  const Architecture& arch = net.architecture();
  Preprocessing preprocessing =
      read_preprocessing(metadata, path + ": metadata_props", arch.sizes[0], arch.task == Task::multiclass ? arch.classes() : -1);
  // The graph computes what the model does; the metadata only names the columns. Both must agree.
  if (reader.center_.empty()) {
    if (!preprocessing.identity())
      throw Error(path + ": metadata_props describes a preprocessing (scaling, fill) that the graph does not apply");
    return {std::move(net), std::move(preprocessing)};
  }
  if (preprocessing.identity())
    throw Error(path + ": the graph scales its features but metadata_props has no 'preprocessing' naming the columns; "
                "mlp reads feature scaling as mlp export writes it");
  for (std::size_t c = 0; c < preprocessing.columns.size(); ++c) {
    const FeatureColumn& column = preprocessing.columns[c];
    const float fill = reader.fill_.empty() ? std::numeric_limits<float>::quiet_NaN() : reader.fill_[c];
    const bool fills_alike = std::isnan(fill) ? std::isnan(column.fill) : same_bits(fill, column.fill);
    if (!same_bits(reader.center_[c], column.center) || !same_bits(reader.scale_[c], column.scale) || !fills_alike)
      throw Error(path + ": column '" + column.name + "': the graph's fill, center or scale differ from metadata_props "
                  "preprocessing");
  }
  return {std::move(net), std::move(preprocessing)};
}

std::map<std::string, std::string> read_onnx_metadata(const std::string& path) {
  const onnx::ModelProto model = parse(path);
  std::map<std::string, std::string> metadata;
  for (const onnx::StringStringEntryProto& entry : model.metadata_props()) metadata[entry.key()] = entry.value();
  if (!model.producer_name().empty() && model.producer_name() != "mlp")
    metadata["onnx.producer"] = model.producer_name() + (model.producer_version().empty() ? "" : " " + model.producer_version());
  return metadata;
}

}  // namespace mlp
