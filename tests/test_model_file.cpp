// Model files: round trips, the exact safetensors bytes, and every kind of corrupt file.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "mlp/error.hpp"
#include "mlp/model_file.hpp"
#include "mlp/tensor_file.hpp"
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

// Without the checksum, as PyTorch would write the file: what is left to test is the structure.
Parts split(const std::string& path) {
  const std::vector<std::uint8_t> bytes = test::read_bytes(path);
  std::uint64_t n;
  std::memcpy(&n, bytes.data(), 8);
  Parts parts{json::parse(bytes.begin() + 8, bytes.begin() + 8 + n), std::string(bytes.begin() + 8 + n, bytes.end())};
  parts.header["__metadata__"].erase("checksum");
  return parts;
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
    EXPECT_EQ(loaded.architecture().hidden_activation, arch.hidden_activation);
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
  EXPECT_NE(with([](Parts& p) { p.data.resize(p.data.size() - 4); }).find("outside the 208 data bytes"), std::string::npos);
  EXPECT_NE(with([](Parts& p) { p.data += "xxxx"; }).find("beyond the last tensor"), std::string::npos);
  EXPECT_NE(with([](Parts& p) { p.header["layers.1.weight"]["shape"] = {3, 4}; }).find("shape [3, 4]"), std::string::npos);
  EXPECT_NE(with([](Parts& p) { p.header["layers.1.weight"]["shape"] = {5, 3}; }).find("expected [3, 5]"), std::string::npos);
  EXPECT_NE(with([](Parts& p) { p.header["layers.1.weight"]["dtype"] = "F16"; }).find("dtype"), std::string::npos);
  EXPECT_NE(with([](Parts& p) { p.header.erase("layers.0.bias"); }).find("gap"), std::string::npos);
  EXPECT_NE(with([](Parts& p) {
              p.header["layers.0.b"] = p.header["layers.0.bias"];
              p.header.erase("layers.0.bias");
            }).find("unexpected tensor 'layers.0.b'"),
            std::string::npos);
  EXPECT_NE(with([](Parts& p) { p.header["layers.0.bias"]["data_offsets"] = {0, 20}; }).find("overlaps"), std::string::npos);
  EXPECT_NE(with([](Parts& p) { p.header["layers.0.bias"]["data_offsets"] = {-4, 16}; }).find("data_offsets"), std::string::npos);
  EXPECT_NE(with([](Parts& p) { p.header["layers.0.bias"]["data_offsets"] = {1ull << 62, (1ull << 62) + 20}; }).find("data_offsets"), std::string::npos);
  EXPECT_NE(with([](Parts& p) {
              p.header["extra"] = {{"dtype", "F32"}, {"shape", {1}}, {"data_offsets", {p.data.size(), p.data.size() + 4}}};
              p.data += "abcd";
            }).find("unexpected tensor 'extra'"),
            std::string::npos);
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

TEST(ModelFile, FilesWithoutChecksumStillLoad) {
  ScratchDir dir;
  const Network<float> net = random_network(Architecture{{6, 5, 3}});
  save_model(dir / "m.safetensors", net);
  join(dir / "plain.safetensors", split(dir / "m.safetensors"));  // as PyTorch writes it
  EXPECT_TRUE(TensorFile::read(dir / "m.safetensors").has_checksum());
  EXPECT_EQ(read_model_metadata(dir / "m.safetensors").count("checksum"), 0u);  // verified, not data
  EXPECT_FALSE(TensorFile::read(dir / "plain.safetensors").has_checksum());
  const Network<float> loaded = load_model(dir / "plain.safetensors");
  EXPECT_TRUE(std::equal(net.parameters().begin(), net.parameters().end(), loaded.parameters().begin()));
}

// Every byte of a model file changed in 9 ways (each single bit, and all bits): every change is
// refused with one line naming the file, none loads. Most say "corrupt: checksum mismatch";
// the rest break the structure first (the length prefix, the JSON syntax).
TEST(ModelFile, EveryFlippedByteIsRejected) {
  ScratchDir dir;
  const std::string good = dir / "good.safetensors", bad = dir / "bad.safetensors";
  save_model(good, random_network(Architecture{{4, 3, 2}, Activation::tanh, Task::multiclass}), {{"note", "x y"}});
  const std::vector<std::uint8_t> bytes = test::read_bytes(good);
  test::write_bytes(bad, bytes);
  // One byte rewritten in place each time (truncating and rewriting the file makes ext4 flush it).
  const int fd = open(bad.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  auto put = [&](std::size_t i, std::uint8_t value) { ASSERT_EQ(pwrite(fd, &value, 1, static_cast<off_t>(i)), 1); };
  int flips = 0, checksum_mismatches = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i)
    for (const int mask : {1, 2, 4, 8, 16, 32, 64, 128, 255}) {
      put(i, bytes[i] ^ static_cast<std::uint8_t>(mask));
      const std::string error = load_error(bad);
      put(i, bytes[i]);
      ++flips;
      ASSERT_EQ(error.rfind(bad + ": ", 0), 0u) << "byte " << i << " ^ " << mask << ": " << error;
      EXPECT_EQ(error.find('\n'), std::string::npos);
      checksum_mismatches += error.find("checksum mismatch") != std::string::npos;
      try {
        put(i, bytes[i] ^ static_cast<std::uint8_t>(mask));
        read_model_metadata(bad);
        // Only a change inside the data can leave the header readable; the checksum still fails.
        ADD_FAILURE() << "metadata read despite byte " << i << " ^ " << mask;
      } catch (const Error&) {
      }
      put(i, bytes[i]);
    }
  close(fd);
  EXPECT_EQ(load_error(bad), "loaded without error");
  EXPECT_EQ(flips, 9 * static_cast<int>(bytes.size()));
  EXPECT_GT(checksum_mismatches, flips / 2);
  std::printf("%d flips of %zu bytes, all rejected, %d as checksum mismatches\n", flips, bytes.size(), checksum_mismatches);
}

TEST(ModelFile, ChecksumEntryIsChecked) {
  ScratchDir dir;
  const std::string good = dir / "good.safetensors", bad = dir / "bad.safetensors";
  save_model(good, random_network(Architecture{{3, 2}}));
  const std::vector<std::uint8_t> bytes = test::read_bytes(good);
  const std::string text(bytes.begin(), bytes.end());
  auto with_text = [&](std::string from, std::string to) {
    std::string changed = text;
    const std::size_t at = changed.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    changed.replace(at, from.size(), to);
    test::write_bytes(bad, std::vector<std::uint8_t>(changed.begin(), changed.end()));
    return load_error(bad);
  };
  // A damaged key must not switch the check off: the crc32 value is looked for in the raw text.
  EXPECT_NE(with_text("\"checksum\"", "\"checksun\"").find("corrupt: the header holds a crc32 value but no 'checksum'"),
            std::string::npos);
  EXPECT_NE(with_text("\"crc32:", "\"crc33:").find("is not crc32: and 8 hexadecimal digits"), std::string::npos);
  // The same header with a tab in its padding would parse alike; a checksummed header has none.
  EXPECT_NE(with_text("}  ", "}\t ").find("tab or line break"), std::string::npos);
  // A checksum in the metadata given (copied from another file) is replaced by the right one.
  save_model(bad, random_network(Architecture{{3, 2}}), {{"checksum", "crc32:00000000"}});
  EXPECT_EQ(load_error(bad), "loaded without error");
}

TEST(ModelFile, MetadataThatIsNotUtf8IsKeptAsReplacementCharacters) {
  ScratchDir dir;
  const std::string path = dir / "m.safetensors";
  save_model(path, random_network(Architecture{{3, 2}}), {{"source", "data\xff.csv"}});
  EXPECT_EQ(read_model_metadata(path).at("source"), "data\xEF\xBF\xBD.csv");
  EXPECT_EQ(load_model(path).architecture().sizes, (std::vector<int>{3, 2}));
  const float one = 1;
  const TensorData tensor{"x\xff", {1}, {&one, 1}};
  EXPECT_THROW(write_tensor_file(dir / "t.safetensors", {&tensor, 1}, {}), Error);
  EXPECT_FALSE(test::exists(dir / "t.safetensors"));
}

// The generic layer on its own, as a checkpoint would use it.
TEST(TensorFile, RoundTripOfNamedTensors) {
  ScratchDir dir;
  const std::string path = dir / "t.safetensors";
  const std::vector<float> a = {1, 2, 3, 4, 5, 6}, c = {-1, -2, -3, -4, -5, -6, -7, -8};
  const TensorData tensors[] = {{"a", {2, 3}, a}, {"empty", {0}, {}}, {"state.c", {2, 2, 2}, c}};
  write_tensor_file(path, tensors, {{"step", "7"}});
  const TensorFile file = TensorFile::read(path);
  EXPECT_TRUE(file.has_checksum());
  EXPECT_EQ(file.metadata(), (std::map<std::string, std::string>{{"step", "7"}}));
  EXPECT_EQ(file.names(), (std::vector<std::string>{"a", "empty", "state.c"}));
  EXPECT_EQ(file.float_count(), 14u);
  EXPECT_EQ(file.floats("a", std::vector<std::uint64_t>{2, 3}), a);
  EXPECT_EQ(file.floats("state.c", std::vector<std::uint64_t>{2, 2, 2}), c);
  EXPECT_TRUE(file.floats("empty", std::vector<std::uint64_t>{0}).empty());
  auto error = [&](auto f) -> std::string {
    try {
      f();
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_EQ(error([&] { file.floats("a", std::vector<std::uint64_t>{3, 2}, "for the optimizer"); }),
            path + ": tensor 'a' has shape [2, 3], expected [3, 2] for the optimizer");
  EXPECT_EQ(error([&] { file.shape("b"); }), path + ": tensor 'b' is missing");
  const TensorData wrong{"w", {2, 2}, a};
  EXPECT_NE(error([&] { write_tensor_file(path, {&wrong, 1}, {}); }).find("of shape [2, 2] given 6 floats"), std::string::npos);
  EXPECT_EQ(TensorFile::read(path).names().size(), 3u);  // the failed write left the file as it was
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
