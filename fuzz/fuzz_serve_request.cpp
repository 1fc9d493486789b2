// Fuzzes the body of mlp serve's POST /v1/predict (cli/serve_request.cpp): each input is a body,
// read for a pixel model, for a model of plain features, and for table models with a categorical
// column, with and without fills. A body either parses into a whole dataset or gets a one-line
// reason; nothing else may happen (no exception, no crash, no huge allocation).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>

#include "mlp/preprocessing.hpp"
#include "serve_request.hpp"

namespace {

mlp::Preprocessing table(bool fills) {
  mlp::Preprocessing p;
  p.scaling = mlp::Scaling::standard;
  const float fill = fills ? 0.5f : std::numeric_limits<float>::quiet_NaN();
  p.columns = {{.name = "size", .index = 0, .categories = {}, .fill = fill, .center = 10, .scale = 3},
               {.name = "color", .index = 1, .categories = {"blue", "green", "red"}, .fill = fills ? 2.0f : fill},
               {.name = "weight", .index = 2, .categories = {}, .fill = fill, .center = 50, .scale = 10}};
  p.named_columns = true;
  p.file_columns = 4;
  return p;
}

void check(const std::string& body, const mlp::Architecture& arch, const mlp::Preprocessing& preprocessing) {
  mlp::cli::PredictRequest request;
  const std::string error = mlp::cli::parse_predict_request(body, arch, preprocessing, request);
  if (!error.empty()) {
    if (error.find('\n') != std::string::npos) __builtin_trap();
    return;
  }
  const mlp::Dataset& data = request.data;
  const std::size_t values = arch.pixel_input ? data.pixels.size() : data.values.size();
  if (data.count == 0 || data.features != arch.sizes[0] || values != data.count * std::size_t(arch.sizes[0]))
    __builtin_trap();
  for (float x : data.values)
    if (!std::isfinite(x)) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const mlp::Architecture pixels{.sizes = {4, 3, 2}, .pixel_input = true};
  static const mlp::Architecture features{.sizes = {3, 3, 2}, .pixel_input = false};
  static const mlp::Architecture tabular{.sizes = {5, 3, 2}, .pixel_input = false};
  static const mlp::Preprocessing none, filled = table(true), unfilled = table(false);
  const std::string body(reinterpret_cast<const char*>(data), size);
  check(body, pixels, none);
  check(body, features, none);
  check(body, tabular, filled);
  check(body, tabular, unfilled);
  return 0;
}
