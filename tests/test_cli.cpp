// The mlp command end to end: train, eval, predict and gradcheck, and its one-line errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>

#include "mlp/random.hpp"
#include "test_util.hpp"

namespace mlp {
namespace {

using nlohmann::json;
using test::run;
using test::ScratchDir;

const std::string mlp_binary = MLP_BINARY;

// A folder of the four IDX files: 28x28 images where digit c lights up row band c.
void write_synthetic_mnist(const ScratchDir& dir) {
  Rng rng(11);
  for (const auto& [prefix, count] : {std::pair{"train", 400u}, std::pair{"t10k", 100u}}) {
    std::vector<std::uint8_t> pixels, labels;
    for (std::uint32_t s = 0; s < count; ++s) {
      const int c = static_cast<int>(rng.below(10));
      labels.push_back(static_cast<std::uint8_t>(c));
      for (int i = 0; i < 784; ++i) {
        const bool lit = (i / 28) / 3 == c;
        pixels.push_back(static_cast<std::uint8_t>(lit ? 200 + rng.below(56) : rng.below(40)));
      }
    }
    test::write_bytes(dir / (std::string(prefix) + "-images-idx3-ubyte"), test::idx_bytes({count, 28, 28}, pixels));
    test::write_bytes(dir / (std::string(prefix) + "-labels-idx1-ubyte"), test::idx_bytes({count}, labels));
  }
}

using test::count_lines;

class Cli : public ::testing::Test {
 protected:
  void SetUp() override { write_synthetic_mnist(data); }
  std::string mlp(const std::string& args) const { return mlp_binary + " " + args; }
  ScratchDir data, out;
};

TEST_F(Cli, HelpForEverySubcommand) {
  for (const char* sub : {"train", "eval", "predict", "gradcheck"}) {
    const auto result = run(mlp(std::string(sub) + " --help"));
    EXPECT_EQ(result.exit_code, 0) << sub;
    EXPECT_NE(result.output.find("--"), std::string::npos) << sub;
  }
  EXPECT_NE(run(mlp("train --help")).output.find("--batch-size"), std::string::npos);
  EXPECT_EQ(run(mlp("--version")).exit_code, 0);
}

TEST_F(Cli, TrainEvalPredict) {
  const std::string model = out / "m.safetensors", metrics = out / "metrics.jsonl";
  auto trained = run(mlp("train --data " + data.path() + " --layers 784-32-10 --epochs 3 --batch-size 16 --lr 0.1 "
                         "--seed 4 --out " + model + " --metrics " + metrics));
  ASSERT_EQ(trained.exit_code, 0) << trained.output;
  EXPECT_NE(trained.output.find("epoch 3/3"), std::string::npos);
  EXPECT_NE(trained.output.find("test accuracy:"), std::string::npos);

  std::istringstream lines(test::run("cat " + metrics).output);
  std::string line;
  int epochs = 0;
  while (std::getline(lines, line)) {
    const json m = json::parse(line);
    EXPECT_EQ(m["epoch"], ++epochs);
    for (const char* key : {"train_loss", "train_accuracy", "test_loss", "test_accuracy", "seconds", "samples_per_second"})
      EXPECT_TRUE(m[key].is_number()) << key;
  }
  EXPECT_EQ(epochs, 3);

  const auto eval = run(mlp("eval --model " + model + " --data " + data.path() + " --json"));
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  const json e = json::parse(eval.output);
  EXPECT_EQ(e["count"], 100);
  EXPECT_GE(e["accuracy"].get<double>(), 0.9);
  EXPECT_EQ(e["confusion"].size(), 10u);
  EXPECT_EQ(e["top_k"], 5);
  EXPECT_GE(e["top_k_accuracy"].get<double>(), e["accuracy"].get<double>());
  EXPECT_EQ(json::parse(run(mlp("eval --model " + model + " --data " + data.path() + " --json --top-k 1")).output)["top_k_accuracy"],
            e["accuracy"]);
  const auto text = run(mlp("eval --model " + model + " --data " + data.path()));
  EXPECT_NE(text.output.find("confusion matrix"), std::string::npos);

  const auto predicted = run(mlp("predict --model " + model + " --input " + data / "t10k-images-idx3-ubyte --json"));
  ASSERT_EQ(predicted.exit_code, 0) << predicted.output;
  const json p = json::parse(predicted.output);
  ASSERT_EQ(p["predictions"].size(), 100u);
  const json& first = p["predictions"][0];
  EXPECT_EQ(first["index"], 0);
  double sum = 0;
  for (double q : first["probabilities"]) sum += q;
  EXPECT_NEAR(sum, 1.0, 1e-5);
  const auto best = std::max_element(first["probabilities"].begin(), first["probabilities"].end());
  EXPECT_EQ(first["class"], best - first["probabilities"].begin());

  // --init continues from the saved model: one more epoch starts where the last one ended.
  const auto resumed = run(mlp("train --data " + data.path() + " --epochs 1 --init " + model + " --quiet"));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_EQ(count_lines(resumed.output), 1);
  const double accuracy = std::stod(resumed.output.substr(resumed.output.find(':') + 1));
  EXPECT_GE(accuracy, 90.0);
}

TEST_F(Cli, BinaryTaskAndCsvPrediction) {
  const std::string model = out / "three.safetensors";
  auto trained = run(mlp("train --data " + data.path() + " --task binary --positive 3 --layers 784-16-32-1 "
                         "--epochs 4 --batch-size 16 --out " + model + " --quiet"));
  ASSERT_EQ(trained.exit_code, 0) << trained.output;
  const auto eval = run(mlp("eval --model " + model + " --data " + data.path() + " --json"));
  const json e = json::parse(eval.output);
  EXPECT_EQ(e["positive"], 3);
  EXPECT_TRUE(e["f1"].is_number());
  EXPECT_EQ(e["confusion"].size(), 2u);
  EXPECT_GT(e["roc_auc"].get<double>(), 0.9);
  // Everything is positive from probability 0 up: the confusion matrix's first column empties.
  const json all = json::parse(run(mlp("eval --model " + model + " --data " + data.path() + " --json --threshold 0")).output);
  EXPECT_EQ(all["threshold"], 0.0);
  EXPECT_EQ(all["confusion"][0][0], 0);
  EXPECT_EQ(all["confusion"][1][0], 0);
  EXPECT_EQ(all["roc_auc"], e["roc_auc"]);  // the ranking does not depend on the threshold

  // A CSV of two images in MNIST form (label first): one all dark, one with band 3 lit.
  std::ofstream csv(out / "two.csv");
  for (int image = 0; image < 2; ++image) {
    csv << 3;
    for (int i = 0; i < 784; ++i) csv << "," << (image == 1 && (i / 28) / 3 == 3 ? 230 : 5);
    csv << "\n";
  }
  csv.close();
  const auto predicted = run(mlp("predict --model " + model + " --input " + out / "two.csv --json"));
  ASSERT_EQ(predicted.exit_code, 0) << predicted.output;
  const json p = json::parse(predicted.output);
  ASSERT_EQ(p["predictions"].size(), 2u);
  EXPECT_EQ(p["predictions"][1]["class"], 1);
  EXPECT_GT(p["predictions"][1]["probability"].get<double>(), 0.5);
  EXPECT_LT(p["predictions"][0]["probability"].get<double>(), 0.5);
  const json everything = json::parse(run(mlp("predict --model " + model + " --input " + out / "two.csv --json --threshold 0")).output);
  EXPECT_EQ(everything["predictions"][0]["class"], 1);
}

TEST_F(Cli, RegressionOnCsv) {
  // y = 2 x1 - x2 + 0.5, learnable exactly by a linear network.
  std::ofstream train(out / "train.csv");
  train << "x1,x2,y\n";
  Rng rng(3);
  for (int s = 0; s < 200; ++s) {
    const double x1 = rng.uniform(), x2 = rng.uniform();
    train << x1 << "," << x2 << "," << 2 * x1 - x2 + 0.5 << "\n";
  }
  train.close();
  const std::string model = out / "r.safetensors";
  const auto trained = run(mlp("train --data " + out / "train.csv --test " + out / "train.csv --label-column y "
                               "--task regression --layers 2-1 --epochs 200 --batch-size 8 --lr 0.2 --out " + model + " --quiet"));
  ASSERT_EQ(trained.exit_code, 0) << trained.output;
  EXPECT_NE(trained.output.find("test loss"), std::string::npos);
  std::ofstream(out / "x.csv") << "x1,x2,y\n1,1,0\n";
  const auto predicted = run(mlp("predict --model " + model + " --input " + out / "x.csv --label-column y --json"));
  ASSERT_EQ(predicted.exit_code, 0) << predicted.output;
  EXPECT_NEAR(json::parse(predicted.output)["predictions"][0]["output"][0].get<double>(), 1.5, 1e-2);
}

TEST_F(Cli, Gradcheck) {
  const auto pass = run(mlp("gradcheck --layers 6-5-4-3 --activation tanh --task multiclass"));
  EXPECT_EQ(pass.exit_code, 0) << pass.output;
  EXPECT_NE(pass.output.find("PASS"), std::string::npos);
  // An impossible tolerance must fail: the check can say no.
  const auto fail = run(mlp("gradcheck --tolerance 0"));
  EXPECT_EQ(fail.exit_code, 1) << fail.output;
  EXPECT_NE(fail.output.find("FAIL"), std::string::npos);
}

// Each bad input: a non-zero exit and exactly one line that names the culprit.
TEST_F(Cli, BadInputGivesOneLineNamingTheProblem) {
  const std::string model = out / "m.safetensors";
  ASSERT_EQ(run(mlp("train --data " + data.path() + " --epochs 1 --out " + model + " --quiet")).exit_code, 0);
  ScratchDir broken;
  for (const char* name : {"train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"})
    test::run("cp " + data / name + " " + broken / name);
  test::write_bytes(broken / "train-images-idx3-ubyte", {0, 0, 8, 3, 0, 0, 0, 9});
  test::write_bytes(broken / "empty.safetensors", {});
  struct Case {
    std::string args, expected;
  };
  const Case cases[] = {
      {"train --epochs x", "--epochs"},
      {"train --layers 784-x-10 --data " + data.path(), "--layers"},
      {"train --layers 100-10 --data " + data.path(), "100 inputs"},
      {"train --task binary --layers 784-10 --data " + data.path(), "1 output"},
      {"train --data /nonexistent/folder", "/nonexistent/folder"},
      {"train --data " + broken.path(), "train-images-idx3-ubyte"},
      {"train --data " + data.path() + " --bogus", "--bogus"},
      {"eval --model " + broken / "empty.safetensors --data " + data.path(), "empty.safetensors"},
      {"eval --model " + model + " --data " + broken.path(), broken.path()},
      {"predict --model " + model + " --input " + data / "t10k-labels-idx1-ubyte", "magic"},
      {"predict --model " + model, "--input"},
      {"frobnicate", "frobnicate"},
  };
  for (const Case& c : cases) {
    const auto result = run(mlp(c.args));
    EXPECT_NE(result.exit_code, 0) << c.args;
    EXPECT_EQ(count_lines(result.output), 1) << c.args << "\n" << result.output;
    EXPECT_NE(result.output.find(c.expected), std::string::npos) << c.args << "\n" << result.output;
  }
  // A failed run leaves no model file behind.
  EXPECT_FALSE(test::exists(out / "never.safetensors"));
  run(mlp("train --data " + broken.path() + " --out " + out / "never.safetensors"));
  EXPECT_FALSE(test::exists(out / "never.safetensors"));
}

std::vector<json> json_lines(const std::string& path) {
  std::vector<json> lines;
  std::istringstream in(test::read_text(path));
  for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line));
  return lines;
}

TEST_F(Cli, OptimizersAndScheduleReachTheTraining) {
  const std::string common = "train --data " + data.path() + " --layers 784-16-10 --epochs 3 --batch-size 32 --seed 2 ";
  std::vector<std::string> models;
  for (const char* optimizer : {"sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop"}) {
    const std::string model = out / (std::string(optimizer) + ".safetensors"), metrics = out / "m.jsonl";
    const std::string lr = std::string(optimizer).starts_with("sgd") ? "0.1" : "0.01";
    const auto result = run(mlp(common + "--optimizer " + optimizer + " --lr " + lr + " --weight-decay 1e-4 " +
                                "--lr-schedule step --lr-step 1 --lr-gamma 0.5 --out " + model + " --metrics " + metrics));
    ASSERT_EQ(result.exit_code, 0) << optimizer << ": " << result.output;
    EXPECT_NE(result.output.find(std::string("with ") + optimizer), std::string::npos) << result.output;
    const auto lines = json_lines(metrics);
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_DOUBLE_EQ(lines[2]["learning_rate"].get<double>(), std::stod(lr) / 4) << optimizer;
    EXPECT_LT(lines[2]["train_loss"].get<double>(), lines[0]["train_loss"].get<double>()) << optimizer;
    models.push_back(test::read_text(model));
  }
  for (std::size_t i = 1; i < models.size(); ++i) EXPECT_NE(models[i], models[i - 1]);
  const auto bad = run(mlp(common + "--optimizer adam --beta2 1"));
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.output.find("--beta2"), std::string::npos) << bad.output;
  const auto no_validation = run(mlp(common + "--patience 2"));
  EXPECT_EQ(no_validation.exit_code, 1);
  EXPECT_NE(no_validation.output.find("--val-split"), std::string::npos) << no_validation.output;
}

TEST_F(Cli, ResumeFromAnEpochCheckpointEndsWithTheSameModel) {
  const std::string common = "train --data " + data.path() + " --layers 784-16-10 --epochs 3 --batch-size 32 --seed 3 "
                             "--optimizer adam --lr 0.003 --dropout 0.1 --lr-schedule cosine --val-split 0.2 --keep-best ";
  ASSERT_EQ(run(mlp(common + "--out " + out / "straight.safetensors")).exit_code, 0);
  const std::string checkpoint = out / "c.ckpt";
  ASSERT_EQ(run(mlp(common + "--out " + out / "first.safetensors --checkpoint-every 1 --checkpoint " + checkpoint)).exit_code, 0);
  // The checkpoint holds epoch 2 (the last one written: none after the final epoch).
  const auto resumed = run(mlp("train --resume " + checkpoint + " --out " + out / "resumed.safetensors"));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("resuming " + checkpoint + " after epoch 2"), std::string::npos) << resumed.output;
  EXPECT_EQ(test::read_text(out / "resumed.safetensors"), test::read_text(out / "straight.safetensors"));
  const auto changed = run(mlp("train --resume " + checkpoint + " --lr 0.1"));
  EXPECT_EQ(changed.exit_code, 1);
  EXPECT_NE(changed.output.find("--lr: the run's settings come from the checkpoint"), std::string::npos) << changed.output;
}

// Ctrl-C at an unknown moment: the batch is finished, a checkpoint written, exit 130; resuming
// ends with the model an uninterrupted run writes, byte for byte.
TEST_F(Cli, InterruptWritesACheckpointThatResumesExactly) {
  const std::string common = "train --data " + data.path() + " --layers 784-16-10 --epochs 40 --batch-size 8 --seed 5 "
                             "--optimizer momentum --lr 0.01 --dropout 0.2 ";
  ASSERT_EQ(run(mlp(common + "--out " + out / "straight.safetensors")).exit_code, 0);
  const std::string metrics = out / "m.jsonl", checkpoint = out / "c.ckpt";
  const auto interrupted = run("(" + mlp(common + "--out " + out / "resumed.safetensors --metrics " + metrics +
                                         " --checkpoint " + checkpoint) + " & pid=$!; "
                               "while [ ! -s " + metrics + " ]; do sleep 0.01; done; kill -INT $pid; wait $pid; echo exit=$?)");
  ASSERT_NE(interrupted.output.find("exit=130"), std::string::npos) << interrupted.output;
  EXPECT_NE(interrupted.output.find("checkpoint written to " + checkpoint), std::string::npos) << interrupted.output;
  EXPECT_FALSE(test::exists(out / "resumed.safetensors"));
  // The metrics file is written at most twice a second, but whole at the stop: a line per epoch done.
  const std::size_t epochs_done = json_lines(metrics).size();
  const auto resumed = run(mlp("train --resume " + checkpoint));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("resuming " + checkpoint + " after epoch " + std::to_string(epochs_done)),
            std::string::npos) << resumed.output;
  EXPECT_EQ(test::read_text(out / "resumed.safetensors"), test::read_text(out / "straight.safetensors"));
  EXPECT_EQ(json_lines(metrics).size(), 40u);  // the metrics file goes on where it stopped
}

TEST(CliDigits, DefaultTrainPrintsTestAccuracy) {
  if (!test::exists(test::digits_folder() + "/train-images-idx3-ubyte"))
    GTEST_SKIP() << test::digits_folder() << " is absent: run scripts/fetch-mnist.sh";
  const auto result = run("cd " MLP_SOURCE_DIR " && " + mlp_binary + " train --epochs 1");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("784-128-10 (relu, multiclass)"), std::string::npos);
  EXPECT_NE(result.output.find("test accuracy:"), std::string::npos);
}

}  // namespace
}  // namespace mlp
