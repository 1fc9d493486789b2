// Reading tables for the subcommands: CSV format options, the training data's splits and
// preprocessing, and a model's view of a file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <mlp/data.hpp>
#include <mlp/model.hpp>
#include <mlp/preprocessing.hpp>

#include "commands.hpp"

namespace CLI {
class App;
}  // namespace CLI

namespace mlp::cli {

void add_csv_format_options(CLI::App& command, CsvFormatOptions& format);
// CsvOptions with the format given (the rest default).
CsvOptions csv_format(const CsvFormatOptions& format);

void add_table_options(CLI::App& command, TableOptions& table);

// The data of a training run, as network inputs: samples of every split preprocessed with what
// was fitted on the training split.
struct TrainingData {
  Dataset train;
  std::optional<Dataset> validation, test;
  Preprocessing preprocessing;  // identity for pixels
  bool mnist_form = false;      // a CSV file taken as label first, then pixels (no --label-column)
};

// The training data the options name: read, classes named (classification), split (--test-split,
// then --val-split, seeded, stratified by class), and preprocessed (--impute, --scale,
// --categorical) with statistics of the training split only. A CSV read in the MNIST form
// (without --label-column) is refused when its label is constant.
// @throws Error naming the file or option of anything that does not fit
// @param fixed for --init and --resume: the model's own preprocessing (classes included), applied
//        instead of one fitted anew; then --scale, --impute and --categorical may not be given
TrainingData load_training_data(const DataOptions& data, const TableOptions& table, Task task, double val_split,
                                std::uint64_t seed, const Preprocessing* fixed = nullptr);

// The samples of a file to predict on: IDX images, or a CSV file read for the model (a model
// trained on a table finds its columns by name or position and passes over the rest; others take
// n[0] columns, or one more, a label, as --label-column says or in first place).
Dataset read_model_inputs(const std::string& path, const std::string& label_column, const Model& model,
                          const CsvFormatOptions& format);

// The output units a new network needs for the task: one for binary and for each regression
// target, one per class (named, or 0..largest label) for multiclass.
int default_outputs(const Dataset& train, Task task);

// The class a --positive value names: a class name, or a label number when the classes have no
// names. @throws Error listing the classes when it is neither
int positive_class(const std::string& positive, const std::vector<std::string>& classes);

}  // namespace mlp::cli
