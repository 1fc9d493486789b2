// The options of `mlp serve`, apart from the server: `mlp` checks them before it runs mlp-serve.
#include <CLI/CLI.hpp>
#include <cstddef>

#include "progress.hpp"
#include "serve.hpp"

namespace mlp::cli {

CLI::App* add_serve_command(CLI::App& app, ServeCommand& command) {
  CLI::App* command_app = app.add_subcommand("serve", "Answer predictions over HTTP (JSON API and a page to draw digits on)");
  command_app->add_option("--model", command.model, "Model file")->required();
  command_app->add_option("--host", command.host, "Address to listen on; other than 127.0.0.1 makes the model reachable from other machines")
      ->capture_default_str();
  command_app->add_option("--port", command.port, "Port; 0 takes any free one (printed at start)")
      ->check(CLI::Range(0, 65535))->capture_default_str();
  command_app->add_option("--threads", command.threads, "Connections served at once (default: max(8, cores))")
      ->check(CLI::Range(1, 1024));
  command_app->add_option("--read-timeout", command.read_timeout, "Seconds a client may stay silent while sending a request")
      ->check(CLI::Range(0.001, 3600.0))->capture_default_str();
  command_app->add_option("--write-timeout", command.write_timeout, "Seconds a client may take to accept the answer")
      ->check(CLI::Range(0.001, 3600.0))->capture_default_str();
  command_app->add_option("--max-body", command.max_body, "Largest request body in bytes; larger ones get 413 unread")
      ->check(CLI::Range(std::size_t(1), std::size_t(1) << 32))->capture_default_str();
  command_app->add_option("--threshold", command.threshold, "Binary: the positive class from this probability up")
      ->check(CLI::Range(0.0, 1.0))->capture_default_str();
  add_verbosity_flags(*command_app, command.quiet, command.verbose, "Print only the address line at start",
                      "Print a line per request (method, path, status)");
  return command_app;
}

}  // namespace mlp::cli
