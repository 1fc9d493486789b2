// `mlp serve`: a model behind HTTP (JSON API) with a page to draw digits on.
#pragma once

#include <cstddef>
#include <string>

namespace CLI {
class App;
}  // namespace CLI

namespace mlp::cli {

struct ServeCommand {
  std::string model;
  std::string host = "127.0.0.1";   // other addresses only when asked for
  int port = 8080;                  // 0: any free port (the one taken is printed)
  int threads = 0;                  // connections served at once; 0: max(8, cores)
  double read_timeout = 5;          // seconds a connection may stay silent while sending a request
  double write_timeout = 5;
  std::size_t max_body = 16 << 20;  // bytes; larger requests get 413 before their body is read
  double threshold = 0.5;           // binary: class 1 from this probability up
  bool quiet = false;               // only the address line
  bool verbose = false;             // a line per request
};

CLI::App* add_serve_command(CLI::App& app, ServeCommand& command);
// Serves until SIGINT or SIGTERM; requests in flight are answered first.
int run_serve(const ServeCommand& command);

}  // namespace mlp::cli
