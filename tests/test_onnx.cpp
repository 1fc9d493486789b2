// ONNX files: save_onnx / load_onnx round trips for every activation and task, `mlp export` and
// `mlp import` giving back the same file, and bad files (each crafted from a good one with the
// ONNX protobuf classes) refused with one line naming the file and the node or field.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <functional>
#include <random>

#include "mlp/error.hpp"
#include "mlp/model.hpp"
#include "mlp/model_file.hpp"
#include "mlp/onnx.hpp"
#include "test_util.hpp"

namespace mlp {
namespace {

using test::read_bytes;
using test::run;
using test::ScratchDir;
using test::write_bytes;

const std::string mlp_binary = MLP_BINARY;

Network<float> random_network(Architecture arch, std::uint64_t seed) {
  Network<float> net(std::move(arch));
  Rng rng(seed);
  net.initialize(rng);
  // Biases too, so that a bias lost on the way shows.
  for (int l = 1; l <= net.depth(); ++l)
    for (int i = 0; i < net.units(l); ++i) net.b(l)[i] = 0.01f * float(i + l) - 0.02f;
  return net;
}

void expect_same_network(const Network<float>& a, const Network<float>& b) {
  const Architecture &x = a.architecture(), &y = b.architecture();
  EXPECT_EQ(x.sizes, y.sizes);
  EXPECT_EQ(x.hidden_activation, y.hidden_activation);
  EXPECT_EQ(x.task, y.task);
  EXPECT_EQ(x.pixel_input, y.pixel_input);
  if (x.task == Task::binary) {
    EXPECT_EQ(x.positive, y.positive);
  }
  ASSERT_EQ(a.parameters().size(), b.parameters().size());
  EXPECT_EQ(std::memcmp(a.parameters().data(), b.parameters().data(), a.parameters().size_bytes()), 0)
      << "the parameters differ in some bit";
}

TEST(Onnx, RoundTripsEveryActivationAndTaskBitForBit) {
  ScratchDir dir;
  int seed = 1;
  for (Activation g : {Activation::relu, Activation::sigmoid, Activation::tanh, Activation::linear}) {
    for (Task task : {Task::binary, Task::multiclass, Task::regression}) {
      for (bool pixels : {true, false}) {
        Architecture arch;
        arch.sizes = {6, 5, 4, task == Task::binary ? 1 : 3};
        arch.hidden_activation = g;
        arch.task = task;
        arch.positive = 7;
        arch.pixel_input = pixels;
        const Network<float> net = random_network(arch, seed++);
        const std::string path = dir / (std::to_string(seed) + ".onnx");
        save_onnx(path, net);
        SCOPED_TRACE(to_string(g) + " " + to_string(task) + (pixels ? " pixels" : " features"));
        expect_same_network(load_onnx(path), net);
      }
    }
  }
}

TEST(Onnx, OneLayerKeepsItsActivationAndTheProvenance) {
  ScratchDir dir;
  Architecture arch;
  arch.sizes = {4, 3};
  arch.hidden_activation = Activation::tanh;  // the graph has no hidden layer to show it: metadata_props does
  const Network<float> net = random_network(arch, 3);
  save_onnx(dir / "m.onnx", net, {{"seed", "42"}, {"layers", "ignored: written from the network"}});
  expect_same_network(load_onnx(dir / "m.onnx"), net);
  const auto metadata = read_onnx_metadata(dir / "m.onnx");
  EXPECT_EQ(metadata.at("seed"), "42");
  EXPECT_EQ(metadata.at("layers"), "4-3");
  EXPECT_EQ(metadata.at("activation"), "tanh");
  EXPECT_EQ(metadata.at("format"), "mlp");
  EXPECT_EQ(metadata.count("onnx.producer"), 0u);  // mlp's own file
}

TEST(Onnx, TheGraphIsWhatTheHeaderSays) {
  ScratchDir dir;
  Architecture arch;
  arch.sizes = {784, 8, 1};
  arch.task = Task::binary;
  arch.positive = 3;
  save_onnx(dir / "m.onnx", random_network(arch, 4));
  onnx::ModelProto model;
  const auto bytes = read_bytes(dir / "m.onnx");
  ASSERT_TRUE(model.ParseFromArray(bytes.data(), int(bytes.size())));
  EXPECT_EQ(model.opset_import(0).version(), 13);
  const onnx::GraphProto& graph = model.graph();
  std::vector<std::string> ops;
  for (const auto& node : graph.node()) ops.push_back(node.op_type());
  EXPECT_EQ(ops, (std::vector<std::string>{"Div", "Gemm", "Relu", "Gemm", "Sigmoid"}));
  ASSERT_EQ(graph.input_size(), 1);
  EXPECT_EQ(graph.input(0).name(), "pixels");
  const auto& shape = graph.input(0).type().tensor_type().shape();
  EXPECT_EQ(shape.dim(0).dim_param(), "batch");
  EXPECT_EQ(shape.dim(1).dim_value(), 784);
  EXPECT_EQ(graph.output(0).name(), "probability");
  EXPECT_EQ(graph.input(0).type().tensor_type().elem_type(), onnx::TensorProto::FLOAT);
}

TEST(Onnx, ExportThenImportGivesBackTheSameFile) {
  ScratchDir dir;
  Architecture arch;
  arch.sizes = {784, 16, 10};
  arch.hidden_activation = Activation::sigmoid;
  save_model(dir / "m.safetensors", random_network(arch, 5), {{"seed", "5"}, {"optimizer", "adam"}});
  const auto exported = run("'" + mlp_binary + "' export --model '" + (dir / "m.safetensors") + "' --onnx '" + (dir / "m.onnx") + "'");
  ASSERT_EQ(exported.exit_code, 0) << exported.output;
  EXPECT_NE(exported.output.find("input 'pixels' [batch, 784], output 'probabilities' [batch, 10]"), std::string::npos)
      << exported.output;
  const auto imported = run("'" + mlp_binary + "' import --onnx '" + (dir / "m.onnx") + "' --out '" + (dir / "back.safetensors") + "'");
  ASSERT_EQ(imported.exit_code, 0) << imported.output;
  EXPECT_EQ(read_bytes(dir / "m.safetensors"), read_bytes(dir / "back.safetensors"));
  // The graph divides by 255: it takes pixels, and saying otherwise is refused.
  const auto contradicted = run("'" + mlp_binary + "' import --input features --onnx '" + (dir / "m.onnx") +
                                "' --out '" + (dir / "f.safetensors") + "'");
  EXPECT_EQ(contradicted.exit_code, 1);
  EXPECT_EQ(contradicted.output, "mlp: " + (dir / "m.onnx") + ": the graph divides its input by 255, so it takes pixels, not --input features\n");
  EXPECT_FALSE(test::exists(dir / "f.safetensors"));
}

// A model trained on a table of 3 numeric feature columns and a text label, as fit_preprocessing
// would leave it, with values whose bits a lossy path would change.
Model table_model(Scaling scaling, Imputation imputation, std::uint64_t seed) {
  Architecture arch;
  arch.sizes = {3, 5, 2};
  arch.hidden_activation = Activation::tanh;
  arch.pixel_input = false;
  Model model{random_network(arch, seed), {}};
  Preprocessing& p = model.preprocessing;
  p.scaling = scaling;
  p.imputation = imputation;
  p.named_columns = true;
  p.file_columns = 4;
  p.label_columns = {"kind"};
  p.label_index = {3};
  p.classes = {"no", "yes"};
  const float centers[] = {5003.1416f, 0.000123457f, -17.25f}, scales[] = {998.0331f, 0.00099f, 1.0f / 3.0f};
  const char* names[] = {"income", "ratio", "temperature"};
  for (int c = 0; c < 3; ++c) {
    FeatureColumn column;
    column.name = names[c];
    column.index = c;
    column.center = centers[c];
    column.scale = scales[c];
    if (imputation != Imputation::none && c != 1) column.fill = centers[c] + 0.1f;  // column 1: nothing to fill
    p.columns.push_back(column);
  }
  return model;
}

std::vector<std::string> graph_ops(const std::string& path) {
  onnx::ModelProto model;
  const auto bytes = read_bytes(path);
  EXPECT_TRUE(model.ParseFromArray(bytes.data(), int(bytes.size())));
  std::vector<std::string> ops;
  for (const auto& node : model.graph().node()) ops.push_back(node.op_type());
  return ops;
}

TEST(Onnx, ATableModelsScalingAndFillsGoIntoTheGraphAndComeBack) {
  ScratchDir dir;
  for (const bool fills : {true, false}) {
    SCOPED_TRACE(fills ? "standard, impute mean" : "minmax, no imputation");
    const Model model = table_model(fills ? Scaling::standard : Scaling::minmax,
                                    fills ? Imputation::mean : Imputation::none, fills ? 8 : 9);
    model.save(dir / "m.safetensors", {{"seed", "8"}});
    const auto exported =
        run("'" + mlp_binary + "' export --model '" + (dir / "m.safetensors") + "' --onnx '" + (dir / "m.onnx") + "'");
    ASSERT_EQ(exported.exit_code, 0) << exported.output;
    EXPECT_NE(exported.output.find("input: raw features, scaled in the graph"), std::string::npos) << exported.output;
    const std::vector<std::string> layers = {"Gemm", "Tanh", "Gemm", "Softmax"};
    std::vector<std::string> expected = fills ? std::vector<std::string>{"IsNaN", "Where", "Sub", "Div"}
                                              : std::vector<std::string>{"Sub", "Div"};
    expected.insert(expected.end(), layers.begin(), layers.end());
    EXPECT_EQ(graph_ops(dir / "m.onnx"), expected);

    const Model back = load_onnx_model(dir / "m.onnx");
    expect_same_network(back.network, model.network);
    const Preprocessing &a = back.preprocessing, &b = model.preprocessing;
    EXPECT_EQ(a.scaling, b.scaling);
    EXPECT_EQ(a.imputation, b.imputation);
    EXPECT_EQ(a.classes, b.classes);
    EXPECT_EQ(a.label_columns, b.label_columns);
    ASSERT_EQ(a.columns.size(), b.columns.size());
    for (std::size_t c = 0; c < a.columns.size(); ++c) {
      EXPECT_EQ(a.columns[c].name, b.columns[c].name);
      EXPECT_EQ(std::bit_cast<std::uint32_t>(a.columns[c].center), std::bit_cast<std::uint32_t>(b.columns[c].center));
      EXPECT_EQ(std::bit_cast<std::uint32_t>(a.columns[c].scale), std::bit_cast<std::uint32_t>(b.columns[c].scale));
      if (std::isnan(b.columns[c].fill)) {
        EXPECT_TRUE(std::isnan(a.columns[c].fill));
      } else {
        EXPECT_EQ(std::bit_cast<std::uint32_t>(a.columns[c].fill), std::bit_cast<std::uint32_t>(b.columns[c].fill));
      }
    }
    // `mlp import` writes the very file that was exported, preprocessing and provenance included.
    const auto imported =
        run("'" + mlp_binary + "' import --onnx '" + (dir / "m.onnx") + "' --out '" + (dir / "back.safetensors") + "'");
    ASSERT_EQ(imported.exit_code, 0) << imported.output;
    EXPECT_EQ(read_bytes(dir / "m.safetensors"), read_bytes(dir / "back.safetensors"));
    // The network alone would take scaled inputs: load_onnx does not drop the scaling silently.
    EXPECT_THROW((void)load_onnx(dir / "m.onnx"), Error);
  }
}

TEST(Onnx, ACategoricalModelIsStillRefused) {
  ScratchDir dir;
  Model model = table_model(Scaling::standard, Imputation::none, 10);
  // Column "temperature" becomes a category column of 1 input: the network still takes 3.
  model.preprocessing.columns[2].categories = {"cold"};
  model.save(dir / "m.safetensors");
  const auto result =
      run("'" + mlp_binary + "' export --model '" + (dir / "m.safetensors") + "' --onnx '" + (dir / "m.onnx") + "'");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(std::count(result.output.begin(), result.output.end(), '\n'), 1) << result.output;
  EXPECT_EQ(result.output.rfind("mlp: " + (dir / "m.safetensors") + ": column 'temperature' is categorical (one-hot)", 0), 0u)
      << result.output;
  EXPECT_FALSE(test::exists(dir / "m.onnx"));
  EXPECT_THROW(save_onnx(dir / "m.onnx", model), Error);
  EXPECT_FALSE(test::exists(dir / "m.onnx"));
}

// A good exported model 5-4-3 (relu, multiclass, pixels) changed by `change`.
class BadOnnx : public ::testing::Test {
 protected:
  void SetUp() override {
    Architecture arch;
    arch.sizes = {5, 4, 3};
    save_onnx(dir / "good.onnx", random_network(arch, 6));
    const auto bytes = read_bytes(dir / "good.onnx");
    ASSERT_TRUE(good.ParseFromArray(bytes.data(), int(bytes.size())));
  }
  std::string write(const std::string& name, const std::function<void(onnx::ModelProto&)>& change) {
    onnx::ModelProto model = good;
    change(model);
    std::string bytes;
    model.SerializeToString(&bytes);
    write_bytes(dir / name, std::vector<std::uint8_t>(bytes.begin(), bytes.end()));
    return dir / name;
  }
  onnx::TensorProto& initializer(onnx::ModelProto& model, const std::string& name) {
    for (auto& tensor : *model.mutable_graph()->mutable_initializer())
      if (tensor.name() == name) return tensor;
    throw std::logic_error("no initializer " + name);
  }
  // load_onnx throws Error naming the file and `what`; `mlp import` prints it as one line and
  // exits with 1, writing nothing.
  void expect_refused(const std::string& path, const std::string& what) {
    try {
      (void)load_onnx(path);
      ADD_FAILURE() << path << " was read";
    } catch (const Error& e) {
      const std::string message = e.what();
      EXPECT_EQ(message.rfind(path + ": ", 0), 0u) << message;
      EXPECT_NE(message.find(what), std::string::npos) << message;
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    }
    const auto result = run("'" + mlp_binary + "' import --onnx '" + path + "' --out '" + (dir / "out.safetensors") + "'");
    EXPECT_EQ(result.exit_code, 1) << result.output;
    EXPECT_EQ(std::count(result.output.begin(), result.output.end(), '\n'), 1) << result.output;
    EXPECT_EQ(result.output.rfind("mlp: " + path + ": ", 0), 0u) << result.output;
    EXPECT_FALSE(test::exists(dir / "out.safetensors"));
  }
  ScratchDir dir;
  onnx::ModelProto good;
};

TEST_F(BadOnnx, TruncatedAndRandomBytes) {
  auto bytes = read_bytes(dir / "good.onnx");
  bytes.resize(bytes.size() / 2);
  write_bytes(dir / "truncated.onnx", bytes);
  expect_refused(dir / "truncated.onnx", "not an ONNX model");
  std::mt19937 random(7);
  std::vector<std::uint8_t> noise(4096);
  for (auto& b : noise) b = std::uint8_t(random());
  write_bytes(dir / "noise.onnx", noise);
  expect_refused(dir / "noise.onnx", "not an ONNX model");
  write_bytes(dir / "empty.onnx", {});
  expect_refused(dir / "empty.onnx", "opset_import");
}

TEST_F(BadOnnx, LyingTensorSizes) {
  expect_refused(write("lying.onnx", [&](auto& m) { initializer(m, "layers.0.weight").set_dims(1, 5000); }),
                 "node 1 'Gemm_1' (Gemm): initializer 'layers.0.weight' claims 4x5000 = 20000 floats but holds 80 bytes");
  // Dimensions whose product is beyond any layer: refused before anything is allocated for them.
  expect_refused(write("huge.onnx",
                       [&](auto& m) {
                         initializer(m, "layers.0.weight").set_dims(0, 2147483647);
                         initializer(m, "layers.0.weight").set_dims(1, 2147483647);
                       }),
                 "more than any MLP layer");
  expect_refused(write("negative.onnx", [&](auto& m) { initializer(m, "layers.1.bias").set_dims(0, -3); }),
                 "bias 'layers.1.bias' is not a vector of 3");
  expect_refused(write("float_data.onnx",
                       [&](auto& m) {
                         auto& bias = initializer(m, "layers.0.bias");
                         bias.clear_raw_data();
                         bias.add_float_data(1.0f);
                       }),
                 "initializer 'layers.0.bias' claims 4 = 4 floats but holds 1 floats");
}

TEST_F(BadOnnx, UnsupportedOpsAndTypes) {
  expect_refused(write("conv.onnx", [](auto& m) { m.mutable_graph()->mutable_node(2)->set_op_type("Conv"); }),
                 "node 2 'Relu_2' (Conv): unsupported op");
  expect_refused(write("custom.onnx", [](auto& m) { m.mutable_graph()->mutable_node(2)->set_domain("com.example"); }),
                 "node 2 'Relu_2' (Relu): an op of domain 'com.example'");
  expect_refused(write("double.onnx",
                       [](auto& m) {
                         m.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->set_elem_type(
                             onnx::TensorProto::DOUBLE);
                       }),
                 "graph input 'pixels' is DOUBLE, mlp reads float32 only");
  expect_refused(write("double_weight.onnx",
                       [&](auto& m) { initializer(m, "layers.1.weight").set_data_type(onnx::TensorProto::DOUBLE); }),
                 "node 3 'Gemm_3' (Gemm): initializer 'layers.1.weight' is DOUBLE, mlp reads float32 only");
  expect_refused(write("external.onnx",
                       [&](auto& m) { initializer(m, "layers.0.weight").set_data_location(onnx::TensorProto::EXTERNAL); }),
                 "keeps its data in an external file");
  expect_refused(write("second_input.onnx",
                       [](auto& m) {
                         auto& mask = *m.mutable_graph()->add_input();
                         mask = m.graph().input(0);
                         mask.set_name("mask");
                       }),
                 "graph input 'mask' is a second input besides 'pixels'");
  expect_refused(write("transA.onnx",
                       [](auto& m) {
                         auto& a = *m.mutable_graph()->mutable_node(1)->add_attribute();
                         a.set_name("transA");
                         a.set_type(onnx::AttributeProto::INT);
                         a.set_i(1);
                       }),
                 "node 1 'Gemm_1' (Gemm): transA = 1");
  expect_refused(write("scale.onnx", [&](auto& m) { initializer(m, "pixel_scale").set_raw_data(std::string("\0\0\0@", 4)); }),
                 "node 0 'Div_0' (Div): scales the input by 2.0");
  expect_refused(write("softmax_hidden.onnx", [](auto& m) { m.mutable_graph()->mutable_node(2)->set_op_type("Softmax"); }),
                 "node 2 'Relu_2' (Softmax): Softmax between layers");
}

TEST_F(BadOnnx, ScalingThatTheMetadataDoesNotDescribe) {
  save_onnx(dir / "scaled.onnx", table_model(Scaling::standard, Imputation::median, 11));
  const auto bytes = read_bytes(dir / "scaled.onnx");
  ASSERT_TRUE(good.ParseFromArray(bytes.data(), int(bytes.size())));
  const auto refused = [&](const std::string& path, const std::string& what) {
    try {
      (void)load_onnx_model(path);
      ADD_FAILURE() << path << " was read";
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()), path + ": " + what);
    }
    const auto result = run("'" + mlp_binary + "' import --onnx '" + path + "' --out '" + (dir / "out.safetensors") + "'");
    EXPECT_EQ(result.exit_code, 1) << result.output;
    EXPECT_EQ(result.output, "mlp: " + path + ": " + what + "\n");
    EXPECT_FALSE(test::exists(dir / "out.safetensors"));
  };
  refused(write("center.onnx", [&](auto& m) { initializer(m, "feature_center").mutable_raw_data()->at(0) ^= 1; }),
          "column 'income': the graph's fill, center or scale differ from metadata_props preprocessing");
  refused(write("no_metadata.onnx",
                [](auto& m) {
                  auto* props = m.mutable_metadata_props();
                  for (auto it = props->begin(); it != props->end();)
                    it = it->key() == "preprocessing" ? props->erase(it) : it + 1;
                }),
          "the graph scales its features but metadata_props has no 'preprocessing' naming the columns; mlp reads "
          "feature scaling as mlp export writes it");
  // Without its Div the graph computes something else than the metadata says: refused naming the node.
  refused(write("no_div.onnx",
                [](auto& m) {
                  auto& div = *m.mutable_graph()->mutable_node(3);
                  div.set_op_type("Identity");
                  div.mutable_input()->RemoveLast();
                }),
          "node 4 'Gemm_4' (Gemm): a Sub before it without the Div of a scaling");
  refused(write("zero_scale.onnx",
                [&](auto& m) {
                  std::string& raw = *initializer(m, "feature_scale").mutable_raw_data();
                  std::fill(raw.begin(), raw.begin() + 4, '\0');
                }),
          "node 3 'Div_3' (Div): a scale that is not a positive finite number");
}

TEST_F(BadOnnx, CyclesAndMissingInitializers) {
  // Gemm_1 reads a1, which Relu_2 makes from Gemm_1's own output: a cycle.
  expect_refused(write("cycle.onnx", [](auto& m) { m.mutable_graph()->mutable_node(1)->set_input(0, "a1"); }),
                 "node 1 'Gemm_1' (Gemm): input 'a1' comes from node 2, which is not before it: the graph has a cycle");
  expect_refused(write("missing.onnx",
                       [](auto& m) {
                         auto* initializers = m.mutable_graph()->mutable_initializer();
                         initializers->erase(initializers->end() - 1);  // layers.1.bias
                       }),
                 "node 3 'Gemm_3' (Gemm): input 'layers.1.bias' is neither the graph input, an initializer nor any node's output");
  expect_refused(write("branch.onnx", [](auto& m) { m.mutable_graph()->mutable_node(3)->set_input(0, "z1"); }),
                 "node 3 'Gemm_3' (Gemm): input 'z1' is not the output of the node before it");
  expect_refused(write("output.onnx", [](auto& m) { m.mutable_graph()->mutable_output(0)->set_name("z2"); }),
                 "graph output 'z2' is not the end of the chain ('probabilities')");
  expect_refused(write("no_nodes.onnx", [](auto& m) { m.mutable_graph()->clear_node(); }), "the graph has no nodes");
  expect_refused(write("no_graph.onnx", [](auto& m) { m.clear_graph(); }), "no graph");
}

}  // namespace
}  // namespace mlp
