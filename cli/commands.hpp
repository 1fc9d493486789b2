// The `mlp` subcommands: their options, and the functions that run them over the library.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>

#include <mlp/data.hpp>

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

// Each subcommand: its options added to `app` (stored into `command`), and the function that runs it.
CLI::App* add_train_command(CLI::App& app, TrainCommand& command);
CLI::App* add_eval_command(CLI::App& app, EvalCommand& command);
CLI::App* add_predict_command(CLI::App& app, PredictCommand& command);
CLI::App* add_gradcheck_command(CLI::App& app, GradcheckCommand& command);
int run_train(const TrainCommand& command);
int run_eval(const EvalCommand& command);
int run_predict(const PredictCommand& command);
int run_gradcheck(const GradcheckCommand& command);

// Shared by the subcommands (data_options.cpp).
void add_data_options(CLI::App& command, DataOptions& data);
bool is_folder(const std::string& path);
std::string data_path(const DataOptions& options);  // the folder or CSV file the options name
CsvOptions csv_options(const std::string& label_column);
// The training and test sets named by the data options; the test set may be absent for CSV.
std::pair<Dataset, std::optional<Dataset>> load_data(const DataOptions& options);
nlohmann::json optional_number(const std::optional<double>& value);

}  // namespace mlp::cli
