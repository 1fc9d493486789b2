// Minibatch gradient descent over a dataset, evaluation, and prediction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "mlp/data.hpp"
#include "mlp/matrix.hpp"
#include "mlp/network.hpp"
#include "mlp/random.hpp"

namespace mlp {

struct TrainOptions {
  int epochs = 10;
  int batch_size = 64;        // m; the last batch of an epoch may be smaller
  double learning_rate = 0.1; // α
  bool shuffle = true;        // a new order each epoch from the Rng, else file order
};

// Loss, accuracy and confusion of a network on a labelled dataset.
struct Evaluation {
  std::size_t count = 0;
  double loss = 0;             // mean J over the samples
  std::optional<double> accuracy;  // share of samples classified right; none for regression
  // confusion[true class][predicted class], classes() x classes(); empty for regression.
  std::vector<std::vector<std::size_t>> confusion;

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
  double seconds = 0;          // the training passes only, not the evaluations
  double samples_per_second = 0;
};

// Where an epoch is, for a progress display.
struct BatchProgress {
  int epoch = 0;
  std::size_t samples_done = 0;
  std::size_t samples_total = 0;
  double mean_loss = 0;        // over the samples done so far this epoch
  double seconds = 0;
};

struct TrainCallbacks {
  std::function<void(const EpochMetrics&)> on_epoch;
  std::function<void(const BatchProgress&)> on_batch;
};

// Trains `net` in place: each epoch orders the samples (shuffled from `rng` unless disabled),
// cuts them into batches of m, and makes one forward pass, one backward pass and one gradient
// descent step per batch. Returns the metrics of every epoch. A batch whose loss is not finite
// stops training with an Error naming the epoch and batch, before its update.
std::vector<EpochMetrics> train(Network<float>& net, const Dataset& train_set,
                                const TrainOptions& options, Rng& rng,
                                const Dataset* validation_set = nullptr,
                                const Dataset* test_set = nullptr,
                                const TrainCallbacks& callbacks = {});

// Loss, accuracy and confusion matrix of `net` on a labelled dataset.
Evaluation evaluate(Network<float>& net, const Dataset& data, int batch_size = 1024);

// A[L] for every sample of `data`: (n[L], count), column s for sample s.
Matrix<float> predict(Network<float>& net, const Dataset& data, int batch_size = 1024);

}  // namespace mlp
