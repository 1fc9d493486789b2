// The `mlp` command line: parses options with CLI11 and hands them to the subcommands.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include <mlp/error.hpp>

#include "command_line.hpp"
#include "commands.hpp"
#include "onnx.hpp"
#include "serve.hpp"
#include "suggest.hpp"

using namespace mlp::cli;

namespace {

// `mlp serve` is the program mlp-serve beside this one, with the same arguments, and `mlp export`
// and `mlp import` are mlp-onnx: the libraries they need (HTTP with OpenSSL, protobuf) would
// otherwise load with every command, 4 of its 6.5 ms of start-up. The options were checked here
// already; the process (and its PID) stays the same.
int run_program_beside(const std::string& name, const std::string& command, char** argv) {
  std::error_code error;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", error);
  const std::string program = (error ? std::filesystem::path(name) : self.parent_path() / name).string();
  execv(program.c_str(), argv);
  throw mlp::Error("cannot run " + program + " (mlp " + command + "): " + std::strerror(errno));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"mlp: train and run multilayer perceptrons on MNIST-style images and tabular data"};
  GlobalOptions global;
  add_global_options(app, global);

  TrainCommand train;
  EvalCommand eval;
  PredictCommand predict;
  GradcheckCommand gradcheck;
  ShowCommand show;
  ExportCommand export_command;
  ImportCommand import_command;
  ServeCommand serve;
  CLI::App* train_app = add_train_command(app, train);
  CLI::App* eval_app = add_eval_command(app, eval);
  CLI::App* predict_app = add_predict_command(app, predict);
  CLI::App* gradcheck_app = add_gradcheck_command(app, gradcheck);
  CLI::App* show_app = add_show_command(app, show);
  CLI::App* export_app = add_export_command(app, export_command);
  CLI::App* import_app = add_import_command(app, import_command);
  CLI::App* serve_app = add_serve_command(app, serve);

  std::string names;
  bool known = false;
  for (const CLI::App* command : app.get_subcommands([](const CLI::App*) { return true; })) {
    names += (names.empty() ? "" : ", ") + command->get_name();
    known = known || (argc > 1 && command->get_name() == argv[1]);
  }
  if (argc > 1 && argv[1][0] != '-' && !known) {
    const std::string suggestion = closest(argv[1], command_names(app));
    if (!suggestion.empty()) std::fprintf(stderr, "mlp: unknown command '%s' (did you mean '%s'?)\n", argv[1], suggestion.c_str());
    else std::fprintf(stderr, "mlp: unknown command '%s' (expected one of %s)\n", argv[1], names.c_str());
    return 2;
  }
  return parse_and_run(app, argc, argv, global, [&] {
    if (*train_app) return run_train(train);
    if (*eval_app) return run_eval(eval);
    if (*predict_app) return run_predict(predict);
    if (*gradcheck_app) return run_gradcheck(gradcheck);
    if (*show_app) return run_show(show);
    if (*export_app) return run_program_beside("mlp-onnx", "export", argv);
    if (*import_app) return run_program_beside("mlp-onnx", "import", argv);
    if (*serve_app) return run_program_beside("mlp-serve", "serve", argv);
    return 0;
  });
}
