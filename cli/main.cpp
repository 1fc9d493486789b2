// The `mlp` command line: parses options with CLI11 and hands them to the subcommands.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include <mlp/error.hpp>

#include "command_line.hpp"
#include "commands.hpp"
#include "onnx.hpp"
#include "serve.hpp"

using namespace mlp::cli;

namespace {

// `mlp serve` is the program mlp-serve beside this one, with the same arguments, and `mlp export`
// and `mlp import` are mlp-onnx: the libraries they need (HTTP with OpenSSL, protobuf) would
// otherwise load with every command: 3.7 of its 6.5 ms of start-up. The options were checked here
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
  TrainCommand train;
  EvalCommand eval;
  PredictCommand predict;
  GradcheckCommand gradcheck;
  ShowCommand show;
  ExportCommand export_command;
  ImportCommand import_command;
  ServeCommand serve;
  return run_program(argc, argv, [&](CLI::App& app) -> RunCommand {
    CLI::App* train_app = add_train_command(app, train);
    CLI::App* eval_app = add_eval_command(app, eval);
    CLI::App* predict_app = add_predict_command(app, predict);
    CLI::App* gradcheck_app = add_gradcheck_command(app, gradcheck);
    CLI::App* show_app = add_show_command(app, show);
    CLI::App* export_app = add_export_command(app, export_command);
    CLI::App* import_app = add_import_command(app, import_command);
    CLI::App* serve_app = add_serve_command(app, serve);
    return [=, &train, &eval, &predict, &gradcheck, &show] {
      if (chosen(train_app)) return run_train(train);
      if (chosen(eval_app)) return run_eval(eval);
      if (chosen(predict_app)) return run_predict(predict);
      if (chosen(gradcheck_app)) return run_gradcheck(gradcheck);
      if (chosen(show_app)) return run_show(show);
      if (chosen(export_app)) return run_program_beside("mlp-onnx", "export", argv);
      if (chosen(import_app)) return run_program_beside("mlp-onnx", "import", argv);
      if (chosen(serve_app)) return run_program_beside("mlp-serve", "serve", argv);
      return 0;
    };
  });
}
