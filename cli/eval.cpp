// `mlp eval`: loss, accuracy, per-class scores and the confusion matrix of a model on a test set.
#include <cstdio>
#include <string>

#include <mlp/model_file.hpp>
#include <mlp/training.hpp>

#include "commands.hpp"

namespace mlp::cli {

namespace {

using nlohmann::json;

json evaluation_json(const Evaluation& e, const Architecture& arch) {
  json out = {{"count", e.count}, {"loss", e.loss}, {"accuracy", optional_number(e.accuracy)}};
  if (arch.task == Task::regression) return out;
  out["confusion"] = e.confusion;
  if (arch.task == Task::binary)
    out.update({{"positive", arch.positive}, {"precision", e.precision(1)}, {"recall", e.recall(1)}, {"f1", e.f1(1)}});
  else {
    json per_class = json::array();
    for (int c = 0; c < arch.classes(); ++c)
      per_class.push_back({{"class", c}, {"precision", e.precision(c)}, {"recall", e.recall(c)}, {"f1", e.f1(c)}});
    out["per_class"] = per_class;
  }
  return out;
}

void print_evaluation(const Evaluation& e, const Architecture& arch, const std::string& source) {
  std::printf("%s: %zu samples\nloss      %.6f\n", source.c_str(), e.count, e.loss);
  if (e.accuracy) std::printf("accuracy  %.2f%%\n", 100 * *e.accuracy);
  if (arch.task == Task::binary)
    std::printf("positive class %d: precision %.4f  recall %.4f  F1 %.4f\n", arch.positive, e.precision(1),
                e.recall(1), e.f1(1));
  if (arch.task == Task::regression) return;
  std::printf("confusion matrix (rows: true class, columns: predicted)\n      ");
  const int k = arch.classes();
  for (int c = 0; c < k; ++c) std::printf("%7d", c);
  std::printf("\n");
  for (int t = 0; t < k; ++t) {
    std::printf("%6d", t);
    for (int p = 0; p < k; ++p) std::printf("%7zu", e.confusion[t][p]);
    std::printf("\n");
  }
}

}  // namespace

CLI::App* add_eval_command(CLI::App& app, EvalCommand& command) {
  CLI::App* command_app = app.add_subcommand("eval", "Loss, accuracy and confusion matrix of a model on the test split");
  command_app->add_option("--model", command.model, "Model file")->required();
  add_data_options(*command_app, command.data);
  command_app->add_flag("--json", command.json, "Print one JSON document");
  return command_app;
}

int run_eval(const EvalCommand& command) {
  Network<float> net = load_model(command.model);
  const std::string path = data_path(command.data);
  Dataset data;
  if (is_folder(path)) data = read_idx_folder(path).test;
  else data = read_csv(command.data.test.empty() ? path : command.data.test, csv_options(command.data.label_column));
  const Evaluation result = evaluate(net, data);
  if (command.json) std::printf("%s\n", evaluation_json(result, net.architecture()).dump(2).c_str());
  else print_evaluation(result, net.architecture(), data.feature_source);
  return 0;
}

}  // namespace mlp::cli
