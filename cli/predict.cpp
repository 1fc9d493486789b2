// `mlp predict`: the class and probabilities (or outputs) of a model for each sample of a file.
#include <cstdio>
#include <string>

#include <mlp/model_file.hpp>
#include <mlp/training.hpp>

#include "commands.hpp"

namespace mlp::cli {

using nlohmann::json;

CLI::App* add_predict_command(CLI::App& app, PredictCommand& command) {
  CLI::App* command_app = app.add_subcommand("predict", "Class and probabilities for each sample of a file");
  command_app->add_option("--model", command.model, "Model file")->required();
  command_app->add_option("--input", command.input, "IDX images file (.gz or not) or CSV file")->required();
  command_app->add_option("--label-column", command.label_column, "CSV: a label column to ignore (name or index)");
  command_app->add_flag("--json", command.json, "Print one JSON document");
  return command_app;
}

int run_predict(const PredictCommand& command) {
  Network<float> net = load_model(command.model);
  const Architecture& arch = net.architecture();
  Dataset data;
  const bool csv = command.input.size() >= 4 && (command.input.ends_with(".csv") || command.input.ends_with(".csv.gz"));
  if (!csv) {
    data = read_idx(command.input, "");
  } else {
    CsvOptions options;
    options.label_column = command.label_column;
    options.pixels = arch.pixel_input;
    // Without --label-column, one column more than the network's inputs is a leading label.
    options.labelled = !command.label_column.empty() || csv_columns(command.input) == arch.sizes[0] + 1;
    data = read_csv(command.input, options);
  }
  const Matrix<float> outputs = predict(net, data);

  json predictions = json::array();
  for (int s = 0; s < outputs.cols(); ++s) {
    const float* a = outputs.view().col(s);
    json item = {{"index", s}};
    if (arch.task == Task::regression) {
      item["output"] = std::vector<float>(a, a + outputs.rows());
    } else {
      item["class"] = predicted_class(arch.task, a, outputs.rows());
      if (arch.task == Task::binary) item["probability"] = a[0];
      else item["probabilities"] = std::vector<float>(a, a + outputs.rows());
    }
    if (command.json) predictions.push_back(std::move(item));
    else if (arch.task == Task::regression) std::printf("%d %s\n", s, item["output"].dump().c_str());
    else {
      const int c = item["class"];
      std::printf("%d class %d probability %.6f\n", s, c, arch.task == Task::binary ? a[0] : a[c]);
    }
  }
  if (command.json) std::printf("%s\n", json{{"predictions", predictions}}.dump().c_str());
  return 0;
}

}  // namespace mlp::cli
