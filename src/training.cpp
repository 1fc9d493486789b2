// The training loop (shuffle, batch, forward, backward, update), its stopping rules, and evaluation.
#include "mlp/training.hpp"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "mlp/error.hpp"

namespace mlp {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The class of output column a: predicted_class, but binary cut at `threshold`.
int class_of(Task task, const float* a, int units, double threshold) {
  return task == Task::binary ? int(a[0] >= threshold) : predicted_class(task, a, units);
}

// Counts the columns of A[L] whose predicted class is the labelled one, into `confusion` if given.
std::size_t count_correct(const Architecture& arch, MatrixView<const float> A, const Dataset& data,
                          std::span<const std::size_t> indices,
                          std::vector<std::vector<std::size_t>>* confusion, double threshold = 0.5) {
  std::size_t correct = 0;
  for (int j = 0; j < A.cols; ++j) {
    const int predicted = class_of(arch.task, A.col(j), A.rows, threshold);
    const int truth = target_class(arch, data.labels[indices[j]]);
    correct += predicted == truth;
    if (confusion) ++(*confusion)[truth][predicted];
  }
  return correct;
}

// Counts the columns whose true class is among the k largest outputs (ties go against it).
std::size_t count_top_k(const Architecture& arch, MatrixView<const float> A, const Dataset& data,
                        std::span<const std::size_t> indices, int k) {
  std::size_t hits = 0;
  for (int j = 0; j < A.cols; ++j) {
    const float* a = A.col(j);
    const float truth = a[target_class(arch, data.labels[indices[j]])];
    int above = 0;
    for (int i = 0; i < A.rows; ++i) above += a[i] > truth;
    hits += above < k;
  }
  return hits;
}

// Runs `step(indices)` over data in batches of at most batch_size, in file order.
template <typename Step>
void for_each_batch(std::size_t count, int batch_size, Step step) {
  std::vector<std::size_t> indices(std::min<std::size_t>(count, batch_size));
  for (std::size_t start = 0; start < count; start += batch_size) {
    const std::size_t m = std::min<std::size_t>(batch_size, count - start);
    std::iota(indices.begin(), indices.begin() + m, start);
    step(std::span<const std::size_t>(indices.data(), m));
  }
}

}  // namespace

double Evaluation::precision(int c) const {
  std::size_t predicted = 0;
  for (const auto& row : confusion) predicted += row[c];
  return predicted ? double(confusion[c][c]) / predicted : 0.0;
}

double Evaluation::recall(int c) const {
  const std::size_t actual = std::accumulate(confusion[c].begin(), confusion[c].end(), std::size_t(0));
  return actual ? double(confusion[c][c]) / actual : 0.0;
}

double Evaluation::f1(int c) const {
  const double p = precision(c), r = recall(c);
  return p + r > 0 ? 2 * p * r / (p + r) : 0.0;
}

Evaluation evaluate(Network<float>& net, const Dataset& data, const EvaluationOptions& options) {
  const Architecture& arch = net.architecture();
  check_fits(data, arch);
  if (data.labels.empty()) throw Error(data.feature_source + ": has no labels to evaluate against");
  if (options.batch_size < 1) throw Error("evaluation batch size must be at least 1");
  if (!(options.threshold >= 0 && options.threshold <= 1)) throw Error("--threshold: must be in [0, 1]");
  if (options.top_k < 1) throw Error("--top-k: must be at least 1");
  Evaluation result;
  result.count = data.count;
  result.threshold = options.threshold;
  const int k = arch.classes();
  const bool top_k = arch.task == Task::multiclass && options.top_k < k;
  if (top_k) result.top_k = options.top_k;
  result.confusion.assign(k, std::vector<std::size_t>(k, 0));
  const int batch_size = static_cast<int>(std::min<std::size_t>(options.batch_size, std::max<std::size_t>(data.count, 1)));
  Matrix<float> X(arch.sizes[0], batch_size), Y(arch.outputs(), batch_size);
  double loss_sum = 0;
  std::size_t correct = 0, top_k_hits = 0;
  std::vector<float> scores;
  std::vector<bool> positive;
  for_each_batch(data.count, batch_size, [&](std::span<const std::size_t> batch) {
    const int m = static_cast<int>(batch.size());
    gather_batch<float>(data, batch, X.view().first_cols(m));
    gather_targets<float>(data, batch, arch, Y.view().first_cols(m));
    const MatrixView<const float> A = net.forward(X.view().first_cols(m));
    loss_sum += net.loss(Y.view().first_cols(m)) * m;
    if (k > 0) correct += count_correct(arch, A, data, batch, &result.confusion, options.threshold);
    if (top_k) top_k_hits += count_top_k(arch, A, data, batch, options.top_k);
    if (arch.task == Task::binary)
      for (int j = 0; j < m; ++j) {
        scores.push_back(A(0, j));
        positive.push_back(target_class(arch, data.labels[batch[j]]) == 1);
      }
  });
  result.loss = data.count ? loss_sum / data.count : 0.0;
  if (k > 0 && data.count) result.accuracy = double(correct) / data.count;
  if (top_k && data.count) result.top_k_accuracy = double(top_k_hits) / data.count;
  if (arch.task == Task::binary) result.roc_auc = roc_auc(scores, positive);
  return result;
}

std::optional<double> roc_auc(std::span<const float> scores, const std::vector<bool>& positive) {
  std::vector<std::size_t> order(scores.size());
  std::iota(order.begin(), order.end(), std::size_t(0));
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return scores[a] < scores[b]; });
  // Sum of the positives' ranks (1-based), each run of tied scores sharing its mean rank.
  double positive_rank_sum = 0;
  std::size_t positives = 0;
  for (std::size_t first = 0; first < order.size();) {
    std::size_t last = first;
    while (last + 1 < order.size() && scores[order[last + 1]] == scores[order[first]]) ++last;
    const double mean_rank = (first + last) / 2.0 + 1;
    for (std::size_t i = first; i <= last; ++i)
      if (positive[order[i]]) positive_rank_sum += mean_rank, ++positives;
    first = last + 1;
  }
  const std::size_t negatives = scores.size() - positives;
  if (positives == 0 || negatives == 0) return std::nullopt;
  const double u = positive_rank_sum - positives * (positives + 1) / 2.0;
  return u / (double(positives) * negatives);
}

Matrix<float> predict(Network<float>& net, const Dataset& data, int batch_size) {
  check_fits(data, net.architecture());
  Matrix<float> outputs(net.architecture().outputs(), static_cast<int>(data.count));
  Matrix<float> X(data.features, batch_size);
  for_each_batch(data.count, batch_size, [&](std::span<const std::size_t> batch) {
    const int m = static_cast<int>(batch.size());
    gather_batch<float>(data, batch, X.view().first_cols(m));
    const MatrixView<const float> A = net.forward(X.view().first_cols(m));
    std::copy(A.data, A.data + A.size(), outputs.view().col(static_cast<int>(batch[0])));
  });
  return outputs;
}

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

ThreadChooser::ThreadChooser(int max_threads, int window, double window_seconds, int period)
    : max_threads_(std::max(max_threads, 1)), window_(std::max(window, 1)), window_seconds_(window_seconds),
      period_(std::max(period, 1)) {}

void ThreadChooser::measure(int mode) {
  settled_ = false, mode_ = mode, batches_ = 0, seconds_ = 0;
}

int ThreadChooser::next(double last_batch_seconds) {
  if (max_threads_ == 1) return 1;
  if (++calls_ == 1) {  // the warm-up batch, whose time is not counted
    measure(0);
    return max_threads_;
  }
  if (calls_ > 2) seconds_ += last_batch_seconds, ++batches_;
  const bool timed = batches_ >= 8L * window_ || (batches_ >= window_ && seconds_ >= window_seconds_);
  if (settled_ ? batches_ == period_ : timed) {
    mean_[mode_] = seconds_ / batches_;
    if (mean_[1 - mode_] < 0 || settled_) {
      measure(1 - mode_);
    } else {
      settled_ = true, mode_ = mean_[0] < mean_[1] ? 0 : 1, batches_ = 0, seconds_ = 0;
    }
  }
  return mode_ == 0 ? 1 : max_threads_;
}

Trainer::Trainer(Network<float>& net, const TrainOptions& options, const Rng& rng)
    : Trainer(net, options, rng, Optimizer(options.optimizer, net.parameters().size()), {}) {}

Trainer::Trainer(Network<float>& net, const TrainOptions& options, const Rng& rng, Optimizer optimizer,
                 TrainProgress progress)
    : net_(net), options_(options), optimizer_(std::move(optimizer)), rng_(rng), progress_(std::move(progress)),
      threads_(omp_get_max_threads()) {
  check_train_options(options_);
  if (optimizer_.parameter_count() != net_.parameters().size())
    throw Error("the optimizer's state holds " + std::to_string(optimizer_.parameter_count()) +
                " parameters but the network has " + std::to_string(net_.parameters().size()));
}

void Trainer::restore_parameters(const std::vector<float>& parameters) {
  std::copy(parameters.begin(), parameters.end(), net_.parameters().begin());
}

std::vector<EpochMetrics> Trainer::run(const Dataset& train_set, const Dataset* validation_set,
                                       const Dataset* test_set, const TrainCallbacks& callbacks) {
  const Architecture& arch = net_.architecture();
  check_fits(train_set, arch);
  if (train_set.labels.empty()) throw Error(train_set.feature_source + ": has no labels to train on");
  if (validation_set) check_fits(*validation_set, arch);
  if (test_set) check_fits(*test_set, arch);
  const bool track_best = options_.keep_best || options_.patience > 0;
  if (track_best && !validation_set)
    throw Error(std::string(options_.patience > 0 ? "--patience" : "--keep-best") +
                ": needs a validation set (--val-split)");

  if (progress_.samples_done > 0 && progress_.samples_done >= train_set.count)
    throw Error(train_set.feature_source + ": the run stopped after sample " + std::to_string(progress_.samples_done) +
                " of epoch " + std::to_string(progress_.epochs_done + 1) + " but this training set has only " +
                std::to_string(train_set.count) + "; resume with the same data");
  progress_.stop_reason.clear();  // a resumed run says why it ends, not why its checkpoint was written
  std::vector<EpochMetrics> history;
  const auto parameters = [&] { return std::vector<float>(net_.parameters().begin(), net_.parameters().end()); };
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

    EpochMetrics metrics;
    metrics.epoch = epoch;
    metrics.learning_rate = learning_rate;
    metrics.seconds = progress_.epoch_seconds;
    const std::size_t N = train_set.count;
    metrics.samples_per_second = metrics.seconds > 0 ? N / metrics.seconds : 0;
    metrics.train_loss = N ? progress_.epoch_loss_sum / N : 0;
    if (arch.classes() > 0 && N) metrics.train_accuracy = double(progress_.epoch_correct) / N;
    if (validation_set) metrics.validation = evaluate(net_, *validation_set);
    if (test_set) metrics.test = evaluate(net_, *test_set);
    progress_.epochs_done = epoch;
    progress_.samples_done = 0;
    progress_.epoch_loss_sum = 0;
    progress_.epoch_correct = 0;
    progress_.epoch_seconds = 0;
    last_epoch_parameters_ = parameters();

    if (track_best) {
      if (metrics.validation->loss < progress_.best_validation_loss) {
        progress_.best_validation_loss = metrics.validation->loss;
        progress_.best_epoch = epoch;
        progress_.epochs_without_improvement = 0;
        progress_.best_parameters = last_epoch_parameters_;
      } else if (++progress_.epochs_without_improvement >= options_.patience && options_.patience > 0) {
        progress_.finished = true;
        progress_.stop_reason = "early stopping: no lower validation loss for " + std::to_string(options_.patience) +
                                " epochs (the best, " + std::to_string(progress_.best_validation_loss) +
                                ", was at epoch " + std::to_string(progress_.best_epoch) + ")";
      }
    }
    if (epoch == options_.epochs) progress_.finished = true;
    if (progress_.finished && track_best && !progress_.best_parameters.empty())
      restore_parameters(progress_.best_parameters);

    if (callbacks.on_epoch) callbacks.on_epoch(metrics);
    history.push_back(std::move(metrics));
    const bool stop_requested = options_.stop && options_.stop->load();
    if (stop_requested && !progress_.finished) progress_.stop_reason = "interrupted after epoch " + std::to_string(epoch);
    if (callbacks.on_checkpoint && !progress_.finished &&
        (stop_requested || (options_.checkpoint_every > 0 && epoch % options_.checkpoint_every == 0)))
      callbacks.on_checkpoint(*this);
    if (stop_requested) return history;
  }
  progress_.finished = true;
  return history;
}

// One epoch's batches, from where the progress says the epoch stands; returns early, with
// progress_.samples_done short of the count, when options.stop is set.
void Trainer::run_epoch(int epoch, const Dataset& train_set, const TrainCallbacks& callbacks,
                        double learning_rate) {
  const Architecture& arch = net_.architecture();
  const std::size_t N = train_set.count;
  const int B = static_cast<int>(std::min<std::size_t>(options_.batch_size, std::max<std::size_t>(N, 1)));
  Matrix<float> X(arch.sizes[0], B), Y(arch.outputs(), B);

  // The epoch's order comes from the Rng as it was when the epoch began: a resumed epoch draws
  // the same order again from its saved state and goes on with the Rng where it stopped.
  std::vector<std::size_t> order(N);
  std::iota(order.begin(), order.end(), std::size_t(0));
  if (progress_.samples_done == 0) progress_.epoch_start_rng = rng_.state();
  Rng order_rng = rng_;
  if (!order_rng.set_state(progress_.epoch_start_rng)) throw Error("the checkpoint's random state is corrupt");
  if (options_.shuffle)  // Fisher–Yates, from our own Rng so the order is the same everywhere
    for (std::size_t i = N; i > 1; --i) std::swap(order[i - 1], order[order_rng.below(i)]);
  if (progress_.samples_done == 0) rng_ = order_rng;

  const Clock::time_point start = Clock::now();
  const double seconds_before = progress_.epoch_seconds;
  // The thread count is chosen batch by batch and put back as it was when the epoch ends.
  struct ThreadsRestored {
    int threads = omp_get_max_threads();
    ~ThreadsRestored() { omp_set_num_threads(threads); }
  } restored;
  for (std::size_t first = progress_.samples_done; first < N; first += B) {
    if (options_.choose_threads) omp_set_num_threads(threads_.next(last_batch_seconds_));
    const Clock::time_point batch_start = Clock::now();
    const int m = static_cast<int>(std::min<std::size_t>(B, N - first));
    const std::span<const std::size_t> batch(order.data() + first, m);
    const MatrixView<float> Xb = X.view().first_cols(m), Yb = Y.view().first_cols(m);
    gather_batch<float>(train_set, batch, Xb);
    gather_targets<float>(train_set, batch, arch, Yb);

    const MatrixView<const float> A = net_.forward(Xb, options_.dropout, rng_);
    const double batch_loss = net_.loss(Yb);
    if (!std::isfinite(batch_loss)) {  // stop before the update, back at the last whole epoch
      restore_parameters(last_epoch_parameters_);
      TrainingDiverged diverged("training diverged: the loss is " + std::to_string(batch_loss) + " at epoch " +
                                std::to_string(epoch) + ", batch " + std::to_string(first / B + 1) + " of " +
                                std::to_string((N + B - 1) / B) + "; try a smaller --lr");
      diverged.last_good_epoch = progress_.epochs_done;
      throw diverged;
    }
    progress_.epoch_loss_sum += batch_loss * m;
    if (arch.classes() > 0) progress_.epoch_correct += count_correct(arch, A, train_set, batch, nullptr);
    net_.backward(Yb);
    if (options_.clip_norm > 0) clip_gradient_norm(net_.gradients(), options_.clip_norm);
    optimizer_.step(net_.parameters(), net_.gradients(), learning_rate);
    last_batch_seconds_ = seconds_since(batch_start);

    progress_.samples_done = first + m;
    progress_.epoch_seconds = seconds_before + seconds_since(start);
    if (callbacks.on_batch)
      callbacks.on_batch({epoch, first + m, N, progress_.epoch_loss_sum / double(first + m), progress_.epoch_seconds});
    if (options_.stop && options_.stop->load() && first + m < N) return;
  }
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
