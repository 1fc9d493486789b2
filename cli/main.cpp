// The `mlp` command line: parses options with CLI11 and hands them to the subcommands.
#include <omp.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <algorithm>
#include <new>
#include <string>
#include <vector>

#include <mlp/error.hpp>

#include "commands.hpp"
#include "onnx.hpp"
#include "serve.hpp"
#include "suggest.hpp"

using namespace mlp::cli;

int main(int argc, char** argv) {
  CLI::App app{"mlp: train and run multilayer perceptrons on MNIST-style images and tabular data"};
  app.require_subcommand(1);
  app.fallthrough();  // --threads may come after the subcommand too
  int threads = 0;
  app.add_option("--threads", threads, "Threads at most (default: all cores); results are the same bits for any count, and training times one thread against these and uses the faster")
      ->check(CLI::Range(1, 1024));
  app.set_version_flag("--version", "mlp 0.1.0");

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
    std::fprintf(stderr, "mlp: %s\n", parse_error_message(app, e).c_str());
    return 2;
  }

  // Past `ulimit -f` (RLIMIT_FSIZE) a write then fails with EFBIG, and the error names the file,
  // instead of SIGXFSZ killing the program with half a line of output.
  std::signal(SIGXFSZ, SIG_IGN);
  try {
    if (threads > 0) omp_set_num_threads(threads);
    if (*train_app) return run_train(train);
    if (*eval_app) return run_eval(eval);
    if (*predict_app) return run_predict(predict);
    if (*gradcheck_app) return run_gradcheck(gradcheck);
    if (*show_app) return run_show(show);
    if (*export_app) return run_export(export_command);
    if (*import_app) return run_import(import_command);
    if (*serve_app) return run_serve(serve);
  } catch (const mlp::Error& e) {
    std::fprintf(stderr, "mlp: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "mlp: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    // A bug rather than bad input (a library exception that escaped): still one line and status
    // 1, not std::terminate.
    std::fprintf(stderr, "mlp: internal error: %s\n", e.what());
    return 1;
  }
  return 0;
}
