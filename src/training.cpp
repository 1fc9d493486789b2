// The training loop (shuffle, batch, forward, backward, update) and its stopping rules.
#include "mlp/training.hpp"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "mlp/distributed.hpp"
#include "mlp/error.hpp"
#include "training_internal.hpp"

namespace mlp {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

Monitor parse_monitor(std::string_view name, std::string_view option) {
  if (name == "val_loss") return Monitor::val_loss;
  if (name == "val_accuracy") return Monitor::val_accuracy;
  throw Error(std::string(option) + ": '" + std::string(name) + "' is not one of val_loss, val_accuracy");
}

std::string to_string(Monitor monitor) { return monitor == Monitor::val_accuracy ? "val_accuracy" : "val_loss"; }

void check_train_options(const TrainOptions& options) {
  if (options.batch_size < 1) throw Error("--batch-size: must be at least 1");
  if (options.epochs < 0) throw Error("--epochs: must not be negative");
  if (!(options.learning_rate > 0) || !std::isfinite(options.learning_rate))
    throw Error("--lr: must be a positive number");
  if (!(options.dropout >= 0 && options.dropout < 1)) throw Error("--dropout: must be in [0, 1)");
  if (!(options.clip_norm >= 0) || !std::isfinite(options.clip_norm)) throw Error("--clip-norm: must not be negative (0 turns clipping off)");
  if (options.patience < 0) throw Error("--patience: must not be negative");
  if (options.checkpoint_every < 0) throw Error("--checkpoint-every: must not be negative");
  check_optimizer_options(options.optimizer);
  check_schedule_options(options.schedule, options.learning_rate);
}

double clip_gradient_norm(std::span<float> gradients, double max_norm) {
  double sum_of_squares = 0;
  for (float g : gradients) sum_of_squares += double(g) * g;
  const double norm = std::sqrt(sum_of_squares);
  if (norm > max_norm) {
    const float scale = float(max_norm / (norm + 1e-6));
    for (float& g : gradients) g *= scale;
  }
  return norm;
}

Trainer::Trainer(Network<float>& net, const TrainOptions& options, const Rng& rng)
    : Trainer(net, options, rng, Optimizer(options.optimizer, net.parameters().size()), {}) {}

Trainer::Trainer(Network<float>& net, const TrainOptions& options, const Rng& rng, Optimizer optimizer,
                 TrainProgress progress)
    : net_(net), options_(options), optimizer_(std::move(optimizer)), rng_(rng), progress_(std::move(progress)),
      threads_(std::make_unique<detail::ThreadChooser>(omp_get_max_threads())) {
  check_train_options(options_);
  if (options_.processes && options_.processes->size() > 1) parallel_ = std::make_unique<DataParallel>(*options_.processes);
  if (optimizer_.parameter_count() != net_.parameters().size())
    throw Error("the optimizer's state holds " + std::to_string(optimizer_.parameter_count()) +
                " parameters but the network has " + std::to_string(net_.parameters().size()));
}

Trainer::Trainer(Trainer&&) noexcept = default;
Trainer::~Trainer() = default;

std::vector<float> Trainer::parameters() const {
  return std::vector<float>(net_.parameters().begin(), net_.parameters().end());
}

void Trainer::restore_parameters(const std::vector<float>& parameters) {
  std::copy(parameters.begin(), parameters.end(), net_.parameters().begin());
}

std::vector<EpochMetrics> Trainer::run(const Dataset& train_set, const Dataset* validation_set,
                                       const Dataset* test_set, const TrainCallbacks& callbacks) {
  check_data(train_set, validation_set, test_set);
  progress_.stop_reason.clear();  // a resumed run says why it ends, not why its checkpoint was written
  std::vector<EpochMetrics> history;
  last_epoch_parameters_ = parameters();
  while (!progress_.finished && progress_.epochs_done < options_.epochs) {
    const int epoch = progress_.epochs_done + 1;
    const double learning_rate = learning_rate_at(options_.schedule, options_.learning_rate, epoch, options_.epochs);
    run_epoch(epoch, train_set, callbacks, learning_rate);
    if (progress_.samples_done < train_set.count) {  // stopped inside the epoch
      progress_.stop_reason = "interrupted in epoch " + std::to_string(epoch);
      if (callbacks.on_checkpoint) callbacks.on_checkpoint(*this);
      return history;
    }
    EpochMetrics metrics = finish_epoch(epoch, learning_rate, train_set, validation_set, test_set);
    if (tracks_best()) keep_best_and_stop_early(epoch, *metrics.validation);
    if (epoch == options_.epochs) progress_.finished = true;
    if (progress_.finished && tracks_best() && !progress_.best_parameters.empty())
      restore_parameters(progress_.best_parameters);
    if (callbacks.on_epoch) callbacks.on_epoch(metrics);
    history.push_back(std::move(metrics));
    if (checkpoint_and_stop(epoch, callbacks)) return history;
  }
  progress_.finished = true;
  return history;
}

// Every dataset against the network, and the options against the data, before the first batch.
void Trainer::check_data(const Dataset& train_set, const Dataset* validation_set, const Dataset* test_set) const {
  const Architecture& arch = net_.architecture();
  check_fits(train_set, arch);
  if (train_set.labels.empty()) throw Error(train_set.feature_source + ": has no labels to train on");
  if (validation_set) check_fits(*validation_set, arch);
  if (test_set) check_fits(*test_set, arch);
  if (tracks_best() && !validation_set)
    throw Error(std::string(options_.patience > 0 ? "--patience" : "--keep-best") +
                ": needs a validation set (--val-split)");
  if (options_.monitor == Monitor::val_accuracy && arch.classes() == 0)
    throw Error("--monitor val_accuracy: a regression has no accuracy; monitor val_loss");
  if (progress_.samples_done > 0 && progress_.samples_done >= train_set.count)
    throw Error(train_set.feature_source + ": the run stopped after sample " + std::to_string(progress_.samples_done) +
                " of epoch " + std::to_string(progress_.epochs_done + 1) + " but this training set has only " +
                std::to_string(train_set.count) + "; resume with the same data");
}

// The metrics of a whole epoch (its evaluations included), and the progress moved on past it.
EpochMetrics Trainer::finish_epoch(int epoch, double learning_rate, const Dataset& train_set,
                                   const Dataset* validation_set, const Dataset* test_set) {
  EpochMetrics metrics;
  metrics.epoch = epoch;
  metrics.learning_rate = learning_rate;
  metrics.seconds = progress_.epoch_seconds;
  const std::size_t N = train_set.count;
  metrics.samples_per_second = metrics.seconds > 0 ? N / metrics.seconds : 0;
  metrics.train_loss = N ? progress_.epoch_loss_sum / N : 0;
  if (net_.architecture().classes() > 0 && N) metrics.train_accuracy = double(progress_.epoch_correct) / N;
  if (validation_set) metrics.validation = evaluate(net_, *validation_set, {}, options_.processes);
  if (test_set) metrics.test = evaluate(net_, *test_set, {}, options_.processes);
  progress_.epochs_done = epoch;
  progress_.samples_done = 0;
  progress_.epoch_loss_sum = 0;
  progress_.epoch_correct = 0;
  progress_.epoch_seconds = 0;
  last_epoch_parameters_ = parameters();
  return metrics;
}

// keep_best and patience: remembers the best validation epoch (the lowest loss, or the highest
// accuracy), and ends the run after `patience` epochs without a better one.
void Trainer::keep_best_and_stop_early(int epoch, const Evaluation& validation) {
  const bool by_accuracy = options_.monitor == Monitor::val_accuracy && validation.accuracy;
  const bool better = by_accuracy ? *validation.accuracy > progress_.best_validation_accuracy
                                  : validation.loss < progress_.best_validation_loss;
  if (better) {
    progress_.best_validation_loss = validation.loss;
    if (by_accuracy) progress_.best_validation_accuracy = *validation.accuracy;
    progress_.best_epoch = epoch;
    progress_.epochs_without_improvement = 0;
    progress_.best_parameters = last_epoch_parameters_;
  } else if (++progress_.epochs_without_improvement >= options_.patience && options_.patience > 0) {
    progress_.finished = true;
    progress_.stop_reason = by_accuracy ? "early stopping: no higher validation accuracy for " + std::to_string(options_.patience) +
                                              " epochs (the best, " + std::to_string(progress_.best_validation_accuracy) +
                                              ", was at epoch " + std::to_string(progress_.best_epoch) + ")"
                                        : "early stopping: no lower validation loss for " + std::to_string(options_.patience) +
                                              " epochs (the best, " + std::to_string(progress_.best_validation_loss) +
                                              ", was at epoch " + std::to_string(progress_.best_epoch) + ")";
  }
}

// Calls on_checkpoint every checkpoint_every epochs and when a stop was asked for; returns whether
// the run stops here.
bool Trainer::checkpoint_and_stop(int epoch, const TrainCallbacks& callbacks) {
  const bool stop_requested = options_.stop && options_.stop->load();
  if (stop_requested && !progress_.finished) progress_.stop_reason = "interrupted after epoch " + std::to_string(epoch);
  if (callbacks.on_checkpoint && !progress_.finished &&
      (stop_requested || (options_.checkpoint_every > 0 && epoch % options_.checkpoint_every == 0)))
    callbacks.on_checkpoint(*this);
  return stop_requested;
}

// The order of the current epoch's samples. It comes from the Rng as it was when the epoch began:
// a resumed epoch draws the same order again from its saved state and goes on with the Rng where
// it stopped.
std::vector<std::size_t> Trainer::epoch_order(std::size_t count) {
  std::vector<std::size_t> order(count);
  std::iota(order.begin(), order.end(), std::size_t(0));
  if (progress_.samples_done == 0) progress_.epoch_start_rng = rng_;
  Rng order_rng = progress_.epoch_start_rng;
  if (options_.shuffle)  // Fisher–Yates, from our own Rng so the order is the same everywhere
    for (std::size_t i = count; i > 1; --i) std::swap(order[i - 1], order[order_rng.below(i)]);
  if (progress_.samples_done == 0) rng_ = order_rng;
  return order;
}

// One epoch's batches, from where the progress says the epoch stands; returns early, with
// progress_.samples_done short of the count, when options.stop is set.
void Trainer::run_epoch(int epoch, const Dataset& train_set, const TrainCallbacks& callbacks,
                        double learning_rate) {
  const Architecture& arch = net_.architecture();
  const std::size_t N = train_set.count;
  const int B = static_cast<int>(std::min<std::size_t>(options_.batch_size, std::max<std::size_t>(N, 1)));
  Matrix<float> X(arch.sizes[0], B), Y(arch.outputs(), B);
  const std::vector<std::size_t> order = epoch_order(N);

  const Clock::time_point start = Clock::now();
  const double seconds_before = progress_.epoch_seconds;
  // The thread count is chosen batch by batch and put back as it was when the epoch ends.
  struct ThreadsRestored {
    int threads = omp_get_max_threads();
    ~ThreadsRestored() { omp_set_num_threads(threads); }
  } restored;
  for (std::size_t first = progress_.samples_done; first < N; first += B) {
    if (options_.choose_threads) omp_set_num_threads(threads_->next(last_batch_seconds_));
    const Clock::time_point batch_start = Clock::now();
    const int m = static_cast<int>(std::min<std::size_t>(B, N - first));
    train_batch(epoch, train_set, std::span<const std::size_t>(order.data() + first, m), X.view().first_cols(m),
                Y.view().first_cols(m), learning_rate, first / B + 1, (N + B - 1) / B);
    last_batch_seconds_ = seconds_since(batch_start);

    progress_.samples_done = first + m;
    progress_.epoch_seconds = seconds_before + seconds_since(start);
    if (callbacks.on_batch)
      callbacks.on_batch({epoch, first + m, N, progress_.epoch_loss_sum / double(first + m), progress_.epoch_seconds});
    if (options_.stop && options_.stop->load() && first + m < N) return;
  }
}

// One forward pass, one backward pass and one optimizer step on the samples `batch`, gathered
// into X and Y (m columns each). With several processes, this one gathers and computes its shards
// of the batch only, and DataParallel sums the gradients, losses and counts of all in shard order.
void Trainer::train_batch(int epoch, const Dataset& train_set, std::span<const std::size_t> batch, MatrixView<float> X,
                          MatrixView<float> Y, double learning_rate, std::size_t batch_number, std::size_t batches) {
  const Architecture& arch = net_.architecture();
  const int m = static_cast<int>(batch.size());
  const ShardRange mine = parallel_ ? parallel_->range(m) : ShardRange{0, Network<float>::shards(m), 0, m};
  const std::span<const std::size_t> part = batch.subspan(mine.first_column, mine.columns);
  X = X.first_cols(mine.columns), Y = Y.first_cols(mine.columns);
  gather_batch<float>(train_set, part, X);
  gather_targets<float>(train_set, part, arch, Y);

  const MatrixView<const float> A = net_.forward(X, options_.dropout, rng_, mine.first_column, m);
  const std::size_t correct = arch.classes() > 0 ? detail::count_correct(arch, A, train_set, part, nullptr) : 0;
  double batch_loss;
  std::size_t batch_correct = correct;
  if (parallel_) {
    const DataParallel::Totals totals = parallel_->backward(net_, Y, m, correct);
    batch_loss = totals.loss_sum / m;
    batch_correct = totals.correct;
  } else {
    batch_loss = net_.loss(Y);
  }
  if (first_batch_loss_ == 0 && std::isfinite(batch_loss)) first_batch_loss_ = std::max(batch_loss, 1.0);
  // A loss that grows a million-fold has exploded, even while it is still finite.
  const bool exploded = !std::isfinite(batch_loss) || batch_loss > 1e6 * first_batch_loss_;
  if (exploded) {  // stop before the update, back at the last whole epoch
    restore_parameters(last_epoch_parameters_);
    TrainingDiverged diverged("training diverged: the loss is " + std::to_string(batch_loss) +
                              (std::isfinite(batch_loss) ? " (a million times the first batch's)" : "") + " at epoch " +
                              std::to_string(epoch) + ", batch " + std::to_string(batch_number) + " of " +
                              std::to_string(batches) + "; try a smaller --lr");
    diverged.last_good_epoch = progress_.epochs_done;
    throw diverged;
  }
  progress_.epoch_loss_sum += batch_loss * m;
  progress_.epoch_correct += batch_correct;
  if (!parallel_) net_.backward(Y);
  if (options_.clip_norm > 0) clip_gradient_norm(net_.gradients(), options_.clip_norm);
  optimizer_.step(net_.parameters(), net_.gradients(), learning_rate);
}

std::vector<EpochMetrics> train(Network<float>& net, const Dataset& train_set, const TrainOptions& options,
                                Rng& rng, const Dataset* validation_set, const Dataset* test_set,
                                const TrainCallbacks& callbacks) {
  Trainer trainer(net, options, rng);
  std::vector<EpochMetrics> history = trainer.run(train_set, validation_set, test_set, callbacks);
  rng = trainer.rng();
  return history;
}

}  // namespace mlp
