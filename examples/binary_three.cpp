// "Is it a 3?": a binary classifier on MNIST, with its precision and recall on the test images.
#include <cstdio>

#include <mlp/data.hpp>
#include <mlp/training.hpp>

int main(int argc, char** argv) {
  const char* folder = argc > 1 ? argv[1] : "data/mnist";
  const mlp::TrainTest data = mlp::read_idx_folder(folder);

  // One sigmoid output: the probability that the image is a 3 (label 3 is class 1, all others 0).
  mlp::Architecture arch{{784, 16, 32, 1}, mlp::Activation::relu, mlp::Task::binary};
  arch.positive = 3;
  mlp::Network<float> net(arch);
  mlp::Rng rng(1);
  net.initialize(rng);

  const mlp::TrainOptions options{.epochs = 5, .batch_size = 64, .learning_rate = 0.1};
  for (const mlp::EpochMetrics& m : mlp::train(net, data.train, options, rng, nullptr, &data.test))
    std::printf("epoch %d: train loss %.4f, test accuracy %.2f%%\n", m.epoch, m.train_loss, 100 * *m.test->accuracy);

  // Only about one image in ten is a 3: accuracy alone flatters, so look at class 1 itself.
  const mlp::Evaluation result = mlp::evaluate(net, data.test);
  std::printf("is it a 3: accuracy %.2f%%, precision %.3f, recall %.3f, F1 %.3f\n", 100 * *result.accuracy,
              result.precision(1), result.recall(1), result.f1(1));
  return 0;
}
