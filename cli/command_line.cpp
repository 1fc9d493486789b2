// The top-level options and the parse-then-run frame of `mlp` and `mlp-serve`.
#include "command_line.hpp"

#include <omp.h>

#include <csignal>
#include <cstdio>
#include <exception>
#include <new>

#include <mlp/error.hpp>

#include "suggest.hpp"

namespace mlp::cli {

void add_global_options(CLI::App& app, GlobalOptions& options) {
  app.require_subcommand(1);
  app.fallthrough();  // --threads may come after the subcommand too
  app.add_option("--threads", options.threads, "Threads at most (default: all cores); results are the same bits for any count, and training times one thread against these and uses the faster")
      ->check(CLI::Range(1, 1024));
  app.set_version_flag("--version", "mlp 0.1.0");
}

int parse_and_run(CLI::App& app, int argc, char** argv, const GlobalOptions& options, const std::function<int()>& run) {
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
    if (options.threads > 0) omp_set_num_threads(options.threads);
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
