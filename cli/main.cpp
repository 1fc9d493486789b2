// The `mlp` command line: parses options with CLI11 and hands them to the subcommands.
#include <omp.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <algorithm>
#include <new>
#include <string>
#include <vector>

#include <mlp/error.hpp>

#include "commands.hpp"

namespace {

using namespace mlp::cli;

void add_data_options(CLI::App& command, DataOptions& data) {
  auto* folder = command.add_option("--data", data.data,
                                    "Folder with the four MNIST IDX files (.gz or not), or a CSV file")
                     ->capture_default_str();
  command.add_option("--dataset", data.dataset, "Shortcut: mnist (data/mnist) or fashion (Debian's dataset-fashion-mnist)")
      ->check(CLI::IsMember({"mnist", "fashion"}))
      ->excludes(folder);
  command.add_option("--test", data.test, "Test CSV file, when --data is a CSV file");
  command.add_option("--label-column", data.label_column,
                     "CSV: name or 0-based index of the label column; the other columns are float features "
                     "(without it: label first, then pixels 0..255)");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"mlp: train and run multilayer perceptrons on MNIST-style images and tabular data"};
  app.require_subcommand(1);
  app.fallthrough();  // --threads may come after the subcommand too
  int threads = 0;
  app.add_option("--threads", threads, "Threads for the matrix products (default: all cores); a run is bit-for-bit reproducible for a given count")
      ->check(CLI::Range(1, 1024));
  app.set_version_flag("--version", "mlp 0.1.0");

  TrainCommand train;
  CLI::App* train_app = app.add_subcommand("train", "Train a network by minibatch gradient descent");
  add_data_options(*train_app, train.data);
  auto* layers = train_app->add_option("--layers", train.layers, "Layer sizes n[0]-...-n[L], e.g. 784-128-10 (default: inputs-128-outputs)");
  auto* activation = train_app->add_option("--activation", train.activation, "Hidden activation: relu, sigmoid, tanh or linear")
                         ->check(CLI::IsMember({"relu", "sigmoid", "tanh", "linear"}))->capture_default_str();
  auto* task = train_app->add_option("--task", train.task, "binary (sigmoid), multiclass (softmax) or regression (identity)")
                   ->check(CLI::IsMember({"binary", "multiclass", "regression"}))->capture_default_str();
  auto* positive = train_app->add_option("--positive", train.positive, "Binary task: the label that counts as positive, e.g. 3 for 'is it a 3?'")
                       ->capture_default_str();
  train_app->add_option("--epochs", train.epochs, "Passes over the training set")->check(CLI::Range(0, 1000000))->capture_default_str();
  train_app->add_option("--batch-size", train.batch_size, "Samples per batch, m")->check(CLI::Range(1, 1 << 20))->capture_default_str();
  train_app->add_option("--lr", train.learning_rate, "Learning rate, alpha")->check(CLI::PositiveNumber)->capture_default_str();
  train_app->add_option("--seed", train.seed, "Seed of initialization and shuffling")->capture_default_str();
  train_app->add_flag("--no-shuffle", train.no_shuffle, "Keep the file order every epoch");
  train_app->add_option("--val-split", train.val_split, "Hold out this fraction of the training set for validation")
      ->check(CLI::Range(0.0, 1.0));
  train_app->add_option("--out", train.out, "Write the trained model here (safetensors)");
  train_app->add_option("--metrics", train.metrics, "Write one JSON object per epoch here (JSON Lines)");
  train_app->add_option("--init", train.init, "Start from this model file instead of random weights")
      ->excludes(layers)->excludes(activation)->excludes(task)->excludes(positive);
  train_app->add_flag("--quiet,-q", train.quiet, "Print only the final result");

  EvalCommand eval;
  CLI::App* eval_app = app.add_subcommand("eval", "Loss, accuracy and confusion matrix of a model on the test split");
  eval_app->add_option("--model", eval.model, "Model file")->required();
  add_data_options(*eval_app, eval.data);
  eval_app->add_flag("--json", eval.json, "Print one JSON document");

  PredictCommand predict;
  CLI::App* predict_app = app.add_subcommand("predict", "Class and probabilities for each sample of a file");
  predict_app->add_option("--model", predict.model, "Model file")->required();
  predict_app->add_option("--input", predict.input, "IDX images file (.gz or not) or CSV file")->required();
  predict_app->add_option("--label-column", predict.label_column, "CSV: a label column to ignore (name or index)");
  predict_app->add_flag("--json", predict.json, "Print one JSON document");

  GradcheckCommand gradcheck;
  CLI::App* gradcheck_app = app.add_subcommand("gradcheck", "Check backpropagation against finite differences, in double");
  gradcheck_app->add_option("--layers", gradcheck.layers, "Layer sizes (default: 10-8-6-4, or 10-8-6-1 for binary)");
  gradcheck_app->add_option("--activation", gradcheck.activation, "Hidden activation")
      ->check(CLI::IsMember({"relu", "sigmoid", "tanh", "linear"}))->capture_default_str();
  gradcheck_app->add_option("--task", gradcheck.task, "Task")
      ->check(CLI::IsMember({"binary", "multiclass", "regression"}))->capture_default_str();
  gradcheck_app->add_option("--samples", gradcheck.samples, "Columns of the random batch")->check(CLI::Range(1, 4096))->capture_default_str();
  gradcheck_app->add_option("--seed", gradcheck.seed, "Seed of weights and data")->capture_default_str();
  gradcheck_app->add_option("--tolerance", gradcheck.tolerance, "Largest relative error that passes")->capture_default_str();
  gradcheck_app->add_option("--max-params", gradcheck.max_parameters, "Check a random subset beyond this many parameters")
      ->check(CLI::PositiveNumber)->capture_default_str();

  const std::vector<std::string> commands = {"train", "eval", "predict", "gradcheck"};
  if (argc > 1 && argv[1][0] != '-' && std::find(commands.begin(), commands.end(), argv[1]) == commands.end()) {
    std::fprintf(stderr, "mlp: unknown command '%s' (expected train, eval, predict or gradcheck)\n", argv[1]);
    return 2;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line, not CLI11's message plus a hint: the option and the problem.
    std::fprintf(stderr, "mlp: %s (see mlp --help)\n", e.what());
    return 2;
  }

  try {
    if (threads > 0) omp_set_num_threads(threads);
    if (*train_app) return run_train(train);
    if (*eval_app) return run_eval(eval);
    if (*predict_app) return run_predict(predict);
    if (*gradcheck_app) return run_gradcheck(gradcheck);
  } catch (const mlp::Error& e) {
    std::fprintf(stderr, "mlp: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "mlp: out of memory\n");
    return 1;
  }
  return 0;
}
