// The `mlp` subcommands: their options, and the functions that run them over the library.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <mlp/data.hpp>
#include <mlp/training.hpp>

namespace CLI {
class App;
}  // namespace CLI

namespace mlp::cli {

// How CSV files are written: --header/--no-header and --separator (see tabular.hpp).
struct CsvFormatOptions {
  bool header = false, no_header = false;
  std::string separator;  // "," ";" "tab" "space"; empty: detected
};

// Where data comes from: an MNIST-like folder of IDX files, or CSV files.
struct DataOptions {
  CsvFormatOptions format;
  std::string data = "data/mnist";  // folder of the four IDX files, or a training CSV file
  std::string dataset;              // shortcut: "mnist" or "fashion"
  std::string test;                 // a test CSV file, when `data` is a CSV file
  std::string label_column;         // CSV: the label's column name or index (general numeric CSV)
};

// Training on a table: a test split of the one file, and how its features are preprocessed
// (tabular.hpp).
struct TableOptions {
  double test_split = 0;
  std::string scale;                     // standard, minmax, none; empty: standard for features
  std::string impute = "none";           // mean, median, none
  std::vector<std::string> categorical;  // columns one-hot encoded
};

// `mlp train`: the training options themselves (bound to the flags as they are), and what the
// command line adds around them: the network to build, the data, the outputs.
struct TrainCommand {
  DataOptions data;
  TrainOptions options;             // --epochs, --batch-size, --lr, --optimizer, ... (training.hpp)
  std::string layers;               // empty: {n[0]}-128-{outputs of the task}
  std::string activation = "relu";
  std::string task = "multiclass";
  std::string positive = "1";       // binary: a class name, or a label number
  std::uint64_t seed = 1;
  double val_split = 0;
  TableOptions table;
  std::string out;
  std::string metrics;
  std::uint64_t max_memory = 0;     // --max-memory in bytes; 0: no limit
  std::string init;
  bool quiet = false;
  bool verbose = false;             // data loading time, per-epoch timings
  std::string plot;                 // learning curves (SVG), rewritten after every epoch
  std::string checkpoint = "checkpoint.safetensors";  // where checkpoints go (every N epochs, Ctrl-C)
  std::string resume;               // a checkpoint to go on from
  double comm_timeout = 120;        // under mpirun: seconds a rank waits for another (docs/distributed.md)
  std::vector<std::string> given;   // the options given on the command line, by long name
};

struct EvalCommand {
  DataOptions data;
  std::string model;
  bool json = false;
  bool quiet = false;               // one line: accuracy (or loss), samples
  bool verbose = false;             // per-class table, timings
  std::string confusion;            // heat map of the confusion matrix (PNG)
  int top_k = 5;                    // multiclass: also the top-k accuracy
  double threshold = 0.5;           // binary: class 1 from this probability up
};

struct PredictCommand {
  CsvFormatOptions format;
  std::string model;
  std::string input;
  std::string label_column;
  bool json = false;
  bool quiet = false;               // the class (or outputs) only, one line per sample
  bool verbose = false;             // every probability, and a header
  double threshold = 0.5;           // binary: class 1 from this probability up
};

struct GradcheckCommand {
  std::string layers;               // empty: 10-8-6-{1 for binary, 4 otherwise}
  std::string activation = "relu";
  std::string task = "multiclass";
  int samples = 8;
  std::uint64_t seed = 1;
  double tolerance = 1e-6;
  std::size_t max_parameters = 4000;
  bool quiet = false;               // only PASS or FAIL
  bool verbose = false;             // parameters per layer, the stencil, timing
};

struct ShowCommand {
  std::string model;
  bool json = false;
  bool quiet = false;               // only the totals line
  bool verbose = false;             // weight statistics per layer
  std::string weights;              // first-layer weights as tiles (PNG)
  std::string input;                // an IDX images file or a CSV file ...
  std::size_t index = 0;            // ... and the sample in it to show and predict
  std::string out;                  // that sample as a picture (PNG)
  std::string label_column;
  int scale = 0;                    // pixels per weight or pixel; 0: 3 for --weights, 8 for --out
};

// Each subcommand: its options added to `app` (stored into `command`), and the function that runs it.
CLI::App* add_train_command(CLI::App& app, TrainCommand& command);
CLI::App* add_eval_command(CLI::App& app, EvalCommand& command);
CLI::App* add_predict_command(CLI::App& app, PredictCommand& command);
CLI::App* add_gradcheck_command(CLI::App& app, GradcheckCommand& command);
CLI::App* add_show_command(CLI::App& app, ShowCommand& command);
int run_train(const TrainCommand& command);
int run_eval(const EvalCommand& command);
int run_predict(const PredictCommand& command);
int run_gradcheck(const GradcheckCommand& command);
int run_show(const ShowCommand& command);

// Shared by the subcommands (data_options.cpp).
void add_data_options(CLI::App& command, DataOptions& data);
bool is_folder(const std::string& path);
std::string data_path(const DataOptions& options);  // the folder or CSV file the options name
CsvOptions csv_options(const std::string& label_column);
// The training and test sets named by the data options; the test set may be absent for CSV.
std::pair<Dataset, std::optional<Dataset>> load_data(const DataOptions& options);
nlohmann::json optional_number(const std::optional<double>& value);

}  // namespace mlp::cli
