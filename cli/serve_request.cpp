// The body of POST /v1/predict read into a dataset, by a SAX reader: pixels, numbers, table rows.
#include "serve_request.hpp"

#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <mlp/error.hpp>

namespace mlp::cli {

namespace {

using nlohmann::json;

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
    const std::string value = table() ? "value" : "number";  // what an input holds
    if (depth_ == 3) return fail(where() + "[" + std::to_string(column_) + "]: expected a " + value + ", got " + what);
    if (depth_ == 2) return fail(where() + ": expected an array of " + std::to_string(width_) + " " + value + "s, got " + what);
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

}  // namespace

std::string parse_predict_request(const std::string& body, const Architecture& arch, const Preprocessing& preprocessing,
                                  PredictRequest& request) {
  if (body.empty()) return "the body is empty; expected {\"inputs\": [[...], ...]}";
  PredictSax sax(arch, preprocessing, request);
  const bool parsed = json::sax_parse(body, &sax);
  // The messages quote the body (a field's name, a category): one line whatever it holds.
  if (!parsed || !sax.error.empty()) return sax.error.empty() ? "the body is not valid JSON" : Error::one_line(sax.error);
  if (!sax.saw_inputs) return "no \"inputs\": expected {\"inputs\": [[...], ...]}";
  return "";
}

}  // namespace mlp::cli
