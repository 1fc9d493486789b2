// IDX and CSV readers that check every field, validation splits, and batch assembly.
#include "mlp/data.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <numeric>
#include <unordered_map>

#include "mlp/csv.hpp"
#include "mlp/error.hpp"
#include "mlp/file_io.hpp"
#include "mlp/random.hpp"
#include "vectorized.hpp"

namespace mlp {

namespace {

// Far above any real dataset (the full MNIST training images are 47 MB), far below harm.
constexpr std::size_t max_data_file_bytes = std::size_t(8) << 30;

std::uint32_t read_big_endian(const std::uint8_t* p) {
  return std::uint32_t(p[0]) << 24 | std::uint32_t(p[1]) << 16 | std::uint32_t(p[2]) << 8 | p[3];
}

// An IDX file of unsigned bytes: the dimensions from its header and its payload.
struct Idx {
  std::vector<std::uint32_t> dims;
  std::vector<std::uint8_t> payload;
};

Idx read_idx_file(const std::string& path, int min_dims, int max_dims, const char* expected) {
  std::vector<std::uint8_t> bytes = read_file(path, max_data_file_bytes);
  if (bytes.size() < 4) throw Error(path + ": too short for an IDX file (" + std::to_string(bytes.size()) + " bytes)");
  const int dims = bytes[3];
  if (bytes[0] != 0 || bytes[1] != 0 || bytes[2] != 0x08 || dims < min_dims || dims > max_dims) {
    char magic[16];
    std::snprintf(magic, sizeof magic, "0x%08X", read_big_endian(bytes.data()));
    throw Error(path + ": wrong magic number " + magic + ", expected " + expected);
  }
  const std::size_t header = 4 + 4 * std::size_t(dims);
  if (bytes.size() < header) throw Error(path + ": truncated IDX header");
  Idx idx;
  std::size_t expected_bytes = 1;
  for (int d = 0; d < dims; ++d) {
    idx.dims.push_back(read_big_endian(&bytes[4 + 4 * d]));
    // Each factor is below 2^32, so the product cannot wrap before it exceeds the real size.
    expected_bytes *= idx.dims.back();
    if (expected_bytes > bytes.size()) expected_bytes = bytes.size() + 1;
  }
  const std::size_t actual = bytes.size() - header;
  if (actual < expected_bytes)
    throw Error(path + ": truncated: the header promises more data than the file holds (" +
                std::to_string(actual) + " bytes of data)");
  if (actual > expected_bytes)
    throw Error(path + ": " + std::to_string(actual - expected_bytes) + " bytes beyond what the header describes");
  bytes.erase(bytes.begin(), bytes.begin() + header);
  idx.payload = std::move(bytes);
  return idx;
}

bool exists(const std::string& path) {
  struct stat info {};
  return stat(path.c_str(), &info) == 0;
}

// `folder/name`, or `folder/name.gz` if only that exists.
std::string find_file(const std::string& folder, const std::string& name) {
  const std::string plain = folder + "/" + name;
  if (exists(plain)) return plain;
  if (exists(plain + ".gz")) return plain + ".gz";
  throw Error(plain + ": not found (nor " + name + ".gz); --data must name a folder with the four "
              "MNIST files, e.g. from scripts/fetch-mnist.sh");
}

bool parse_float(std::string_view field, float& value) {
  const auto [end, err] = std::from_chars(field.data(), field.data() + field.size(), value);
  return err == std::errc() && end == field.data() + field.size();
}

// A number written out but not finite: inf, nan, or beyond float's range (1e39).
bool is_infinite_number(std::string_view field) {
  float value;
  const auto [end, err] = std::from_chars(field.data(), field.data() + field.size(), value);
  return end == field.data() + field.size() && (err == std::errc::result_out_of_range || (err == std::errc() && !std::isfinite(value)));
}

}  // namespace

Dataset read_idx(const std::string& images_path, const std::string& labels_path) {
  Idx images = read_idx_file(images_path, 2, 4, "0x00000803 (IDX images of unsigned bytes)");
  std::size_t features = 1;
  for (std::size_t d = 1; d < images.dims.size(); ++d) features *= images.dims[d];
  if (features == 0 || features > (1u << 24))
    throw Error(images_path + ": images of " + std::to_string(features) + " values are not supported");
  Dataset data;
  data.feature_source = images_path;
  data.label_source = labels_path;
  data.features = static_cast<int>(features);
  data.count = images.dims[0];
  data.pixels = std::move(images.payload);
  if (labels_path.empty()) return data;

  const Idx labels = read_idx_file(labels_path, 1, 1, "0x00000801 (IDX labels of unsigned bytes)");
  if (labels.dims[0] != data.count)
    throw Error(labels_path + ": holds " + std::to_string(labels.dims[0]) + " labels but " +
                images_path + " holds " + std::to_string(data.count) + " images");
  data.labels.assign(labels.payload.begin(), labels.payload.end());
  return data;
}

TrainTest read_idx_folder(const std::string& folder) {
  struct stat info {};
  if (stat(folder.c_str(), &info) != 0) throw Error(folder + ": " + std::strerror(errno));
  if (!S_ISDIR(info.st_mode)) throw Error(folder + ": not a folder; expected one with the four MNIST IDX files");
  // Find all four before reading any, so that a wrong folder fails fast, on the first name.
  const std::string train_images = find_file(folder, "train-images-idx3-ubyte");
  const std::string train_labels = find_file(folder, "train-labels-idx1-ubyte");
  const std::string test_images = find_file(folder, "t10k-images-idx3-ubyte");
  const std::string test_labels = find_file(folder, "t10k-labels-idx1-ubyte");
  return {read_idx(train_images, train_labels), read_idx(test_images, test_labels)};
}

bool is_missing(std::string_view field) {
  static constexpr std::string_view tokens[] = {"", "NA", "N/A", "n/a", "NaN", "nan", "-nan", "-NaN", "NULL",
                                                "null", "None", "<NA>", "#N/A", "?"};
  return std::find(std::begin(tokens), std::end(tokens), field) != std::end(tokens);
}

namespace {

// The text of a CSV file, and its separator.
struct CsvText {
  std::vector<std::uint8_t> bytes;
  std::string_view text;
  char separator;
};

CsvText read_csv_text(const std::string& path, char separator) {
  CsvText csv;
  csv.bytes = read_file(path, max_data_file_bytes);
  csv.text = strip_bom(std::string_view(reinterpret_cast<const char*>(csv.bytes.data()), csv.bytes.size()));
  csv.separator = separator ? separator : detect_separator(csv.text);
  return csv;
}

bool is_number(std::string_view field) {
  float value;
  return !is_missing(field) && parse_float(field, value);
}

// Whether the first record is a header, from it and the second (empty if there is none).
bool looks_like_header(const std::vector<std::string>& first, const std::vector<std::string>& second) {
  // pandas writes 0,1,...,n-1 as the names of unnamed columns.
  bool counting = first.size() >= 4;
  for (std::size_t c = 0; counting && c < first.size(); ++c) counting = first[c] == std::to_string(c);
  if (counting) return true;
  for (std::size_t c = 0; c < first.size(); ++c) {
    if (is_number(first[c]) || is_missing(first[c])) continue;
    // A text above a number, or on the only line: a name. Above another text: a category.
    if (second.size() != first.size() || c >= second.size() || is_number(second[c])) return true;
  }
  return false;
}

std::string list_columns(const std::vector<std::string>& names, int columns) {
  if (names.empty()) return "the file has no header; the columns are the indices 0.." + std::to_string(columns - 1);
  std::string list;
  for (std::size_t c = 0; c < names.size(); ++c) list += (c ? ", " : "") + names[c];
  return "the columns are: " + list;
}

// The index of the column `spec` names in a file with these header names (none: no header).
int resolve_column(const std::string& path, const std::string& option, const std::string& spec,
                   const std::vector<std::string>& names, int columns) {
  if (spec.size() > 1 && spec[0] == '#') {  // an index, whatever the header says
    int index = 0;
    const auto [end, err] = std::from_chars(spec.data() + 1, spec.data() + spec.size(), index);
    if (err != std::errc() || end != spec.data() + spec.size() || index >= columns || index < -columns)
      throw Error(path + ": " + option + " '" + spec + "' is not an index below " + std::to_string(columns) + "; " +
                  list_columns(names, columns));
    return index < 0 ? index + columns : index;
  }
  int named = -1;
  for (std::size_t c = 0; c < names.size(); ++c) {
    if (names[c] != spec) continue;
    if (named >= 0)
      throw Error(path + ": " + option + " '" + spec + "': the header names two columns so (" + std::to_string(named) +
                  " and " + std::to_string(c) + "); give one by its index");
    named = static_cast<int>(c);
  }
  int index = 0;
  const auto [end, err] = std::from_chars(spec.data(), spec.data() + spec.size(), index);
  const bool is_index = err == std::errc() && end == spec.data() + spec.size() && index < columns && index >= -columns;
  if (is_index && index < 0) index += columns;
  if (named >= 0 && is_index && index != named)
    throw Error(path + ": " + option + " '" + spec + "' is ambiguous: it is the name of column " + std::to_string(named) +
                " and the index of column '" + names[index] + "'; give an index as '#" + std::to_string(index) +
                "' or the column's name ('" + names[index] + "')");
  if (named >= 0) return named;
  if (is_index) return index;
  throw Error(path + ": " + option + " '" + spec + "' is neither a column name nor an index below " +
              std::to_string(columns) + "; " + list_columns(names, columns));
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = text.find(',', start);
    items.push_back(text.substr(start, comma - start));
    if (comma == std::string::npos) return items;
    start = comma + 1;
  }
}

// The first two records of a CSV file, as text.
std::pair<std::vector<std::string>, std::vector<std::string>> first_records(const std::string& path, const CsvText& csv) {
  CsvRecords records(csv.text, path, csv.separator);
  std::vector<std::string> first, second;
  if (records.next()) first.assign(records.fields().begin(), records.fields().end());
  if (records.next()) second.assign(records.fields().begin(), records.fields().end());
  return {first, second};
}

bool has_header(const CsvOptions& options, const std::vector<std::string>& first, const std::vector<std::string>& second) {
  if (options.header == CsvHeader::detect) return looks_like_header(first, second);
  return options.header == CsvHeader::present;
}

}  // namespace

std::string Dataset::where(std::size_t s) const {
  if (s < lines.size()) return feature_source + ":" + std::to_string(lines[s]);
  return feature_source + ", sample " + std::to_string(s);
}

std::vector<std::string> csv_header(const std::string& path, const CsvOptions& options) {
  const CsvText csv = read_csv_text(path, options.separator);
  auto [first, second] = first_records(path, csv);
  const bool preamble = options.header == CsvHeader::detect && !second.empty() && second.size() != first.size();
  return has_header(options, first, second) && !preamble ? first : std::vector<std::string>{};
}

namespace {

enum class ColumnKind : std::uint8_t { number, category, label, ignored };

// What read_csv knows of a file before its samples: its form, and which column is what.
struct CsvLayout {
  const std::string& path;
  const CsvOptions& options;
  bool skip_first = false;  // the first record is not a sample: a header or a preamble
  bool header = false;      // it names the columns
  int columns = 0;
  std::vector<std::string> names = {};  // the header's; empty without one
  std::vector<ColumnKind> kind = {};
  std::vector<int> label_index = {};
  std::vector<int> feature_index = {};  // the feature columns in the order of the samples' values

  std::string column_name(int c) const { return header ? names[c] : "column " + std::to_string(c); }
  std::string describe(int c) const {
    return header ? "column '" + names[c] + "' (" + std::to_string(c) + ")" : "column " + std::to_string(c);
  }
};

// Whether the file starts with a header or a preamble, and how many columns its samples have.
void detect_form(const CsvText& csv, CsvLayout& layout) {
  const auto [first, second] = first_records(layout.path, csv);
  if (first.empty()) throw Error(layout.path + ": no samples");
  layout.skip_first = has_header(layout.options, first, second);
  // A detected first line of another width than the samples is a preamble, not names (as
  // scikit-learn's wine_data.csv: "178,13,class_0,class_1,class_2" above 14 columns).
  const bool preamble = layout.skip_first && layout.options.header == CsvHeader::detect && !second.empty() &&
                        second.size() != first.size();
  layout.header = layout.skip_first && !preamble;
  layout.columns = static_cast<int>(preamble ? second.size() : first.size());
  if (layout.header) layout.names = first;
}

void resolve_label_columns(CsvLayout& layout) {
  const CsvOptions& options = layout.options;
  if (!options.labelled) return;
  const std::vector<std::string> specs =
      options.label_column.empty() ? std::vector<std::string>{"0"} : split_list(options.label_column);
  for (const std::string& spec : specs) {
    const int c = resolve_column(layout.path, "--label-column", spec, layout.names, layout.columns);
    if (layout.kind[c] == ColumnKind::label)
      throw Error(layout.path + ": --label-column names column " + std::to_string(c) + " twice");
    layout.kind[c] = ColumnKind::label;
    layout.label_index.push_back(c);
  }
}

void resolve_feature_columns(CsvLayout& layout) {
  for (const std::string& spec : layout.options.features) {
    const int c = resolve_column(layout.path, "the model's feature column", spec, layout.names, layout.columns);
    if (layout.kind[c] != ColumnKind::ignored)
      throw Error(layout.path + ": feature column '" + spec + "' is also a label or given twice");
    layout.kind[c] = ColumnKind::number;
    layout.feature_index.push_back(c);
  }
  if (layout.options.features.empty())
    for (int c = 0; c < layout.columns; ++c)
      if (layout.kind[c] != ColumnKind::label) layout.feature_index.push_back(c);
}

void resolve_categorical_columns(CsvLayout& layout) {
  for (const std::string& spec : layout.options.categorical) {
    const int c = resolve_column(layout.path, "--categorical", spec, layout.names, layout.columns);
    if (layout.kind[c] == ColumnKind::ignored) continue;
    if (layout.kind[c] == ColumnKind::label)
      throw Error(layout.path + ": --categorical '" + spec + "' is the label column");
    if (layout.options.pixels) throw Error(layout.path + ": --categorical: pixel data has no categories");
    layout.kind[c] = ColumnKind::category;
  }
}

CsvLayout read_layout(const std::string& path, const CsvText& csv, const CsvOptions& options) {
  CsvLayout layout{path, options};
  detect_form(csv, layout);
  layout.kind.assign(layout.columns, options.features.empty() ? ColumnKind::number : ColumnKind::ignored);
  resolve_label_columns(layout);
  resolve_feature_columns(layout);
  resolve_categorical_columns(layout);
  return layout;
}

// A Dataset with the layout's columns and no samples yet.
Dataset empty_dataset(const CsvLayout& layout) {
  Dataset data;
  data.feature_source = data.label_source = layout.path;
  data.pixel_input = layout.options.pixels;
  data.features = static_cast<int>(layout.feature_index.size());
  data.targets = std::max<int>(1, static_cast<int>(layout.label_index.size()));
  if (data.features < 1) throw Error(layout.path + ": no feature columns beside the label");
  for (int c : layout.feature_index) {
    data.columns.push_back(layout.column_name(c));
    data.categories.emplace_back();
  }
  for (int c : layout.label_index) data.label_columns.push_back(layout.column_name(c));
  data.named_columns = layout.header;
  data.column_index = layout.feature_index;
  data.label_index = layout.label_index;
  data.file_columns = layout.columns;
  return data;
}

// Reads the samples of a CSV file, record by record, into a Dataset that has its columns.
class CsvSampleReader {
 public:
  CsvSampleReader(const CsvLayout& layout, Dataset& data) : layout_(layout), data_(data), codes_(layout.columns) {}

  // The label fields of every sample as written (count * targets), for set_labels().
  std::vector<std::string> read(const CsvText& csv) {
    CsvRecords records(csv.text, layout_.path, csv.separator);
    if (layout_.skip_first) records.next();
    while (records.next()) {
      const auto fields = records.fields();
      const std::string where = layout_.path + ":" + std::to_string(records.line()) + ": ";
      if (static_cast<int>(fields.size()) != layout_.columns)
        throw Error(where + "expected " + std::to_string(layout_.columns) + " values, found " +
                    std::to_string(fields.size()) + " (separated by " + separator_name(csv.separator) + ")");
      read_labels(records, where);
      for (std::size_t feature = 0; feature < layout_.feature_index.size(); ++feature)
        read_feature(records, feature, where);
      data_.lines.push_back(records.line());
      ++data_.count;
    }
    return std::move(label_texts_);
  }

 private:
  void read_labels(const CsvRecords& records, const std::string& where) {
    const auto fields = records.fields();
    for (int c : layout_.label_index) {
      if (is_missing(fields[c]) && !records.quoted(c))
        throw Error(where + layout_.describe(c) + ": the label is missing ('" + std::string(fields[c]) + "')");
      if (is_infinite_number(fields[c]))
        throw Error(where + layout_.describe(c) + ": '" + std::string(fields[c]) + "' is not a finite number");
      label_texts_.emplace_back(fields[c]);
    }
  }

  void read_feature(const CsvRecords& records, std::size_t feature, const std::string& where) {
    const CsvOptions& options = layout_.options;
    const int c = layout_.feature_index[feature];
    const std::string_view field = records.fields()[c];
    const bool missing = is_missing(field) && !records.quoted(c);
    if (missing && !(options.allow_missing && !options.pixels))
      throw Error(where + layout_.describe(c) + ": missing value ('" + std::string(field) + "')" +
                  (options.pixels ? "" : "; fill it in, or impute it with --impute mean|median"));
    if (layout_.kind[c] == ColumnKind::category) {
      data_.values.push_back(category_code(feature, c, field, missing));
      return;
    }
    float value = std::numeric_limits<float>::quiet_NaN();
    if (!missing && (!parse_float(field, value) || !std::isfinite(value))) {
      if (is_infinite_number(field))
        throw Error(where + layout_.describe(c) + ": '" + std::string(field) + "' is not a finite number");
      throw Error(where + layout_.describe(c) + ": '" + std::string(field) + "' is not a number" +
                  (options.pixels ? "; name the label with --label-column for data other than pixels"
                                  : "; one-hot encode a column of categories with --categorical " + layout_.column_name(c)));
    }
    if (!options.pixels) data_.values.push_back(value);
    else if (value < 0 || value > 255 || value != std::floor(value))
      throw Error(where + layout_.describe(c) + ": pixel '" + std::string(field) +
                  "' is not an integer 0..255 (use --label-column for general numeric CSV)");
    else data_.pixels.push_back(static_cast<std::uint8_t>(value));
  }

  // The index of a category in the order the column first shows them (NaN: missing).
  float category_code(std::size_t feature, int c, std::string_view field, bool missing) {
    if (missing) return std::numeric_limits<float>::quiet_NaN();
    auto& known = codes_[c];
    const auto [it, added] = known.emplace(std::string(field), static_cast<int>(known.size()));
    if (added) data_.categories[feature].push_back(it->first);
    return static_cast<float>(it->second);
  }

  const CsvLayout& layout_;
  Dataset& data_;
  std::vector<std::unordered_map<std::string, int>> codes_;  // per column: category -> code
  std::vector<std::string> label_texts_;
};

// Labels: numbers when every one is a finite number, else the names of classes.
void set_labels(const CsvLayout& layout, const std::vector<std::string>& label_texts, Dataset& data) {
  bool numeric = true;
  std::size_t bad = 0;
  data.labels.resize(label_texts.size());
  for (std::size_t i = 0; i < label_texts.size() && numeric; ++i)
    if (!parse_float(label_texts[i], data.labels[i]) || !std::isfinite(data.labels[i])) numeric = false, bad = i;
  if (numeric) return;
  if (data.targets > 1)
    throw Error(data.where(bad / data.targets) + ": " + layout.describe(layout.label_index[bad % data.targets]) +
                ": target '" + label_texts[bad] + "' is not a number (several label columns are regression targets)");
  std::vector<std::string> sorted = label_texts;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  for (std::size_t i = 0; i < label_texts.size(); ++i)
    data.labels[i] = static_cast<float>(std::lower_bound(sorted.begin(), sorted.end(), label_texts[i]) - sorted.begin());
  data.classes = std::move(sorted);
}

}  // namespace

Dataset read_csv(const std::string& path, const CsvOptions& options) {
  const CsvText csv = read_csv_text(path, options.separator);
  const CsvLayout layout = read_layout(path, csv, options);
  Dataset data = empty_dataset(layout);
  const std::vector<std::string> label_texts = CsvSampleReader(layout, data).read(csv);
  if (data.count == 0) throw Error(path + ": no samples");
  set_labels(layout, label_texts, data);
  return data;
}

int csv_columns(const std::string& path, char separator) {
  const CsvText csv = read_csv_text(path, separator);
  CsvRecords records(csv.text, path, csv.separator);
  if (!records.next()) throw Error(path + ": no samples");
  return static_cast<int>(records.fields().size());
}

std::size_t dataset_bytes(const Dataset& data) {
  return data.pixels.size() + sizeof(float) * (data.values.size() + data.labels.size());
}

Dataset subset(const Dataset& data, std::span<const std::size_t> indices) {
  Dataset part;
  static_cast<DatasetHeader&>(part) = data;
  part.count = indices.size();
  const std::size_t width = data.features;
  for (std::size_t s : indices) {
    if (data.pixel_input) part.pixels.insert(part.pixels.end(), data.pixels.begin() + s * width, data.pixels.begin() + (s + 1) * width);
    else part.values.insert(part.values.end(), data.values.begin() + s * width, data.values.begin() + (s + 1) * width);
    if (!data.labels.empty())
      part.labels.insert(part.labels.end(), data.labels.begin() + s * data.targets, data.labels.begin() + (s + 1) * data.targets);
    if (s < data.lines.size()) part.lines.push_back(data.lines[s]);
  }
  return part;
}

Dataset split_off(Dataset& data, double fraction, std::uint64_t seed, bool stratify, const std::string& option) {
  if (!(fraction > 0 && fraction < 1)) throw Error(option + ": must be between 0 and 1, not " + std::to_string(fraction));
  const std::size_t held = static_cast<std::size_t>(std::llround(fraction * double(data.count)));
  if (held == 0 || held == data.count)
    throw Error(option + ": " + std::to_string(fraction) + " of " + std::to_string(data.count) + " samples leaves an empty split");
  // A Fisher-Yates shuffle written out: std::shuffle's order differs between standard libraries.
  std::vector<std::size_t> order(data.count);
  std::iota(order.begin(), order.end(), 0);
  Rng rng(seed);
  for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
  std::vector<bool> is_held(data.count, false);
  if (stratify && !data.labels.empty() && data.targets == 1) {
    // Each class gives floor(fraction * its count), and the classes with the largest remainders
    // one more each, until `held` are drawn: the shares match as closely as whole samples can.
    std::map<float, std::vector<std::size_t>> by_class;  // in shuffled order
    for (std::size_t s : order) by_class[data.labels[s]].push_back(s);
    std::vector<std::pair<double, float>> remainders;
    std::map<float, std::size_t> take;
    std::size_t taken = 0;
    for (const auto& [label, members] : by_class) {
      const double share = fraction * double(members.size());
      take[label] = static_cast<std::size_t>(std::floor(share));
      taken += take[label];
      remainders.push_back({share - std::floor(share), label});
    }
    std::stable_sort(remainders.begin(), remainders.end(), [](auto& a, auto& b) { return a.first > b.first; });
    for (std::size_t i = 0; taken < held && i < remainders.size(); ++i, ++taken) ++take[remainders[i].second];
    for (const auto& [label, members] : by_class)
      for (std::size_t i = 0; i < take[label]; ++i) is_held[members[i]] = true;
  } else {
    for (std::size_t i = 0; i < held; ++i) is_held[order[i]] = true;
  }
  std::vector<std::size_t> kept_indices, held_indices;
  for (std::size_t s = 0; s < data.count; ++s) (is_held[s] ? held_indices : kept_indices).push_back(s);
  Dataset split = subset(data, held_indices);
  const std::string what = option == "--test-split" ? " (test split)" : " (validation split)";
  split.feature_source += what;
  split.label_source += what;
  data = subset(data, kept_indices);
  return split;
}

int target_class(const Architecture& arch, float label) {
  return arch.task == Task::binary ? (label == float(arch.positive) ? 1 : 0) : static_cast<int>(label);
}

void check_fits(const Dataset& data, const Architecture& arch) {
  if (data.features != arch.sizes[0])
    throw Error(data.feature_source + ": samples have " + std::to_string(data.features) +
                " values but the network takes " + std::to_string(arch.sizes[0]) + " inputs (layers " +
                arch.layers_string() + ")");
  if (data.labels.empty()) return;
  if (arch.task == Task::regression && arch.outputs() != data.targets)
    throw Error(data.label_source + ": " + std::to_string(data.targets) + " target" + (data.targets > 1 ? "s" : "") +
                " per sample but the network has " + std::to_string(arch.outputs()) + " outputs (layers " +
                arch.layers_string() + ")");
  if (arch.task == Task::regression && !data.classes.empty())
    throw Error(data.label_source + ": the labels are texts (" + data.classes.front() + ", ...), not regression targets");
  if (arch.task != Task::regression && data.targets != 1)
    throw Error(data.label_source + ": " + std::to_string(data.targets) + " label columns; only regression takes several");
  for (std::size_t s = 0; s < data.labels.size(); ++s) {
    const float label = data.labels[s];
    const bool is_class = label >= 0 && label == std::floor(label);
    if (!std::isfinite(label) || (arch.task == Task::multiclass && !(is_class && label < arch.outputs())))
      throw Error(data.label_source + ": label " + std::to_string(label) + " of sample " + std::to_string(s) +
                  " is not a class 0.." + std::to_string(arch.outputs() - 1) + " of the network");
  }
}

namespace {

// One column of a batch: sample `index`, its pixels divided by 255 or its feature values as they are.
template <typename T>
void gather_column(const Dataset& data, std::size_t index, T* x) {
  const std::size_t first = index * data.features;
  if (data.pixel_input) {
    // Exactly p / 255 as PyTorch's x.float() / 255 gives it, not p times a rounded 1/255 (off in
    // the last bit for half the pixel values): the product is corrected by one Newton step, which
    // the tests check gives the quotient for all 256 values, at the cost of two FMAs instead of a
    // much slower division.
    const T inverse = T(1) / T(255);
    const std::uint8_t* pixels = data.pixels.data() + first;
    vectorized([&](auto) MLP_VECTOR_BODY {
      for (int i = 0; i < data.features; ++i) {
        const T p = T(pixels[i]);
        const T q = p * inverse;
        x[i] = std::fma(std::fma(-q, T(255), p), inverse, q);
      }
    });
  } else {
    std::copy(data.values.begin() + first, data.values.begin() + first + data.features, x);
  }
}

// The bytes one sample takes in memory.
std::size_t sample_size(const Dataset& data) { return data.features * (data.pixel_input ? 1 : sizeof(float)); }

// Where sample `index` starts in memory.
const char* sample_start(const Dataset& data, std::size_t index) {
  const std::size_t first = index * data.features;
  return data.pixel_input ? reinterpret_cast<const char*>(data.pixels.data() + first)
                          : reinterpret_cast<const char*>(data.values.data() + first);
}

}  // namespace

template <typename T>
void gather_batch(const Dataset& data, std::span<const std::size_t> indices, MatrixView<T> X) {
  // The samples of a shuffled batch lie anywhere in the data set, mostly outside the caches, so
  // this loop waits on memory: each sample is prefetched a few samples ahead, and threads each
  // gather a share of the batch (docs/benchmarks.md has the measurements). Every column is
  // computed the same way whatever the thread count.
  constexpr int prefetch_distance = 4;
  const int m = static_cast<int>(indices.size());
  const std::size_t size = sample_size(data);
#pragma omp parallel for schedule(static) if (indices.size() * size >= 16 * 1024)
  for (int j = 0; j < m; ++j) {
    if (j + prefetch_distance < m) {
      // Written out here: GCC 12 drops the calls of a function that only prefetches.
      const char* ahead = sample_start(data, indices[j + prefetch_distance]);
      for (std::size_t offset = 0; offset < size; offset += 64) __builtin_prefetch(ahead + offset);
      if (size > 0) __builtin_prefetch(ahead + size - 1);  // the last line, when the sample is not aligned
    }
    gather_column(data, indices[j], X.col(j));
  }
}

template <typename T>
void gather_targets(const Dataset& data, std::span<const std::size_t> indices,
                    const Architecture& arch, MatrixView<T> Y) {
  for (std::size_t j = 0; j < indices.size(); ++j) {
    const float label = data.labels[indices[j] * data.targets];
    T* y = Y.col(static_cast<int>(j));
    if (arch.task == Task::regression) {
      const float* targets = data.labels.data() + indices[j] * data.targets;
      for (int k = 0; k < Y.rows; ++k) y[k] = T(targets[k]);
    } else if (arch.task == Task::binary) {
      y[0] = T(target_class(arch, label));
    } else {
      std::fill(y, y + Y.rows, T(0));
      y[target_class(arch, label)] = T(1);
    }
  }
}

template void gather_batch(const Dataset&, std::span<const std::size_t>, MatrixView<float>);
template void gather_batch(const Dataset&, std::span<const std::size_t>, MatrixView<double>);
template void gather_targets(const Dataset&, std::span<const std::size_t>, const Architecture&, MatrixView<float>);
template void gather_targets(const Dataset&, std::span<const std::size_t>, const Architecture&, MatrixView<double>);

}  // namespace mlp
