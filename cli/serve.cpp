// `mlp serve`: the model behind HTTP (cpp-httplib), JSON in and out, and the drawing page.
#include "serve.hpp"

#include <httplib.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <csignal>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <mlp/error.hpp>
#include <mlp/model.hpp>
#include <mlp/model_file.hpp>
#include <mlp/training.hpp>

#include "prediction_json.hpp"
#include "serve_request.hpp"
#include "web_assets.hpp"

namespace mlp::cli {

namespace {

using nlohmann::json;

// {"error": "..."} on one line.
void send_error(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(json{{"error", message}}.dump(-1, ' ', false, json::error_handler_t::replace) + "\n",
                  "application/json");
}

// Networks keep their activations between calls, so each request borrows one of its own; the pool
// grows to the number of requests computed at once and no further.
class NetworkPool {
 public:
  explicit NetworkPool(Network<float> prototype) : prototype_(std::move(prototype)) {}

  struct Deleter {
    NetworkPool* pool;
    void operator()(Network<float>* net) const {
      const std::lock_guard lock(pool->mutex_);
      pool->free_.emplace_back(net);
    }
  };
  using Lease = std::unique_ptr<Network<float>, Deleter>;

  Lease borrow() {
    const std::lock_guard lock(mutex_);
    if (free_.empty()) return Lease(new Network<float>(prototype_), Deleter{this});
    Lease lease(free_.back().release(), Deleter{this});
    free_.pop_back();
    return lease;
  }
  const Architecture& architecture() const { return prototype_.architecture(); }
  const Network<float>& prototype() const { return prototype_; }

 private:
  const Network<float> prototype_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<Network<float>>> free_;
};

// A[l] of every hidden layer for each sample: [[layer 1 values], [layer 2 values], ...].
json hidden_activations(const Network<float>& net, int sample) {
  json layers = json::array();
  for (int l = 1; l < net.depth(); ++l) {
    const float* a = net.A(l).col(sample);
    layers.push_back(std::vector<float>(a, a + net.units(l)));
  }
  return layers;
}

// predict()'s default batch size, which `mlp predict` uses: the batches the outputs are computed in.
constexpr std::size_t predict_batch = 1024;
// The largest request whose hidden activations the network still holds after predict().
constexpr std::size_t max_hidden_batch = predict_batch;

// The library's predict(), in the batches `mlp predict` uses, computes these outputs: the bits it
// prints for the same samples (a sample's outputs can differ in the last bits with the width of
// the batch it is computed in).
std::string predict_response(NetworkPool& pool, const Model& model, const PredictRequest& request, double threshold) {
  NetworkPool::Lease net = pool.borrow();
  // predict() allocates its batch matrix at full width; narrowing it to the request's size
  // computes the same batches (those of `mlp predict`), without a 3 MB buffer per small request.
  const int width = static_cast<int>(std::min(request.data.count, predict_batch));
  const Matrix<float> outputs = predict(*net, request.data, width);
  const Architecture& arch = pool.architecture();
  json predictions = json::array();
  for (int s = 0; s < outputs.cols(); ++s) {
    json item = prediction_json(arch, outputs.view().col(s), threshold);
    if (arch.task != Task::regression) item["name"] = model.class_name(item["class"].get<int>());
    if (request.hidden) item["hidden"] = hidden_activations(*net, s);
    predictions.push_back(std::move(item));
  }
  return json{{"predictions", predictions}}.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}


void handle_predict(NetworkPool& pool, const Model& model, const ServeCommand& command, const httplib::Request& req,
                    httplib::Response& res, const httplib::ContentReader& read_content) {
  // A declared length over the limit is refused before one byte of the body is read.
  if (req.has_header("Content-Length") && req.get_header_value<std::uint64_t>("Content-Length") > command.max_body) {
    res.set_header("Connection", "close");
    return send_error(res, 413, "the body is " + req.get_header_value("Content-Length") + " bytes; at most " +
                                    std::to_string(command.max_body) + " (--max-body)");
  }
  std::string body;
  bool too_large = false;
  const bool complete = read_content([&](const char* data, std::size_t length) {
    if (body.size() + length > command.max_body) return !(too_large = true);
    body.append(data, length);
    return true;
  });
  if (too_large) {
    res.set_header("Connection", "close");
    return send_error(res, 413, "the body is over " + std::to_string(command.max_body) + " bytes (--max-body)");
  }
  if (!complete) return send_error(res, 400, "the body could not be read whole");

  PredictRequest request;
  const std::string error = parse_predict_request(body, pool.architecture(), model.preprocessing, request);
  if (!error.empty()) return send_error(res, 400, error);
  if (request.hidden && request.data.count > max_hidden_batch)
    return send_error(res, 400, "\"hidden\": at most " + std::to_string(max_hidden_batch) + " inputs per request");
  res.set_content(predict_response(pool, model, request, command.threshold), "application/json");
}

// What each path answers to; any other method on a known path is 405.
const char* allowed_method(const std::string& path) {
  if (path == "/v1/predict") return "POST";
  if (path == "/v1/model" || path == "/healthz" || path == "/") return "GET";
  for (const WebAsset& asset : web_assets)
    if (path == asset.path) return "GET";
  return nullptr;
}

// SO_REUSEADDR but not the library's default SO_REUSEPORT: a second server on a port in use must
// fail to start instead of sharing the port.
void socket_options(socket_t sock) {
  int yes = 1;
  setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
}

template <typename Seconds>
void split_seconds(Seconds seconds, time_t& whole, time_t& micro) {
  whole = static_cast<time_t>(seconds);
  micro = static_cast<time_t>(std::lround((seconds - double(whole)) * 1e6));
}

// The server's threads, timeouts and socket options from the command line; returns the threads.
unsigned configure_server(httplib::Server& server, const ServeCommand& command) {
  const unsigned threads = command.threads > 0 ? unsigned(command.threads) : std::max(8u, std::thread::hardware_concurrency());
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server.set_socket_options(socket_options);
  time_t seconds, micro;
  split_seconds(command.read_timeout, seconds, micro);
  server.set_read_timeout(seconds, micro);
  split_seconds(command.write_timeout, seconds, micro);
  server.set_write_timeout(seconds, micro);
  server.set_keep_alive_timeout(std::max<time_t>(1, static_cast<time_t>(command.read_timeout)));
  server.set_payload_max_length(command.max_body);
  server.set_keep_alive_max_count(1000);
  server.set_tcp_nodelay(true);  // headers and body go out as separate writes: no waiting on delayed ACKs
  return threads;
}

// Before any route: a method the path does not take (405), or a body sent where none is read (413).
httplib::Server::HandlerResponse refuse_before_routing(const httplib::Request& req, httplib::Response& res,
                                                       std::size_t max_body) {
  const char* method = allowed_method(req.path);
  if (method && req.method != method && !(req.method == "HEAD" && std::string(method) == "GET")) {
    res.set_header("Allow", method);
    send_error(res, 405, req.method + " " + req.path + ": method not allowed (use " + method + ")");
    return httplib::Server::HandlerResponse::Handled;
  }
  // Bodies sent to the other paths: bounded too, chunked ones included (the library reads those
  // without a limit).
  if (req.path != "/v1/predict" && (req.has_header("Transfer-Encoding") ||
                                    req.get_header_value<std::uint64_t>("Content-Length") > max_body)) {
    res.set_header("Connection", "close");
    send_error(res, 413, req.path + ": this request's body is not accepted");
    return httplib::Server::HandlerResponse::Handled;
  }
  return httplib::Server::HandlerResponse::Unhandled;
}

// An exception out of a handler as a 500 with what it says.
void send_exception(httplib::Response& res, std::exception_ptr error) {
  std::string what = "internal error";
  try {
    std::rethrow_exception(error);
  } catch (const std::bad_alloc&) {
    what = "out of memory";
  } catch (const std::exception& e) {
    what = std::string("internal error: ") + e.what();
  } catch (...) {
  }
  send_error(res, 500, what);
}

// Every error as a JSON line: refused methods and bodies, unknown paths and bad requests,
// exceptions; and with --verbose, a log line per request.
void add_error_handling(httplib::Server& server, const ServeCommand& command) {
  const std::size_t max_body = command.max_body;
  server.set_pre_routing_handler([max_body](const httplib::Request& req, httplib::Response& res) {
    return refuse_before_routing(req, res, max_body);
  });
  server.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;  // already a JSON error
    send_error(res, res.status, res.status == 404 ? req.path + ": not found (see GET /v1/model, POST /v1/predict)"
                                                  : "bad request (HTTP status " + std::to_string(res.status) + ")");
    return httplib::Server::HandlerResponse::Handled;
  }));
  server.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr error) {
    send_exception(res, error);
  });
  if (command.verbose)
    server.set_logger([](const httplib::Request& req, const httplib::Response& res) {
      std::fprintf(stderr, "%s %s %d %zu\n", req.method.c_str(), req.path.c_str(), res.status, res.body.size());
    });
}

// The API and the page. The handlers refer to `pool`, `model`, `command` and `summary`, which
// must outlive the server.
void add_routes(httplib::Server& server, NetworkPool& pool, const Model& model, const ServeCommand& command,
                const std::string& summary) {
  server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) { res.set_content("{\"status\":\"ok\"}\n", "application/json"); });
  server.Get("/v1/model", [&summary](const httplib::Request&, httplib::Response& res) { res.set_content(summary, "application/json"); });
  server.Post("/v1/predict", [&pool, &model, &command](const httplib::Request& req, httplib::Response& res,
                                                       const httplib::ContentReader& read) {
    handle_predict(pool, model, command, req, res, read);
  });
  for (const WebAsset& asset : web_assets) {
    const std::string path = asset.path == std::string("/index.html") ? "/" : asset.path;
    server.Get(path, [&asset](const httplib::Request&, httplib::Response& res) {
      res.set_content(asset.content.data(), asset.content.size(), asset.type);
      res.set_header("Cache-Control", "no-cache");
      // The page may load nothing from elsewhere.
      res.set_header("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'");
    });
  }
}

// SIGINT and SIGTERM are taken by one thread (sigwait) rather than a handler, so that stopping
// the server happens outside signal context; every thread started after this inherits the
// blocked mask.
sigset_t block_stop_signals() {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  return stop_signals;
}

// The port the server is bound to: --port, or with --port 0 any free one.
int bind_port(httplib::Server& server, const ServeCommand& command) {
  const int port = command.port == 0 ? server.bind_to_any_port(command.host)
                                     : (server.bind_to_port(command.host, command.port) ? command.port : -1);
  if (port < 0)
    throw Error("--host " + command.host + " --port " + std::to_string(command.port) +
                ": cannot listen there (address in use, or not an address of this machine)");
  return port;
}

// Serves until one of `stop_signals` comes; false when listening failed.
bool listen_until_stopped(httplib::Server& server, const sigset_t& stop_signals) {
  std::thread stopper([&] {
    int signal = 0;
    sigwait(&stop_signals, &signal);
    server.stop();  // listen_after_bind() returns once the requests in flight are answered
  });
  const bool listened = server.listen_after_bind();
  pthread_kill(stopper.native_handle(), SIGTERM);  // when listening failed: no signal will come
  stopper.join();
  return listened;
}

}  // namespace

int run_serve(const ServeCommand& command) {
  // The network goes to the pool; `model` keeps the preprocessing and class names beside it.
  Model model = Model::load(command.model);
  NetworkPool pool(model.network);
  const Architecture& arch = pool.architecture();
  const std::string summary = summary_json(command.model, pool.prototype(), read_model_metadata(command.model), false)
                                  .dump(-1, ' ', false, json::error_handler_t::replace) + "\n";

  httplib::Server server;
  const unsigned threads = configure_server(server, command);
  add_error_handling(server, command);
  add_routes(server, pool, model, command, summary);

  const sigset_t stop_signals = block_stop_signals();
  const int port = bind_port(server, command);
  {  // even with --quiet: with --port 0 this line is the only way to learn the port
    std::printf("mlp serve: http://%s:%d/ (model %s, %s, %s; %u threads; Ctrl-C stops)\n", command.host.c_str(), port,
                command.model.c_str(), arch.layers_string().c_str(), to_string(arch.task).c_str(), threads);
    std::fflush(stdout);
  }
  if (!listen_until_stopped(server, stop_signals))
    throw Error("--port " + std::to_string(port) + ": the server stopped with an error");
  if (!command.quiet) std::printf("mlp serve: stopped\n");
  return 0;
}

}  // namespace mlp::cli
