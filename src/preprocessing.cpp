// Imputation, scaling and one-hot categories fitted on training rows; class names; their model metadata.
#include "mlp/preprocessing.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>

#include "mlp/error.hpp"

namespace mlp {

namespace {

using nlohmann::json;

// Shortest text of a float that reads back as the same float: "3", "-1", "2.5".
std::string float_name(float value) {
  char text[32];
  const auto [end, err] = std::to_chars(text, text + sizeof text, value);
  return err == std::errc() ? std::string(text, end) : std::to_string(value);
}

std::string describe(const FeatureColumn& column) { return "column '" + column.name + "'"; }

}  // namespace

Scaling parse_scaling(std::string_view name, std::string_view option) {
  if (name == "none") return Scaling::none;
  if (name == "standard") return Scaling::standard;
  if (name == "minmax") return Scaling::minmax;
  throw Error(std::string(option) + ": '" + std::string(name) + "' is not one of standard, minmax, none");
}

Imputation parse_imputation(std::string_view name, std::string_view option) {
  if (name == "none") return Imputation::none;
  if (name == "mean") return Imputation::mean;
  if (name == "median") return Imputation::median;
  throw Error(std::string(option) + ": '" + std::string(name) + "' is not one of mean, median, none");
}

std::string to_string(Scaling scaling) {
  return scaling == Scaling::standard ? "standard" : scaling == Scaling::minmax ? "minmax" : "none";
}

std::string to_string(Imputation imputation) {
  return imputation == Imputation::mean ? "mean" : imputation == Imputation::median ? "median" : "none";
}

int Preprocessing::inputs() const {
  int n = 0;
  for (const FeatureColumn& column : columns) n += column.categories.empty() ? 1 : static_cast<int>(column.categories.size());
  return n;
}

void Preprocessing::transform(std::span<const float> raw, std::span<float> x, const std::string& where) const {
  std::size_t i = 0;
  for (std::size_t c = 0; c < columns.size(); ++c) {
    const FeatureColumn& column = columns[c];
    float value = raw[c];
    if (std::isnan(value)) {
      if (std::isnan(column.fill))
        throw Error(where + ": " + describe(column) + ": missing value, and the model (trained without --impute) "
                    "has nothing to fill it with");
      value = column.fill;
    }
    if (column.categories.empty()) {
      x[i++] = (value - column.center) / column.scale;
    } else {
      std::fill(x.begin() + i, x.begin() + i + column.categories.size(), 0.0f);
      x[i + static_cast<std::size_t>(value)] = 1;
      i += column.categories.size();
    }
  }
}

std::vector<float> Preprocessing::encode(std::span<const std::string> fields, const std::string& where) const {
  if (fields.size() != columns.size())
    throw Error(where + ": " + std::to_string(fields.size()) + " values, but the model takes " +
                std::to_string(columns.size()) + " columns");
  std::vector<float> raw(columns.size());
  for (std::size_t c = 0; c < columns.size(); ++c) {
    const std::string& field = fields[c];
    const FeatureColumn& column = columns[c];
    if (is_missing(field)) {
      raw[c] = std::numeric_limits<float>::quiet_NaN();
    } else if (!column.categories.empty()) {
      const auto it = std::find(column.categories.begin(), column.categories.end(), field);
      if (it == column.categories.end())
        throw Error(where + ": " + describe(column) + ": category '" + field + "' was not seen in training");
      raw[c] = static_cast<float>(it - column.categories.begin());
    } else {
      const auto [end, err] = std::from_chars(field.data(), field.data() + field.size(), raw[c]);
      if (err != std::errc() || end != field.data() + field.size() || !std::isfinite(raw[c]))
        throw Error(where + ": " + describe(column) + ": '" + field + "' is not a finite number");
    }
  }
  std::vector<float> x(inputs());
  transform(raw, x, where);
  return x;
}

std::string Preprocessing::class_name(int c) const {
  return c >= 0 && c < static_cast<int>(classes.size()) ? classes[c] : std::to_string(c);
}

std::optional<int> Preprocessing::class_index(std::string_view name) const {
  if (!classes.empty()) {
    const auto it = std::find(classes.begin(), classes.end(), name);
    if (it == classes.end()) return std::nullopt;
    return static_cast<int>(it - classes.begin());
  }
  int c = 0;
  const auto [end, err] = std::from_chars(name.data(), name.data() + name.size(), c);
  if (err != std::errc() || end != name.data() + name.size()) return std::nullopt;
  return c;
}

std::vector<std::string> choose_classes(const Dataset& data) {
  if (!data.classes.empty()) return data.classes;
  std::vector<float> distinct = data.labels;
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  bool indices = true;
  for (std::size_t i = 0; i < distinct.size() && indices; ++i) indices = distinct[i] == float(i);
  if (indices) return {};
  std::vector<std::string> names;
  for (float label : distinct) names.push_back(float_name(label));
  return names;
}

void assign_classes(Dataset& data, const std::vector<std::string>& classes) {
  if (classes.empty() || data.labels.empty()) return;
  for (std::size_t s = 0; s < data.labels.size(); ++s) {
    const float label = data.labels[s];
    const std::string name = data.classes.empty() ? float_name(label) : data.classes[static_cast<std::size_t>(label)];
    const auto it = std::find(classes.begin(), classes.end(), name);
    if (it == classes.end()) {
      std::string known;
      for (std::size_t c = 0; c < classes.size() && c < 20; ++c) known += (c ? ", " : "") + classes[c];
      throw Error(data.where(s) + ": class '" + name + "' is not one of the classes trained on (" + known +
                  (classes.size() > 20 ? ", ..." : "") + ")");
    }
    data.labels[s] = static_cast<float>(it - classes.begin());
  }
  data.classes = classes;
}

Preprocessing fit_preprocessing(const Dataset& train, Scaling scaling, Imputation imputation) {
  Preprocessing p;
  if (train.pixel_input) return p;
  p.scaling = scaling;
  p.imputation = imputation;
  p.named_columns = train.named_columns;
  p.label_columns = train.label_columns;
  p.label_index = train.label_index;
  p.file_columns = train.file_columns;
  p.classes = train.classes;
  const std::size_t width = train.features;
  for (std::size_t c = 0; c < width; ++c) {
    FeatureColumn column;
    column.name = c < train.columns.size() ? train.columns[c] : "column " + std::to_string(c);
    column.index = c < train.column_index.size() ? train.column_index[c] : static_cast<int>(c);
    std::vector<double> present;
    present.reserve(train.count);
    for (std::size_t s = 0; s < train.count; ++s) {
      const float v = train.values[s * width + c];
      if (!std::isnan(v)) present.push_back(v);
    }
    if (present.empty())
      throw Error(train.feature_source + ": " + describe(column) + " has no value in the training samples");
    const bool categorical = c < train.categories.size() && !train.categories[c].empty();
    if (categorical) {
      // Categories in sorted order, as scikit-learn's OneHotEncoder; the fill is the most frequent.
      const std::vector<std::string>& seen = train.categories[c];
      std::vector<std::size_t> counts(seen.size());
      for (double v : present) ++counts[static_cast<std::size_t>(v)];
      column.categories = seen;
      std::sort(column.categories.begin(), column.categories.end());
      if (imputation != Imputation::none) {
        std::size_t best = 0;
        for (std::size_t k = 1; k < seen.size(); ++k)
          if (counts[k] > counts[best] || (counts[k] == counts[best] && seen[k] < seen[best])) best = k;
        column.fill = static_cast<float>(std::lower_bound(column.categories.begin(), column.categories.end(), seen[best]) -
                                         column.categories.begin());
      }
      p.columns.push_back(std::move(column));
      continue;
    }
    if (imputation == Imputation::mean) {
      double sum = 0;
      for (double v : present) sum += v;
      column.fill = static_cast<float>(sum / double(present.size()));
    } else if (imputation == Imputation::median) {
      std::vector<double> sorted = present;
      std::sort(sorted.begin(), sorted.end());
      const std::size_t n = sorted.size();
      column.fill = static_cast<float>(n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2);
    }
    // The statistics of the column as the network will see it: missing values filled.
    std::vector<double> filled = present;
    if (!std::isnan(column.fill)) filled.resize(train.count, column.fill);
    double center = 0, scale = 1;
    if (scaling == Scaling::standard) {
      double sum = 0;
      for (double v : filled) sum += v;
      center = sum / double(filled.size());
      double squares = 0;
      for (double v : filled) squares += (v - center) * (v - center);
      scale = std::sqrt(squares / double(filled.size()));  // the population std, as StandardScaler
    } else if (scaling == Scaling::minmax) {
      const auto [low, high] = std::minmax_element(filled.begin(), filled.end());
      center = *low;
      scale = *high - *low;
    }
    column.center = static_cast<float>(center);
    column.scale = static_cast<float>(scale);
    // A constant column is only shifted: dividing by its zero spread would give NaN.
    if (!(column.scale > 0) || !std::isfinite(column.scale)) column.scale = 1;
    p.columns.push_back(std::move(column));
  }
  return p;
}

void apply_preprocessing(const Preprocessing& p, Dataset& data) {
  if (p.identity()) return;
  if (data.pixel_input) throw Error(data.feature_source + ": holds pixels, but the model was trained on a table's columns");
  const std::size_t width = p.columns.size();
  if (static_cast<std::size_t>(data.features) != width)
    throw Error(data.feature_source + ": samples have " + std::to_string(data.features) + " columns, but the model takes " +
                std::to_string(width));
  // The file's own category numbering to the model's.
  std::vector<std::vector<float>> recode(width);
  for (std::size_t c = 0; c < width; ++c) {
    const auto& model = p.columns[c].categories;
    const std::vector<std::string> none;
    const auto& file = c < data.categories.size() ? data.categories[c] : none;
    if (model.empty() && !file.empty())
      throw Error(data.feature_source + ": " + describe(p.columns[c]) + " holds categories, but the model took numbers");
    for (const std::string& category : file) {
      const auto it = std::find(model.begin(), model.end(), category);
      recode[c].push_back(it == model.end() ? -1.0f : static_cast<float>(it - model.begin()));
    }
  }
  const int inputs = p.inputs();
  std::vector<float> x(data.count * inputs);
  std::vector<float> raw(width);
  for (std::size_t s = 0; s < data.count; ++s) {
    for (std::size_t c = 0; c < width; ++c) {
      float v = data.values[s * width + c];
      if (!p.columns[c].categories.empty() && !std::isnan(v)) {
        if (recode[c].empty())
          throw Error(data.where(s) + ": " + describe(p.columns[c]) + ": '" + float_name(v) +
                      "' is a number, but the column held categories in training");
        v = recode[c][static_cast<std::size_t>(v)];
        if (v < 0) {
          std::string known;
          for (std::size_t k = 0; k < p.columns[c].categories.size() && k < 20; ++k)
            known += (k ? ", " : "") + p.columns[c].categories[k];
          throw Error(data.where(s) + ": " + describe(p.columns[c]) + ": category '" +
                      data.categories[c][static_cast<std::size_t>(data.values[s * width + c])] +
                      "' was not seen in training (it saw " + known + ")");
        }
      }
      raw[c] = v;
    }
    p.transform(raw, std::span<float>(x).subspan(s * inputs, inputs), data.where(s));
  }
  data.values = std::move(x);
  data.features = inputs;
  data.categories.assign(0, {});
}

CsvOptions csv_options_for(const Preprocessing& p, const std::string& path, CsvOptions base, bool labelled) {
  base.pixels = false;
  base.allow_missing = true;  // transform() names the ones the model cannot fill
  base.features.clear();
  base.categorical.clear();
  base.label_column.clear();
  const std::vector<std::string> header = csv_header(path, base);
  auto index_of = [](int i) {
    std::string spec(1, '#');  // appended, not "#" + ...: GCC 12 warns falsely (-Wrestrict) on that
    spec += std::to_string(i);
    return spec;
  };
  if (!header.empty() && p.named_columns) {
    auto find = [&](const std::string& name) {
      return static_cast<int>(std::find(header.begin(), header.end(), name) - header.begin());
    };
    std::string missing;
    for (const FeatureColumn& column : p.columns) {
      const int c = find(column.name);
      if (c == static_cast<int>(header.size())) missing += (missing.empty() ? "" : ", ") + column.name;
      base.features.push_back(index_of(c));
      if (!column.categories.empty()) base.categorical.push_back(index_of(c));
    }
    if (!missing.empty()) {
      std::string there;
      for (const std::string& name : header) there += (there.empty() ? "" : ", ") + name;
      throw Error(path + ": has no column " + missing + " of those the model was trained on; its columns are: " + there);
    }
    bool has_labels = !p.label_columns.empty();
    std::string labels;
    for (const std::string& name : p.label_columns) {
      const int c = find(name);
      has_labels = has_labels && c < static_cast<int>(header.size());
      if (!labels.empty()) labels += ',';
      labels += index_of(c);
    }
    if (labelled && !has_labels)
      throw Error(path + ": has no label column " + (p.label_columns.empty() ? "" : "'" + p.label_columns[0] + "'") +
                  " to evaluate against");
    base.labelled = has_labels;
    if (has_labels) base.label_column = labels;
    base.header = CsvHeader::present;
    return base;
  }
  const int columns = csv_columns(path, base.separator);
  if (columns == p.file_columns) {
    for (const FeatureColumn& column : p.columns) {
      base.features.push_back(index_of(column.index));
      if (!column.categories.empty()) base.categorical.push_back(index_of(column.index));
    }
    std::string labels;
    for (int c : p.label_index) {
      if (!labels.empty()) labels += ',';
      labels += index_of(c);
    }
    base.labelled = !labels.empty();
    base.label_column = labels;
  } else if (columns == static_cast<int>(p.columns.size()) && !labelled) {
    for (std::size_t c = 0; c < p.columns.size(); ++c) {
      base.features.push_back(index_of(static_cast<int>(c)));
      if (!p.columns[c].categories.empty()) base.categorical.push_back(index_of(static_cast<int>(c)));
    }
    base.labelled = false;
  } else {
    throw Error(path + ": " + std::to_string(columns) + " columns, but the model was trained on a file of " +
                std::to_string(p.file_columns) + " (" + std::to_string(p.columns.size()) + " features" +
                (p.label_columns.empty() ? "" : " and the label") + ")");
  }
  if (labelled && !base.labelled) throw Error(path + ": has no label column to evaluate against");
  return base;
}

void write_preprocessing(const Preprocessing& p, std::map<std::string, std::string>& metadata) {
  if (!p.classes.empty()) metadata["classes"] = json(p.classes).dump();
  if (p.identity()) return;
  json columns = json::array();
  for (const FeatureColumn& column : p.columns) {
    json c = {{"name", column.name}, {"index", column.index}};
    if (!column.categories.empty()) c["categories"] = column.categories;
    else c.update({{"center", column.center}, {"scale", column.scale}});
    if (!std::isnan(column.fill)) c["fill"] = column.fill;
    columns.push_back(std::move(c));
  }
  json labels = json::array();
  for (std::size_t i = 0; i < p.label_columns.size(); ++i)
    labels.push_back({{"name", p.label_columns[i]}, {"index", i < p.label_index.size() ? p.label_index[i] : -1}});
  metadata["preprocessing"] = json{{"scaling", to_string(p.scaling)},
                                   {"imputation", to_string(p.imputation)},
                                   {"header", p.named_columns},
                                   {"file_columns", p.file_columns},
                                   {"columns", columns},
                                   {"labels", labels}}
                                  .dump();
}

Preprocessing read_preprocessing(const std::map<std::string, std::string>& metadata, const std::string& path, int inputs,
                                 int classes) {
  Preprocessing p;
  try {
    if (const auto it = metadata.find("classes"); it != metadata.end()) {
      p.classes = json::parse(it->second).get<std::vector<std::string>>();
      if (classes >= 0 && static_cast<int>(p.classes.size()) != classes)
        throw Error(path + ": __metadata__.classes names " + std::to_string(p.classes.size()) + " classes, but the network has " +
                    std::to_string(classes));
    }
    const auto it = metadata.find("preprocessing");
    if (it == metadata.end()) return p;
    const json j = json::parse(it->second);
    p.scaling = parse_scaling(j.at("scaling").get<std::string>(), path + ": __metadata__.preprocessing.scaling");
    p.imputation = parse_imputation(j.at("imputation").get<std::string>(), path + ": __metadata__.preprocessing.imputation");
    p.named_columns = j.at("header").get<bool>();
    p.file_columns = j.at("file_columns").get<int>();
    for (const json& c : j.at("columns")) {
      FeatureColumn column;
      column.name = c.at("name").get<std::string>();
      column.index = c.at("index").get<int>();
      if (c.contains("categories")) {
        column.categories = c.at("categories").get<std::vector<std::string>>();
        if (column.categories.empty()) throw Error(path + ": __metadata__.preprocessing: column '" + column.name + "' has no categories");
      } else {
        column.center = c.at("center").get<float>();
        column.scale = c.at("scale").get<float>();
        if (!std::isfinite(column.center) || !(column.scale > 0) || !std::isfinite(column.scale))
          throw Error(path + ": __metadata__.preprocessing: column '" + column.name + "' has a bad center or scale");
      }
      if (c.contains("fill")) {
        column.fill = c.at("fill").get<float>();
        const bool fits = std::isfinite(column.fill) &&
                          (column.categories.empty() || (column.fill >= 0 && column.fill < float(column.categories.size()) &&
                                                         column.fill == std::floor(column.fill)));
        if (!fits) throw Error(path + ": __metadata__.preprocessing: column '" + column.name + "' has a bad fill value");
      }
      if (column.index < 0 || column.index >= p.file_columns)
        throw Error(path + ": __metadata__.preprocessing: column '" + column.name + "' has index " +
                    std::to_string(column.index) + " outside the file's " + std::to_string(p.file_columns) + " columns");
      p.columns.push_back(std::move(column));
    }
    for (const json& l : j.at("labels")) {
      p.label_columns.push_back(l.at("name").get<std::string>());
      p.label_index.push_back(l.at("index").get<int>());
      if (p.label_index.back() < 0 || p.label_index.back() >= p.file_columns)
        throw Error(path + ": __metadata__.preprocessing: label column '" + p.label_columns.back() + "' has a bad index");
    }
  } catch (const json::exception& e) {
    throw Error(path + ": __metadata__.preprocessing or classes: malformed: " + e.what());
  }
  if (p.inputs() != inputs)
    throw Error(path + ": __metadata__.preprocessing gives " + std::to_string(p.inputs()) + " inputs, but the network takes " +
                std::to_string(inputs));
  return p;
}

}  // namespace mlp
