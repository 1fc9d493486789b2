// The program docs/library.md walks through: load MNIST, train, evaluate, save, reload, predict.
#include <cstdio>

#include <mlp/data.hpp>
#include <mlp/error.hpp>
#include <mlp/model_file.hpp>
#include <mlp/training.hpp>

int main(int argc, char** argv) try {
  const mlp::TrainTest data = mlp::read_idx_folder(argc > 1 ? argv[1] : "data/mnist");

  mlp::Network<float> net(mlp::Architecture{{784, 64, 10}, mlp::Activation::relu, mlp::Task::multiclass});
  mlp::Rng rng(1);  // the seed fixes the initial weights and each epoch's order
  net.initialize(rng);

  mlp::TrainCallbacks callbacks;
  callbacks.on_epoch = [](const mlp::EpochMetrics& m) {
    std::printf("epoch %d: train loss %.4f, test accuracy %.2f%%\n", m.epoch, m.train_loss, 100 * *m.test->accuracy);
  };
  const mlp::TrainOptions options{.epochs = 3, .batch_size = 64, .learning_rate = 0.1};
  mlp::train(net, data.train, options, rng, /*validation_set=*/nullptr, &data.test, callbacks);

  mlp::save_model("walkthrough.safetensors", net, {{"epochs", "3"}, {"seed", "1"}});
  mlp::Network<float> loaded = mlp::load_model("walkthrough.safetensors");
  const mlp::Evaluation result = mlp::evaluate(loaded, data.test);
  std::printf("reloaded: accuracy %.2f%%, loss %.4f on %zu images\n", 100 * *result.accuracy, result.loss, result.count);

  // A[L] of every test image, one column each: the ten class probabilities.
  const mlp::Matrix<float> probabilities = mlp::predict(loaded, data.test);
  const int predicted = mlp::predicted_class(mlp::Task::multiclass, probabilities.view().col(0), 10);
  std::printf("first test image: label %g, predicted %d\n", data.test.labels[0], predicted);
} catch (const mlp::Error& e) {  // a missing or corrupt file: one line naming it
  std::fprintf(stderr, "walkthrough: %s\n", e.what());
  return 1;
}
