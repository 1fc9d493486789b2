// `mlp train`: builds or loads a network, trains it, and writes the model and metrics.
#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <string>

#include <mlp/checkpoint.hpp>
#include <mlp/error.hpp>
#include <mlp/file_io.hpp>
#include <mlp/model.hpp>
#include <mlp/model_file.hpp>
#include <mlp/preprocessing.hpp>
#include <mlp/training.hpp>

#include "commands.hpp"
#include "processes.hpp"
#include "plot_svg.hpp"
#include "progress.hpp"
#include "resume.hpp"
#include "tabular.hpp"

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
  auto* positive = command_app->add_option("--positive", command.positive,
                                           "Binary task: the class that counts as positive: a label, e.g. 3 for 'is it a 3?', or a "
                                           "class name (default: 1, or the last of the named classes)")
                       ->capture_default_str();
  TrainOptions& o = command.options;
  command_app->add_option("--epochs", o.epochs, "Passes over the training set")->check(CLI::Range(0, 1000000))->capture_default_str();
  command_app->add_option("--batch-size", o.batch_size, "Samples per batch, m")->check(CLI::Range(1, 1 << 20))->capture_default_str();
  command_app->add_option("--lr", o.learning_rate, "Learning rate, alpha")->check(CLI::PositiveNumber)->capture_default_str();
  command_app->add_option("--seed", command.seed, "Seed of initialization and shuffling")->capture_default_str();
  command_app->add_flag_callback("--no-shuffle", [&o] { o.shuffle = false; }, "Keep the file order every epoch");
  command_app->add_option("--val-split", command.val_split,
                          "Hold out this fraction of the training set for validation (seeded by --seed, stratified by class)")
      ->check(CLI::Range(0.0, 1.0));
  add_table_options(*command_app, command.table);
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
  command_app->add_option("--plot", command.plot, "Draw the loss and accuracy curves here (SVG), redrawn during the run (at most every half second) and at its end");

  command_app->add_option_function<std::string>(
                 "--optimizer", [&o](const std::string& name) { o.optimizer.kind = parse_optimizer(name); },
                 "sgd, momentum, nesterov, adam, adamw or rmsprop (torch.optim's rules)")
      ->check(CLI::IsMember(optimizer_names()))->default_str(to_string(o.optimizer.kind));
  command_app->add_option("--momentum", o.optimizer.momentum, "momentum, nesterov: mu")->capture_default_str();
  command_app->add_option("--beta1", o.optimizer.beta1, "adam, adamw: decay of the gradient's running mean")->capture_default_str();
  command_app->add_option("--beta2", o.optimizer.beta2, "adam, adamw: decay of the squared gradient's running mean")->capture_default_str();
  command_app->add_option("--rho", o.optimizer.rho, "rmsprop: decay of the squared gradient's running mean (PyTorch's alpha)")->capture_default_str();
  command_app->add_option("--eps", o.optimizer.eps, "adam, adamw, rmsprop: added to the denominator")->capture_default_str();
  command_app->add_option("--weight-decay", o.optimizer.weight_decay, "L2 penalty added to the gradient (adamw: decoupled decay)")->capture_default_str();
  command_app->add_option_function<std::string>(
                 "--lr-schedule", [&o](const std::string& name) { o.schedule.kind = parse_schedule(name); },
                 "constant, step (x gamma every --lr-step epochs) or cosine (to --min-lr)")
      ->check(CLI::IsMember(schedule_names()))->default_str(to_string(o.schedule.kind));
  command_app->add_option("--lr-step", o.schedule.step_size, "step: epochs between decays")->capture_default_str();
  command_app->add_option("--lr-gamma", o.schedule.gamma, "step: the factor of each decay")->capture_default_str();
  command_app->add_option("--min-lr", o.schedule.min_lr, "cosine: the rate it falls towards")->capture_default_str();
  command_app->add_option("--warmup-epochs", o.schedule.warmup_epochs, "Rise linearly to --lr over these first epochs")->capture_default_str();
  command_app->add_option("--dropout", o.dropout, "Inverted dropout rate on every hidden layer while training")->capture_default_str();
  command_app->add_option("--clip-norm", o.clip_norm, "Scale each batch's gradient down to this L2 norm when longer (0: off)")->capture_default_str();
  command_app->add_option("--patience", o.patience, "Early stopping: stop after this many epochs without a better --monitor, keep the best (needs --val-split)")
      ->capture_default_str();
  command_app->add_flag("--keep-best", o.keep_best, "End with the parameters of the epoch with the best --monitor (needs --val-split)");
  command_app->add_option_function<std::string>(
                 "--monitor", [&o](const std::string& name) { o.monitor = parse_monitor(name); },
                 "What --patience and --keep-best compare: val_loss (lowest) or val_accuracy (highest)")
      ->check(CLI::IsMember({"val_loss", "val_accuracy"}))->default_str(to_string(o.monitor));
  command_app->add_option("--checkpoint", command.checkpoint, "Checkpoint file (model, optimizer, random state, progress), written atomically")
      ->capture_default_str();
  command_app->add_option("--checkpoint-every", o.checkpoint_every, "Write the checkpoint after every N epochs (Ctrl-C always writes it)")
      ->check(CLI::NonNegativeNumber);
  command_app->add_option("--resume", command.resume, "Go on from a checkpoint, exactly where it stopped (options come from it; "
                          "--epochs, --out, --metrics, --plot, --checkpoint, --checkpoint-every may be given anew)");
  command_app->add_option("--comm-timeout", command.comm_timeout,
                          "Under mpirun: seconds a rank waits for another before it names it and ends the run")
      ->check(CLI::Range(1.0, 1e6))->capture_default_str();
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

// A network of the command's --layers, --activation and --task, its parameters drawn from `rng`.
Network<float> new_network(const TrainCommand& command, const Dataset& train_set, Rng& rng) {
  Architecture arch;
  arch.task = parse_task(command.task);
  arch.hidden_activation = parse_activation(command.activation);
  if (arch.task == Task::binary) {
    // Named classes: the last name unless told (yes of no/yes, 1 of -1/1); else the label 1.
    arch.positive = !was_given(command, "--positive") && !train_set.classes.empty()
                        ? static_cast<int>(train_set.classes.size()) - 1
                        : positive_class(command.positive, train_set.classes);
  }
  arch.pixel_input = train_set.pixel_input;
  if (command.layers.empty()) {
    // As many outputs as the classes present (named, or 0..the largest label), or targets.
    arch.sizes = {train_set.features, 128, default_outputs(train_set, arch.task)};
  } else {
    arch.sizes = parse_layers(command.layers);
  }
  check_architecture(arch);
  // Before anything is allocated for the network (every dataset is counted in starting_network).
  if (command.max_memory)
    check_training_memory(arch, command.options.batch_size, dataset_bytes(train_set), command.options.dropout > 0,
                          command.max_memory);
  Network<float> net(arch);
  net.initialize(rng);
  return net;
}

// The datasets of a run (validation and test sets may be absent), as network inputs.
struct RunData {
  Dataset train;
  std::optional<Dataset> validation, test;
  Preprocessing preprocessing;  // what turned the table's rows into them (identity for pixels)
  bool mnist_form = false;
  const Dataset* validation_set() const { return validation ? &*validation : nullptr; }
  const Dataset* test_set() const { return test ? &*test : nullptr; }
  std::size_t bytes() const {
    return dataset_bytes(train) + (validation ? dataset_bytes(*validation) : 0) + (test ? dataset_bytes(*test) : 0);
  }
};

// A model to go on from (a checkpoint, or --init) brings its preprocessing and task; the data is
// read for it.
struct StartingModel {
  std::optional<Model> init;
  std::optional<Preprocessing> preprocessing;
  Task task;
};

StartingModel starting_model(const TrainCommand& command, const std::optional<Checkpoint>& checkpoint) {
  StartingModel start{std::nullopt, std::nullopt, parse_task(command.task)};
  if (checkpoint) {
    const Architecture& arch = checkpoint->network.architecture();
    start.preprocessing = read_preprocessing(checkpoint->metadata, command.resume, arch.sizes[0],
                                             arch.task == Task::multiclass ? arch.classes() : -1);
    start.task = arch.task;
  } else if (!command.init.empty()) {
    start.init = Model::load(command.init);
    start.preprocessing = start.init->preprocessing;
    start.task = start.init->network.architecture().task;
  }
  return start;
}

RunData load_run_data(const TrainCommand& command, Task task, const Preprocessing* fixed) {
  const Stopwatch loading;
  TrainingData loaded = load_training_data(command.data, command.table, task, command.val_split, command.seed, fixed);
  RunData data{std::move(loaded.train), std::move(loaded.validation), std::move(loaded.test),
               std::move(loaded.preprocessing), loaded.mnist_form};
  if (command.verbose) print_data_summary(data.train, data.validation_set(), data.test_set(), loading.seconds());
  return data;
}

// The network to train: the checkpoint's, the --init model, or a new one drawn from `rng`; checked
// against the memory limit and the data before anything is announced.
Network<float> starting_network(const TrainCommand& command, std::optional<Checkpoint>& checkpoint,
                                std::optional<Model>& init, const RunData& data, Rng& rng) {
  Network<float> net = checkpoint ? std::move(checkpoint->network)
                       : init     ? std::move(init->network)
                                  : new_network(command, data.train, rng);
  const Architecture& arch = net.architecture();
  if (command.max_memory)  // again, for --init and --resume, and with every dataset
    check_training_memory(arch, command.options.batch_size, data.bytes(), command.options.dropout > 0, command.max_memory);
  check_fits(data.train, arch);
  if (data.test) check_fits(*data.test, arch);
  if (arch.pixel_input != data.train.pixel_input)
    throw Error(data.train.feature_source + ": holds " + (data.train.pixel_input ? "pixels" : "float features") +
                " but the model " + command.init + " was trained on " + (arch.pixel_input ? "pixels" : "float features"));
  return net;
}

// The options of the run: the command line's, or the checkpoint's with what may be given anew.
TrainOptions run_options(const TrainCommand& given, const TrainCommand& command, const std::optional<Checkpoint>& checkpoint) {
  TrainOptions options = checkpoint ? resumed_options(given, command, *checkpoint) : command.options;
  check_train_options(options);
  options.stop = &interrupted;
  return options;
}

void announce(const TrainCommand& command, const Trainer& trainer, const Dataset& train_set, bool mnist_form, bool resumed) {
  if (command.quiet) return;
  const Architecture& arch = trainer.network().architecture();
  std::printf("training %s (%s, %s) on %zu samples from %s%s with %s\n", arch.layers_string().c_str(),
              to_string(arch.hidden_activation).c_str(), to_string(arch.task).c_str(), train_set.count,
              data_path(command.data).c_str(),
              mnist_form ? " (read as label first, then pixels: without --label-column, the MNIST form)" : "",
              to_string(trainer.options().optimizer.kind).c_str());
  if (resumed)
    std::printf("resuming %s after epoch %d%s\n", command.resume.c_str(), trainer.progress().epochs_done,
                trainer.progress().samples_done ? (" and " + std::to_string(trainer.progress().samples_done) + " samples").c_str() : "");
}

// What a run writes as it goes: the progress display, the metrics file, the curves, checkpoints
// and the model.
class RunOutputs {
 public:
  RunOutputs(const TrainCommand& command, const TrainOptions& options, const std::optional<Checkpoint>& checkpoint,
             const Preprocessing& preprocessing)
      : command_(command), preprocessing_(preprocessing), progress_(options.epochs, command.quiet, command.verbose) {
    // A resumed run's metrics file and curves go on from the checkpoint's.
    if (checkpoint) metrics_text_ = resumed_metrics(*checkpoint, curves_);
  }

  TrainCallbacks callbacks() {
    TrainCallbacks callbacks;
    callbacks.on_batch = [this](const BatchProgress& p) { progress_.batch(p); };
    callbacks.on_epoch = [this](const EpochMetrics& m) { epoch(m); };
    if (command_.checkpoint.empty()) return callbacks;  // a rank other than 0 under mpirun
    callbacks.on_checkpoint = [this](const Trainer& t) {
      std::map<std::string, std::string> metadata = checkpoint_metadata(command_, metrics_text_);
      write_preprocessing(preprocessing_, metadata);  // a resumed run applies the same
      save_checkpoint(command_.checkpoint, t, metadata);
      write_files();  // a resumed run goes on from the lines the checkpoint holds
      if (command_.verbose) std::printf("checkpoint written to %s\n", command_.checkpoint.c_str());
    };
    return callbacks;
  }

  // The metrics file and the curves as they are now, whole and atomically, so that they can be
  // watched during the run and never hold a half-written line.
  void write_files() {
    if (!command_.metrics.empty()) write_file_atomically(command_.metrics, metrics_text_);
    if (!command_.plot.empty()) write_file_atomically(command_.plot, curves_.svg());
    last_written_ = std::chrono::steady_clock::now();
  }

  // The model as it is now, with where it came from in its metadata.
  void save_result(const Trainer& trainer, const std::string& note) const {
    const TrainOptions& options = trainer.options();
    std::map<std::string, std::string> metadata = {
        {"seed", std::to_string(command_.seed)}, {"optimizer", to_string(options.optimizer.kind)},
        {"learning_rate", json(options.learning_rate).dump()}, {"batch_size", std::to_string(options.batch_size)},
        {"data", data_path(command_.data)}};
    metadata["epochs"] = std::to_string(trainer.progress().epochs_done);
    if (!note.empty()) metadata["note"] = note;
    write_preprocessing(preprocessing_, metadata);
    save_model(command_.out, trainer.network(), metadata);
  }

 private:
  void epoch(const EpochMetrics& m) {
    progress_.epoch(m);
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
      if (m.validation->r2) line["val_r2"] = *m.validation->r2;
    }
    if (m.test && m.test->r2) line["test_r2"] = *m.test->r2;
    metrics_text_ += line.dump() + "\n";
    if (!command_.plot.empty()) curves_.add(m);
    // Rewritten whole at most every half second: every epoch made runs on small tables 30x slower.
    if (!last_written_ || std::chrono::steady_clock::now() - *last_written_ >= std::chrono::milliseconds(500))
      write_files();
  }

  const TrainCommand& command_;
  const Preprocessing& preprocessing_;
  Progress progress_;
  LearningCurves curves_;
  std::string metrics_text_;
  std::optional<std::chrono::steady_clock::time_point> last_written_;
};

// Trains with Ctrl-C turned into a checkpoint. A diverged run keeps the last whole epoch's model
// on disk, not the diverged one.
std::vector<EpochMetrics> train_until_done(const TrainCommand& command, Trainer& trainer, const RunData& data,
                                           RunOutputs& outputs) {
  interrupted = false;
  // Under mpirun, Ctrl-C goes to mpirun, which ends every rank: no rank could stop alone at the
  // batch where the others stop.
  if (trainer.options().stop) std::signal(SIGINT, on_sigint);
  try {
    std::vector<EpochMetrics> history = trainer.run(data.train, data.validation_set(), data.test_set(), outputs.callbacks());
    std::signal(SIGINT, SIG_DFL);
    outputs.write_files();
    return history;
  } catch (const TrainingDiverged& e) {
    std::signal(SIGINT, SIG_DFL);
    outputs.write_files();
    if (command.out.empty() || e.last_good_epoch == 0) throw;
    outputs.save_result(trainer, "training diverged after this epoch");
    TrainingDiverged written(std::string(e.what()) + "; the model of epoch " + std::to_string(e.last_good_epoch) +
                             " was written to " + command.out);
    written.last_good_epoch = e.last_good_epoch;
    throw written;
  }
}

// The end of a run: how it ended, the model written, the test score.
int report(const TrainCommand& command, const Trainer& trainer, const std::vector<EpochMetrics>& history,
           const RunOutputs& outputs, Network<float>& net, const std::optional<Dataset>& test_set) {
  const TrainProgress& progress = trainer.progress();
  if (!progress.finished) {
    std::printf("%s: checkpoint written to %s; go on with: mlp train --resume %s\n", progress.stop_reason.c_str(),
                command.checkpoint.c_str(), command.checkpoint.c_str());
    return 130;  // the shell's code for a run ended by Ctrl-C
  }
  const bool kept_best = trainer.options().keep_best || trainer.options().patience > 0;
  if (!progress.stop_reason.empty() && !command.quiet) std::printf("%s\n", progress.stop_reason.c_str());
  if (kept_best && !command.quiet) {
    if (trainer.options().monitor == Monitor::val_accuracy && progress.best_validation_accuracy >= 0)
      std::printf("kept the parameters of epoch %d (validation accuracy %.2f%%, loss %.6f)\n", progress.best_epoch,
                  100 * progress.best_validation_accuracy, progress.best_validation_loss);
    else
      std::printf("kept the parameters of epoch %d (validation loss %.6f)\n", progress.best_epoch, progress.best_validation_loss);
  }
  if (!command.out.empty()) {
    outputs.save_result(trainer, "");
    if (!command.quiet) std::printf("model written to %s\n", command.out.c_str());
  }
  if (test_set) {
    // The metrics of the last epoch describe the last parameters, not the best ones kept.
    const bool last_is_final = !history.empty() && !kept_best;
    const Evaluation result = last_is_final ? *history.back().test : evaluate(net, *test_set);
    if (result.accuracy)
      std::printf("test accuracy: %.2f%% (%zu samples, loss %.4f)\n", 100 * *result.accuracy, result.count, result.loss);
    else if (result.r2)
      std::printf("test loss: %.6f (%zu samples, MSE %.6g, RMSE %.6g, R² %.4f)\n", result.loss, result.count, *result.mse,
                  *result.rmse, *result.r2);
    else
      std::printf("test loss: %.6f (%zu samples)\n", result.loss, result.count);
  }
  return 0;
}

}  // namespace

namespace {

// FNV-1a of some bytes: a fingerprint of what a rank loaded, to compare between ranks.
std::uint64_t fnv1a(const void* data, std::size_t size, std::uint64_t hash = 1469598103934665603ull) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < size; ++i) hash = (hash ^ bytes[i]) * 1099511628211ull;
  return hash;
}

// What must be the same on every rank for them to train one model together, as "what: value"
// lines: the options that change the arithmetic, the data, and the starting point.
std::string run_description(const TrainCommand& command, const TrainOptions& o, const RunData& data,
                            const Network<float>& net, const std::optional<Checkpoint>& checkpoint) {
  const Dataset& train = data.train;
  const std::span<const float> parameters = net.parameters();
  std::uint64_t data_hash = fnv1a(train.pixels.data(), train.pixels.size());
  data_hash = fnv1a(train.values.data(), train.values.size() * sizeof(float), data_hash);
  data_hash = fnv1a(train.labels.data(), train.labels.size() * sizeof(float), data_hash);
  const Architecture& arch = net.architecture();
  const std::vector<std::pair<std::string, json>> lines = {
      {"--epochs", o.epochs}, {"--batch-size", o.batch_size}, {"--lr", o.learning_rate}, {"--no-shuffle", !o.shuffle},
      {"--optimizer", to_string(o.optimizer.kind)}, {"--momentum", o.optimizer.momentum}, {"--beta1", o.optimizer.beta1},
      {"--beta2", o.optimizer.beta2}, {"--rho", o.optimizer.rho}, {"--eps", o.optimizer.eps},
      {"--weight-decay", o.optimizer.weight_decay}, {"--lr-schedule", to_string(o.schedule.kind)},
      {"--lr-step", o.schedule.step_size}, {"--lr-gamma", o.schedule.gamma}, {"--min-lr", o.schedule.min_lr},
      {"--warmup-epochs", o.schedule.warmup_epochs}, {"--dropout", o.dropout}, {"--clip-norm", o.clip_norm},
      {"--patience", o.patience}, {"--keep-best", o.keep_best}, {"--seed", command.seed}, {"--val-split", command.val_split},
      {"the network", arch.layers_string() + " " + to_string(arch.hidden_activation) + " " + to_string(arch.task)},
      {"the starting parameters (hash)", fnv1a(parameters.data(), parameters.size_bytes())},
      {"the checkpoint's place (epochs, samples)",
       checkpoint ? json{checkpoint->progress.epochs_done, checkpoint->progress.samples_done} : json(nullptr)},
      {"the training data (samples, hash)", json{train.count, data_hash}},
      {"the validation and test sets (samples)",
       json{data.validation ? data.validation->count : 0, data.test ? data.test->count : 0}}};
  std::string text;
  for (const auto& [what, value] : lines) text += what + ": " + value.dump() + "\n";
  return text;
}

// This rank's failure if what it loaded differs from rank 0's: the first line that differs.
std::string differs_from_rank_0(ProcessGroup& group, const std::string& mine) {
  const auto all = all_gather(group, std::as_bytes(std::span<const char>(mine.data(), mine.size())));
  const std::string first(reinterpret_cast<const char*>(all[0].data()), all[0].size());
  if (first == mine) return "";
  std::size_t a = 0, b = 0;
  for (;;) {
    const std::size_t a_end = first.find('\n', a), b_end = mine.find('\n', b);
    if (a_end == std::string::npos || b_end == std::string::npos) break;
    const std::string theirs = first.substr(a, a_end - a), ours = mine.substr(b, b_end - b);
    if (theirs != ours)
      return ours.substr(0, ours.find(": ")) + " differs from rank 0's (" + ours.substr(ours.find(": ") + 2) + " here, " +
             theirs.substr(theirs.find(": ") + 2) + " there): every rank must be given the same options and data";
    a = a_end + 1, b = b_end + 1;
  }
  return "what it loaded differs from rank 0's";
}

}  // namespace

int run_train(const TrainCommand& given) {
  Processes processes(given.comm_timeout);
  const bool leader = processes.leader();
  // Every rank loads the checkpoint, the data and the network itself. A failure on any rank stops
  // every rank here, before the first exchange, with one line from rank 0 naming the rank.
  std::optional<Checkpoint> checkpoint;
  TrainCommand command;
  std::optional<RunData> data;
  std::optional<Network<float>> net;
  std::optional<TrainOptions> options;
  Rng rng(0);
  std::string failure;
  try {
    if (!given.resume.empty()) checkpoint = load_checkpoint(given.resume);
    command = checkpoint ? resumed_command(given, *checkpoint) : given;
    if (!leader) {  // rank 0 alone prints and writes
      command.quiet = true, command.verbose = false;
      command.out.clear(), command.metrics.clear(), command.plot.clear(), command.checkpoint.clear();
    }
    // Before the data is read and the training done that a bad output path would throw away.
    for (const std::string& output : {command.out, command.metrics})
      if (!output.empty()) check_writable(output);
    StartingModel start = starting_model(command, checkpoint);
    data.emplace(load_run_data(command, start.task, start.preprocessing ? &*start.preprocessing : nullptr));
    rng = Rng(command.seed);
    net.emplace(starting_network(command, checkpoint, start.init, *data, rng));
    options = run_options(given, command, checkpoint);
  } catch (const Error& e) {
    if (processes.size() == 1) throw;
    failure = e.what();
  }
  if (processes.size() > 1) {
    failure = processes.agree(failure);
    if (failure.empty()) failure = processes.agree(differs_from_rank_0(processes.group(), run_description(command, *options, *data, *net, checkpoint)));
    if (!failure.empty()) {
      processes.fail_together(failure);
      return 1;
    }
    options->stop = nullptr;  // see train_until_done
    options->processes = &processes.group();
  }

  std::optional<Trainer> trainer;
  if (checkpoint) trainer.emplace(*net, *options, checkpoint->rng, std::move(checkpoint->optimizer), checkpoint->progress);
  else trainer.emplace(*net, *options, rng);
  announce(command, *trainer, data->train, data->mnist_form, checkpoint.has_value());
  if (processes.size() > 1 && !command.quiet) {
    const int shards = Network<float>::shards(options->batch_size);
    std::printf("data-parallel on %d processes: each batch of %d is %d shard%s of %d samples%s\n", processes.size(),
                options->batch_size, shards, shards > 1 ? "s" : "", Network<float>::shard_columns,
                shards < processes.size() ? ", fewer than the processes: some wait" : "");
  }

  RunOutputs outputs(command, *options, checkpoint, data->preprocessing);
  std::vector<EpochMetrics> history;
  try {
    history = train_until_done(command, *trainer, *data, outputs);
  } catch (const TrainingDiverged& e) {
    if (processes.size() == 1) throw;
    processes.fail_together(e.what());  // every rank diverged at the same batch
    return 1;
  } catch (const Error& e) {
    processes.fail_alone(e.what());  // with several ranks, the others may be waiting for this one
    throw;
  }
  if (!leader) return trainer->progress().finished ? 0 : 130;
  return report(command, *trainer, history, outputs, *net, data->test);
}

}  // namespace mlp::cli
