// Where the subcommands' data comes from (--data, --dataset, --test, --label-column), how CSV files
// are written, and the training data's splits and preprocessing.
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>

#include <mlp/error.hpp>

#include "commands.hpp"
#include "tabular.hpp"

namespace mlp::cli {

void add_csv_format_options(CLI::App& command, CsvFormatOptions& format) {
  auto* header = command.add_flag("--header", format.header, "CSV: the first line names the columns (default: detected)");
  command.add_flag("--no-header", format.no_header, "CSV: the first line is a sample")->excludes(header);
  command.add_option("--separator", format.separator, "CSV: ',' ';' tab or space (default: detected from the first line)")
      ->check(CLI::IsMember({",", ";", "tab", "\t", "space", " "}));
}

CsvOptions csv_format(const CsvFormatOptions& format) {
  CsvOptions csv;
  csv.header = format.header ? CsvHeader::present : format.no_header ? CsvHeader::absent : CsvHeader::detect;
  const std::string& s = format.separator;
  csv.separator = s.empty() ? 0 : s == "tab" || s == "\t" ? '\t' : s == "space" || s == " " ? ' ' : s[0];
  return csv;
}

void add_data_options(CLI::App& command, DataOptions& data) {
  auto* folder = command.add_option("--data", data.data,
                                    "Folder with the four MNIST IDX files (.gz or not), or a CSV file")
                     ->capture_default_str();
  command.add_option("--dataset", data.dataset, "Shortcut: mnist (data/mnist) or fashion (Debian's dataset-fashion-mnist)")
      ->check(CLI::IsMember({"mnist", "fashion"}))
      ->excludes(folder);
  command.add_option("--test", data.test, "Test CSV file, when --data is a CSV file");
  command.add_option("--label-column", data.label_column,
                     "CSV: name or 0-based index of the label column ('#4' always an index, -1 the last; a,b for several "
                     "regression targets); the other columns are features (without it: label first, then pixels 0..255)");
  add_csv_format_options(command, data.format);
}

void add_table_options(CLI::App& command, TableOptions& table) {
  command.add_option("--test-split", table.test_split,
                     "Hold out this fraction of a CSV file as the test set (seeded, stratified by class), before --val-split")
      ->check(CLI::Range(0.0, 1.0));
  command.add_option("--scale", table.scale,
                     "CSV features: standard ((x - mean) / std), minmax or none; statistics of the training split, "
                     "stored in the model (default: standard; pixels are always scaled by 1/255)")
      ->check(CLI::IsMember({"standard", "minmax", "none"}));
  command.add_option("--impute", table.impute,
                     "CSV features: fill missing values (empty, NA, NaN) with the training split's mean or median, "
                     "stored in the model (default none: a missing value is an error)")
      ->check(CLI::IsMember({"mean", "median", "none"}))->capture_default_str();
  command.add_option("--categorical", table.categorical,
                     "CSV: columns (names or indices, comma-separated) of categories, one-hot encoded with the "
                     "categories stored in the model")
      ->delimiter(',');
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
  CsvOptions csv = csv_format(options.format);
  const CsvOptions form = csv_options(options.label_column);
  csv.label_column = form.label_column;
  csv.pixels = form.pixels;
  std::optional<Dataset> test;
  if (!options.test.empty()) test = read_csv(options.test, csv);
  return {read_csv(path, csv), std::move(test)};
}

int default_outputs(const Dataset& train, Task task) {
  if (task == Task::binary) return 1;
  if (task == Task::regression) return train.targets;
  if (!train.classes.empty()) return static_cast<int>(train.classes.size());
  float largest = 1;  // at least two classes: a softmax of one unit is constant
  for (float label : train.labels) largest = std::max(largest, label);
  if (!(largest < 1e6f)) throw Error(train.label_source + ": label " + std::to_string(largest) + " is too large for a class");
  return static_cast<int>(largest) + 1;
}

int positive_class(const std::string& positive, const std::vector<std::string>& classes) {
  if (!classes.empty()) {
    const auto it = std::find(classes.begin(), classes.end(), positive);
    if (it != classes.end()) return static_cast<int>(it - classes.begin());
    std::string list;
    for (const std::string& name : classes) list += (list.empty() ? "" : ", ") + name;
    throw Error("--positive '" + positive + "' is not one of the classes: " + list);
  }
  try {
    std::size_t used = 0;
    const int label = std::stoi(positive, &used);
    if (used == positive.size()) return label;
  } catch (const std::exception&) {
  }
  throw Error("--positive '" + positive + "' is not a label of the data (its labels are numbers)");
}

namespace {

// Refuses a label column that holds one value: nothing to learn, and the sign of a misread file.
void check_labels_vary(const Dataset& data, bool guessed_form) {
  if (data.count < 2 || data.labels.empty()) return;
  for (int k = 0; k < data.targets; ++k) {
    bool varies = false;
    for (std::size_t s = 1; s < data.count && !varies; ++s) varies = data.labels[s * data.targets + k] != data.labels[k];
    if (varies) continue;
    const std::string value = data.classes.empty() ? std::to_string(data.labels[k]) : data.classes[0];
    const std::string column = k < static_cast<int>(data.label_columns.size()) ? data.label_columns[k] : "the label";
    throw Error(data.label_source + ": the label column (" + column + ") holds the same value in all " +
                std::to_string(data.count) + " samples" +
                (guessed_form ? "; without --label-column the file is read in the MNIST form (label first, then pixels): "
                                "name the label column with --label-column (-1 for the last)"
                              : ""));
  }
}

}  // namespace

TrainingData load_training_data(const DataOptions& options, const TableOptions& table, Task task, double val_split,
                                std::uint64_t seed, const Preprocessing* fixed) {
  TrainingData out;
  const std::string path = data_path(options);
  const bool classes = task != Task::regression;
  if (is_folder(path)) {
    if (!options.test.empty()) throw Error("--test: only for CSV data; " + path + " is a folder with its own test files");
    if (table.test_split > 0) throw Error("--test-split: " + path + " is a folder with its own test files");
    if (!table.scale.empty() && table.scale != "none")
      throw Error("--scale: " + path + " holds pixels, which are always scaled by 1/255");
    if (!table.categorical.empty()) throw Error("--categorical: " + path + " holds pixels, not a table");
    TrainTest sets = read_idx_folder(path);
    out.train = std::move(sets.train);
    out.test = std::move(sets.test);
  } else {
    CsvOptions csv = csv_format(options.format);
    csv.label_column = options.label_column;
    csv.pixels = options.label_column.empty();
    csv.allow_missing = table.impute != "none";
    csv.categorical = table.categorical;
    if (fixed) {
      if (!table.scale.empty() || table.impute != "none" || !table.categorical.empty())
        throw Error("--scale, --impute, --categorical: the model given with --init (or the checkpoint) brings its own");
      if (!fixed->identity()) {
        csv.allow_missing = true;
        for (const FeatureColumn& column : fixed->columns) {
          if (column.categories.empty()) continue;
          std::string index(1, '#');
          index += std::to_string(column.index);
          csv.categorical.push_back(fixed->named_columns ? column.name : index);
        }
      }
    }
    out.mnist_form = csv.pixels;
    if (csv.pixels) {
      if (!table.scale.empty() && table.scale != "none")
        throw Error("--scale: " + path + " is read as pixels (no --label-column), which are scaled by 1/255");
      if (!table.categorical.empty()) throw Error("--categorical: needs --label-column (a table, not pixels)");
    }
    out.train = read_csv(path, csv);
    check_labels_vary(out.train, csv.pixels);
    if (!options.test.empty()) {
      if (table.test_split > 0) throw Error("--test-split: a test file is given (--test " + options.test + ")");
      out.test = read_csv(options.test, csv);
    }
  }
  if (classes) {
    if (out.train.targets > 1)
      throw Error(out.train.label_source + ": " + std::to_string(out.train.targets) +
                  " label columns; only --task regression takes several");
    const std::vector<std::string> names = fixed ? fixed->classes : choose_classes(out.train);
    assign_classes(out.train, names);
    if (out.test) assign_classes(*out.test, names);
  } else if (!out.train.classes.empty()) {
    throw Error(out.train.label_source + ": the label column holds texts (" + out.train.classes.front() +
                ", ...); --task regression needs numbers");
  }
  if (table.test_split > 0) out.test = split_off(out.train, table.test_split, seed, classes, "--test-split");
  if (val_split > 0) out.validation = split_off(out.train, val_split, seed, classes, "--val-split");
  if (!out.train.pixel_input) {
    // A model to go on from keeps what it was trained with (nothing, for files from before).
    out.preprocessing = fixed ? *fixed
                                    : fit_preprocessing(out.train, parse_scaling(table.scale.empty() ? "standard" : table.scale),
                                                        parse_imputation(table.impute));
    apply_preprocessing(out.preprocessing, out.train);
    if (out.validation) apply_preprocessing(out.preprocessing, *out.validation);
    if (out.test) apply_preprocessing(out.preprocessing, *out.test);
  }
  return out;
}

nlohmann::json optional_number(const std::optional<double>& value) { return value ? nlohmann::json(*value) : nlohmann::json(nullptr); }

}  // namespace mlp::cli
