// Training runs (minibatches, optimizer, schedule, regularization, stopping), evaluation, and prediction.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "mlp/data.hpp"
#include "mlp/error.hpp"
#include "mlp/matrix.hpp"
#include "mlp/network.hpp"
#include "mlp/optimizers.hpp"
#include "mlp/random.hpp"
#include "mlp/schedules.hpp"

namespace mlp {

struct TrainOptions {
  int epochs = 10;
  int batch_size = 64;        // m; the last batch of an epoch may be smaller
  double learning_rate = 0.1; // α: the base rate; the schedule gives each epoch's
  bool shuffle = true;        // a new order each epoch from the Rng, else file order
  OptimizerOptions optimizer = {};  // plain gradient descent unless told otherwise
  ScheduleOptions schedule = {};    // constant unless told otherwise
  double dropout = 0;         // inverted dropout rate on every hidden layer while training
  double clip_norm = 0;       // > 0: a gradient block longer than this (L2) is scaled down to it
  // Early stopping: > 0 stops after this many epochs without a lower validation loss, and ends
  // with the best epoch's parameters. Needs a validation set.
  int patience = 0;
  bool keep_best = false;     // end with the best validation epoch's parameters (implied by patience)
  int checkpoint_every = 0;   // call on_checkpoint after every this many epochs (0: only when stopped)
  // Set from elsewhere (a SIGINT handler): the current batch is finished, on_checkpoint is called
  // and training returns; a checkpoint then resumes exactly where it stopped.
  const std::atomic<bool>* stop = nullptr;
  // Time batches on one thread and on all of them now and then, and train on the faster (see
  // ThreadChooser); results are the same bits either way. Off: always all of them.
  bool choose_threads = true;
};

// Picks the thread count of each training batch by timing batches. Every kernel splits its work so
// that results are the same bits on any number of threads, so this is only about speed: on a quiet
// machine two threads win, but where the other core is busy every hand-off between the threads
// may wait for the scheduler, and one thread was 2.8x faster (784-128-64-10, batch 64).
// After one warm-up batch it times batches on one thread, then on `max_threads` (each timing at
// least `window` batches and `window_seconds`, at most 8 x window batches), runs `period` batches
// on the faster, timing them too, then times the other count again, and so on. It compares mean
// times over many batches because two threads on a busy machine are mostly fast, with a few
// batches a scheduler's time slice late.
class ThreadChooser {
 public:
  explicit ThreadChooser(int max_threads, int window = 4, double window_seconds = 0.01, int period = 1024);
  // The thread count for the next batch; `last_batch_seconds` is how long the previous one took
  // (ignored for the first batch).
  int next(double last_batch_seconds);

 private:
  void measure(int mode);  // mode 0: one thread, 1: max_threads
  int max_threads_, window_;
  double window_seconds_;
  int period_;
  long calls_ = 0;
  bool settled_ = false;              // running the faster count, else timing `mode_`
  int mode_ = 1;
  long batches_ = 0;                  // in the current stretch
  double seconds_ = 0;                // of the current stretch
  double mean_[2] = {-1, -1};         // seconds per batch on one thread, on all; -1: not timed yet
};

// Throws Error naming the command-line option of the first bad value.
void check_train_options(const TrainOptions& options);

// How evaluate() turns outputs into classes, and which extra scores it computes.
struct EvaluationOptions {
  int batch_size = 1024;
  double threshold = 0.5;  // binary: class 1 when the probability A[L] >= threshold
  int top_k = 5;           // multiclass with more than k classes: also the top-k accuracy
};

// Loss, accuracy and confusion of a network on a labelled dataset.
struct Evaluation {
  std::size_t count = 0;
  double loss = 0;             // mean J over the samples
  std::optional<double> accuracy;  // share of samples classified right; none for regression
  // confusion[true class][predicted class], classes() x classes(); empty for regression.
  std::vector<std::vector<std::size_t>> confusion;
  int top_k = 0;                         // multiclass: the k of top_k_accuracy, if computed
  std::optional<double> top_k_accuracy;  // share whose true class is among the k most probable
  double threshold = 0.5;                // binary: the threshold the classes were cut at
  // Binary: the area under the ROC curve, the probability that a random positive sample scores
  // above a random negative one (ties count half); none if one class is absent.
  std::optional<double> roc_auc;

  double precision(int c) const;  // of class c: right among those predicted c
  double recall(int c) const;     // of class c: found among those truly c
  double f1(int c) const;
};

struct EpochMetrics {
  int epoch = 0;               // 1-based
  double train_loss = 0;       // mean loss of the training batches as they were seen this epoch
  std::optional<double> train_accuracy;
  std::optional<Evaluation> validation;  // after the epoch, if there is a validation set
  std::optional<Evaluation> test;        // after the epoch, if there is a test set
  double learning_rate = 0;    // α of this epoch, from the schedule
  double seconds = 0;          // the training passes only, not the evaluations
  double samples_per_second = 0;
};

// Where a run stands, beyond the network, the optimizer and the Rng: what a checkpoint must hold
// so that a resumed run goes on exactly as an uninterrupted one would.
struct TrainProgress {
  int epochs_done = 0;
  // Stopped inside epoch epochs_done + 1: the samples done, their loss sum and correct count,
  // and the training seconds so far. All 0 between epochs.
  std::size_t samples_done = 0;
  double epoch_loss_sum = 0;
  std::size_t epoch_correct = 0;
  double epoch_seconds = 0;
  std::string epoch_start_rng;  // Rng::state() when that epoch began: its order is drawn again
  // The best validation loss so far (keep_best, patience) and its parameters.
  double best_validation_loss = std::numeric_limits<double>::infinity();
  int best_epoch = 0;
  int epochs_without_improvement = 0;
  std::vector<float> best_parameters;
  bool finished = false;   // every epoch run, or stopped early: nothing left to resume
  std::string stop_reason; // why it ended before options.epochs, if it did
};

// Where an epoch is, for a progress display.
struct BatchProgress {
  int epoch = 0;
  std::size_t samples_done = 0;
  std::size_t samples_total = 0;
  double mean_loss = 0;        // over the samples done so far this epoch
  double seconds = 0;
};

class Trainer;

struct TrainCallbacks {
  std::function<void(const EpochMetrics&)> on_epoch;
  std::function<void(const BatchProgress&)> on_batch;
  // Every options.checkpoint_every epochs (after on_epoch), and when options.stop ends the run:
  // the moment to save a checkpoint (checkpoint.hpp).
  std::function<void(const Trainer&)> on_checkpoint;
};

// A loss that is not finite: thrown before the batch's update, with the network put back to
// the parameters it had at the end of the last whole epoch (the initial ones in epoch 1).
struct TrainingDiverged : Error {
  using Error::Error;
  int last_good_epoch = 0;
};

// A training run that can stop and go on: the network it trains (held by reference), the options,
// the optimizer's state, the Rng that shuffles and draws dropout masks, and the progress.
class Trainer {
 public:
  // A new run from epoch 1; `rng` is copied.
  Trainer(Network<float>& net, const TrainOptions& options, const Rng& rng);
  // A run that goes on from a checkpoint's optimizer, Rng and progress.
  Trainer(Network<float>& net, const TrainOptions& options, const Rng& rng, Optimizer optimizer,
          TrainProgress progress);

  // Runs the remaining epochs. Each orders the samples (shuffled from the Rng unless disabled),
  // cuts them into batches of m, and makes one forward pass, one backward pass and one optimizer
  // step per batch. Returns the metrics of the epochs it ran. Throws TrainingDiverged for a
  // batch whose loss is not finite, and Error for data that does not fit the network.
  std::vector<EpochMetrics> run(const Dataset& train_set, const Dataset* validation_set = nullptr,
                                const Dataset* test_set = nullptr, const TrainCallbacks& callbacks = {});

  const Network<float>& network() const { return net_; }
  const TrainOptions& options() const { return options_; }
  const Optimizer& optimizer() const { return optimizer_; }
  const Rng& rng() const { return rng_; }
  const TrainProgress& progress() const { return progress_; }

 private:
  void run_epoch(int epoch, const Dataset& train_set, const TrainCallbacks& callbacks,
                 double learning_rate);
  void restore_parameters(const std::vector<float>& parameters);

  Network<float>& net_;
  TrainOptions options_;
  Optimizer optimizer_;
  Rng rng_;
  TrainProgress progress_;
  std::vector<float> last_epoch_parameters_;  // to fall back to when the loss diverges
  ThreadChooser threads_;
  double last_batch_seconds_ = 0;  // what threads_ is told before the next batch
};

// Scales `gradients` by max_norm / (‖g‖ + 1e-6) when their L2 norm ‖g‖ exceeds max_norm (as
// torch.nn.utils.clip_grad_norm_); returns ‖g‖ before clipping.
double clip_gradient_norm(std::span<float> gradients, double max_norm);

// Trainer(net, options, rng).run(...), leaving `rng` where the run left it.
std::vector<EpochMetrics> train(Network<float>& net, const Dataset& train_set,
                                const TrainOptions& options, Rng& rng,
                                const Dataset* validation_set = nullptr,
                                const Dataset* test_set = nullptr,
                                const TrainCallbacks& callbacks = {});

// Loss, accuracy, confusion matrix and the options' extra scores of `net` on a labelled dataset.
Evaluation evaluate(Network<float>& net, const Dataset& data, const EvaluationOptions& options = {});

// The area under the ROC curve of scores against labels (true: positive), by the rank-sum
// (Mann–Whitney) statistic, tied scores sharing their ranks; none without both classes.
std::optional<double> roc_auc(std::span<const float> scores, const std::vector<bool>& positive);

// A[L] for every sample of `data`: (n[L], count), column s for sample s.
Matrix<float> predict(Network<float>& net, const Dataset& data, int batch_size = 1024);

}  // namespace mlp
