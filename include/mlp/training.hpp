/// @file
/// Training runs: minibatches, optimizer, schedule, regularization, stopping, and checkpoints' state.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "mlp/data.hpp"
#include "mlp/distributed.hpp"
#include "mlp/error.hpp"
#include "mlp/evaluation.hpp"
#include "mlp/matrix.hpp"
#include "mlp/network.hpp"
#include "mlp/optimizers.hpp"
#include "mlp/random.hpp"
#include "mlp/schedules.hpp"

namespace mlp {

/// What --patience and --keep-best compare between epochs: the validation loss (lower is better)
/// or the validation accuracy (higher is better).
enum class Monitor { val_loss, val_accuracy };
/// @throws Error naming `option` for any other name than "val_loss" or "val_accuracy"
Monitor parse_monitor(std::string_view name, std::string_view option = "--monitor");
std::string to_string(Monitor monitor);

/// How a run trains. Each field is a `mlp train` option (cli/train.cpp binds them) and a key of a
/// checkpoint's "train.options" (src/checkpoint.cpp lists them).
struct TrainOptions {
  int epochs = 10;
  int batch_size = 64;              ///< m; the last batch of an epoch may be smaller
  double learning_rate = 0.1;       ///< α: the base rate; the schedule gives each epoch's
  bool shuffle = true;              ///< a new order each epoch from the Rng, else file order
  OptimizerOptions optimizer = {};  ///< plain gradient descent unless told otherwise
  ScheduleOptions schedule = {};    ///< constant unless told otherwise
  double dropout = 0;               ///< inverted dropout rate on every hidden layer while training
  double clip_norm = 0;             ///< > 0: a gradient block longer than this (L2) is scaled down to it
  /// Early stopping: > 0 stops after this many epochs without a lower validation loss, and ends
  /// with the best epoch's parameters. Needs a validation set.
  int patience = 0;
  bool keep_best = false;           ///< end with the best validation epoch's parameters (implied by patience)
  Monitor monitor = Monitor::val_loss;  ///< what "best" means for patience and keep_best
  int checkpoint_every = 0;         ///< call on_checkpoint after every this many epochs (0: only when stopped)
  /// Set from elsewhere (a SIGINT handler): the current batch is finished, on_checkpoint is called
  /// and training returns; a checkpoint then resumes exactly where it stopped. Not saved.
  const std::atomic<bool>* stop = nullptr;
  /// Time batches on one thread and on all of them now and then, and train on the faster; results
  /// are the same bits either way, so this is only about speed on a busy machine. Off: always all
  /// of them. Not saved.
  bool choose_threads = true;
  /// Data-parallel over these processes (distributed.hpp): each computes its shards of every
  /// batch and of every evaluation, and all end with the same parameters, the bits one process
  /// computes. Null (or one process): this process alone. Not saved.
  ProcessGroup* processes = nullptr;
};

/// @throws Error naming the command-line option of the first bad value.
void check_train_options(const TrainOptions& options);

/// The memory training `arch` takes, in bytes, by part: to refuse a configuration before
/// allocating it. float32 throughout.
struct TrainingMemory {
  std::size_t parameters = 0;   ///< W[l], b[l]
  std::size_t gradients = 0;    ///< dW[l], db[l]
  std::size_t optimizer = 0;    ///< up to two more copies of the parameters (Adam's m and v)
  std::size_t activations = 0;  ///< Z[l], A[l] (and dropout's G[l], D[l]), dZ, dA, the batch X, Y
  std::size_t data = 0;         ///< the datasets, as given
  std::size_t total() const { return parameters + gradients + optimizer + activations + data; }
};
/// @param batch_size m; the activations are counted for max(m, 1024) columns, as evaluation
///        runs batches of 1024 through the same network
TrainingMemory training_memory(const Architecture& arch, int batch_size, std::size_t data_bytes = 0,
                               bool dropout = false);
/// @throws Error if training_memory() is above `limit_bytes`, with the numbers: "--max-memory:
///         784-100000-10 with batch 4096 needs 7.3 GiB (parameters 303 MiB, ...) > 2 GiB"
void check_training_memory(const Architecture& arch, int batch_size, std::size_t data_bytes, bool dropout,
                           std::size_t limit_bytes);


/// What one epoch did.
struct EpochMetrics {
  int epoch = 0;                         ///< 1-based
  double train_loss = 0;                 ///< mean loss of the training batches as they were seen this epoch
  std::optional<double> train_accuracy;  ///< share of training samples classified right as they were seen
  std::optional<Evaluation> validation;  ///< after the epoch, if there is a validation set
  std::optional<Evaluation> test;        ///< after the epoch, if there is a test set
  double learning_rate = 0;              ///< α of this epoch, from the schedule
  double seconds = 0;                    ///< the training passes only, not the evaluations
  double samples_per_second = 0;
};

/// Where a run stands, beyond the network, the optimizer and the Rng: what a checkpoint must hold
/// so that a resumed run goes on exactly as an uninterrupted one would.
struct TrainProgress {
  int epochs_done = 0;
  /// Stopped inside epoch epochs_done + 1: the samples done, their loss sum and correct count,
  /// and the training seconds so far. All 0 between epochs.
  std::size_t samples_done = 0;
  double epoch_loss_sum = 0;        ///< see samples_done
  std::size_t epoch_correct = 0;    ///< see samples_done
  double epoch_seconds = 0;         ///< see samples_done
  Rng epoch_start_rng{0};           ///< the Rng when that epoch began: its order is drawn again
  /// The best validation loss so far (keep_best, patience), its epoch and parameters.
  double best_validation_loss = std::numeric_limits<double>::infinity();
  /// With Monitor::val_accuracy: the best validation accuracy so far (-1: none yet), whose epoch
  /// best_epoch is; best_validation_loss is then that epoch's loss.
  double best_validation_accuracy = -1;
  int best_epoch = 0;               ///< see best_validation_loss
  int epochs_without_improvement = 0;
  std::vector<float> best_parameters;  ///< see best_validation_loss
  bool finished = false;            ///< every epoch run, or stopped early: nothing left to resume
  std::string stop_reason;          ///< why it ended before options.epochs, if it did
};

/// Where an epoch is, for a progress display.
struct BatchProgress {
  int epoch = 0;
  std::size_t samples_done = 0;
  std::size_t samples_total = 0;
  double mean_loss = 0;  ///< over the samples done so far this epoch
  double seconds = 0;
};

class Trainer;

/// What a run reports, and when; each may be empty.
struct TrainCallbacks {
  std::function<void(const EpochMetrics&)> on_epoch;   ///< after each whole epoch
  std::function<void(const BatchProgress&)> on_batch;  ///< after each batch
  /// Every options.checkpoint_every epochs (after on_epoch), and when options.stop ends the run:
  /// the moment to save a checkpoint (checkpoint.hpp).
  std::function<void(const Trainer&)> on_checkpoint;
};

/// A loss that is not finite: thrown before the batch's update, with the network put back to
/// the parameters it had at the end of the last whole epoch (the initial ones in epoch 1).
struct TrainingDiverged : Error {
  using Error::Error;
  int last_good_epoch = 0;
};

namespace detail {
class ThreadChooser;
}
class DataParallel;

/// A training run that can stop and go on: the network it trains (held by reference), the options,
/// the optimizer's state, the Rng that shuffles and draws dropout masks, and the progress.
class Trainer {
 public:
  /// A new run from epoch 1; `rng` is copied.
  Trainer(Network<float>& net, const TrainOptions& options, const Rng& rng);
  /// A run that goes on from a checkpoint's optimizer, Rng and progress.
  Trainer(Network<float>& net, const TrainOptions& options, const Rng& rng, Optimizer optimizer,
          TrainProgress progress);
  Trainer(Trainer&&) noexcept;
  ~Trainer();

  /// Runs the remaining epochs. Each orders the samples (shuffled from the Rng unless disabled),
  /// cuts them into batches of m, and makes one forward pass, one backward pass and one optimizer
  /// step per batch. Returns the metrics of the epochs it ran. Throws TrainingDiverged for a
  /// batch whose loss is not finite or has exploded (beyond 1e6 times the run's first batch's,
  /// or its 1 when that is smaller), and Error for data that does not fit the network.
  std::vector<EpochMetrics> run(const Dataset& train_set, const Dataset* validation_set = nullptr,
                                const Dataset* test_set = nullptr, const TrainCallbacks& callbacks = {});

  const Network<float>& network() const { return net_; }
  const TrainOptions& options() const { return options_; }
  const Optimizer& optimizer() const { return optimizer_; }
  const Rng& rng() const { return rng_; }
  const TrainProgress& progress() const { return progress_; }

 private:
  bool tracks_best() const { return options_.keep_best || options_.patience > 0; }
  void check_data(const Dataset& train_set, const Dataset* validation_set, const Dataset* test_set) const;
  void run_epoch(int epoch, const Dataset& train_set, const TrainCallbacks& callbacks, double learning_rate);
  std::vector<std::size_t> epoch_order(std::size_t count);
  void train_batch(int epoch, const Dataset& train_set, std::span<const std::size_t> batch, MatrixView<float> X,
                   MatrixView<float> Y, double learning_rate, std::size_t batch_number, std::size_t batches);
  EpochMetrics finish_epoch(int epoch, double learning_rate, const Dataset& train_set,
                            const Dataset* validation_set, const Dataset* test_set);
  void keep_best_and_stop_early(int epoch, const Evaluation& validation);
  bool checkpoint_and_stop(int epoch, const TrainCallbacks& callbacks);
  std::vector<float> parameters() const;
  void restore_parameters(const std::vector<float>& parameters);

  Network<float>& net_;
  TrainOptions options_;
  Optimizer optimizer_;
  Rng rng_;
  TrainProgress progress_;
  std::vector<float> last_epoch_parameters_;  ///< to fall back to when the loss diverges
  std::unique_ptr<detail::ThreadChooser> threads_;
  double last_batch_seconds_ = 0;  ///< what threads_ is told before the next batch
  /// The loss of this run's first batch: a batch loss beyond a million times it has exploded.
  double first_batch_loss_ = 0;
  std::unique_ptr<DataParallel> parallel_;  ///< with options.processes of more than one
};

/// Scales `gradients` by max_norm / (‖g‖ + 1e-6) when their L2 norm ‖g‖ exceeds max_norm (as
/// torch.nn.utils.clip_grad_norm_); returns ‖g‖ before clipping.
double clip_gradient_norm(std::span<float> gradients, double max_norm);

/// Trainer(net, options, rng).run(...), leaving `rng` where the run left it.
std::vector<EpochMetrics> train(Network<float>& net, const Dataset& train_set,
                                const TrainOptions& options, Rng& rng,
                                const Dataset* validation_set = nullptr,
                                const Dataset* test_set = nullptr,
                                const TrainCallbacks& callbacks = {});

}  // namespace mlp
