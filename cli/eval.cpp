// `mlp eval`: loss, accuracy, per-class scores and the confusion matrix of a model on a test set.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <string>

#include <mlp/error.hpp>
#include <mlp/file_io.hpp>
#include <mlp/model.hpp>
#include <mlp/training.hpp>

#include "commands.hpp"
#include "pictures.hpp"
#include "progress.hpp"
#include "tabular.hpp"

namespace mlp::cli {

namespace {

using nlohmann::json;

// Class names for the picture and the tables: the model's names, the digits, or for binary models
// the negative and the positive class.
std::vector<std::string> class_names(const Model& model) {
  std::vector<std::string> names;
  for (int c = 0; c < model.network.architecture().classes(); ++c) names.push_back(model.class_name(c));
  return names;
}

json evaluation_json(const Evaluation& e, const Architecture& arch, const std::vector<std::string>& names) {
  json out = {{"count", e.count}, {"loss", e.loss}, {"accuracy", optional_number(e.accuracy)}};
  if (arch.task == Task::regression) {
    out.update({{"mse", optional_number(e.mse)}, {"rmse", optional_number(e.rmse)}, {"r2", optional_number(e.r2)}});
    return out;
  }
  out["confusion"] = e.confusion;
  if (e.top_k_accuracy) out.update({{"top_k", e.top_k}, {"top_k_accuracy", *e.top_k_accuracy}});
  out["classes"] = names;
  if (arch.task == Task::binary)
    out.update({{"positive", arch.positive}, {"positive_name", names[1]}, {"threshold", e.threshold}, {"roc_auc", optional_number(e.roc_auc)},
                {"precision", e.precision(1)}, {"recall", e.recall(1)}, {"f1", e.f1(1)}});
  else {
    json per_class = json::array();
    for (int c = 0; c < arch.classes(); ++c)
      per_class.push_back({{"class", c}, {"name", names[c]}, {"precision", e.precision(c)}, {"recall", e.recall(c)}, {"f1", e.f1(c)}});
    out["per_class"] = per_class;
  }
  return out;
}

void print_evaluation(const Evaluation& e, const Architecture& arch, const std::vector<std::string>& names,
                      const std::string& source) {
  std::printf("%s: %zu samples\nloss      %.6f\n", source.c_str(), e.count, e.loss);
  if (e.accuracy) std::printf("accuracy  %.2f%%\n", 100 * *e.accuracy);
  if (e.r2) std::printf("MSE       %.6g\nRMSE      %.6g\nR²        %.4f\n", *e.mse, *e.rmse, *e.r2);
  if (e.top_k_accuracy) std::printf("top-%d     %.2f%%\n", e.top_k, 100 * *e.top_k_accuracy);
  if (arch.task == Task::binary) {
    std::printf("positive class %s (probability >= %g): precision %.4f  recall %.4f  F1 %.4f\n", names[1].c_str(),
                e.threshold, e.precision(1), e.recall(1), e.f1(1));
    if (e.roc_auc) std::printf("ROC AUC   %.4f\n", *e.roc_auc);
  }
  if (arch.task == Task::regression) return;
  // Columns as wide as the longest name, at least 6.
  const int k = arch.classes();
  int width = 6;
  for (const std::string& name : names) width = std::max(width, static_cast<int>(name.size()));
  std::printf("confusion matrix (rows: true class, columns: predicted)\n%*s", width, "");
  for (int c = 0; c < k; ++c) std::printf(" %*s", width, names[c].c_str());
  std::printf("\n");
  for (int t = 0; t < k; ++t) {
    std::printf("%*s", width, names[t].c_str());
    for (int p = 0; p < k; ++p) std::printf(" %*zu", width, e.confusion[t][p]);
    std::printf("\n");
  }
}

// --verbose: each class's support (true count), predictions, precision, recall and F1.
void print_per_class(const Evaluation& e, const Architecture& arch, const std::vector<std::string>& names) {
  std::printf("class   support  predicted  precision  recall  F1\n");
  const int k = arch.classes();
  for (int c = 0; c < k; ++c) {
    std::size_t support = 0, predicted = 0;
    for (int other = 0; other < k; ++other) support += e.confusion[c][other], predicted += e.confusion[other][c];
    std::printf("%-6s %8zu %10zu %10.4f %7.4f %7.4f\n", names[c].c_str(), support, predicted, e.precision(c), e.recall(c),
                e.f1(c));
  }
}

}  // namespace

CLI::App* add_eval_command(CLI::App& app, EvalCommand& command) {
  CLI::App* command_app = app.add_subcommand("eval", "Loss, accuracy and confusion matrix of a model on the test split");
  command_app->add_option("--model", command.model, "Model file")->required();
  add_data_options(*command_app, command.data);
  command_app->add_flag("--json", command.json, "Print one JSON document");
  command_app->add_option("--confusion", command.confusion,
                          "Write the confusion matrix as a heat map here (PNG; rows true class, columns predicted)");
  command_app->add_option("--top-k", command.top_k, "Multiclass: also the share whose true class is among the k most probable")
      ->check(CLI::PositiveNumber)->capture_default_str();
  command_app->add_option("--threshold", command.threshold, "Binary: predict the positive class from this probability up")
      ->check(CLI::Range(0.0, 1.0))->capture_default_str();
  add_verbosity_flags(*command_app, command.quiet, command.verbose, "Print one line: accuracy (or loss) and samples",
                      "Also print precision, recall and F1 of every class, and timings");
  return command_app;
}

int run_eval(const EvalCommand& command) {
  const Stopwatch clock;
  Model model = Model::load(command.model);
  Network<float>& net = model.network;
  const Architecture& arch = net.architecture();
  if (!command.confusion.empty() && arch.task == Task::regression)
    throw Error("--confusion: " + command.model + " is a regression model; it has no confusion matrix");
  const std::string path = data_path(command.data);
  const std::string file = command.data.test.empty() ? path : command.data.test;
  Dataset data;
  if (is_folder(path)) {
    data = read_idx_folder(path).test;
  } else if (model.preprocessing.identity()) {
    CsvOptions csv = csv_format(command.data.format);
    csv.label_column = command.data.label_column;
    csv.pixels = arch.pixel_input;
    data = read_csv(file, csv);
  } else {
    data = model.read_csv(file, csv_format(command.data.format), true);
  }
  const std::vector<std::string> names = arch.task == Task::regression ? std::vector<std::string>{} : class_names(model);
  const double loaded = clock.seconds();
  EvaluationOptions options;
  options.top_k = command.top_k;
  options.threshold = command.threshold;
  const Evaluation result = evaluate(net, data, options);
  const double evaluated = clock.seconds();
  if (!command.confusion.empty()) {
    char accuracy[32];
    std::snprintf(accuracy, sizeof accuracy, "%.2f%%", 100 * result.accuracy.value_or(0));
    const std::string title = arch.layers_string() + ": " + accuracy + " of " + std::to_string(result.count) + " right";
    write_file_atomically(command.confusion, confusion_picture(result.confusion, names, title).png());
  }
  if (command.json) {
    std::printf("%s\n", evaluation_json(result, arch, names).dump(2).c_str());
  } else if (command.quiet) {
    // The same line as `mlp train` ends with.
    if (result.accuracy)
      std::printf("test accuracy: %.2f%% (%zu samples, loss %.4f)\n", 100 * *result.accuracy, result.count, result.loss);
    else if (result.r2)
      std::printf("test loss: %.6f (%zu samples, MSE %.6g, RMSE %.6g, R² %.4f)\n", result.loss, result.count, *result.mse,
                  *result.rmse, *result.r2);
    else
      std::printf("test loss: %.6f (%zu samples)\n", result.loss, result.count);
  } else {
    if (command.verbose)
      std::printf("model %s: %s (%s, %s), %zu parameters\n", command.model.c_str(), arch.layers_string().c_str(),
                  to_string(arch.hidden_activation).c_str(), to_string(arch.task).c_str(), arch.parameter_count());
    print_evaluation(result, arch, names, data.feature_source);
    if (command.verbose) {
      if (arch.task != Task::regression) print_per_class(result, arch, names);
      std::printf("loaded in %.3f s, evaluated in %.3f s (%.0f samples/s)\n", loaded, evaluated - loaded,
                  result.count / std::max(evaluated - loaded, 1e-9));
    }
    if (!command.confusion.empty()) std::printf("confusion matrix drawn in %s\n", command.confusion.c_str());
  }
  return 0;
}

}  // namespace mlp::cli
