// Model files: round trips, the exact safetensors bytes, and every kind of corrupt file.
#include <gtest/gtest.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "mlp/error.hpp"
#include "mlp/model_file.hpp"
#include "test_util.hpp"

namespace mlp {
namespace {

using nlohmann::json;
using test::ScratchDir;

Network<float> random_network(Architecture arch, std::uint64_t seed = 5) {
  Network<float> net(std::move(arch));
  Rng rng(seed);
  net.initialize(rng);
  for (int l = 1; l <= net.depth(); ++l)
    for (int i = 0; i < net.units(l); ++i) net.b(l)[i] = float(rng.normal());
  return net;
}

// The header and data of a model file, to take apart and rebuild in tests.
struct Parts {
  json header;
  std::string data;
};

Parts split(const std::string& path) {
  const std::vector<std::uint8_t> bytes = test::read_bytes(path);
  std::uint64_t n;
  std::memcpy(&n, bytes.data(), 8);
  return {json::parse(bytes.begin() + 8, bytes.begin() + 8 + n), std::string(bytes.begin() + 8 + n, bytes.end())};
}

void join(const std::string& path, const Parts& parts) {
  const std::string header = parts.header.dump();
  const std::uint64_t n = header.size();
  std::string file(8, '\0');
  std::memcpy(file.data(), &n, 8);
  std::ofstream(path, std::ios::binary) << file << header << parts.data;
}

std::string load_error(const std::string& path) {
  try {
    load_model(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "loaded without error";
}

TEST(ModelFile, RoundTripIsExact) {
  ScratchDir dir;
  for (const Architecture& arch : {Architecture{{784, 128, 10}},
                                   Architecture{{784, 16, 32, 1}, Activation::tanh, Task::binary, 3},
                                   Architecture{{5, 3}, Activation::linear, Task::regression, 1, false}}) {
    const Network<float> net = random_network(arch);
    save_model(dir / "m.safetensors", net);
    const Network<float> loaded = load_model(dir / "m.safetensors");
    EXPECT_EQ(loaded.architecture().sizes, arch.sizes);
    EXPECT_EQ(loaded.architecture().hidden, arch.hidden);
    EXPECT_EQ(loaded.architecture().task, arch.task);
    EXPECT_EQ(loaded.architecture().positive, arch.task == Task::binary ? arch.positive : 1);
    EXPECT_EQ(loaded.architecture().pixel_input, arch.pixel_input);
    EXPECT_TRUE(std::equal(net.parameters().begin(), net.parameters().end(), loaded.parameters().begin()));
  }
}

TEST(ModelFile, SafetensorsLayoutWithRowMajorWeights) {
  ScratchDir dir;
  const Network<float> net = random_network(Architecture{{3, 2, 4}});
  save_model(dir / "m.safetensors", net, {{"note", "hello"}});
  const std::vector<std::uint8_t> bytes = test::read_bytes(dir / "m.safetensors");
  std::uint64_t n;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ((8 + n) % 8, 0u);  // data 8-byte aligned
  const Parts parts = split(dir / "m.safetensors");
  EXPECT_EQ(parts.header["__metadata__"]["layers"], "3-2-4");
  EXPECT_EQ(parts.header["__metadata__"]["activation"], "relu");
  EXPECT_EQ(parts.header["__metadata__"]["task"], "multiclass");
  EXPECT_EQ(parts.header["__metadata__"]["note"], "hello");
  const json& w = parts.header["layers.1.weight"];
  EXPECT_EQ(w["dtype"], "F32");
  EXPECT_EQ(w["shape"], json::array({4, 2}));
  // Row-major [n_out, n_in]: element (r, c) of W[2] sits at r * n_in + c.
  const std::size_t begin = w["data_offsets"][0];
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 2; ++c) {
      float value;
      std::memcpy(&value, parts.data.data() + begin + 4 * (r * 2 + c), 4);
      EXPECT_EQ(value, net.W(2)(r, c));
    }
  EXPECT_EQ(parts.header["layers.0.bias"]["shape"], json::array({2}));
}

TEST(ModelFile, CorruptFilesAreRejectedWithTheirName) {
  ScratchDir dir;
  const std::string good = dir / "good.safetensors", bad = dir / "bad.safetensors";
  save_model(good, random_network(Architecture{{6, 5, 3}}));
  auto with = [&](auto change) {
    Parts parts = split(good);
    change(parts);
    join(bad, parts);
    return load_error(bad);
  };
  EXPECT_NE(with([](Parts& p) { p.data.resize(p.data.size() - 4); }).find("but the file holds"), std::string::npos);
  EXPECT_NE(with([](Parts& p) { p.data += "xxxx"; }).find("beyond the last tensor"), std::string::npos);
  EXPECT_NE(with([](Parts& p) { p.header["layers.1.weight"]["shape"] = {3, 4}; }).find("shape"), std::string::npos);
  EXPECT_NE(with([](Parts& p) { p.header["layers.1.weight"]["dtype"] = "F16"; }).find("dtype"), std::string::npos);
  EXPECT_NE(with([](Parts& p) { p.header.erase("layers.0.bias"); }).find("missing"), std::string::npos);
  EXPECT_NE(with([](Parts& p) { p.header["layers.0.bias"]["data_offsets"] = {0, 20}; }).find("overlaps"), std::string::npos);
  EXPECT_NE(with([](Parts& p) { p.header["layers.0.bias"]["data_offsets"] = {-4, 16}; }).find("data_offsets"), std::string::npos);
  EXPECT_NE(with([](Parts& p) { p.header["layers.0.bias"]["data_offsets"] = {1ull << 62, (1ull << 62) + 20}; }).find("data_offsets"), std::string::npos);
  EXPECT_NE(with([](Parts& p) { p.header["extra"] = p.header["layers.0.bias"]; }).find("unexpected tensor"), std::string::npos);
  EXPECT_NE(with([](Parts& p) { p.header["__metadata__"]["layers"] = "6-5"; }).find("layers"), std::string::npos);
  EXPECT_NE(with([](Parts& p) { p.header["__metadata__"]["activation"] = "swish"; }).find("swish"), std::string::npos);
  EXPECT_NE(with([](Parts& p) { p.header["__metadata__"]["task"] = "binary"; }).find("1 output"), std::string::npos);
  EXPECT_NE(with([](Parts& p) { p.header["__metadata__"]["layers"] = 6; }).find("not a string"), std::string::npos);
  EXPECT_NE(with([](Parts& p) { p.header.erase("__metadata__"); }).find("__metadata__"), std::string::npos);
  // Layer sizes that would need terabytes are refused before anything is allocated for them.
  EXPECT_NE(with([](Parts& p) { p.header["__metadata__"]["layers"] = "1048576-1048576-1048576-3"; }).find("need"),
            std::string::npos);

  test::write_bytes(bad, {1, 2, 3});
  EXPECT_NE(load_error(bad).find("too short"), std::string::npos);
  std::vector<std::uint8_t> lying = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, '{', '}'};
  test::write_bytes(bad, lying);
  EXPECT_NE(load_error(bad).find("header claims"), std::string::npos);
  std::vector<std::uint8_t> not_json = {4, 0, 0, 0, 0, 0, 0, 0, '{', 'x', ']', ' '};
  test::write_bytes(bad, not_json);
  EXPECT_NE(load_error(bad).find("not a JSON object"), std::string::npos);
  EXPECT_NE(load_error(dir / "missing.safetensors").find(dir / "missing.safetensors"), std::string::npos);
}

TEST(ModelFile, SaveReplacesAtomicallyAndLeavesNoTemporary) {
  ScratchDir dir;
  const std::string path = dir / "m.safetensors";
  save_model(path, random_network(Architecture{{4, 3}}, 1));
  save_model(path, random_network(Architecture{{4, 2}}, 2));
  EXPECT_EQ(load_model(path).architecture().sizes, (std::vector<int>{4, 2}));
  EXPECT_EQ(test::run("ls " + dir.path()).output, "m.safetensors\n");
  // A folder that does not exist: a clear error, nothing written.
  EXPECT_THROW(save_model(dir / "no/such/m.safetensors", random_network(Architecture{{4, 2}})), Error);
}

}  // namespace
}  // namespace mlp
