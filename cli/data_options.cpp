// Where the subcommands' data comes from: --data, --dataset, --test and --label-column.
#include <sys/stat.h>

#include <mlp/error.hpp>

#include "commands.hpp"

namespace mlp::cli {

void add_data_options(CLI::App& command, DataOptions& data) {
  auto* folder = command.add_option("--data", data.data,
                                    "Folder with the four MNIST IDX files (.gz or not), or a CSV file")
                     ->capture_default_str();
  command.add_option("--dataset", data.dataset, "Shortcut: mnist (data/mnist) or fashion (Debian's dataset-fashion-mnist)")
      ->check(CLI::IsMember({"mnist", "fashion"}))
      ->excludes(folder);
  command.add_option("--test", data.test, "Test CSV file, when --data is a CSV file");
  command.add_option("--label-column", data.label_column,
                     "CSV: name or 0-based index of the label column; the other columns are float features "
                     "(without it: label first, then pixels 0..255)");
}


bool is_folder(const std::string& path) {
  struct stat info {};
  return stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

std::string data_path(const DataOptions& options) {
  if (options.dataset == "fashion") {
    const std::string folder = "/usr/share/datasets/fashion-mnist";
    if (!is_folder(folder))
      throw Error("--dataset fashion: " + folder + " not found; install it with: apt-get install dataset-fashion-mnist");
    return folder;
  }
  return options.dataset == "mnist" ? "data/mnist" : options.data;
}

CsvOptions csv_options(const std::string& label_column) {
  CsvOptions csv;
  csv.label_column = label_column;
  csv.pixels = label_column.empty();  // the MNIST form holds pixels; general CSV holds floats
  return csv;
}

// The training and test sets named by the data options; the test set may be absent for CSV.
std::pair<Dataset, std::optional<Dataset>> load_data(const DataOptions& options) {
  const std::string path = data_path(options);
  if (is_folder(path)) {
    if (!options.test.empty()) throw Error("--test: only for CSV data; " + path + " is a folder with its own test files");
    TrainTest sets = read_idx_folder(path);
    return {std::move(sets.train), std::move(sets.test)};
  }
  const CsvOptions csv = csv_options(options.label_column);
  std::optional<Dataset> test;
  if (!options.test.empty()) test = read_csv(options.test, csv);
  return {read_csv(path, csv), std::move(test)};
}

nlohmann::json optional_number(const std::optional<double>& value) { return value ? nlohmann::json(*value) : nlohmann::json(nullptr); }

}  // namespace mlp::cli
