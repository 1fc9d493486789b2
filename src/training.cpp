// The training loop (shuffle, batch, forward, backward, update) and evaluation.
#include "mlp/training.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "mlp/error.hpp"
#include "mlp/optimizers.hpp"

namespace mlp {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Counts the columns of A[L] whose predicted class is the labelled one, into `confusion` if given.
std::size_t count_correct(const Architecture& arch, MatrixView<const float> A, const Dataset& data,
                          std::span<const std::size_t> indices,
                          std::vector<std::vector<std::size_t>>* confusion) {
  std::size_t correct = 0;
  for (int j = 0; j < A.cols; ++j) {
    const int predicted = predicted_class(arch.task, A.col(j), A.rows);
    const int truth = target_class(arch, data.labels[indices[j]]);
    correct += predicted == truth;
    if (confusion) ++(*confusion)[truth][predicted];
  }
  return correct;
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

Evaluation evaluate(Network<float>& net, const Dataset& data, int batch_size) {
  const Architecture& arch = net.architecture();
  check_fits(data, arch);
  if (data.labels.empty()) throw Error(data.feature_source + ": has no labels to evaluate against");
  Evaluation result;
  result.count = data.count;
  const int k = arch.classes();
  result.confusion.assign(k, std::vector<std::size_t>(k, 0));
  Matrix<float> X(arch.sizes[0], batch_size), Y(arch.outputs(), batch_size);
  double loss_sum = 0;
  std::size_t correct = 0;
  for_each_batch(data.count, batch_size, [&](std::span<const std::size_t> batch) {
    const int m = static_cast<int>(batch.size());
    gather_batch<float>(data, batch, X.view().first_cols(m));
    gather_targets<float>(data, batch, arch, Y.view().first_cols(m));
    const MatrixView<const float> A = net.forward(X.view().first_cols(m));
    loss_sum += net.loss(Y.view().first_cols(m)) * m;
    if (k > 0) correct += count_correct(arch, A, data, batch, &result.confusion);
  });
  result.loss = data.count ? loss_sum / data.count : 0.0;
  if (k > 0 && data.count) result.accuracy = double(correct) / data.count;
  return result;
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

std::vector<EpochMetrics> train(Network<float>& net, const Dataset& train_set,
                                const TrainOptions& options, Rng& rng,
                                const Dataset* validation_set, const Dataset* test_set,
                                const TrainCallbacks& callbacks) {
  const Architecture& arch = net.architecture();
  check_fits(train_set, arch);
  if (train_set.labels.empty()) throw Error(train_set.feature_source + ": has no labels to train on");
  if (validation_set) check_fits(*validation_set, arch);
  if (test_set) check_fits(*test_set, arch);
  if (options.batch_size < 1) throw Error("--batch-size: must be at least 1");
  if (options.epochs < 0) throw Error("--epochs: must not be negative");

  const Sgd optimizer{options.learning_rate};
  const std::size_t N = train_set.count;
  const int B = static_cast<int>(std::min<std::size_t>(options.batch_size, std::max<std::size_t>(N, 1)));
  Matrix<float> X(arch.sizes[0], B), Y(arch.outputs(), B);
  std::vector<std::size_t> order(N);
  std::vector<EpochMetrics> history;

  for (int epoch = 1; epoch <= options.epochs; ++epoch) {
    const Clock::time_point start = Clock::now();
    std::iota(order.begin(), order.end(), std::size_t(0));
    if (options.shuffle)  // Fisher–Yates, from our own Rng so the order is the same everywhere
      for (std::size_t i = N; i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);

    double loss_sum = 0;
    std::size_t correct = 0;
    for (std::size_t first = 0; first < N; first += B) {
      const int m = static_cast<int>(std::min<std::size_t>(B, N - first));
      const std::span<const std::size_t> batch(order.data() + first, m);
      const MatrixView<float> Xb = X.view().first_cols(m), Yb = Y.view().first_cols(m);
      gather_batch<float>(train_set, batch, Xb);
      gather_targets<float>(train_set, batch, arch, Yb);

      const MatrixView<const float> A = net.forward(Xb);
      const double batch_loss = net.loss(Yb);
      if (!std::isfinite(batch_loss))  // stop before the update: the parameters stay finite
        throw Error("training diverged: the loss is " + std::to_string(batch_loss) + " at epoch " +
                    std::to_string(epoch) + ", batch " + std::to_string(first / B + 1) + " of " +
                    std::to_string((N + B - 1) / B) + "; try a smaller --lr");
      loss_sum += batch_loss * m;
      if (arch.classes() > 0) correct += count_correct(arch, A, train_set, batch, nullptr);
      net.backward(Yb);
      optimizer.update(net.parameters(), std::span<const float>(net.gradients()));

      if (callbacks.on_batch)
        callbacks.on_batch({epoch, first + m, N, loss_sum / double(first + m), seconds_since(start)});
    }

    EpochMetrics metrics;
    metrics.epoch = epoch;
    metrics.seconds = seconds_since(start);
    metrics.samples_per_second = metrics.seconds > 0 ? N / metrics.seconds : 0;
    metrics.train_loss = N ? loss_sum / N : 0;
    if (arch.classes() > 0 && N) metrics.train_accuracy = double(correct) / N;
    if (validation_set) metrics.validation = evaluate(net, *validation_set);
    if (test_set) metrics.test = evaluate(net, *test_set);
    if (callbacks.on_epoch) callbacks.on_epoch(metrics);
    history.push_back(std::move(metrics));
  }
  return history;
}

}  // namespace mlp
