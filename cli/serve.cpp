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

// What a predict request asks for: the inputs as a dataset the library's predict() takes, and
// whether the hidden activations should come back too.
struct PredictRequest {
  Dataset data;
  bool hidden = false;
};

// Reads {"inputs": [[...], ...], "hidden": false} straight into the dataset's compact storage
// (one byte per pixel), so that a body of many small numbers never becomes a tree of JSON values
// many times its size. An input is n[0] numbers, except for a model trained on a table: then it
// is one field per column of the table, as a CSV row holds them (numbers, category names, null
// for a missing value), turned into network inputs by the model's stored preprocessing, as
// `mlp predict` turns a CSV row. The first problem ends the parse and is kept in `error`.
class PredictSax : public nlohmann::json_sax<json> {
 public:
  PredictSax(const Architecture& arch, const Preprocessing& preprocessing, PredictRequest& request)
      : arch_(arch), preprocessing_(preprocessing), request_(request),
        width_(preprocessing.identity() ? arch.sizes[0] : static_cast<int>(preprocessing.columns.size())) {
    request_.data.feature_source = "request";
    request_.data.features = arch.sizes[0];
    request_.data.pixel_input = arch.pixel_input;
  }
  std::string error;
  bool saw_inputs = false;

  bool null() override { return table() && depth_ == 3 ? field("") : unexpected("null"); }
  bool boolean(bool value) override {
    if (depth_ == 1 && key_ == "hidden") {
      request_.hidden = value;
      return true;
    }
    return unexpected("a boolean");
  }
  bool number_integer(number_integer_t value) override {
    return table() && depth_ == 3 ? field(std::to_string(value)) : number(double(value), true);
  }
  bool number_unsigned(number_unsigned_t value) override {
    return table() && depth_ == 3 ? field(std::to_string(value)) : number(double(value), true);
  }
  bool number_float(number_float_t value, const string_t& text) override {
    // A table's number is read from its text, as from a CSV file: the same float.
    if (table() && depth_ == 3) return field(text);
    return number(value, std::isfinite(value) && value == std::floor(value));
  }
  bool string(string_t& text) override { return table() && depth_ == 3 ? field(text) : unexpected("a string"); }
  bool binary(binary_t&) override { return unexpected("binary data"); }
  bool start_object(std::size_t) override {
    if (depth_ != 0) return unexpected("an object");
    depth_ = 1;
    return true;
  }
  bool key(string_t& name) override {
    if (name != "inputs" && name != "hidden") return fail("unknown field '" + name + "' (expected \"inputs\", and \"hidden\" if wanted)");
    key_ = name;
    return true;
  }
  bool end_object() override {
    depth_ = 0;
    return true;
  }
  bool start_array(std::size_t) override {
    if (depth_ == 1 && key_ == "inputs") {
      saw_inputs = true;
      depth_ = 2;
      return true;
    }
    if (depth_ == 2) {
      depth_ = 3;
      column_ = 0;
      return true;
    }
    return unexpected("an array");
  }
  bool end_array() override {
    if (depth_ == 3) {
      if (column_ != width_)
        return fail(where() + ": " + std::to_string(column_) + " values; the model takes " + std::to_string(width_));
      if (table() && !encode_row()) return false;
      ++request_.data.count;
      depth_ = 2;
      return true;
    }
    if (request_.data.count == 0) return fail("\"inputs\" is an empty list; give at least one input");
    depth_ = 1;
    return true;
  }
  bool parse_error(std::size_t position, const std::string& token, const nlohmann::detail::exception&) override {
    return fail("the body is not valid JSON (at byte " + std::to_string(position) + ", near '" + token.substr(0, 40) + "')");
  }

 private:
  bool table() const { return !preprocessing_.identity(); }
  bool too_many() { return fail(where() + ": more than the " + std::to_string(width_) + " values the model takes"); }
  // One field of a table row, kept as text until the row is whole.
  bool field(std::string text) {
    if (column_ >= width_) return too_many();
    row_.push_back(std::move(text));
    ++column_;
    return true;
  }
  bool encode_row() {
    try {
      const std::vector<float> inputs = preprocessing_.encode(row_, where());
      request_.data.values.insert(request_.data.values.end(), inputs.begin(), inputs.end());
    } catch (const Error& e) {
      return fail(e.what());
    }
    row_.clear();
    return true;
  }
  bool number(double value, bool whole) {
    if (depth_ != 3) return unexpected("a number");
    if (column_ >= width_) return too_many();
    if (arch_.pixel_input) {
      if (!whole || value < 0 || value > 255)
        return fail(where() + "[" + std::to_string(column_) + "]: a pixel must be an integer 0..255");
      request_.data.pixels.push_back(static_cast<std::uint8_t>(value));
    } else {
      const float feature = static_cast<float>(value);
      if (!std::isfinite(feature)) return fail(where() + "[" + std::to_string(column_) + "]: not a finite number");
      request_.data.values.push_back(feature);
    }
    ++column_;
    return true;
  }
  std::string where() const { return "inputs[" + std::to_string(request_.data.count) + "]"; }
  bool unexpected(const std::string& what) {
    const std::string values = table() ? " values" : " numbers";
    if (depth_ == 3) return fail(where() + "[" + std::to_string(column_) + "]: expected a" + (table() ? " value" : " number") + ", got " + what);
    if (depth_ == 2) return fail(where() + ": expected an array of " + std::to_string(width_) + values + ", got " + what);
    if (depth_ == 1 && key_ == "hidden") return fail("\"hidden\": expected true or false, got " + what);
    if (depth_ == 1) return fail("\"inputs\": expected an array of inputs, got " + what);
    return fail("expected a JSON object {\"inputs\": [[...], ...]}, got " + what);
  }
  bool fail(std::string message) {
    if (error.empty()) error = std::move(message);
    return false;
  }

  const Architecture& arch_;
  const Preprocessing& preprocessing_;
  PredictRequest& request_;
  const int width_;  // values per input
  int depth_ = 0;    // 0 outside, 1 in the object, 2 in "inputs", 3 in one input
  std::string key_;
  int column_ = 0;
  std::vector<std::string> row_;  // a table row's fields so far
};

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

  if (body.empty()) return send_error(res, 400, "the body is empty; expected {\"inputs\": [[...], ...]}");
  PredictRequest request;
  PredictSax sax(pool.architecture(), model.preprocessing, request);
  const bool parsed = json::sax_parse(body, &sax);
  if (!parsed || !sax.error.empty()) return send_error(res, 400, sax.error.empty() ? "the body is not valid JSON" : sax.error);
  if (!sax.saw_inputs) return send_error(res, 400, "no \"inputs\": expected {\"inputs\": [[...], ...]}");
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
