// The body of POST /v1/predict (docs/serve.md): {"inputs": [[...], ...], "hidden": false} read
// straight into a dataset the library's predict() takes.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include <mlp/data.hpp>
#include <mlp/network.hpp>
#include <mlp/preprocessing.hpp>

namespace mlp::cli {

// What a predict request asks for: the inputs as a dataset the library's predict() takes, and
// whether the hidden activations should come back too.
struct PredictRequest {
  Dataset data;
  bool hidden = false;
};

// Reads `body` for a model of `arch` and `preprocessing` into `request`. Returns "" when it holds a
// valid request, else the one-line reason, naming the input and value at fault.
std::string parse_predict_request(const std::string& body, const Architecture& arch, const Preprocessing& preprocessing,
                                  PredictRequest& request);

}  // namespace mlp::cli
