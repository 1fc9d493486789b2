// Evaluation and prediction: a trained network run over labelled data in batches, and the scores of evaluation.hpp.
#include "mlp/evaluation.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <type_traits>

#include "mlp/error.hpp"
#include "mlp/losses.hpp"
#include "training_internal.hpp"

namespace mlp {

namespace detail {

std::size_t count_correct(const Architecture& arch, MatrixView<const float> A, const Dataset& data,
                          std::span<const std::size_t> indices,
                          std::vector<std::vector<std::size_t>>* confusion, double threshold) {
  std::size_t correct = 0;
  for (int j = 0; j < A.cols; ++j) {
    const int predicted = predicted_class(arch.task, A.col(j), A.rows, threshold);
    const int truth = target_class(arch, data.labels[indices[j]]);
    correct += predicted == truth;
    if (confusion) ++(*confusion)[truth][predicted];
  }
  return correct;
}

}  // namespace detail

namespace {

using detail::count_correct;
using detail::for_each_batch;

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

namespace {

// What one process found over its share of an evaluation's batches, in batch order; with several
// processes, every process's goes to all of them as bytes and is added up in process order, which
// is batch order: the sums one process alone makes, in its order.
struct Tally {
  std::vector<double> batch_losses;      // J summed over each batch
  std::vector<std::uint64_t> counts;     // correct, top-k hits, then the confusion matrix by rows
  std::vector<float> scores;             // binary: A[L] of each sample
  std::vector<std::uint8_t> positive;    // binary: its true class is 1
  std::vector<double> batch_errors;      // regression: each batch's squared errors, then deviations

  std::vector<std::byte> bytes() const {
    std::vector<std::byte> out;
    const auto put = [&](const auto& values) {
      const std::uint64_t n = values.size();
      const auto* size = reinterpret_cast<const std::byte*>(&n);
      out.insert(out.end(), size, size + sizeof n);
      const auto* data = reinterpret_cast<const std::byte*>(values.data());
      out.insert(out.end(), data, data + n * sizeof(values[0]));
    };
    put(batch_losses), put(counts), put(scores), put(positive), put(batch_errors);
    return out;
  }
  // Appends what bytes() of another process holds.
  void add(std::span<const std::byte> in) {
    std::size_t at = 0;
    const auto take = [&](auto& values, bool append) {
      std::uint64_t n = 0;
      if (at + sizeof n > in.size()) throw Error("evaluation: a process sent a short tally");
      std::memcpy(&n, in.data() + at, sizeof n);
      at += sizeof n;
      using T = typename std::decay_t<decltype(values)>::value_type;
      if (n > (in.size() - at) / sizeof(T)) throw Error("evaluation: a process sent a short tally");
      std::vector<T> part(n);
      if (n > 0) std::memcpy(part.data(), in.data() + at, n * sizeof(T));
      at += n * sizeof(T);
      if (append) {
        values.insert(values.end(), part.begin(), part.end());
      } else {
        if (part.size() != values.size()) throw Error("evaluation: the processes disagree on the classes");
        for (std::size_t i = 0; i < n; ++i) values[i] += part[i];
      }
    };
    take(batch_losses, true), take(counts, false), take(scores, true), take(positive, true), take(batch_errors, true);
  }
};

}  // namespace

Evaluation evaluate(Network<float>& net, const Dataset& data, const EvaluationOptions& options,
                    ProcessGroup* processes) {
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
  const int batch_size = static_cast<int>(std::min<std::size_t>(options.batch_size, std::max<std::size_t>(data.count, 1)));
  // This process's share: a contiguous run of the batches one process alone would make.
  const std::size_t batches = (data.count + batch_size - 1) / batch_size;
  const int ranks = processes ? processes->size() : 1, rank = processes ? processes->rank() : 0;
  const std::size_t first_batch = batches * rank / ranks, end_batch = batches * (rank + 1) / ranks;

  Matrix<float> X(arch.sizes[0], batch_size), Y(arch.outputs(), batch_size);
  std::vector<std::vector<std::size_t>> confusion(k, std::vector<std::size_t>(k, 0));
  Tally tally;
  std::uint64_t correct = 0, top_k_hits = 0;
  // Regression: each target's mean over the whole set first (every process reads all of it), then
  // each batch's squared errors and deviations.
  const bool regression = arch.task == Task::regression;
  const int targets = regression ? arch.outputs() : 0;
  std::vector<double> mean(targets, 0.0);
  for (std::size_t s = 0; regression && s < data.count; ++s)
    for (int t = 0; t < targets; ++t) mean[t] += data.labels[s * targets + t];
  for (double& m : mean) m /= std::max<double>(double(data.count), 1);
  std::vector<std::size_t> indices(batch_size);
  for (std::size_t b = first_batch; b < end_batch; ++b) {
    const std::size_t start = b * batch_size;
    const int m = static_cast<int>(std::min<std::size_t>(batch_size, data.count - start));
    std::iota(indices.begin(), indices.begin() + m, start);
    const std::span<const std::size_t> batch(indices.data(), m);
    gather_batch<float>(data, batch, X.view().first_cols(m));
    gather_targets<float>(data, batch, arch, Y.view().first_cols(m));
    const MatrixView<const float> A = net.forward(X.view().first_cols(m));
    tally.batch_losses.push_back(net.loss(Y.view().first_cols(m)) * m);
    if (k > 0) correct += count_correct(arch, A, data, batch, &confusion, options.threshold);
    if (regression) {
      std::vector<double> errors(2 * targets, 0.0);  // squared errors, then squared deviations
      for (int j = 0; j < m; ++j)
        for (int t = 0; t < targets; ++t) {
          const double y = data.labels[batch[j] * targets + t];
          errors[t] += (double(A(t, j)) - y) * (double(A(t, j)) - y);
          errors[targets + t] += (y - mean[t]) * (y - mean[t]);
        }
      tally.batch_errors.insert(tally.batch_errors.end(), errors.begin(), errors.end());
    }
    if (top_k) top_k_hits += count_top_k(arch, A, data, batch, options.top_k);
    if (arch.task == Task::binary)
      for (int j = 0; j < m; ++j) {
        tally.scores.push_back(A(0, j));
        tally.positive.push_back(target_class(arch, data.labels[batch[j]]) == 1);
      }
  }
  tally.counts = {correct, top_k_hits};
  for (const auto& row : confusion) tally.counts.insert(tally.counts.end(), row.begin(), row.end());
  if (ranks > 1) {
    const std::vector<std::vector<std::byte>> all = all_gather(*processes, tally.bytes());
    Tally whole;
    whole.counts.assign(tally.counts.size(), 0);
    for (const std::vector<std::byte>& part : all) whole.add(part);
    tally = std::move(whole);
  }

  double loss_sum = 0;
  for (double batch_loss : tally.batch_losses) loss_sum += batch_loss;
  correct = tally.counts[0], top_k_hits = tally.counts[1];
  result.confusion.assign(k, std::vector<std::size_t>(k, 0));
  for (int t = 0; t < k; ++t)
    for (int p = 0; p < k; ++p) result.confusion[t][p] = tally.counts[2 + std::size_t(t) * k + p];
  result.loss = data.count ? loss_sum / data.count : 0.0;
  if (k > 0 && data.count) result.accuracy = double(correct) / data.count;
  if (top_k && data.count) result.top_k_accuracy = double(top_k_hits) / data.count;
  if (arch.task == Task::binary)
    result.roc_auc = roc_auc(tally.scores, std::vector<bool>(tally.positive.begin(), tally.positive.end()));
  if (regression && data.count) {
    std::vector<double> sse(targets, 0.0), sst(targets, 0.0);
    for (std::size_t at = 0; at < tally.batch_errors.size(); at += 2 * targets)
      for (int t = 0; t < targets; ++t) sse[t] += tally.batch_errors[at + t], sst[t] += tally.batch_errors[at + targets + t];
    double total = 0, r2 = 0;
    for (int t = 0; t < targets; ++t) {
      total += sse[t];
      r2 += sst[t] > 0 ? 1 - sse[t] / sst[t] : (sse[t] == 0 ? 1.0 : 0.0);
    }
    result.mse = total / (double(data.count) * targets);
    result.rmse = std::sqrt(*result.mse);
    result.r2 = r2 / targets;
  }
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

}  // namespace mlp
