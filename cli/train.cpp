// `mlp train`: builds or loads a network, trains it, and writes the model and metrics.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <string>

#include <mlp/checkpoint.hpp>
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
  command_app->add_option("--max-memory", command.max_memory,
                          "Refuse to start if parameters, gradients, optimizer state, activations and data would take more "
                          "than this, e.g. 512M or 2G (K, M, G: powers of 1024; default: no limit)")
      ->transform(CLI::AsSizeValue(false));
  command_app->add_option("--init", command.init, "Start from this model file instead of random weights")
      ->excludes(layers)->excludes(activation)->excludes(task)->excludes(positive);
  add_verbosity_flags(*command_app, command.quiet, command.verbose, "Print only the final result",
                      "Also print what data was loaded and how long it took, and each epoch's timings");
  command_app->add_option("--plot", command.plot, "Draw the loss and accuracy curves here (SVG), redrawn after every epoch");

  command_app->add_option("--optimizer", command.optimizer, "sgd, momentum, nesterov, adam, adamw or rmsprop (torch.optim's rules)")
      ->check(CLI::IsMember({"sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop"}))->capture_default_str();
  command_app->add_option("--momentum", command.momentum, "momentum, nesterov: mu")->capture_default_str();
  command_app->add_option("--beta1", command.beta1, "adam, adamw: decay of the gradient's running mean")->capture_default_str();
  command_app->add_option("--beta2", command.beta2, "adam, adamw: decay of the squared gradient's running mean")->capture_default_str();
  command_app->add_option("--rho", command.rho, "rmsprop: decay of the squared gradient's running mean (PyTorch's alpha)")->capture_default_str();
  command_app->add_option("--eps", command.eps, "adam, adamw, rmsprop: added to the denominator")->capture_default_str();
  command_app->add_option("--weight-decay", command.weight_decay, "L2 penalty added to the gradient (adamw: decoupled decay)")->capture_default_str();
  command_app->add_option("--lr-schedule", command.lr_schedule, "constant, step (x gamma every --lr-step epochs) or cosine (to --min-lr)")
      ->check(CLI::IsMember({"constant", "step", "cosine"}))->capture_default_str();
  command_app->add_option("--lr-step", command.lr_step, "step: epochs between decays")->capture_default_str();
  command_app->add_option("--lr-gamma", command.lr_gamma, "step: the factor of each decay")->capture_default_str();
  command_app->add_option("--min-lr", command.min_lr, "cosine: the rate it falls towards")->capture_default_str();
  command_app->add_option("--warmup-epochs", command.warmup_epochs, "Rise linearly to --lr over these first epochs")->capture_default_str();
  command_app->add_option("--dropout", command.dropout, "Inverted dropout rate on every hidden layer while training")->capture_default_str();
  command_app->add_option("--clip-norm", command.clip_norm, "Scale each batch's gradient down to this L2 norm when longer (0: off)")->capture_default_str();
  command_app->add_option("--patience", command.patience, "Early stopping: stop after this many epochs without a lower validation loss, keep the best (needs --val-split)")
      ->capture_default_str();
  command_app->add_flag("--keep-best", command.keep_best, "End with the parameters of the epoch with the lowest validation loss (needs --val-split)");
  command_app->add_option("--checkpoint", command.checkpoint, "Checkpoint file (model, optimizer, random state, progress), written atomically")
      ->capture_default_str();
  command_app->add_option("--checkpoint-every", command.checkpoint_every, "Write the checkpoint after every N epochs (Ctrl-C always writes it)")
      ->check(CLI::NonNegativeNumber);
  command_app->add_option("--resume", command.resume, "Go on from a checkpoint, exactly where it stopped (options come from it; "
                          "--epochs, --out, --metrics, --plot, --checkpoint, --checkpoint-every may be given anew)");
  command_app->parse_complete_callback([command_app, &command] {
    for (const CLI::Option* option : command_app->get_options())
      if (option->count() > 0) command.given.push_back(option->get_name());
  });
  return command_app;
}

namespace {

// Set by Ctrl-C: the trainer finishes its batch, writes the checkpoint and returns. A second
// Ctrl-C ends the program at once (the files on disk are whole either way: they are written
// atomically).
std::atomic<bool> interrupted = false;

extern "C" void on_sigint(int) {
  interrupted = true;
  std::signal(SIGINT, SIG_DFL);
}

bool was_given(const TrainCommand& command, std::string_view option) {
  return std::find(command.given.begin(), command.given.end(), option) != command.given.end();
}

// What a checkpoint keeps of the command line besides the training options: where the data and
// the outputs are, so that `--resume FILE` needs nothing else.
json resumable_options(const TrainCommand& c) {
  return {{"data", c.data.data}, {"dataset", c.data.dataset}, {"test", c.data.test},
          {"label_column", c.data.label_column}, {"val_split", c.val_split}, {"seed", c.seed},
          {"out", c.out}, {"metrics", c.metrics}, {"plot", c.plot}, {"checkpoint", c.checkpoint}};
}

// The command to go on with: the checkpoint's, with what may change given anew.
TrainCommand resumed_command(const TrainCommand& given, const Checkpoint& checkpoint) {
  const std::vector<std::string> may_change = {"--resume", "--epochs", "--out", "--metrics", "--plot", "--checkpoint",
                                               "--checkpoint-every", "--quiet", "--verbose"};
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
    keep("--out", "out", command.out);
    keep("--metrics", "metrics", command.metrics);
    keep("--plot", "plot", command.plot);
    keep("--checkpoint", "checkpoint", command.checkpoint);
  } catch (const json::exception& e) {
    throw Error(given.resume + ": corrupt checkpoint: cli.command: " + e.what());
  }
  return command;
}

TrainOptions options_from(const TrainCommand& command) {
  TrainOptions options;
  options.epochs = command.epochs;
  options.batch_size = command.batch_size;
  options.learning_rate = command.learning_rate;
  options.shuffle = !command.no_shuffle;
  options.optimizer.kind = parse_optimizer(command.optimizer);
  options.optimizer.momentum = command.momentum;
  options.optimizer.beta1 = command.beta1;
  options.optimizer.beta2 = command.beta2;
  options.optimizer.rho = command.rho;
  options.optimizer.eps = command.eps;
  options.optimizer.weight_decay = command.weight_decay;
  options.schedule.kind = parse_schedule(command.lr_schedule);
  options.schedule.step_size = command.lr_step;
  options.schedule.gamma = command.lr_gamma;
  options.schedule.min_lr = command.min_lr;
  options.schedule.warmup_epochs = command.warmup_epochs;
  options.dropout = command.dropout;
  options.clip_norm = command.clip_norm;
  options.patience = command.patience;
  options.keep_best = command.keep_best;
  options.checkpoint_every = command.checkpoint_every;
  check_train_options(options);
  return options;
}

Network<float> new_network(const TrainCommand& command, const Dataset& train_set, Rng& rng) {
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
  // Before anything is allocated for the network (the test set is counted in run_train).
  if (command.max_memory)
    check_training_memory(arch, command.batch_size, dataset_bytes(train_set), command.dropout > 0, command.max_memory);
  Network<float> net(arch);
  net.initialize(rng);
  return net;
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

int run_train(const TrainCommand& given) {
  std::optional<Checkpoint> checkpoint;
  if (!given.resume.empty()) checkpoint = load_checkpoint(given.resume);
  const TrainCommand command = checkpoint ? resumed_command(given, *checkpoint) : given;
  // Before the data is read and the training done that a bad output path would throw away.
  for (const std::string& output : {command.out, command.metrics})
    if (!output.empty()) check_writable(output);

  const Stopwatch loading;
  auto [train_set, test_set] = load_data(command.data);
  std::optional<Dataset> validation_set;
  if (command.val_split > 0) validation_set = split_off(train_set, command.val_split);
  if (command.verbose)
    print_data_summary(train_set, validation_set ? &*validation_set : nullptr, test_set ? &*test_set : nullptr, loading.seconds());

  Rng rng(command.seed);
  std::optional<Network<float>> net;
  if (checkpoint) net.emplace(std::move(checkpoint->network));
  else if (!command.init.empty()) net.emplace(load_model(command.init));
  else net.emplace(new_network(command, train_set, rng));
  const Architecture& arch = net->architecture();
  if (command.max_memory)  // again, for --init and --resume, and with every dataset
    check_training_memory(arch, command.batch_size,
                          dataset_bytes(train_set) + (validation_set ? dataset_bytes(*validation_set) : 0) +
                              (test_set ? dataset_bytes(*test_set) : 0),
                          command.dropout > 0, command.max_memory);
  // Check the data against the network before announcing anything.
  check_fits(train_set, arch);
  if (test_set) check_fits(*test_set, arch);
  if (arch.pixel_input != train_set.pixel_input)
    throw Error(train_set.feature_source + ": holds " + (train_set.pixel_input ? "pixels" : "float features") +
                " but the model " + command.init + " was trained on " + (arch.pixel_input ? "pixels" : "float features"));

  TrainOptions options = checkpoint ? checkpoint->options : options_from(command);
  if (checkpoint) {
    if (was_given(given, "--epochs")) options.epochs = command.epochs;
    if (was_given(given, "--checkpoint-every")) options.checkpoint_every = command.checkpoint_every;
    check_train_options(options);
  }
  options.stop = &interrupted;
  std::optional<Trainer> trainer;
  if (checkpoint) trainer.emplace(*net, options, checkpoint->rng, std::move(checkpoint->optimizer), checkpoint->progress);
  else trainer.emplace(*net, options, rng);

  if (!command.quiet) {
    std::printf("training %s (%s, %s) on %zu samples from %s with %s\n", arch.layers_string().c_str(),
                to_string(arch.hidden).c_str(), to_string(arch.task).c_str(), train_set.count,
                data_path(command.data).c_str(), to_string(options.optimizer.kind).c_str());
    if (checkpoint)
      std::printf("resuming %s after epoch %d%s\n", given.resume.c_str(), trainer->progress().epochs_done,
                  trainer->progress().samples_done ? (" and " + std::to_string(trainer->progress().samples_done) + " samples").c_str() : "");
  }
  Progress progress(options.epochs, command.quiet, command.verbose);
  LearningCurves curves;
  std::string metrics_text;
  if (checkpoint && checkpoint->metadata.count("cli.metrics")) {
    metrics_text = checkpoint->metadata.at("cli.metrics");
    std::size_t start = 0;
    for (std::size_t end; (end = metrics_text.find('\n', start)) != std::string::npos; start = end + 1)
      curves.add(metrics_from(json::parse(metrics_text.substr(start, end - start))));
  }
  TrainCallbacks callbacks;
  callbacks.on_batch = [&](const BatchProgress& p) { progress.batch(p); };
  callbacks.on_epoch = [&](const EpochMetrics& m) {
    progress.epoch(m);
    json line = {{"epoch", m.epoch},
                 {"train_loss", m.train_loss},
                 {"train_accuracy", optional_number(m.train_accuracy)},
                 {"test_loss", m.test ? json(m.test->loss) : json(nullptr)},
                 {"test_accuracy", m.test ? optional_number(m.test->accuracy) : json(nullptr)},
                 {"seconds", m.seconds},
                 {"samples_per_second", m.samples_per_second},
                 {"learning_rate", m.learning_rate}};
    if (m.validation) {
      line["val_loss"] = m.validation->loss;
      line["val_accuracy"] = optional_number(m.validation->accuracy);
    }
    metrics_text += line.dump() + "\n";
    // The whole file again each epoch, atomically: never a half-written line on disk.
    if (!command.metrics.empty()) write_file_atomically(command.metrics, metrics_text);
    if (!command.plot.empty()) {  // redrawn whole each epoch, atomically, so it can be watched
      curves.add(m);
      write_file_atomically(command.plot, curves.svg());
    }
  };
  callbacks.on_checkpoint = [&](const Trainer& t) {
    save_checkpoint(command.checkpoint, t, {{"cli.command", resumable_options(command).dump()}, {"cli.metrics", metrics_text}});
    if (command.verbose) std::printf("checkpoint written to %s\n", command.checkpoint.c_str());
  };
  const std::map<std::string, std::string> provenance = {
      {"seed", std::to_string(command.seed)}, {"optimizer", to_string(options.optimizer.kind)},
      {"learning_rate", json(options.learning_rate).dump()}, {"batch_size", std::to_string(options.batch_size)},
      {"data", data_path(command.data)}};
  auto save_result = [&](const std::string& note) {
    std::map<std::string, std::string> metadata = provenance;
    metadata["epochs"] = std::to_string(trainer->progress().epochs_done);
    if (!note.empty()) metadata["note"] = note;
    save_model(command.out, *net, metadata);
  };

  std::vector<EpochMetrics> history;
  interrupted = false;
  std::signal(SIGINT, on_sigint);
  try {
    history = trainer->run(train_set, validation_set ? &*validation_set : nullptr, test_set ? &*test_set : nullptr, callbacks);
  } catch (const TrainingDiverged& e) {
    std::signal(SIGINT, SIG_DFL);
    // The network is back at the last whole epoch: keep that on disk, not the diverged one.
    if (command.out.empty() || e.last_good_epoch == 0) throw;
    save_result("training diverged after this epoch");
    throw Error(std::string(e.what()) + "; the model of epoch " + std::to_string(e.last_good_epoch) + " was written to " + command.out);
  }
  std::signal(SIGINT, SIG_DFL);

  if (!trainer->progress().finished) {
    std::printf("%s: checkpoint written to %s; go on with: mlp train --resume %s\n",
                trainer->progress().stop_reason.c_str(), command.checkpoint.c_str(), command.checkpoint.c_str());
    return 130;  // the shell's code for a run ended by Ctrl-C
  }
  if (!trainer->progress().stop_reason.empty() && !command.quiet) std::printf("%s\n", trainer->progress().stop_reason.c_str());
  if ((options.keep_best || options.patience > 0) && !command.quiet)
    std::printf("kept the parameters of epoch %d (validation loss %.6f)\n", trainer->progress().best_epoch,
                trainer->progress().best_validation_loss);
  if (!command.out.empty()) {
    save_result("");
    if (!command.quiet) std::printf("model written to %s\n", command.out.c_str());
  }
  if (test_set) {
    // The metrics of the last epoch describe the last parameters, not the best ones kept.
    const bool last_is_final = !history.empty() && !(options.keep_best || options.patience > 0);
    const Evaluation result = last_is_final ? *history.back().test : evaluate(*net, *test_set);
    if (result.accuracy)
      std::printf("test accuracy: %.2f%% (%zu samples, loss %.4f)\n", 100 * *result.accuracy, result.count, result.loss);
    else
      std::printf("test loss: %.6f (%zu samples)\n", result.loss, result.count);
  }
  return 0;
}

}  // namespace mlp::cli
