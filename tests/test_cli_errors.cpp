// The mlp command on bad input: bad values, empty files, folders, unreadable files, odd names,
// a full disk and a memory limit; each ends with one line "mlp: ..." and exit status 1.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "mlp/model_file.hpp"
#include "test_util.hpp"

namespace mlp {
namespace {

using nlohmann::json;
using test::run;
using test::ScratchDir;

const std::string mlp_binary = MLP_BINARY;

using test::count_lines;

class CliErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    // Four float features and a class 0..2, with a header: general numeric CSV.
    std::ofstream csv(dir / "d.csv");
    csv << "a,b,c,d,y\n";
    for (int i = 0; i < 30; ++i) csv << i % 5 << "," << i % 3 << ",0.5," << -i << "," << i % 3 << "\n";
  }
  // Runs mlp with `args` (a shell command line: quote paths) and expects one line naming `what`.
  void expect_error(const std::string& args, const std::string& what) const {
    const auto result = run("'" + mlp_binary + "' " + args);
    EXPECT_EQ(result.exit_code, 1) << args << "\n" << result.output;
    EXPECT_EQ(count_lines(result.output), 1) << args << "\n" << result.output;
    EXPECT_EQ(result.output.rfind("mlp: ", 0), 0u) << args << "\n" << result.output;
    EXPECT_NE(result.output.find(what), std::string::npos) << args << "\n" << result.output;
  }
  std::string train_csv(const std::string& csv, const std::string& layers = "--layers 4-8-3", int epochs = 1) const {
    return "train --data '" + csv + "' --label-column y " + layers + " --epochs " + std::to_string(epochs) +
           " --batch-size 8 --quiet";
  }
  ScratchDir dir;
};

TEST_F(CliErrors, NotFiniteValuesInCsv) {
  std::ofstream(dir / "nan.csv") << "a,b,c,d,y\n1,2,3,4,0\n1,nan,3,4,1\n";
  expect_error(train_csv(dir / "nan.csv"), "nan.csv:3: column 'b' (1): missing value ('nan')");
  std::ofstream(dir / "inf.csv") << "a,b,c,d,y\n1,2,3,4,inf\n";
  expect_error(train_csv(dir / "inf.csv"), "inf.csv:2: column 'y' (4): 'inf' is not a finite number");
  std::ofstream(dir / "big.csv") << "a,b,c,d,y\n1,2,1e39,4,1\n";  // beyond float: not finite either
  expect_error(train_csv(dir / "big.csv"), "big.csv:2: column 'c' (2): '1e39' is not a finite number");
  std::ofstream(dir / "pixels.csv") << "7,0,-inf,3\n";  // the MNIST form
  expect_error("train --data '" + dir / "pixels.csv" + "' --epochs 1", "'-inf' is not a finite number");
}

TEST_F(CliErrors, ControlCharactersOfTheInputAreEscapedInTheOneLine) {
  // A quoted CSV field may hold a newline; the message quoting it stays one line.
  std::ofstream(dir / "newline.csv") << "a,b,y\n\"1\n2\",3,0\n4,5,1\n";
  expect_error("train --data '" + dir / "newline.csv" + "' --label-column y --epochs 1 --quiet",
               "newline.csv:2: column 'a' (0): '1\\n2' is not a number");
  std::ofstream(dir / "control.csv") << "a,b,y\n\"x\ty\x01\",3,0\n4,5,1\n";
  expect_error("train --data '" + dir / "control.csv" + "' --label-column y --epochs 1 --quiet", "'x\\ty\\x01'");
}

TEST_F(CliErrors, EmptyFiles) {
  std::ofstream(dir / "empty.csv").flush();
  expect_error(train_csv(dir / "empty.csv"), "empty.csv: no samples");
  std::ofstream(dir / "header.csv") << "a,b,c,d,y\n";
  expect_error(train_csv(dir / "header.csv"), "header.csv: no samples");
  std::ofstream(dir / "empty.safetensors").flush();
  expect_error("eval --model '" + dir / "empty.safetensors" + "' --data '" + dir / "d.csv" + "' --label-column y",
               "empty.safetensors: too short for a safetensors file (0 bytes)");
  ScratchDir mnist;
  for (const char* name : {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                           "t10k-labels-idx1-ubyte"})
    std::ofstream(mnist / name).flush();
  expect_error("train --data '" + mnist.path() + "' --epochs 1", "train-images-idx3-ubyte: too short for an IDX file (0 bytes)");
}

TEST_F(CliErrors, FolderWhereAFileIsExpected) {
  const std::string folder = dir / "folder";
  ASSERT_EQ(mkdir(folder.c_str(), 0755), 0);
  expect_error(train_csv(dir / "d.csv") + " --test '" + folder + "'", folder + ": is a directory, expected a file");
  expect_error(train_csv(dir / "d.csv", "") + " --init '" + folder + "'", folder + ": is a directory, expected a file");
  expect_error("eval --model '" + folder + "' --data '" + dir / "d.csv" + "'", folder + ": is a directory, expected a file");
  expect_error("predict --model '" + folder + "' --input '" + dir / "d.csv" + "'", folder + ": is a directory");
  // A folder as --data is read as an MNIST folder; this one lacks the files.
  expect_error("train --data '" + folder + "' --epochs 1", "train-images-idx3-ubyte: not found");
  // Outputs: nothing is trained for nothing; the folder stays a folder.
  expect_error(train_csv(dir / "d.csv") + " --out '" + folder + "'", folder + ": is a directory, expected a file");
  expect_error(train_csv(dir / "d.csv") + " --metrics '" + folder + "'", folder + ": is a directory, expected a file");
  EXPECT_TRUE(test::run("test -d '" + folder + "'").exit_code == 0);
}

TEST_F(CliErrors, UnreadableFiles) {
  // A path through a file: no permission trick needed, so this runs as root too.
  expect_error(train_csv(dir / "d.csv/x.csv"), "d.csv/x.csv: Not a directory");
  expect_error("eval --model '" + dir / "d.csv/m" + "' --data '" + dir / "d.csv" + "'", "d.csv/m: Not a directory");
  expect_error(train_csv(dir / "missing.csv"), "missing.csv: No such file or directory");
  if (geteuid() == 0) GTEST_SKIP() << "running as root: chmod 000 does not stop root from reading";
  const std::string locked = dir / "locked.csv";
  test::run("cp '" + dir / "d.csv" + "' '" + locked + "' && chmod 000 '" + locked + "'");
  expect_error(train_csv(locked), "locked.csv: Permission denied");
}

// A file name with the byte 0xff (not UTF-8): used as given, printed as given in errors, and
// never put into JSON (nlohmann's dump() throws on invalid UTF-8).
TEST_F(CliErrors, FileNamesThatAreNotUtf8) {
  const std::string odd = dir / "d\xff.csv", model = dir / "m\xff.safetensors", metrics = dir / "m\xff.jsonl";
  test::run("cp '" + dir / "d.csv" + "' '" + odd + "'");
  const auto trained = run("'" + mlp_binary + "' " + train_csv(odd) + " --out '" + model + "' --metrics '" + metrics + "'");
  ASSERT_EQ(trained.exit_code, 0) << trained.output;
  EXPECT_TRUE(test::exists(model));
  EXPECT_EQ(json::parse(test::run("cat '" + metrics + "'").output)["epoch"], 1);

  const auto evaluated = run("'" + mlp_binary + "' eval --model '" + model + "' --data '" + odd + "' --label-column y --json");
  ASSERT_EQ(evaluated.exit_code, 0) << evaluated.output;
  EXPECT_EQ(json::parse(evaluated.output)["count"], 30);
  const auto predicted = run("'" + mlp_binary + "' predict --model '" + model + "' --input '" + odd + "' --label-column y --json");
  ASSERT_EQ(predicted.exit_code, 0) << predicted.output;
  EXPECT_EQ(json::parse(predicted.output)["predictions"].size(), 30u);
  const auto plain = run("'" + mlp_binary + "' eval --model '" + model + "' --data '" + odd + "' --label-column y");
  EXPECT_EQ(plain.exit_code, 0) << plain.output;
  EXPECT_NE(plain.output.find(odd), std::string::npos) << plain.output;

  expect_error(train_csv(dir / "gone\xff.csv"), dir / "gone\xff.csv: No such file or directory");
  std::ofstream(dir / "bad\xff.csv") << "a,b,c,d,y\n1,2,x,4,0\n";
  expect_error(train_csv(dir / "bad\xff.csv"), dir / "bad\xff.csv:2: column 'c' (2): 'x' is not a number");
}

// `ulimit -f` (RLIMIT_FSIZE) makes writes past the limit fail with EFBIG, as a full disk makes
// them fail with ENOSPC; mlp ignores SIGXFSZ so that it can say so.
TEST_F(CliErrors, FullDiskKeepsTheOldModel) {
  const std::string model = dir / "m.safetensors";
  const auto small = run("'" + mlp_binary + "' " + train_csv(dir / "d.csv") + " --out '" + model + "'");
  ASSERT_EQ(small.exit_code, 0) << small.output;
  const std::vector<std::uint8_t> before = test::read_bytes(model);
  // 4-20000-3: 160,003 parameters, 640 KB; the limit is 200 blocks (100 KB in sh's 512-byte blocks).
  const std::string big = "train --data '" + dir / "d.csv" + "' --label-column y --layers 4-20000-3 --epochs 1 --quiet";
  const auto result = run("ulimit -f 200 && exec '" + mlp_binary + "' " + big + " --out '" + model + "'");
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_EQ(result.output, "mlp: " + model + ": write failed: File too large\n");
  EXPECT_EQ(test::read_bytes(model), before);
  EXPECT_EQ(test::run("ls '" + dir.path() + "'").output, "d.csv\nm.safetensors\n");
}

TEST_F(CliErrors, MaxMemoryRefusesBeforeAllocating) {
  // 4-100000-3 with batch 4096: the activations alone are 4 x 4096 x (2 x 100003 + 2 x 100000
  // + 7) bytes, 6.1 GiB; refused at once, before anything is allocated for it.
  expect_error("train --data '" + dir / "d.csv" + "' --label-column y --layers 4-100000-3 --batch-size 4096 --epochs 1 "
               "--max-memory 100M",
               "--max-memory: 4-100000-3 with batch 4096 needs 6.1 GiB (parameters 3.1 MiB, gradients 3.1 MiB, "
               "optimizer state 6.1 MiB, activations 6.1 GiB, data 600 bytes) > 100 MiB");
  const auto fits = run("'" + mlp_binary + "' " + train_csv(dir / "d.csv") + " --max-memory 1G");
  EXPECT_EQ(fits.exit_code, 0) << fits.output;
  const auto bad = run("'" + mlp_binary + "' " + train_csv(dir / "d.csv") + " --max-memory lots");
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
}

// `mlp serve` runs mlp-serve and `mlp export` mlp-onnx, from mlp's own folder; an mlp copied away
// from them says so.
TEST_F(CliErrors, CommandsWithoutTheirPrograms) {
  std::filesystem::create_directory(dir / "alone");
  std::filesystem::copy_file(mlp_binary, dir / "alone/mlp");
  for (const auto& [args, message] : {std::pair<std::string, std::string>{"serve --model m.safetensors", "mlp-serve (mlp serve)"},
                                      {"export --model m.safetensors --onnx m.onnx", "mlp-onnx (mlp export)"}}) {
    const auto result = run("'" + dir / "alone/mlp" + "' " + args);
    EXPECT_EQ(result.exit_code, 1) << result.output;
    EXPECT_EQ(count_lines(result.output), 1) << result.output;
    EXPECT_NE(result.output.find("mlp: cannot run " + dir / "alone/" + message + ": No such file"), std::string::npos)
        << result.output;
  }
}

TEST_F(CliErrors, OutputsAreCheckedBeforeTraining) {
  // A missing folder for --out: said at once, not after the epochs.
  expect_error(train_csv(dir / "d.csv", "--layers 4-8-3", 100000) + " --out '" + dir / "no/m.safetensors" + "'",
               dir / "no/m.safetensors: cannot create a file in " + dir / "no: No such file or directory");
  expect_error(train_csv(dir / "d.csv", "--layers 4-8-3", 100000) + " --metrics '" + dir / "d.csv/m.jsonl" + "'",
               "d.csv/m.jsonl: cannot create a file in " + dir / "d.csv: Not a directory");
}

}  // namespace
}  // namespace mlp
