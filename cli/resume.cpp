// `mlp train --resume`: the command line a checkpoint keeps, and the run it goes on with.
#include "resume.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstddef>
#include <utility>
#include <vector>

#include <mlp/error.hpp>

namespace mlp::cli {

using nlohmann::json;

namespace {

// What a checkpoint keeps of the command line besides the training options: where the data and
// the outputs are, so that `--resume FILE` needs nothing else.
json resumable_options(const TrainCommand& c) {
  return {{"data", c.data.data}, {"dataset", c.data.dataset}, {"test", c.data.test},
          {"label_column", c.data.label_column}, {"val_split", c.val_split}, {"seed", c.seed},
          {"test_split", c.table.test_split}, {"header", c.data.format.header}, {"no_header", c.data.format.no_header},
          {"separator", c.data.format.separator},
          {"out", c.out}, {"metrics", c.metrics}, {"plot", c.plot}, {"checkpoint", c.checkpoint}};
}

// One metrics line back into the numbers the curves draw, for a resumed run's plot.
EpochMetrics metrics_from(const json& line) {
  EpochMetrics m;
  m.epoch = line.at("epoch");
  m.train_loss = line.at("train_loss");
  if (line.at("train_accuracy").is_number()) m.train_accuracy = line.at("train_accuracy").get<double>();
  for (const auto& [prefix, evaluation] : {std::pair{"test", &m.test}, std::pair{"val", &m.validation}}) {
    const std::string loss = std::string(prefix) + "_loss", accuracy = std::string(prefix) + "_accuracy";
    if (!line.contains(loss) || !line.at(loss).is_number()) continue;
    Evaluation e;
    e.loss = line.at(loss);
    if (line.at(accuracy).is_number()) e.accuracy = line.at(accuracy).get<double>();
    *evaluation = e;
  }
  return m;
}

}  // namespace

bool was_given(const TrainCommand& command, std::string_view option) {
  return std::find(command.given.begin(), command.given.end(), option) != command.given.end();
}

std::map<std::string, std::string> checkpoint_metadata(const TrainCommand& command, const std::string& metrics_text) {
  return {{"cli.command", resumable_options(command).dump()}, {"cli.metrics", metrics_text}};
}

TrainCommand resumed_command(const TrainCommand& given, const Checkpoint& checkpoint) {
  const std::vector<std::string> may_change = {"--resume", "--epochs", "--out", "--metrics", "--plot", "--checkpoint",
                                               "--checkpoint-every", "--quiet", "--verbose", "--comm-timeout"};
  for (const std::string& name : given.given) {
    if (std::find(may_change.begin(), may_change.end(), name) == may_change.end())
      throw Error(name + ": the run's settings come from the checkpoint " + given.resume +
                  "; with --resume only --epochs, --out, --metrics, --plot, --checkpoint and --checkpoint-every may be given");
  }
  const auto it = checkpoint.metadata.find("cli.command");
  if (it == checkpoint.metadata.end())
    throw Error(given.resume + ": a checkpoint without the command line's options; resume it from C++ (load_checkpoint)");
  TrainCommand command = given;
  try {
    const json saved = json::parse(it->second);
    auto keep = [&](const char* option, const char* key, auto& field) {
      if (!was_given(given, option)) saved.at(key).get_to(field);
    };
    saved.at("data").get_to(command.data.data);
    saved.at("dataset").get_to(command.data.dataset);
    saved.at("test").get_to(command.data.test);
    saved.at("label_column").get_to(command.data.label_column);
    saved.at("val_split").get_to(command.val_split);
    saved.at("seed").get_to(command.seed);
    // Checkpoints from before tables had these: their defaults. The preprocessing itself comes
    // from the checkpoint's metadata, not from options.
    if (saved.contains("test_split")) saved.at("test_split").get_to(command.table.test_split);
    if (saved.contains("header")) saved.at("header").get_to(command.data.format.header);
    if (saved.contains("no_header")) saved.at("no_header").get_to(command.data.format.no_header);
    if (saved.contains("separator")) saved.at("separator").get_to(command.data.format.separator);
    keep("--out", "out", command.out);
    keep("--metrics", "metrics", command.metrics);
    keep("--plot", "plot", command.plot);
    keep("--checkpoint", "checkpoint", command.checkpoint);
  } catch (const json::exception& e) {
    throw Error(given.resume + ": corrupt checkpoint: cli.command: " + e.what());
  }
  return command;
}

TrainOptions resumed_options(const TrainCommand& given, const TrainCommand& command, const Checkpoint& checkpoint) {
  TrainOptions options = checkpoint.options;
  if (was_given(given, "--epochs")) options.epochs = command.options.epochs;
  if (was_given(given, "--checkpoint-every")) options.checkpoint_every = command.options.checkpoint_every;
  return options;
}

std::string resumed_metrics(const Checkpoint& checkpoint, LearningCurves& curves) {
  const auto it = checkpoint.metadata.find("cli.metrics");
  if (it == checkpoint.metadata.end()) return "";
  const std::string& text = it->second;
  std::size_t start = 0;
  for (std::size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1)
    curves.add(metrics_from(json::parse(text.substr(start, end - start))));
  return text;
}

}  // namespace mlp::cli
