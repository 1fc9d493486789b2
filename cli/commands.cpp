// The subcommands train, eval, predict and gradcheck, as thin shells over the mlp library.
#include "commands.hpp"

#include <sys/stat.h>

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include <mlp/data.hpp>
#include <mlp/error.hpp>
#include <mlp/file_io.hpp>
#include <mlp/gradcheck.hpp>
#include <mlp/model_file.hpp>
#include <mlp/training.hpp>

#include "progress.hpp"

namespace mlp::cli {

namespace {

using nlohmann::json;

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

json optional_number(const std::optional<double>& value) { return value ? json(*value) : json(nullptr); }

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

int run_train(const TrainCommand& command) {
  auto [train_set, test_set] = load_data(command.data);
  std::optional<Dataset> validation_set;
  if (command.val_split > 0) validation_set = split_off(train_set, command.val_split);

  Rng rng(command.seed);
  std::optional<Network<float>> net;
  if (!command.init.empty()) {
    net = load_model(command.init);
  } else {
    Architecture arch;
    arch.task = parse_task(command.task);
    arch.hidden = parse_activation(command.activation);
    arch.positive = command.positive;
    arch.pixel_input = train_set.pixel_input;
    if (command.layers.empty()) {
      int outputs = 1;
      if (arch.task == Task::multiclass) {
        // As many classes as the largest label needs, and at least the ten digits of MNIST.
        float largest = 9;
        for (float label : train_set.labels) largest = std::max(largest, label);
        outputs = std::isfinite(largest) && largest < 1e6f ? static_cast<int>(largest) + 1 : 10;
      }
      arch.sizes = {train_set.features, 128, outputs};
    } else {
      arch.sizes = parse_layers(command.layers);
    }
    check_architecture(arch);
    net.emplace(arch);
    net->initialize(rng);
  }
  const Architecture& arch = net->architecture();
  // Check the data against the network before announcing anything.
  check_fits(train_set, arch);
  if (test_set) check_fits(*test_set, arch);
  if (arch.pixel_input != train_set.pixel_input)
    throw Error(train_set.feature_source + ": holds " + (train_set.pixel_input ? "pixels" : "float features") +
                " but the model " + command.init + " was trained on " + (arch.pixel_input ? "pixels" : "float features"));

  TrainOptions options;
  options.epochs = command.epochs;
  options.batch_size = command.batch_size;
  options.learning_rate = command.learning_rate;
  options.shuffle = !command.no_shuffle;

  if (!command.quiet)
    std::printf("training %s (%s, %s) on %zu samples from %s\n", arch.layers_string().c_str(),
                to_string(arch.hidden).c_str(), to_string(arch.task).c_str(), train_set.count,
                data_path(command.data).c_str());
  Progress progress(options.epochs, command.quiet);
  std::string metrics_text;
  TrainCallbacks callbacks;
  callbacks.on_batch = [&](const BatchProgress& p) { progress.batch(p); };
  callbacks.on_epoch = [&](const EpochMetrics& m) {
    progress.epoch(m);
    if (command.metrics.empty()) return;
    json line = {{"epoch", m.epoch},
                 {"train_loss", m.train_loss},
                 {"train_accuracy", optional_number(m.train_accuracy)},
                 {"test_loss", m.test ? json(m.test->loss) : json(nullptr)},
                 {"test_accuracy", m.test ? optional_number(m.test->accuracy) : json(nullptr)},
                 {"seconds", m.seconds},
                 {"samples_per_second", m.samples_per_second},
                 {"learning_rate", options.learning_rate}};
    if (m.validation) {
      line["val_loss"] = m.validation->loss;
      line["val_accuracy"] = optional_number(m.validation->accuracy);
    }
    // The whole file again each epoch, atomically: never a half-written line on disk.
    metrics_text += line.dump() + "\n";
    write_file_atomically(command.metrics, metrics_text);
  };
  const auto history = train(*net, train_set, options, rng, validation_set ? &*validation_set : nullptr,
                             test_set ? &*test_set : nullptr, callbacks);

  if (!command.out.empty()) {
    save_model(command.out, *net, {{"epochs", std::to_string(command.epochs)}, {"seed", std::to_string(command.seed)}});
    if (!command.quiet) std::printf("model written to %s\n", command.out.c_str());
  }
  if (test_set) {
    const Evaluation result = history.empty() ? evaluate(*net, *test_set) : *history.back().test;
    if (result.accuracy)
      std::printf("test accuracy: %.2f%% (%zu samples, loss %.4f)\n", 100 * *result.accuracy, result.count, result.loss);
    else
      std::printf("test loss: %.6f (%zu samples)\n", result.loss, result.count);
  }
  return 0;
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

int run_gradcheck(const GradcheckCommand& command) {
  Architecture arch;
  arch.task = parse_task(command.task);
  arch.hidden = parse_activation(command.activation);
  arch.sizes = command.layers.empty() ? std::vector<int>{10, 8, 6, arch.task == Task::binary ? 1 : 4}
                                      : parse_layers(command.layers);
  check_architecture(arch);
  GradcheckOptions options;
  options.samples = command.samples;
  options.seed = command.seed;
  options.max_parameters = command.max_parameters;
  const GradcheckResult result = gradient_check(arch, options);
  const bool pass = result.checked > 0 && result.max_relative_error <= command.tolerance;
  std::printf("gradcheck %s %s %s: largest relative error %.3e (layer %d, parameter %zu) over %zu parameters",
              arch.layers_string().c_str(), to_string(arch.hidden).c_str(), to_string(arch.task).c_str(),
              result.max_relative_error, result.worst_layer, result.worst_parameter, result.checked);
  if (result.skipped) std::printf(", %zu skipped at ReLU kinks", result.skipped);
  std::printf("\n%s (tolerance %.1e)\n", pass ? "PASS" : "FAIL", command.tolerance);
  return pass ? 0 : 1;
}

}  // namespace mlp::cli
