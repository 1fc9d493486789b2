// `mlp train`: builds or loads a network, trains it, and writes the model and metrics.
#include <cmath>
#include <cstdio>
#include <string>

#include <mlp/error.hpp>
#include <mlp/file_io.hpp>
#include <mlp/model_file.hpp>
#include <mlp/training.hpp>

#include "commands.hpp"
#include "plot_svg.hpp"
#include "progress.hpp"

namespace mlp::cli {

using nlohmann::json;

CLI::App* add_train_command(CLI::App& app, TrainCommand& command) {
  CLI::App* command_app = app.add_subcommand("train", "Train a network by minibatch gradient descent");
  add_data_options(*command_app, command.data);
  auto* layers = command_app->add_option("--layers", command.layers, "Layer sizes n[0]-...-n[L], e.g. 784-128-10 (default: inputs-128-outputs)");
  auto* activation = command_app->add_option("--activation", command.activation, "Hidden activation: relu, sigmoid, tanh or linear")
                         ->check(CLI::IsMember({"relu", "sigmoid", "tanh", "linear"}))->capture_default_str();
  auto* task = command_app->add_option("--task", command.task, "binary (sigmoid), multiclass (softmax) or regression (identity)")
                   ->check(CLI::IsMember({"binary", "multiclass", "regression"}))->capture_default_str();
  auto* positive = command_app->add_option("--positive", command.positive, "Binary task: the label that counts as positive, e.g. 3 for 'is it a 3?'")
                       ->capture_default_str();
  command_app->add_option("--epochs", command.epochs, "Passes over the training set")->check(CLI::Range(0, 1000000))->capture_default_str();
  command_app->add_option("--batch-size", command.batch_size, "Samples per batch, m")->check(CLI::Range(1, 1 << 20))->capture_default_str();
  command_app->add_option("--lr", command.learning_rate, "Learning rate, alpha")->check(CLI::PositiveNumber)->capture_default_str();
  command_app->add_option("--seed", command.seed, "Seed of initialization and shuffling")->capture_default_str();
  command_app->add_flag("--no-shuffle", command.no_shuffle, "Keep the file order every epoch");
  command_app->add_option("--val-split", command.val_split, "Hold out this fraction of the training set for validation")
      ->check(CLI::Range(0.0, 1.0));
  command_app->add_option("--out", command.out, "Write the trained model here (safetensors)");
  command_app->add_option("--metrics", command.metrics, "Write one JSON object per epoch here (JSON Lines)");
  command_app->add_option("--init", command.init, "Start from this model file instead of random weights")
      ->excludes(layers)->excludes(activation)->excludes(task)->excludes(positive);
  add_verbosity_flags(*command_app, command.quiet, command.verbose, "Print only the final result",
                      "Also print what data was loaded and how long it took, and each epoch's timings");
  command_app->add_option("--plot", command.plot, "Draw the loss and accuracy curves here (SVG), redrawn after every epoch");
  return command_app;
}

int run_train(const TrainCommand& command) {
  const Stopwatch loading;
  auto [train_set, test_set] = load_data(command.data);
  std::optional<Dataset> validation_set;
  if (command.val_split > 0) validation_set = split_off(train_set, command.val_split);
  if (command.verbose)
    print_data_summary(train_set, validation_set ? &*validation_set : nullptr, test_set ? &*test_set : nullptr, loading.seconds());

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
  Progress progress(options.epochs, command.quiet, command.verbose);
  LearningCurves curves;
  std::string metrics_text;
  TrainCallbacks callbacks;
  callbacks.on_batch = [&](const BatchProgress& p) { progress.batch(p); };
  callbacks.on_epoch = [&](const EpochMetrics& m) {
    progress.epoch(m);
    if (!command.plot.empty()) {  // redrawn whole each epoch, atomically, so it can be watched
      curves.add(m);
      write_file_atomically(command.plot, curves.svg());
    }
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

}  // namespace mlp::cli
