// A network with its preprocessing: loading, saving, and prediction from raw rows.
#include "mlp/model.hpp"

#include <charconv>
#include <cmath>

#include "mlp/error.hpp"
#include "mlp/model_file.hpp"
#include "mlp/training.hpp"

namespace mlp {

Model Model::load(const std::string& path) {
  const TensorFile file = TensorFile::read(path, std::size_t(16) << 30);
  Network<float> network = load_model(file);
  const Architecture& arch = network.architecture();
  Preprocessing preprocessing = read_preprocessing(file.metadata(), path, arch.sizes[0],
                                                   arch.task == Task::multiclass ? arch.classes() : -1);
  return {std::move(network), std::move(preprocessing)};
}

void Model::save(const std::string& path, const std::map<std::string, std::string>& extra) const {
  std::map<std::string, std::string> metadata = extra;
  write_preprocessing(preprocessing, metadata);
  save_model(path, network, metadata);
}

Dataset Model::read_csv(const std::string& path, const CsvOptions& base, bool labelled) const {
  const Architecture& arch = network.architecture();
  Dataset data;
  if (preprocessing.identity()) {
    CsvOptions options = base;
    options.pixels = arch.pixel_input;
    data = mlp::read_csv(path, options);
  } else {
    data = mlp::read_csv(path, csv_options_for(preprocessing, path, base, labelled));
  }
  if (arch.task != Task::regression) assign_classes(data, preprocessing.classes);
  apply_preprocessing(preprocessing, data);
  return data;
}

Matrix<float> Model::predict_raw(const Dataset& raw) {
  Dataset data = raw;
  apply_preprocessing(preprocessing, data);
  return mlp::predict(network, data);
}

std::vector<float> Model::predict(std::span<const std::string> fields) {
  Dataset one;
  one.pixel_input = network.architecture().pixel_input;
  one.count = 1;
  if (!preprocessing.identity()) {
    one.values = preprocessing.encode(fields);
  } else {
    for (const std::string& field : fields) {
      float value = 0;
      const auto [end, err] = std::from_chars(field.data(), field.data() + field.size(), value);
      if (err != std::errc() || end != field.data() + field.size() || !std::isfinite(value))
        throw Error("sample: '" + field + "' is not a finite number");
      if (!one.pixel_input) one.values.push_back(value);
      else if (value < 0 || value > 255 || value != std::floor(value)) throw Error("sample: pixel '" + field + "' is not an integer 0..255");
      else one.pixels.push_back(static_cast<std::uint8_t>(value));
    }
  }
  one.features = static_cast<int>(fields.size());
  if (!preprocessing.identity()) one.features = static_cast<int>(one.values.size());
  one.feature_source = "sample";
  const Matrix<float> outputs = mlp::predict(network, one);
  return std::vector<float>(outputs.view().col(0), outputs.view().col(0) + outputs.rows());
}

std::string Model::class_name(int c) const {
  const Architecture& arch = network.architecture();
  if (arch.task == Task::binary) {
    // Class 1 is the positive label; class 0 everything else (the other name when there are two).
    const std::string positive = preprocessing.class_name(arch.positive);
    if (c == 1) return positive;
    if (preprocessing.classes.size() == 2) return preprocessing.classes[arch.positive == 0 ? 1 : 0];
    return "not " + positive;
  }
  return preprocessing.class_name(c);
}

}  // namespace mlp
