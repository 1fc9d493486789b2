// `mlp predict`: the class and probabilities (or outputs) of a model for each sample of a file.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include <mlp/error.hpp>
#include <mlp/model.hpp>
#include <mlp/training.hpp>

#include "commands.hpp"
#include "prediction_json.hpp"
#include "progress.hpp"
#include "tabular.hpp"

namespace mlp::cli {

using nlohmann::json;

CLI::App* add_predict_command(CLI::App& app, PredictCommand& command) {
  CLI::App* command_app = app.add_subcommand("predict", "Class and probabilities for each sample of a file");
  command_app->add_option("--model", command.model, "Model file")->required();
  command_app->add_option("--input", command.input, "IDX images file (.gz or not) or CSV file of raw features")->required();
  command_app->add_option("--label-column", command.label_column,
                          "CSV: a label column to pass over (name or index; a model trained on a table finds its own)");
  add_csv_format_options(*command_app, command.format);
  command_app->add_flag("--json", command.json, "Print one JSON document");
  command_app->add_option("--threshold", command.threshold, "Binary: the positive class from this probability up")
      ->check(CLI::Range(0.0, 1.0))->capture_default_str();
  add_verbosity_flags(*command_app, command.quiet, command.verbose,
                      "Print only the class (regression: the outputs) of each sample, one line each",
                      "Print a header and every class probability of each sample");
  return command_app;
}

Dataset read_model_inputs(const std::string& path, const std::string& label_column, const Model& model,
                          const CsvFormatOptions& format) {
  const Architecture& arch = model.network.architecture();
  // The file's form decides how it is read, not the model: an IDX file holds pixels.
  if (!path.ends_with(".csv") && !path.ends_with(".csv.gz")) return read_idx(path, "");
  if (!model.preprocessing.identity()) return model.read_csv(path, csv_format(format), false);
  CsvOptions options = csv_format(format);
  options.label_column = label_column;
  options.pixels = arch.pixel_input;
  // Without --label-column, one column more than the network's inputs is a leading label.
  options.labelled = !label_column.empty() || csv_columns(path, options.separator) == arch.sizes[0] + 1;
  Dataset data = read_csv(path, options);
  if (data.features != arch.sizes[0])
    throw Error(path + ": samples have " + std::to_string(data.features) + " values but the model " +
                "takes " + std::to_string(arch.sizes[0]) + " inputs" +
                (label_column.empty() ? " (name a label column to pass over with --label-column)" : ""));
  return data;
}

int run_predict(const PredictCommand& command) {
  const Stopwatch clock;
  Model model = Model::load(command.model);
  const Architecture& arch = model.network.architecture();
  const Dataset data = read_model_inputs(command.input, command.label_column, model, command.format);
  const Matrix<float> outputs = predict(model.network, data);
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
    const int c = arch.task == Task::regression ? 0 : item["class"].get<int>();
    if (arch.task != Task::regression) item["name"] = model.class_name(c);
    if (command.json) {
      predictions.push_back(std::move(item));
    } else if (arch.task == Task::regression) {
      if (command.quiet) std::printf("%s\n", item["output"].dump().c_str());
      else std::printf("%d %s\n", s, item["output"].dump().c_str());
    } else {
      const std::string name = model.class_name(c);
      // The probability printed is the printed class's own.
      const float probability = arch.task == Task::binary ? (c == 1 ? a[0] : 1 - a[0]) : a[c];
      if (command.quiet) std::printf("%s\n", name.c_str());
      else std::printf("%d class %s probability %.6f", s, name.c_str(), probability);
      if (verbose && arch.task == Task::multiclass) {
        std::printf("  [");
        for (int k = 0; k < outputs.rows(); ++k) std::printf("%s%s %.4f", k ? " " : "", model.class_name(k).c_str(), a[k]);
        std::printf("]");
      }
      if (!command.quiet) std::printf("\n");
    }
  }
  if (command.json) std::printf("%s\n", json{{"predictions", predictions}}.dump().c_str());
  return 0;
}

}  // namespace mlp::cli
