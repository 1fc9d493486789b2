// The `mlp` subcommands: their options, and the functions that run them over the library.
#pragma once

#include <cstdint>
#include <string>

namespace mlp::cli {

// Where data comes from: an MNIST-like folder of IDX files, or CSV files.
struct DataOptions {
  std::string data = "data/mnist";  // folder of the four IDX files, or a training CSV file
  std::string dataset;              // shortcut: "mnist" or "fashion"
  std::string test;                 // a test CSV file, when `data` is a CSV file
  std::string label_column;         // CSV: the label's column name or index (general numeric CSV)
};

struct TrainCommand {
  DataOptions data;
  std::string layers;               // empty: {n[0]}-128-{outputs of the task}
  std::string activation = "relu";
  std::string task = "multiclass";
  int positive = 1;
  int epochs = 10;
  int batch_size = 64;
  double learning_rate = 0.1;
  std::uint64_t seed = 1;
  bool no_shuffle = false;
  double val_split = 0;
  std::string out;
  std::string metrics;
  std::string init;
  bool quiet = false;
};

struct EvalCommand {
  DataOptions data;
  std::string model;
  bool json = false;
};

struct PredictCommand {
  std::string model;
  std::string input;
  std::string label_column;
  bool json = false;
};

struct GradcheckCommand {
  std::string layers;               // empty: 10-8-6-{1 for binary, 4 otherwise}
  std::string activation = "relu";
  std::string task = "multiclass";
  int samples = 8;
  std::uint64_t seed = 1;
  double tolerance = 1e-6;
  std::size_t max_parameters = 4000;
};

int run_train(const TrainCommand& command);
int run_eval(const EvalCommand& command);
int run_predict(const PredictCommand& command);
int run_gradcheck(const GradcheckCommand& command);

}  // namespace mlp::cli
