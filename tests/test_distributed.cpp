// Data-parallel training without MPI: ranks as threads of this process, exchanging through
// mailboxes. A batch split over any number of ranks must give the single process's bits.
#include <gtest/gtest.h>

#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "mlp/data.hpp"
#include "mlp/distributed.hpp"
#include "mlp/evaluation.hpp"
#include "mlp/error.hpp"
#include "mlp/kernels.hpp"
#include "mlp/network.hpp"
#include "mlp/optimizers.hpp"
#include "mlp/training.hpp"
#include "gemm.hpp"

namespace mlp {
namespace {

// Messages between the threads of one test: one queue per (from, to) pair, and broadcasts as
// a message from the root to each other rank.
class Mailboxes {
 public:
  explicit Mailboxes(int ranks) : ranks_(ranks) {}
  int ranks() const { return ranks_; }
  void put(int from, int to, std::vector<std::byte> message) {
    std::lock_guard lock(mutex_);
    queues_[{from, to}].push_back(std::move(message));
    ready_.notify_all();
  }
  std::vector<std::byte> take(int from, int to) {
    std::unique_lock lock(mutex_);
    auto& queue = queues_[{from, to}];
    if (!ready_.wait_for(lock, std::chrono::seconds(20), [&] { return !queue.empty(); }))
      throw Error("rank " + std::to_string(to) + ": nothing from rank " + std::to_string(from));
    std::vector<std::byte> message = std::move(queue.front());
    queue.pop_front();
    return message;
  }

 private:
  int ranks_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::map<std::pair<int, int>, std::deque<std::vector<std::byte>>> queues_;
};

class ThreadGroup final : public ProcessGroup {
 public:
  ThreadGroup(Mailboxes& boxes, int rank) : boxes_(boxes), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return boxes_.ranks(); }
  void send(int to, std::span<const std::byte> bytes) override { boxes_.put(rank_, to, {bytes.begin(), bytes.end()}); }
  void receive(int from, std::span<std::byte> bytes) override {
    const std::vector<std::byte> message = boxes_.take(from, rank_);
    if (message.size() != bytes.size()) throw Error("message of the wrong size");
    std::copy(message.begin(), message.end(), bytes.begin());
  }
  void broadcast(int root, std::span<std::byte> bytes) override {
    if (rank_ == root) {
      for (int r = 0; r < size(); ++r)
        if (r != root) send(r, bytes);
    } else {
      receive(root, bytes);
    }
  }

 private:
  Mailboxes& boxes_;
  int rank_;
};

// Runs body(group) on `ranks` threads, one rank each; rethrows the first failure.
template <typename Body>
void run_ranks(int ranks, Body body) {
  Mailboxes boxes(ranks);
  std::vector<std::thread> threads;
  std::vector<std::string> failures(ranks);
  for (int r = 0; r < ranks; ++r)
    threads.emplace_back([&, r] {
      ThreadGroup group(boxes, r);
      try {
        body(group);
      } catch (const std::exception& e) {
        failures[r] = e.what();
      }
    });
  for (std::thread& t : threads) t.join();
  for (const std::string& failure : failures) ASSERT_EQ(failure, "");
}

Matrix<float> random_matrix(int rows, int cols, Rng& rng, float low = -1, float high = 1) {
  Matrix<float> M(rows, cols);
  for (int j = 0; j < cols; ++j)
    for (int i = 0; i < rows; ++i) M(i, j) = float(low + (high - low) * rng.uniform());
  return M;
}

// One-hot targets of random classes.
Matrix<float> random_targets(int classes, int cols, Rng& rng) {
  Matrix<float> Y(classes, cols);
  for (int j = 0; j < cols; ++j) Y(int(rng.below(classes)), j) = 1;
  return Y;
}

MatrixView<const float> columns(const Matrix<float>& M, int first, int cols) {
  return {M.data() + std::size_t(first) * M.rows(), M.rows(), cols};
}

bool same_bits(std::span<const float> a, std::span<const float> b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size_bytes()) == 0;
}

TEST(Distributed, ShardRangesCoverTheBatchInOrder) {
  for (int m : {1, 63, 64, 65, 200, 256, 1000})
    for (int ranks = 1; ranks <= 7; ++ranks) {
      int next_shard = 0, next_column = 0;
      for (int r = 0; r < ranks; ++r) {
        const ShardRange range = shard_range(m, r, ranks);
        EXPECT_EQ(range.first_shard, next_shard);
        EXPECT_EQ(range.first_column, next_column);
        EXPECT_GE(range.shards, Network<float>::shards(m) / ranks);
        EXPECT_LE(range.shards, Network<float>::shards(m) / ranks + 1);
        next_shard += range.shards, next_column += range.columns;
      }
      EXPECT_EQ(next_shard, Network<float>::shards(m));
      EXPECT_EQ(next_column, m);
    }
}

TEST(Distributed, ShardGradientsAddUpToTheBatchGradientBitForBit) {
  // The single process's backward() is the shards' blocks added in order, then scaled; with
  // every micro-kernel, and with layers of fewer than 6 inputs (another path of the product).
  const MicroKernel chosen = micro_kernel();
  for (MicroKernel kernel : {MicroKernel::portable, MicroKernel::avx2, MicroKernel::avx512}) {
    if (!use_micro_kernel(kernel)) continue;
    for (const std::vector<int>& sizes : {std::vector<int>{20, 33, 17, 5}, std::vector<int>{4, 40, 3, 5}}) {
      Rng rng(3);
      Network<float> net(Architecture{sizes, Activation::tanh, Task::multiclass});
      net.initialize(rng);
      for (int m : {1, 5, 64, 65, 130, 257, 300}) {
        SCOPED_TRACE(::testing::Message() << to_string(kernel) << " n[0]=" << sizes[0] << " m=" << m);
        const Matrix<float> X = random_matrix(sizes[0], m, rng), Y = random_targets(5, m, rng);
        net.forward(X);
        net.backward(Y);
        const std::vector<float> whole(net.gradients().begin(), net.gradients().end());
        const std::size_t P = whole.size();
        std::vector<float> shards(Network<float>::shards(m) * P);
        net.backward_shards(Y, shards);
        std::vector<float> sum(shards.begin(), shards.begin() + P);
        for (int s = 1; s < Network<float>::shards(m); ++s)
          for (std::size_t i = 0; i < P; ++i) sum[i] += shards[s * P + i];
        for (float& g : sum) g *= 1.0f / float(m);
        EXPECT_TRUE(same_bits(sum, whole));
      }
    }
  }
  use_micro_kernel(chosen);
}

TEST(Distributed, ColumnsComputeTheSameBitsWhateverBatchTheyAreIn) {
  // Forward products of 1..5 columns take a path of their own (gemm_few_columns); it must sum as
  // the tiles do, or a rank with a short part of a batch would compute other bits.
  const MicroKernel chosen = micro_kernel();
  for (MicroKernel kernel : {MicroKernel::portable, MicroKernel::avx2, MicroKernel::avx512}) {
    if (!use_micro_kernel(kernel)) continue;
    SCOPED_TRACE(to_string(kernel));
    Rng rng(4);
    for (const auto& [n, k] : {std::pair{10, 7}, {70, 300}, {129, 784}}) {
      const Matrix<float> W = random_matrix(n, k, rng), X = random_matrix(k, 40, rng), b = random_matrix(n, 1, rng);
      Matrix<float> Z(n, 40);
      linear_forward<float>(W, X, b.data(), Z);
      for (int first : {0, 37})
        for (int cols = 1; first + cols <= 40 && cols <= 7; ++cols) {
          Matrix<float> part(n, cols);
          linear_forward<float>(W, columns(X, first, cols), b.data(), part);
          EXPECT_EQ(0, std::memcmp(part.data(), Z.data() + std::size_t(first) * n, sizeof(float) * n * cols))
              << "n=" << n << " k=" << k << " columns " << first << "+" << cols;
        }
    }
  }
  use_micro_kernel(chosen);
}

// Trains `steps` batches of m with dropout and Adam on `ranks` threads; returns rank 0's
// parameters and checks that every rank ends with the same ones and the same Rng.
std::vector<float> train_on_ranks(int ranks, int m, int steps, std::vector<double>* losses = nullptr) {
  const Architecture arch{{12, 40, 24, 3}, Activation::relu, Task::multiclass};
  Rng data_rng(9);
  const Matrix<float> X = random_matrix(12, m * steps, data_rng), Y = random_targets(3, m * steps, data_rng);
  std::vector<std::vector<float>> results(ranks);
  std::vector<std::string> rng_states(ranks);
  run_ranks(ranks, [&](ProcessGroup& group) {
    Rng rng(11);
    Network<float> net(arch);
    net.initialize(rng);
    OptimizerOptions adam;
    adam.kind = OptimizerKind::adam;
    Optimizer optimizer(adam, net.parameters().size());
    DataParallel parallel(group);
    for (int step = 0; step < steps; ++step) {
      const ShardRange mine = parallel.range(m);
      const int first = step * m + mine.first_column;
      net.forward(columns(X, first, mine.columns), 0.3, rng, mine.first_column, m);
      const DataParallel::Totals totals = parallel.backward(net, columns(Y, first, mine.columns), m, 0);
      if (losses && group.rank() == 0) losses->push_back(totals.loss_sum);
      optimizer.step(net.parameters(), net.gradients(), 0.01);
    }
    results[group.rank()].assign(net.parameters().begin(), net.parameters().end());
    rng_states[group.rank()] = rng.state();
  });
  for (int r = 1; r < ranks; ++r) {
    EXPECT_TRUE(same_bits(results[r], results[0])) << "rank " << r;
    EXPECT_EQ(rng_states[r], rng_states[0]) << "rank " << r;
  }
  return results[0];
}

TEST(Distributed, AnyNumberOfRanksTrainsTheSameBitsAsOne) {
  // 150 = 64 + 64 + 22: three shards, one short; with 4 and 5 ranks some have none.
  for (int m : {150, 64, 7}) {
    SCOPED_TRACE(m);
    std::vector<double> losses_one;
    const std::vector<float> one = train_on_ranks(1, m, 4, &losses_one);
    for (int ranks : {2, 3, 4, 5}) {
      std::vector<double> losses;
      EXPECT_TRUE(same_bits(train_on_ranks(ranks, m, 4, &losses), one)) << ranks << " ranks";
      EXPECT_EQ(0, std::memcmp(losses.data(), losses_one.data(), sizeof(double) * losses.size()));
    }
  }
}

TEST(Distributed, TheSplitRunIsTheSingleProcessRun) {
  // One rank through DataParallel is Network::backward on the whole batch, dropout included.
  const int m = 150;
  const std::vector<float> split = train_on_ranks(3, m, 3);
  const Architecture arch{{12, 40, 24, 3}, Activation::relu, Task::multiclass};
  Rng data_rng(9);
  const Matrix<float> X = random_matrix(12, m * 3, data_rng), Y = random_targets(3, m * 3, data_rng);
  Rng rng(11);
  Network<float> net(arch);
  net.initialize(rng);
  OptimizerOptions adam;
  adam.kind = OptimizerKind::adam;
  Optimizer optimizer(adam, net.parameters().size());
  for (int step = 0; step < 3; ++step) {
    net.forward(columns(X, step * m, m), 0.3, rng);
    net.backward(columns(Y, step * m, m));
    optimizer.step(net.parameters(), net.gradients(), 0.01);
  }
  EXPECT_TRUE(same_bits(split, {net.parameters().begin(), net.parameters().end()}));
}

// A labelled dataset of random features: `classes` classes (2 with one output: binary).
Dataset random_dataset(int features, std::size_t count, int classes, Rng& rng) {
  Dataset data;
  data.feature_source = data.label_source = "random";
  data.features = features;
  data.count = count;
  data.pixel_input = false;
  for (std::size_t i = 0; i < count * features; ++i) data.values.push_back(float(rng.uniform() * 2 - 1));
  for (std::size_t i = 0; i < count; ++i) data.labels.push_back(float(rng.below(classes)));
  return data;
}

bool same_evaluation(const Evaluation& a, const Evaluation& b) {
  return std::memcmp(&a.loss, &b.loss, sizeof a.loss) == 0 && a.accuracy == b.accuracy &&
         a.confusion == b.confusion && a.top_k_accuracy == b.top_k_accuracy && a.roc_auc == b.roc_auc && a.count == b.count;
}

TEST(Distributed, SplitEvaluationIsTheWholeEvaluation) {
  // Batches of 100 over 1,050 samples: 11 batches, the last short; split 1 to 4 ways.
  for (const auto& [sizes, task] : {std::pair{std::vector<int>{6, 16, 1}, Task::binary},
                                    std::pair{std::vector<int>{6, 16, 9}, Task::multiclass}}) {
    Rng rng(21);
    Network<float> net(Architecture{sizes, Activation::relu, task});
    net.initialize(rng);
    const Dataset data = random_dataset(6, 1050, task == Task::binary ? 2 : 9, rng);
    EvaluationOptions options;
    options.batch_size = 100;
    options.top_k = 3;
    const Evaluation alone = evaluate(net, data, options);
    for (int ranks = 1; ranks <= 4; ++ranks) {
      std::vector<Evaluation> seen(ranks);
      run_ranks(ranks, [&](ProcessGroup& group) {
        Network<float> copy = net;
        seen[group.rank()] = evaluate(copy, data, options, &group);
      });
      for (int r = 0; r < ranks; ++r) EXPECT_TRUE(same_evaluation(seen[r], alone)) << ranks << " ranks, rank " << r;
    }
    if (task == Task::binary) EXPECT_TRUE(alone.roc_auc.has_value());
    else EXPECT_TRUE(alone.top_k_accuracy.has_value());
  }
}

TEST(Distributed, TrainerOnRanksWritesTheSingleProcessModel) {
  // The whole Trainer: dropout, Adam, clipping, a validation set and keep_best, batches of 150
  // (three shards, one short) and a last batch of 100 in each epoch of 1,000 samples.
  Rng data_rng(5);
  const Dataset train_set = random_dataset(8, 1000, 4, data_rng), validation = random_dataset(8, 300, 4, data_rng);
  TrainOptions options;
  options.epochs = 3;
  options.batch_size = 150;
  options.optimizer.kind = OptimizerKind::adam;
  options.learning_rate = 0.01;
  options.dropout = 0.25;
  options.clip_norm = 1;
  options.keep_best = true;
  const auto run = [&](ProcessGroup* group, std::vector<EpochMetrics>* history) {
    Rng rng(17);
    Network<float> net(Architecture{{8, 24, 4}, Activation::relu, Task::multiclass});
    net.initialize(rng);
    TrainOptions o = options;
    o.processes = group;
    *history = train(net, train_set, o, rng, &validation);
    return std::vector<float>(net.parameters().begin(), net.parameters().end());
  };
  std::vector<EpochMetrics> alone_history;
  const std::vector<float> alone = run(nullptr, &alone_history);
  for (int ranks : {2, 3}) {
    std::vector<std::vector<float>> models(ranks);
    std::vector<std::vector<EpochMetrics>> histories(ranks);
    run_ranks(ranks, [&](ProcessGroup& group) { models[group.rank()] = run(&group, &histories[group.rank()]); });
    for (int r = 0; r < ranks; ++r) {
      EXPECT_TRUE(same_bits(models[r], alone)) << ranks << " ranks, rank " << r;
      ASSERT_EQ(histories[r].size(), alone_history.size());
      for (std::size_t e = 0; e < alone_history.size(); ++e) {
        EXPECT_EQ(histories[r][e].train_loss, alone_history[e].train_loss);
        EXPECT_EQ(histories[r][e].train_accuracy, alone_history[e].train_accuracy);
        EXPECT_TRUE(same_evaluation(*histories[r][e].validation, *alone_history[e].validation));
      }
    }
  }
}

TEST(Distributed, FirstFailureNamesTheRankOnEveryRank) {
  std::vector<std::string> seen(3);
  run_ranks(3, [&](ProcessGroup& group) {
    seen[group.rank()] = first_failure(group, group.rank() == 1 ? "data/x: no such file" : "");
  });
  for (const std::string& line : seen) EXPECT_EQ(line, "rank 1: data/x: no such file");
  run_ranks(2, [&](ProcessGroup& group) { seen[group.rank()] = first_failure(group, ""); });
  EXPECT_EQ(seen[0], "");
  EXPECT_EQ(seen[1], "");
}

TEST(Distributed, SingleProcessHasNoOneToTalkTo) {
  SingleProcess one;
  std::byte b{};
  EXPECT_THROW(one.send(1, {&b, 1}), Error);
  std::vector<float> out(3), partials = {1, 2, 3};
  fold_in_shard_order<float>(one, 10, partials, out);
  EXPECT_EQ(out, partials);
}

}  // namespace
}  // namespace mlp
