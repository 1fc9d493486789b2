// `mlp show`: a model's summary (layers, shapes, parameters, training record), its first-layer
// weights as a picture, or one input sample as a picture with the model's prediction.
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <mlp/error.hpp>
#include <mlp/file_io.hpp>
#include <mlp/model.hpp>
#include <mlp/model_file.hpp>
#include <mlp/training.hpp>

#include "commands.hpp"
#include "pictures.hpp"
#include "prediction_json.hpp"
#include "progress.hpp"
#include "tabular.hpp"

namespace mlp::cli {

namespace {

using nlohmann::json;

// The metadata keys that describe the network itself; every other key is a record of training.
bool is_structural(const std::string& key) {
  return key == "layers" || key == "activation" || key == "task" || key == "input" || key == "positive";
}

const char* output_activation(Task task) {
  return task == Task::binary ? "sigmoid" : task == Task::multiclass ? "softmax" : "identity";
}

const char* loss_name(Task task) {
  return task == Task::binary ? "binary cross-entropy" : task == Task::multiclass ? "cross-entropy" : "squared error";
}

// 101770 -> "101,770"
std::string grouped(std::size_t n) {
  std::string digits = std::to_string(n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string shape(std::initializer_list<int> sizes) {
  std::string out = "(";
  for (int n : sizes) out += (out.size() > 1 ? ", " : "") + std::to_string(n);
  return out + ")";
}

struct Statistics {
  float min = 0, max = 0;
  double mean = 0, std = 0;
};

Statistics statistics(const float* values, std::size_t n) {
  Statistics s;
  if (n == 0) return s;
  s.min = *std::min_element(values, values + n);
  s.max = *std::max_element(values, values + n);
  double sum = 0, squares = 0;
  for (std::size_t i = 0; i < n; ++i) sum += values[i], squares += double(values[i]) * values[i];
  s.mean = sum / n;
  s.std = std::sqrt(std::max(0.0, squares / n - s.mean * s.mean));
  return s;
}

}  // namespace

json summary_json(const std::string& path, const Network<float>& net, const std::map<std::string, std::string>& metadata,
                  bool verbose) {
  const Architecture& arch = net.architecture();
  json layers = json::array();
  for (int l = 1; l <= arch.depth(); ++l) {
    json layer = {{"layer", l},
                  {"weight", {arch.sizes[l], arch.sizes[l - 1]}},
                  {"bias", {arch.sizes[l]}},
                  {"activation", l < arch.depth() ? to_string(arch.hidden_activation) : output_activation(arch.task)},
                  {"parameters", static_cast<std::size_t>(arch.sizes[l]) * (arch.sizes[l - 1] + 1)}};
    if (verbose) {
      const Statistics w = statistics(net.W(l).data, net.W(l).size()), b = statistics(net.b(l), arch.sizes[l]);
      layer["weight_statistics"] = {{"min", w.min}, {"max", w.max}, {"mean", w.mean}, {"std", w.std}};
      layer["bias_statistics"] = {{"min", b.min}, {"max", b.max}, {"mean", b.mean}, {"std", b.std}};
    }
    layers.push_back(layer);
  }
  json training = json::object();
  for (const auto& [key, value] : metadata)
    if (!is_structural(key)) training[key] = value;
  json out = {{"model", path},
              {"architecture", arch.layers_string()},
              {"layers", layers},
              {"parameters", arch.parameter_count()},
              {"task", to_string(arch.task)},
              {"output", output_activation(arch.task)},
              {"loss", loss_name(arch.task)},
              {"input", arch.pixel_input ? "pixels" : "features"},
              {"inputs", arch.sizes[0]},
              {"training", training},
              {"metadata", metadata}};
  if (arch.task == Task::binary) out["positive"] = arch.positive;
  return out;
}

namespace {

void print_summary(const std::string& path, const Network<float>& net, const std::map<std::string, std::string>& metadata,
                   bool verbose) {
  const Architecture& arch = net.architecture();
  std::vector<std::vector<std::string>> rows = {{"layer", "W", "b", "activation", "parameters"}};
  rows.push_back({"0 (input)", "", "", "", arch.pixel_input ? "(" + std::to_string(arch.sizes[0]) + " pixels)"
                                                             : "(" + std::to_string(arch.sizes[0]) + " features)"});
  for (int l = 1; l <= arch.depth(); ++l)
    rows.push_back({std::to_string(l), shape({arch.sizes[l], arch.sizes[l - 1]}), shape({arch.sizes[l]}),
                    l < arch.depth() ? to_string(arch.hidden_activation) : output_activation(arch.task),
                    grouped(static_cast<std::size_t>(arch.sizes[l]) * (arch.sizes[l - 1] + 1))});
  std::vector<std::size_t> widths(rows[0].size());
  for (const auto& row : rows)
    for (std::size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], row[c].size());
  std::size_t total_width = 0;
  for (std::size_t w : widths) total_width += w + 3;
  const std::string rule(total_width - 3, '-');

  std::printf("model %s: %s\n%s\n", path.c_str(), arch.layers_string().c_str(), rule.c_str());
  for (std::size_t r = 0; r < rows.size(); ++r) {
    for (std::size_t c = 0; c < rows[r].size(); ++c) {
      const bool last = c + 1 == rows[r].size();  // the counts, right-aligned
      if (last) std::printf("%*s", static_cast<int>(widths[c]), rows[r][c].c_str());
      else std::printf("%-*s   ", static_cast<int>(widths[c]), rows[r][c].c_str());
    }
    std::printf("\n");
    if (r == 0) std::printf("%s\n", rule.c_str());
  }
  std::printf("%s\ntotal parameters: %s (%s bytes as float32)\n", rule.c_str(), grouped(arch.parameter_count()).c_str(),
              grouped(4 * arch.parameter_count()).c_str());
  std::printf("task: %s (%s output, %s loss)", to_string(arch.task).c_str(), output_activation(arch.task), loss_name(arch.task));
  if (arch.task == Task::binary) std::printf(", positive class: label %d", arch.positive);
  if (arch.task == Task::multiclass) std::printf(", %d classes", arch.classes());
  std::printf("\ninput: %s\n", arch.pixel_input ? "pixels 0..255, scaled by 1/255" : "float features, as they are");

  bool any = false;
  for (const auto& [key, value] : metadata)
    if (!is_structural(key)) {
      std::printf("%s  %s: %s\n", any ? "" : "training:\n", key.c_str(), value.c_str());
      any = true;
    }
  if (!any) std::printf("training: not recorded in the file\n");

  if (!verbose) return;
  std::printf("weights and biases:\n  layer  %-8s %10s %10s %10s %10s\n", "", "min", "max", "mean", "std");
  for (int l = 1; l <= arch.depth(); ++l) {
    const Statistics w = statistics(net.W(l).data, net.W(l).size()), b = statistics(net.b(l), arch.sizes[l]);
    std::printf("  %5d  %-8s %10.4f %10.4f %10.4f %10.4f\n", l, "W", w.min, w.max, w.mean, w.std);
    std::printf("  %5s  %-8s %10.4f %10.4f %10.4f %10.4f\n", "", "b", b.min, b.max, b.mean, b.std);
  }
}

bool file_exists(const std::string& path) {
  struct stat info {};
  return stat(path.c_str(), &info) == 0;
}

// An IDX images file with its labels beside it (t10k-images-idx3-ubyte -> t10k-labels-idx1-ubyte),
// so that the true label can be shown; CSV files carry theirs in a column.
Dataset read_sample_file(const ShowCommand& command, const Model& model) {
  const std::string& path = command.input;
  const auto at = path.rfind("images-idx3-ubyte");
  if (at != std::string::npos && path.find('/', at) == std::string::npos) {
    const std::string labels = path.substr(0, at) + "labels-idx1-ubyte" + path.substr(at + 17);
    if (file_exists(labels)) return read_idx(path, labels);
  }
  return read_model_inputs(path, command.label_column, model, {});
}

int show_sample(const ShowCommand& command, Model& model) {
  Network<float>& net = model.network;
  const Architecture& arch = net.architecture();
  const Dataset data = read_sample_file(command, model);
  if (command.index >= data.count)
    throw Error("--index: " + command.input + " holds " + std::to_string(data.count) + " samples (0.." +
                std::to_string(data.count - 1) + "); " + std::to_string(command.index) + " is not one of them");
  const std::size_t index = command.index;
  Dataset sample = subset(data, std::span<const std::size_t>(&index, 1));
  if (!command.out.empty()) {
    const int side = static_cast<int>(std::lround(std::sqrt(double(sample.features))));
    if (!sample.pixel_input || side * side != sample.features)
      throw Error("--out: the samples of " + command.input + " are " + std::to_string(sample.features) + " " +
                  (sample.pixel_input ? "pixels, not a square image" : "float features, not an image"));
    write_file_atomically(command.out, image_picture(sample.pixels.data(), side, command.scale ? command.scale : 8).png());
  }
  // A label the model's task cannot take (e.g. 12 for a 10-class model) is shown, not checked.
  std::optional<float> label;
  if (!sample.labels.empty()) {
    label = sample.labels[0];
    sample.labels.clear();
  }
  const Matrix<float> output = predict(net, sample);
  const float* a = output.data();
  const int units = output.rows();

  if (command.json) {
    json item = {{"index", command.index}, {"input", command.input}};
    if (label) {  // a class as an integer, when it is one
      const bool whole = std::abs(*label) < 1e9f && *label == std::trunc(*label);
      item["label"] = whole ? json(static_cast<long long>(*label)) : json(*label);
    }
    if (arch.task == Task::regression) item["output"] = std::vector<float>(a, a + units);
    else item["class"] = predicted_class(arch.task, a, units);
    if (arch.task != Task::regression) item["name"] = model.class_name(item["class"].get<int>());
    if (arch.task == Task::binary) item["probability"] = a[0];
    if (arch.task == Task::multiclass) item["probabilities"] = std::vector<float>(a, a + units);
    if (!command.out.empty()) item["picture"] = command.out;
    std::printf("%s\n", item.dump(2, ' ', false, json::error_handler_t::replace).c_str());
    return 0;
  }
  if (arch.task == Task::regression) {
    std::printf(command.quiet ? "%s\n" : "output %s\n", json(std::vector<float>(a, a + units)).dump().c_str());
    return 0;
  }
  const int c = predicted_class(arch.task, a, units);
  if (command.quiet) {
    std::printf("%d\n", c);
    return 0;
  }
  std::printf("sample %zu of %s", command.index, command.input.c_str());
  if (label && arch.task == Task::multiclass) std::printf(" (label %s)", model.class_name(static_cast<int>(*label)).c_str());
  else if (label) std::printf(" (label %g)", *label);
  if (!command.out.empty()) std::printf(", drawn in %s", command.out.c_str());
  if (arch.task == Task::binary)
    std::printf("\npredicted: %s (probability of %s: %.4f)\n", c ? ("is a " + model.class_name(1)).c_str() : "other",
                model.class_name(1).c_str(), a[0]);
  else {
    std::printf("\npredicted: class %s (probability %.4f)\n", model.class_name(c).c_str(), a[c]);
    for (int k = 0; k < units; ++k) {
      const std::string bar(static_cast<std::size_t>(std::lround(a[k] * 40)), '#');
      std::printf("  %2s  %.4f%s%s\n", model.class_name(k).c_str(), a[k], bar.empty() ? "" : "  ", bar.c_str());
    }
  }
  return 0;
}

}  // namespace

CLI::App* add_show_command(CLI::App& app, ShowCommand& command) {
  CLI::App* command_app = app.add_subcommand(
      "show", "A model's summary; or its first-layer weights as a picture; or one input sample and its prediction");
  command_app->add_option("--model", command.model, "Model file")->required();
  command_app->add_flag("--json", command.json, "Print one JSON document");
  command_app->add_option("--weights", command.weights,
                          "Draw each first-layer unit's weights as a tile here (PNG; 28x28 tiles when n[0] = 784, "
                          "blue negative, white 0, red positive, scaled per tile)");
  auto* input = command_app->add_option("--input", command.input, "IDX images file (.gz or not) or CSV file: show one sample");
  command_app->add_option("--index", command.index, "--input: the sample to show (0-based)")->capture_default_str()->needs(input);
  command_app->add_option("--out", command.out, "--input: draw the sample here (PNG, grey, scaled up)")->needs(input);
  command_app->add_option("--label-column", command.label_column, "--input, CSV: a label column (name or index)")->needs(input);
  command_app->add_option("--scale", command.scale, "Pixels per weight or pixel (default: 3 for --weights, 8 for --out)")
      ->check(CLI::Range(1, 64));
  add_verbosity_flags(*command_app, command.quiet, command.verbose,
                      "Print only the totals line (with --input: only the class)",
                      "Also print min, max, mean and standard deviation of each layer's W and b");
  return command_app;
}

int run_show(const ShowCommand& command) {
  Model model = Model::load(command.model);
  Network<float>& net = model.network;
  const Architecture& arch = net.architecture();
  if (!command.weights.empty()) {
    write_file_atomically(command.weights, weights_picture(net, command.scale ? command.scale : 3).png());
    const int side = static_cast<int>(std::lround(std::sqrt(double(arch.sizes[0]))));
    if (!command.quiet && !command.json && command.input.empty())
      std::printf("%d units of layer 1 drawn in %s as %s, each scaled by its largest |w|\n", arch.sizes[1],
                  command.weights.c_str(),
                  side * side == arch.sizes[0] ? (std::to_string(side) + "x" + std::to_string(side) + " tiles").c_str()
                                               : ("strips of " + std::to_string(arch.sizes[0]) + " weights").c_str());
  }
  if (!command.input.empty()) return show_sample(command, model);
  if (!command.weights.empty()) {
    if (command.json) {
      const int side = static_cast<int>(std::lround(std::sqrt(double(arch.sizes[0]))));
      const bool square = side * side == arch.sizes[0];
      const json tile = square ? json{side, side} : json{1, arch.sizes[0]};
      std::printf("%s\n", json{{"weights", command.weights}, {"units", arch.sizes[1]}, {"tile", tile}, {"scaled", "per tile"}}
                               .dump(2, ' ', false, json::error_handler_t::replace).c_str());
    }
    return 0;
  }

  const auto metadata = read_model_metadata(command.model);
  if (command.json) std::printf("%s\n", summary_json(command.model, net, metadata, command.verbose).dump(2, ' ', false, json::error_handler_t::replace).c_str());
  else if (command.quiet)
    std::printf("%s (%s, %s): %s parameters\n", arch.layers_string().c_str(), to_string(arch.hidden_activation).c_str(),
                to_string(arch.task).c_str(), grouped(arch.parameter_count()).c_str());
  else print_summary(command.model, net, metadata, command.verbose);
  return 0;
}

}  // namespace mlp::cli
