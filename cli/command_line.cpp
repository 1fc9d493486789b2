// The frame of mlp, mlp-serve and mlp-onnx: top-level options, parsing, running, one-line errors.
#include "command_line.hpp"

#include <omp.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <exception>
#include <new>
#include <string>
#include <vector>

#include <mlp/error.hpp>

#include "suggest.hpp"

namespace mlp::cli {

namespace {

// The line for an unknown subcommand in argv[1]; "" when it names one, or is an option.
std::string unknown_command(const CLI::App& app, int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-') return "";
  const std::vector<std::string> names = command_names(app);
  if (std::find(names.begin(), names.end(), argv[1]) != names.end()) return "";
  const std::string suggestion = closest(argv[1], names);
  if (!suggestion.empty()) return "unknown command '" + std::string(argv[1]) + "' (did you mean '" + suggestion + "'?)";
  std::string list;
  for (const std::string& name : names) list += (list.empty() ? "" : ", ") + name;
  return "unknown command '" + std::string(argv[1]) + "' (expected one of " + list + ")";
}

}  // namespace

bool chosen(const CLI::App* command) { return command->parsed(); }

int run_program(int argc, char** argv, const std::function<RunCommand(CLI::App&)>& add) {
  CLI::App app{"mlp: train and run multilayer perceptrons on MNIST-style images and tabular data"};
  app.require_subcommand(1);
  app.fallthrough();  // --threads may come after the subcommand too
  int threads = 0;    // 0: all cores
  app.add_option("--threads", threads, "Threads at most (default: all cores); results are the same bits for any count, and training times one thread against these and uses the faster")
      ->check(CLI::Range(1, 1024));
  app.set_version_flag("--version", "mlp 0.1.0");
  const RunCommand run = add(app);
  if (const std::string unknown = unknown_command(app, argc, argv); !unknown.empty()) {
    std::fprintf(stderr, "mlp: %s\n", unknown.c_str());
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
    return run();
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
}

}  // namespace mlp::cli
