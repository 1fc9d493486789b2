// The command line's pictures, summaries and scriptable output: `mlp show`, `mlp train --plot`,
// `mlp eval --confusion`, --json, --quiet, --verbose and the "did you mean" hints.
#include <gtest/gtest.h>
#include <png.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>

#include "mlp/model_file.hpp"
#include "mlp/random.hpp"
#include "test_util.hpp"

namespace mlp {
namespace {

using nlohmann::json;
using test::run;
using test::ScratchDir;

const std::string mlp_binary = MLP_BINARY;

// Four IDX files of 28x28 images where digit c lights up row band c: learnable in one epoch.
void write_banded_digits(const ScratchDir& dir) {
  Rng rng(5);
  for (const auto& [prefix, count] : {std::pair{"train", 300u}, std::pair{"t10k", 60u}}) {
    std::vector<std::uint8_t> pixels, labels;
    for (std::uint32_t s = 0; s < count; ++s) {
      const int c = static_cast<int>(s % 10);
      labels.push_back(static_cast<std::uint8_t>(c));
      for (int i = 0; i < 784; ++i)
        pixels.push_back(static_cast<std::uint8_t>((i / 28) / 3 == c ? 200 + rng.below(56) : rng.below(40)));
    }
    test::write_bytes(dir / (std::string(prefix) + "-images-idx3-ubyte"), test::idx_bytes({count, 28, 28}, pixels));
    test::write_bytes(dir / (std::string(prefix) + "-labels-idx1-ubyte"), test::idx_bytes({count}, labels));
  }
}

struct Picture {
  int width = 0, height = 0;
  std::vector<std::uint8_t> rgb;
  std::array<int, 3> at(int x, int y) const {
    const std::uint8_t* p = &rgb[(static_cast<std::size_t>(y) * width + x) * 3];
    return {p[0], p[1], p[2]};
  }
};

// Decodes a PNG file with libpng; an empty picture if it is not one.
Picture read_png(const std::string& path) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  Picture picture;
  if (!png_image_begin_read_from_file(&image, path.c_str())) return picture;
  image.format = PNG_FORMAT_RGB;
  picture.rgb.resize(PNG_IMAGE_SIZE(image));
  if (!png_image_finish_read(&image, nullptr, picture.rgb.data(), 0, nullptr)) return picture;
  picture.width = static_cast<int>(image.width);
  picture.height = static_cast<int>(image.height);
  return picture;
}

// Every tag closed in order, every attribute quoted: enough of XML's well-formedness to catch a
// drawing bug (a full parser is more than the tests need).
bool well_formed(const std::string& xml, std::string& problem) {
  std::vector<std::string> open;
  for (std::size_t at = xml.find('<'); at != std::string::npos; at = xml.find('<', at + 1)) {
    const std::size_t end = xml.find('>', at);
    if (end == std::string::npos) return problem = "unterminated tag", false;
    const std::string tag = xml.substr(at + 1, end - at - 1);
    if (std::count(tag.begin(), tag.end(), '"') % 2) return problem = "odd quotes in <" + tag + ">", false;
    if (tag[0] == '?' || tag[0] == '!') continue;
    const std::string name = tag.substr(tag[0] == '/', tag.find_first_of(" />", 1) - (tag[0] == '/'));
    if (tag[0] == '/') {
      if (open.empty() || open.back() != name) return problem = "</" + name + "> closes nothing open", false;
      open.pop_back();
    } else if (tag.back() != '/') {
      open.push_back(name);
    }
  }
  if (!open.empty()) return problem = "<" + open.back() + "> never closed", false;
  return true;
}

int count_of(const std::string& text, const std::string& what) {
  int n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

using test::count_lines;

class CliShow : public ::testing::Test {
 protected:
  void SetUp() override { write_banded_digits(data); }
  std::string mlp(const std::string& args) const { return mlp_binary + " " + args; }
  // A 784-16-10 model trained for `epochs` epochs on the banded digits.
  std::string train(const std::string& extra = "", int epochs = 2) const {
    const std::string model = out / "m.safetensors";
    const auto result = run(mlp("train --data " + data.path() + " --layers 784-16-10 --epochs " + std::to_string(epochs) +
                                " --batch-size 16 --seed 3 --out " + model + " --quiet " + extra));
    EXPECT_EQ(result.exit_code, 0) << result.output;
    return model;
  }
  ScratchDir data, out;
};

TEST_F(CliShow, SummaryListsShapesParametersAndTraining) {
  const std::string model = train();
  const auto text = run(mlp("show --model " + model));
  ASSERT_EQ(text.exit_code, 0) << text.output;
  // 784*16 + 16 = 12,560 and 16*10 + 10 = 170: 12,730 in all.
  for (const char* expected : {"(16, 784)", "(16)", "12,560", "(10, 16)", "170", "softmax", "relu",
                               "total parameters: 12,730", "multiclass", "epochs: 2", "seed: 3"})
    EXPECT_NE(text.output.find(expected), std::string::npos) << expected << "\n" << text.output;

  const auto structured = run(mlp("show --model " + model + " --json"));
  ASSERT_EQ(structured.exit_code, 0) << structured.output;
  const json j = json::parse(structured.output);
  EXPECT_EQ(j["parameters"], 12730);
  EXPECT_EQ(j["architecture"], "784-16-10");
  ASSERT_EQ(j["layers"].size(), 2u);
  EXPECT_EQ(j["layers"][0]["weight"], json({16, 784}));
  EXPECT_EQ(j["layers"][0]["parameters"], 12560);
  EXPECT_EQ(j["layers"][1]["activation"], "softmax");
  EXPECT_EQ(j["training"]["epochs"], "2");
  EXPECT_EQ(j["training"]["seed"], "3");
  EXPECT_FALSE(j["training"].contains("layers"));  // structure is not provenance
  EXPECT_EQ(j["metadata"]["layers"], "784-16-10");

  const auto quiet = run(mlp("show --model " + model + " -q"));
  EXPECT_EQ(count_lines(quiet.output), 1) << quiet.output;
  EXPECT_NE(quiet.output.find("12,730 parameters"), std::string::npos);
  const auto verbose = run(mlp("show --model " + model + " --verbose"));
  EXPECT_NE(verbose.output.find("std"), std::string::npos) << verbose.output;
  EXPECT_GT(count_lines(verbose.output), count_lines(text.output) + 4);
}

TEST_F(CliShow, SummaryPrintsMetadataItDoesNotKnow) {
  Network<float> net(Architecture{{4, 3, 1}, Activation::tanh, Task::binary});
  Rng rng(1);
  net.initialize(rng);
  const std::string model = out / "b.safetensors";
  save_model(model, net, {{"optimizer", "adam"}, {"zz_custom", "hello"}});
  const auto text = run(mlp("show --model " + model));
  ASSERT_EQ(text.exit_code, 0) << text.output;
  for (const char* expected : {"optimizer: adam", "zz_custom: hello", "sigmoid", "binary", "total parameters: 19"})
    EXPECT_NE(text.output.find(expected), std::string::npos) << expected << "\n" << text.output;
}

TEST_F(CliShow, PlotHasOnePointPerEpochAndIsWellFormed) {
  const std::string plot = out / "curves.svg";
  train("--val-split 0.2 --plot " + plot, 3);
  const std::string svg = test::run("cat " + plot).output;
  std::string problem;
  EXPECT_TRUE(well_formed(svg, problem)) << problem;
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
  for (const char* series : {"train-loss", "validation-loss", "test-loss", "train-accuracy", "validation-accuracy",
                             "test-accuracy"}) {
    EXPECT_EQ(count_of(svg, "<circle class=\"" + std::string(series) + "\""), 3) << series;
    EXPECT_EQ(count_of(svg, "<polyline class=\"" + std::string(series) + "\""), 1) << series;
  }
  for (const char* label : {">epoch<", ">loss<", ">accuracy (%)<", ">train<", ">validation<", ">test<"})
    EXPECT_NE(svg.find(label), std::string::npos) << label;
  EXPECT_EQ(test::run("ls " + out.path()).output.find(".tmp"), std::string::npos);  // no temporary left
}

TEST_F(CliShow, WeightTilesShowKnownWeights) {
  // Unit 0: +1 everywhere but -1 at pixel (0, 0); unit 1: all zero.
  Network<float> net(Architecture{{784, 2, 10}, Activation::relu, Task::multiclass});
  for (int i = 0; i < 784; ++i) net.W(1)(0, i) = i == 0 ? -1.0f : 1.0f;
  const std::string model = out / "known.safetensors", picture = out / "w.png";
  save_model(model, net);
  const auto result = run(mlp("show --model " + model + " --weights " + picture + " --scale 1"));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const Picture p = read_png(picture);
  // Two 28x28 tiles side by side, 2-pixel gaps all round.
  ASSERT_EQ(p.width, 2 + 2 * (28 + 2));
  ASSERT_EQ(p.height, 2 + 28 + 2);
  EXPECT_EQ(p.at(0, 0), (std::array<int, 3>{40, 40, 40}));     // the gap
  EXPECT_EQ(p.at(2, 2), (std::array<int, 3>{33, 102, 172}));   // -1: blue
  EXPECT_EQ(p.at(3, 2), (std::array<int, 3>{178, 24, 43}));    // +1: red
  EXPECT_EQ(p.at(2, 29), (std::array<int, 3>{178, 24, 43}));
  EXPECT_EQ(p.at(32, 2), (std::array<int, 3>{247, 247, 247})); // 0: white

  const auto structured = run(mlp("show --model " + model + " --weights " + picture + " --json"));
  ASSERT_EQ(structured.exit_code, 0) << structured.output;
  EXPECT_EQ(json::parse(structured.output)["tile"], json({28, 28}));
  EXPECT_EQ(read_png(picture).width, 3 + 2 * (3 * 28 + 3));  // --scale 3 by default, 3-pixel gaps
}

TEST_F(CliShow, InputImageAndPrediction) {
  const std::string model = train();
  const std::string images = data / "t10k-images-idx3-ubyte", picture = out / "image.png";
  const auto text = run(mlp("show --model " + model + " --input " + images + " --index 3 --out " + picture + " --scale 2"));
  ASSERT_EQ(text.exit_code, 0) << text.output;
  EXPECT_NE(text.output.find("(label 3)"), std::string::npos) << text.output;  // from the labels file beside
  EXPECT_NE(text.output.find("predicted: class 3"), std::string::npos) << text.output;

  const Picture p = read_png(picture);
  ASSERT_EQ(p.width, 56);
  ASSERT_EQ(p.height, 56);
  const std::vector<std::uint8_t> idx = test::read_bytes(images);
  const std::uint8_t* sample = idx.data() + 16 + 3 * 784;
  for (const auto& [x, y] : {std::pair{0, 0}, std::pair{5, 10}, std::pair{27, 27}, std::pair{14, 27}}) {
    const int v = sample[y * 28 + x];
    EXPECT_EQ(p.at(2 * x + 1, 2 * y + 1), (std::array<int, 3>{v, v, v})) << x << "," << y;
  }

  const auto structured = run(mlp("show --model " + model + " --input " + images + " --index 3 --json"));
  ASSERT_EQ(structured.exit_code, 0) << structured.output;
  const json j = json::parse(structured.output);
  EXPECT_EQ(j["class"], 3);
  EXPECT_EQ(j["label"], 3);
  double sum = 0;
  for (double q : j["probabilities"]) sum += q;
  EXPECT_NEAR(sum, 1.0, 1e-5);
  EXPECT_EQ(run(mlp("show --model " + model + " --input " + images + " --index 3 -q")).output, "3\n");

  const auto beyond = run(mlp("show --model " + model + " --input " + images + " --index 60"));
  EXPECT_EQ(beyond.exit_code, 1);
  EXPECT_EQ(count_lines(beyond.output), 1) << beyond.output;
  EXPECT_NE(beyond.output.find("--index"), std::string::npos) << beyond.output;
}

TEST_F(CliShow, ConfusionHeatMap) {
  const std::string model = train("", 3), picture = out / "confusion.png";
  const auto result = run(mlp("eval --model " + model + " --data " + data.path() + " --confusion " + picture));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const Picture p = read_png(picture);
  ASSERT_GT(p.width, 300);
  ASSERT_GT(p.height, 300);
  // A white background, and the darkest blue of the scale (a full row on the diagonal, and the
  // top of the colour bar).
  std::size_t white = 0, darkest = 0;
  for (int y = 0; y < p.height; ++y)
    for (int x = 0; x < p.width; ++x) {
      white += p.at(x, y) == std::array<int, 3>{255, 255, 255};
      darkest += p.at(x, y) == std::array<int, 3>{8, 48, 107};
    }
  EXPECT_GT(white, std::size_t(p.width * p.height / 4));
  EXPECT_GT(darkest, 100u);
  EXPECT_EQ(test::run("ls " + out.path()).output.find(".tmp"), std::string::npos);
}

TEST_F(CliShow, QuietAndVerbose) {
  const std::string model = train();
  const std::string on_data = " --model " + model + " --data " + data.path();
  const auto quiet = run(mlp("eval" + on_data + " --quiet"));
  EXPECT_EQ(count_lines(quiet.output), 1) << quiet.output;
  EXPECT_EQ(quiet.output.rfind("test accuracy: ", 0), 0u) << quiet.output;
  const auto verbose = run(mlp("eval" + on_data + " --verbose"));
  EXPECT_NE(verbose.output.find("precision"), std::string::npos) << verbose.output;
  EXPECT_NE(verbose.output.find("evaluated in"), std::string::npos) << verbose.output;
  EXPECT_GE(count_lines(verbose.output), count_lines(run(mlp("eval" + on_data)).output) + 11);

  const auto classes = run(mlp("predict --model " + model + " --input " + data / "t10k-images-idx3-ubyte -q"));
  ASSERT_EQ(classes.exit_code, 0) << classes.output;
  EXPECT_EQ(count_lines(classes.output), 60);
  std::istringstream lines(classes.output);
  for (std::string line; std::getline(lines, line);) EXPECT_TRUE(line.size() == 1 && std::isdigit(line[0])) << line;
  const auto every = run(mlp("predict --model " + model + " --input " + data / "t10k-images-idx3-ubyte -v"));
  EXPECT_NE(every.output.find("60 samples"), std::string::npos) << every.output;
  EXPECT_NE(every.output.find("["), std::string::npos);

  EXPECT_EQ(run(mlp("gradcheck --layers 5-4-3 --quiet")).output, "PASS\n");
  const auto check = run(mlp("gradcheck --layers 5-4-3 --verbose"));
  EXPECT_NE(check.output.find("layer 2: W (3, 4), b (3): 15 parameters"), std::string::npos) << check.output;

  const auto trained = run(mlp("train --data " + data.path() + " --layers 784-8-10 --epochs 2 --verbose"));
  ASSERT_EQ(trained.exit_code, 0) << trained.output;
  EXPECT_NE(trained.output.find("300 training samples"), std::string::npos) << trained.output;
  EXPECT_NE(trained.output.find("loaded in"), std::string::npos);
  EXPECT_EQ(count_of(trained.output, "s evaluating"), 2) << trained.output;

  const auto both = run(mlp("eval" + on_data + " --quiet --verbose"));
  EXPECT_EQ(both.exit_code, 2) << both.output;
}

TEST_F(CliShow, ErrorsAreOneLine) {
  const std::string model = train();
  ScratchDir csv;
  std::ofstream(csv / "r.csv") << "x,y\n1,2\n2,4\n3,6\n";
  const auto regression = run(mlp("train --data " + csv / "r.csv --test " + csv / "r.csv --label-column y --task regression "
                                  "--layers 1-1 --epochs 1 --quiet --out " + out / "r.safetensors"));
  ASSERT_EQ(regression.exit_code, 0) << regression.output;
  struct Case {
    std::string args, expected;
  };
  const Case cases[] = {
      {"eval --model " + out / "r.safetensors --data " + csv / "r.csv --label-column y --confusion " + out / "c.png",
       "regression"},
      {"show --model " + model + " --out " + out / "x.png", "--input"},
      {"show --model " + out / "missing.safetensors", "missing.safetensors"},
      {"show --model " + model + " --weights /nonexistent/dir/w.png", "/nonexistent/dir/w.png"},
  };
  for (const Case& c : cases) {
    const auto result = run(mlp(c.args));
    EXPECT_NE(result.exit_code, 0) << c.args;
    EXPECT_EQ(count_lines(result.output), 1) << c.args << "\n" << result.output;
    EXPECT_NE(result.output.find(c.expected), std::string::npos) << c.args << "\n" << result.output;
  }
  EXPECT_FALSE(test::exists(out / "c.png"));
}

TEST_F(CliShow, UnknownNamesGetSuggestions) {
  struct Case {
    std::string args, expected;
  };
  const Case cases[] = {
      {"train --epoch 3", "mlp: unknown option '--epoch' (did you mean '--epochs'?)"},
      {"train --batchsize 3", "did you mean '--batch-size'?"},
      {"eval --jsno", "did you mean '--json'?"},
      {"show --model m --wieghts w.png", "did you mean '--weights'?"},
      {"--thread 2 train", "did you mean '--threads'?"},
      {"trian", "mlp: unknown command 'trian' (did you mean 'train'?)"},
      {"shw", "did you mean 'show'?"},
      {"train --bogus", "unknown option '--bogus' (see mlp train --help)"},
      {"frobnicate", "expected one of train, eval, predict, gradcheck, show"},
  };
  for (const Case& c : cases) {
    const auto result = run(mlp(c.args));
    EXPECT_EQ(result.exit_code, 2) << c.args;
    EXPECT_EQ(count_lines(result.output), 1) << c.args << "\n" << result.output;
    EXPECT_NE(result.output.find(c.expected), std::string::npos) << c.args << "\n" << result.output;
  }
}

}  // namespace
}  // namespace mlp
