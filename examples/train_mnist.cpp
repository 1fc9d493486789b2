// The README's example: train the default MNIST model through the C++ API and save it.
#include <cstdio>

#include <mlp/data.hpp>
#include <mlp/model_file.hpp>
#include <mlp/training.hpp>

int main(int argc, char** argv) {
  const char* folder = argc > 1 ? argv[1] : "data/mnist";
  mlp::TrainTest data = mlp::read_idx_folder(folder);
  mlp::Network<float> net(mlp::Architecture{{784, 128, 10}, mlp::Activation::relu, mlp::Task::multiclass});
  mlp::Rng rng(1);
  net.initialize(rng);
  mlp::train(net, data.train, mlp::TrainOptions{.epochs = 10, .batch_size = 64, .learning_rate = 0.1}, rng);
  std::printf("test accuracy %.4f\n", *mlp::evaluate(net, data.test).accuracy);
  mlp::save_model("model.safetensors", net);
}
