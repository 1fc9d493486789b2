// Tables as practitioners have them, end to end through the command line: headers, quotes,
// separators, missing values, categories, named classes, scaling stored in the model, splits,
// several regression targets, and every bad input as one line and a non-zero exit.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "mlp/model.hpp"
#include "mlp/random.hpp"
#include "test_util.hpp"

namespace mlp {
namespace {

using nlohmann::json;
using test::run;
using test::ScratchDir;

const std::string mlp_binary = MLP_BINARY;

using test::count_lines;

class CliTabular : public ::testing::Test {
 protected:
  test::CommandResult mlp(const std::string& args) const { return run("'" + mlp_binary + "' " + args); }
  // Expects one line "mlp: ..." naming `what`, exit code 1, and no file at `no_file` (if given).
  void expect_error(const std::string& args, const std::string& what, const std::string& no_file = "") const {
    const auto result = mlp(args);
    EXPECT_EQ(result.exit_code, 1) << args << "\n" << result.output;
    EXPECT_EQ(count_lines(result.output), 1) << args << "\n" << result.output;
    EXPECT_EQ(result.output.rfind("mlp: ", 0), 0u) << args << "\n" << result.output;
    EXPECT_NE(result.output.find(what), std::string::npos) << args << "\n" << result.output;
    if (!no_file.empty()) {
      EXPECT_FALSE(test::exists(no_file)) << no_file << " left behind by " << args;
    }
  }
  std::string ok(const std::string& args) const {
    const auto result = mlp(args);
    EXPECT_EQ(result.exit_code, 0) << args << "\n" << result.output;
    return result.output;
  }
  // Three classes of points around (0, 0), (10, 0), (0, 10) in feature 0 and 1, and feature 2 in
  // the thousands (as wine's proline): `per_class` rows each, sorted by class as iris and wine are.
  void write_blobs(const std::string& path, int per_class, const std::string& header, char separator = ',',
                   const std::vector<std::string>& names = {"0", "1", "2"}) const {
    std::ofstream out(path);
    if (!header.empty()) out << header << "\n";
    Rng rng(5);
    for (int c = 0; c < 3; ++c)
      for (int i = 0; i < per_class; ++i) {
        const double x = (c == 1 ? 10 : 0) + rng.normal(), y = (c == 2 ? 10 : 0) + rng.normal();
        out << x << separator << y << separator << 1000 + 500 * rng.uniform() << separator << names[c] << "\n";
      }
  }
  std::string path(const std::string& name) const { return dir / name; }
  ScratchDir dir;
};

TEST_F(CliTabular, ConstantLabelInTheGuessedMnistFormIsRefused) {
  // scikit-learn's digits: 64 pixels 0..16 then the label, no header. Read label first, column 0
  // (always 0 in digits) would be every label.
  std::ofstream out(path("digits.csv"));
  for (int s = 0; s < 20; ++s) {
    out << 0;
    for (int i = 1; i < 64; ++i) out << "," << (s * i) % 17;
    out << "," << s % 10 << "\n";
  }
  out.close();
  expect_error("train --data '" + path("digits.csv") + "' --epochs 1 --out '" + path("m.safetensors") + "'",
               "holds the same value in all 20 samples; without --label-column the file is read in the MNIST form",
               path("m.safetensors"));
  const std::string trained = ok("train --data '" + path("digits.csv") + "' --label-column -1 --epochs 1 --quiet");
  (void)trained;
}

TEST_F(CliTabular, IrisFirstLineAndAmbiguousLabelColumn) {
  write_blobs(path("iris.csv"), 20, "60,3,class_0,class_1");
  expect_error("train --data '" + path("iris.csv") + "' --label-column 3 --epochs 1 --out '" + path("m.safetensors") + "'",
               "--label-column '3' is ambiguous: it is the name of column 1 and the index of column 'class_1'",
               path("m.safetensors"));
  // The index said as one, or the name: 3 classes present, so the default network is 3-128-3.
  const std::string output = ok("train --data '" + path("iris.csv") + "' --label-column '#3' --epochs 1");
  EXPECT_NE(output.find("training 3-128-3"), std::string::npos) << output;
  expect_error("train --data '" + path("iris.csv") + "' --label-column species --epochs 1",
               "the columns are: 60, 3, class_0, class_1");
}

TEST_F(CliTabular, PandasNumericHeaderAndBom) {
  write_blobs(path("pandas.csv"), 10, "0,1,2,3");
  const std::string output = ok("train --data '" + path("pandas.csv") + "' --label-column 3 --epochs 1 --verbose");
  EXPECT_NE(output.find("30 training samples"), std::string::npos) << output;
  EXPECT_NE(output.find("training 3-128-3"), std::string::npos) << output;
  // A byte order mark and CRLF on a file without header: all 30 rows.
  std::ostringstream text;
  write_blobs(path("plain.csv"), 10, "");
  std::ofstream(path("bom.csv")) << "\xEF\xBB\xBF" << [&] {
    std::string s = test::read_text(path("plain.csv"));
    std::string crlf;
    for (char c : s) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
    return crlf;
  }();
  const std::string bom = ok("train --data '" + path("bom.csv") + "' --label-column -1 --epochs 1 --verbose");
  EXPECT_NE(bom.find("30 training samples"), std::string::npos) << bom;
}

TEST_F(CliTabular, ScaledFeaturesAndStratifiedValidation) {
  // Sorted by class with a feature in the thousands: unscaled and split at the tail, validation
  // held one class the training never saw.
  write_blobs(path("wine.csv"), 40, "a,b,proline,target");
  const std::string model = path("m.safetensors"), metrics = path("m.jsonl");
  ok("train --data '" + path("wine.csv") + "' --label-column target --epochs 30 --lr 0.05 --val-split 0.3 --seed 3 --out '" +
     model + "' --metrics '" + metrics + "' --quiet");
  std::istringstream lines(test::read_text(metrics));
  std::string line, last;
  while (std::getline(lines, line)) last = line;
  EXPECT_GT(json::parse(last)["val_accuracy"].get<double>(), 0.95) << last;
  // The statistics are in the model and eval/predict apply them to raw features.
  const Model loaded = Model::load(model);
  ASSERT_EQ(loaded.preprocessing.columns.size(), 3u);
  EXPECT_EQ(loaded.preprocessing.scaling, Scaling::standard);
  EXPECT_GT(loaded.preprocessing.columns[2].center, 1000);
  const json e = json::parse(ok("eval --model '" + model + "' --data '" + path("wine.csv") + "' --json"));
  EXPECT_GT(e["accuracy"].get<double>(), 0.95);
  std::ofstream(path("raw.csv")) << "a,b,proline\n10.2,0.1,1200\n0.3,9.8,1300\n";
  const json p = json::parse(ok("predict --model '" + model + "' --input '" + path("raw.csv") + "' --json"));
  EXPECT_EQ(p["predictions"][0]["class"], 1);
  EXPECT_EQ(p["predictions"][1]["class"], 2);
}

TEST_F(CliTabular, NamedClassesInPredictEvalAndPositive) {
  write_blobs(path("species.csv"), 20, "x;y;z;species", ';', {"setosa", "versicolor", "virginica"});
  const std::string model = path("m.safetensors");
  ok("train --data '" + path("species.csv") + "' --label-column species --epochs 30 --lr 0.05 --out '" + model + "' --quiet");
  std::ofstream(path("x.csv")) << "x;y;z\n10;0;1100\n";
  const std::string text = ok("predict --model '" + model + "' --input '" + path("x.csv") + "'");
  EXPECT_NE(text.find("0 class versicolor probability"), std::string::npos) << text;
  const json p = json::parse(ok("predict --model '" + model + "' --input '" + path("x.csv") + "' --json"));
  EXPECT_EQ(p["predictions"][0]["class"], 1);
  EXPECT_EQ(p["predictions"][0]["name"], "versicolor");
  const std::string eval = ok("eval --model '" + model + "' --data '" + path("species.csv") + "' --label-column species --verbose");
  EXPECT_NE(eval.find("virginica"), std::string::npos) << eval;
  const json e = json::parse(ok("eval --model '" + model + "' --data '" + path("species.csv") + "' --json"));
  EXPECT_EQ(e["classes"], json({"setosa", "versicolor", "virginica"}));
  EXPECT_EQ(e["per_class"][2]["name"], "virginica");
  // Binary: --positive takes the name; predict prints the printed class's own probability.
  const std::string binary = path("b.safetensors");
  ok("train --data '" + path("species.csv") + "' --label-column species --task binary --positive virginica --epochs 30 "
     "--lr 0.05 --out '" + binary + "' --quiet");
  const std::string b = ok("predict --model '" + binary + "' --input '" + path("x.csv") + "'");
  EXPECT_NE(b.find("0 class not virginica probability 0.9"), std::string::npos) << b;
  expect_error("train --data '" + path("species.csv") + "' --label-column species --task binary --positive daisy --epochs 1",
               "--positive 'daisy' is not one of the classes: setosa, versicolor, virginica");
}

TEST_F(CliTabular, ArbitraryIntegerLabels) {
  write_blobs(path("pm.csv"), 10, "a,b,c,y", ',', {"-1", "1", "7"});
  const std::string model = path("m.safetensors");
  const std::string output = ok("train --data '" + path("pm.csv") + "' --label-column y --epochs 5 --out '" + model + "'");
  EXPECT_NE(output.find("training 3-128-3"), std::string::npos) << output;
  EXPECT_EQ(Model::load(model).preprocessing.classes, (std::vector<std::string>{"-1", "1", "7"}));
}

TEST_F(CliTabular, MissingValuesAndImputation) {
  std::ofstream(path("m.csv")) << "a,b,y\n1,2,0\n2,NA,1\n3,4,0\n4,,1\n5,6,0\n6,7,1\n";
  const std::string model = path("m.safetensors");
  expect_error("train --data '" + path("m.csv") + "' --label-column y --epochs 1 --out '" + model + "'",
               "m.csv:3: column 'b' (1): missing value ('NA'); fill it in, or impute it with --impute mean|median", model);
  ok("train --data '" + path("m.csv") + "' --label-column y --impute median --epochs 1 --out '" + model + "' --quiet");
  EXPECT_EQ(Model::load(model).preprocessing.columns[1].fill, 5);  // the median of 2, 4, 6, 7
  std::ofstream(path("x.csv")) << "a,b\n1,NaN\n";
  EXPECT_EQ(json::parse(ok("predict --model '" + model + "' --input '" + path("x.csv") + "' --json"))["predictions"].size(), 1u);
}

TEST_F(CliTabular, CategoricalColumns) {
  std::ofstream out(path("c.csv"));
  out << "size,\"colour, main\",y\n";
  for (int s = 0; s < 30; ++s) out << s % 7 << "," << (s % 3 == 0 ? "red" : s % 3 == 1 ? "\"blue\"" : "green") << "," << s % 3 << "\n";
  out.close();
  const std::string model = path("m.safetensors");
  expect_error("train --data '" + path("c.csv") + "' --label-column y --epochs 1 --out '" + model + "'",
               "column 'colour, main' (1): 'red' is not a number; one-hot encode a column of categories with --categorical", model);
  const std::string output = ok("train --data '" + path("c.csv") + "' --label-column y --categorical 1 --epochs 40 --lr 0.1 --out '" +
                                model + "'");
  EXPECT_NE(output.find("training 4-128-3"), std::string::npos) << output;  // size and three colours
  std::ofstream(path("x.csv")) << "size,\"colour, main\"\n3,green\n";
  EXPECT_EQ(json::parse(ok("predict --model '" + model + "' --input '" + path("x.csv") + "' --json"))["predictions"][0]["class"], 2);
  std::ofstream(path("y.csv")) << "size,\"colour, main\"\n3,purple\n";
  expect_error("predict --model '" + model + "' --input '" + path("y.csv") + "'",
               "y.csv:2: column 'colour, main': category 'purple' was not seen in training (it saw blue, green, red)");
}

TEST_F(CliTabular, TestSplitAndSeveralTargets) {
  std::ofstream out(path("r.csv"));
  out << "x1\tx2\tt1\tt2\n";
  Rng rng(2);
  for (int s = 0; s < 200; ++s) {
    const double x1 = rng.uniform(), x2 = rng.uniform();
    out << x1 << "\t" << x2 << "\t" << 2 * x1 - x2 << "\t" << x1 + 3 * x2 + 1 << "\n";
  }
  out.close();
  const std::string model = path("m.safetensors");
  const std::string output = ok("train --data '" + path("r.csv") + "' --label-column t1,t2 --task regression --layers 2-2 "
                                "--epochs 100 --lr 0.1 --batch-size 8 --test-split 0.25 --out '" + model + "'");
  EXPECT_NE(output.find("on 150 samples"), std::string::npos) << output;
  EXPECT_NE(output.find("R² 0.99"), std::string::npos) << output;
  const json e = json::parse(ok("eval --model '" + model + "' --data '" + path("r.csv") + "' --json"));
  EXPECT_GT(e["r2"].get<double>(), 0.99);
  EXPECT_LT(e["rmse"].get<double>(), 0.1);
}

TEST_F(CliTabular, ExplodingRegressionLossIsDivergence) {
  std::ofstream out(path("r.csv"));
  out << "x,y\n";
  for (int s = 0; s < 64; ++s) out << s << "," << 1000 * s << "\n";
  out.close();
  const std::string model = path("m.safetensors");
  const auto result = mlp("train --data '" + path("r.csv") + "' --label-column y --task regression --scale none --epochs 50 "
                          "--lr 0.5 --out '" + model + "' --quiet");
  EXPECT_NE(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("diverged"), std::string::npos) << result.output;
}

TEST_F(CliTabular, PredictMessagesDoNotCiteLayers) {
  write_blobs(path("b.csv"), 10, "a,b,c,y");
  const std::string model = path("m.safetensors");
  ok("train --data '" + path("b.csv") + "' --label-column y --epochs 1 --scale none --out '" + model + "' --quiet");
  std::ofstream(path("x.csv")) << "1,2\n";
  const auto result = mlp("predict --model '" + model + "' --input '" + path("x.csv") + "'");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.output.find("--layers"), std::string::npos) << result.output;
}

// A port nobody listens on now, from the kernel.
int free_port() {
  const int sock = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  bind(sock, reinterpret_cast<sockaddr*>(&address), sizeof address);
  getsockname(sock, reinterpret_cast<sockaddr*>(&address), &length);
  close(sock);
  return ntohs(address.sin_port);
}

TEST_F(CliTabular, ServeAndExportApplyTheScaling) {
  write_blobs(path("wine.csv"), 20, "a,b,proline,target", ',', {"class_0", "class_1", "class_2"});
  const std::string model = path("m.safetensors");
  ok("train --data '" + path("wine.csv") + "' --label-column target --epochs 20 --lr 0.05 --out '" + model + "' --quiet");
  std::ofstream(path("x.csv")) << "a,b,proline\n10.2,0.1,1200\n";
  const json expected = json::parse(ok("predict --model '" + model + "' --input '" + path("x.csv") + "' --json"));
  // The server (stopped by its PID when the shell exits, whatever happened) on raw features.
  const int port = free_port();
  const auto served = run("sh -c '\"$0\" serve --model \"$1\" --port " + std::to_string(port) +
                          " -q & pid=$!; trap \"kill $pid\" EXIT; for i in 1 2 3 4 5 6 7 8 9 10; do "
                          "curl -s -m 5 -X POST -d \"{\\\"inputs\\\": [[10.2, 0.1, 1200]]}\" "
                          "http://127.0.0.1:" + std::to_string(port) + "/v1/predict && exit 0; sleep 0.2; done; exit 1' '" +
                          mlp_binary + "' '" + model + "'");
  ASSERT_EQ(served.exit_code, 0) << served.output;
  // -q keeps the address line; the answer is the last line.
  const std::string body = served.output.substr(served.output.rfind("{\"predictions\""));
  const json answer = json::parse(body);
  EXPECT_EQ(answer["predictions"][0]["name"], "class_1");
  EXPECT_EQ(answer["predictions"][0]["probabilities"], expected["predictions"][0]["probabilities"]);  // the same bits
  // The export puts the scaling in the graph (its outputs in ONNX Runtime: tests/onnx/check.py).
  EXPECT_NE(ok("export --model '" + model + "' --onnx '" + path("m.onnx") + "'").find("scaled in the graph (standard)"),
            std::string::npos);
  EXPECT_TRUE(test::exists(path("m.onnx")));
}

}  // namespace
}  // namespace mlp
