// `mlp predict`: the class and probabilities (or outputs) of a model for each sample of a file.
#include <cstdio>
#include <string>

#include <mlp/model_file.hpp>
#include <mlp/training.hpp>

#include "commands.hpp"
#include "prediction_json.hpp"
#include "progress.hpp"

namespace mlp::cli {

using nlohmann::json;

CLI::App* add_predict_command(CLI::App& app, PredictCommand& command) {
  CLI::App* command_app = app.add_subcommand("predict", "Class and probabilities for each sample of a file");
  command_app->add_option("--model", command.model, "Model file")->required();
  command_app->add_option("--input", command.input, "IDX images file (.gz or not) or CSV file")->required();
  command_app->add_option("--label-column", command.label_column, "CSV: a label column to ignore (name or index)");
  command_app->add_flag("--json", command.json, "Print one JSON document");
  command_app->add_option("--threshold", command.threshold, "Binary: the positive class from this probability up")
      ->check(CLI::Range(0.0, 1.0))->capture_default_str();
  add_verbosity_flags(*command_app, command.quiet, command.verbose,
                      "Print only the class (regression: the outputs) of each sample, one line each",
                      "Print a header and every class probability of each sample");
  return command_app;
}

Dataset read_inputs(const std::string& path, const std::string& label_column, const Architecture& arch) {
  const bool csv = path.ends_with(".csv") || path.ends_with(".csv.gz");
  if (!csv) return read_idx(path, "");
  CsvOptions options;
  options.label_column = label_column;
  options.pixels = arch.pixel_input;
  // Without --label-column, one column more than the network's inputs is a leading label.
  options.labelled = !label_column.empty() || csv_columns(path) == arch.sizes[0] + 1;
  return read_csv(path, options);
}

int run_predict(const PredictCommand& command) {
  const Stopwatch clock;
  Network<float> net = load_model(command.model);
  const Architecture& arch = net.architecture();
  const Dataset data = read_inputs(command.input, command.label_column, arch);
  const Matrix<float> outputs = predict(net, data);
  const bool verbose = command.verbose && !command.json;
  if (verbose)
    std::printf("model %s (%s, %s, %s): %zu samples from %s in %.3f s\n", command.model.c_str(),
                arch.layers_string().c_str(), to_string(arch.hidden_activation).c_str(), to_string(arch.task).c_str(), data.count,
                data.feature_source.c_str(), clock.seconds());

  json predictions = json::array();
  for (int s = 0; s < outputs.cols(); ++s) {
    const float* a = outputs.view().col(s);
    json item = prediction_json(arch, a, command.threshold);
    item["index"] = s;
    if (command.json) {
      predictions.push_back(std::move(item));
    } else if (arch.task == Task::regression) {
      if (command.quiet) std::printf("%s\n", item["output"].dump().c_str());
      else std::printf("%d %s\n", s, item["output"].dump().c_str());
    } else {
      const int c = item["class"];
      if (command.quiet) std::printf("%d\n", c);
      else std::printf("%d class %d probability %.6f", s, c, arch.task == Task::binary ? a[0] : a[c]);
      if (verbose && arch.task == Task::multiclass) {
        std::printf("  [");
        for (int k = 0; k < outputs.rows(); ++k) std::printf("%s%.4f", k ? " " : "", a[k]);
        std::printf("]");
      }
      if (!command.quiet) std::printf("\n");
    }
  }
  if (command.json) std::printf("%s\n", json{{"predictions", predictions}}.dump().c_str());
  return 0;
}

}  // namespace mlp::cli
