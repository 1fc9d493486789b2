// IDX and CSV readers that check every field, validation splits, and batch assembly.
#include "mlp/data.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>

#include "mlp/error.hpp"
#include "mlp/file_io.hpp"

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

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '"')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '"' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> fields;
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = line.find(',', start);
    fields.push_back(trim(line.substr(start, comma - start)));
    if (comma == std::string_view::npos) return fields;
    start = comma + 1;
  }
}

bool parse_float(std::string_view field, float& value) {
  const auto [end, err] = std::from_chars(field.data(), field.data() + field.size(), value);
  return err == std::errc() && end == field.data() + field.size();
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

Dataset read_csv(const std::string& path, const CsvOptions& options) {
  const std::vector<std::uint8_t> bytes = read_file(path, max_data_file_bytes);
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());

  Dataset data;
  data.feature_source = data.label_source = path;
  data.pixel_input = options.pixels;
  int columns = -1;
  int label_index = options.labelled ? 0 : -1;
  std::size_t line_number = 0;
  for (std::size_t start = 0; start < text.size();) {
    const std::size_t newline = std::min(text.find('\n', start), text.size());
    const std::string_view line = trim(text.substr(start, newline - start));
    start = newline + 1;
    ++line_number;
    if (line.empty()) continue;
    const std::vector<std::string_view> fields = split_fields(line);
    const std::string where = path + ":" + std::to_string(line_number) + ": ";

    if (columns < 0) {  // the first line: a header or the first sample
      columns = static_cast<int>(fields.size());
      float unused;
      const bool header = std::any_of(fields.begin(), fields.end(),
                                      [&](std::string_view f) { return !parse_float(f, unused); });
      if (options.labelled && !options.label_column.empty()) {
        auto named = header ? std::find(fields.begin(), fields.end(), options.label_column) : fields.end();
        int index = -1;
        if (named != fields.end()) index = static_cast<int>(named - fields.begin());
        else {
          const auto& c = options.label_column;
          const auto [end, err] = std::from_chars(c.data(), c.data() + c.size(), index);
          if (err != std::errc() || end != c.data() + c.size()) index = -1;
        }
        if (index < 0 || index >= columns)
          throw Error(path + ": --label-column '" + options.label_column + "' is neither a column name nor an index below " + std::to_string(columns));
        label_index = index;
      }
      data.features = columns - (options.labelled ? 1 : 0);
      if (data.features < 1) throw Error(where + "no feature columns");
      if (header) continue;
    }
    if (static_cast<int>(fields.size()) != columns)
      throw Error(where + "expected " + std::to_string(columns) + " values, found " + std::to_string(fields.size()));
    for (int c = 0; c < columns; ++c) {
      float value;
      if (!parse_float(fields[c], value) || !std::isfinite(value))
        throw Error(where + "column " + std::to_string(c) + ": '" + std::string(fields[c]) + "' is not a finite number");
      if (c == label_index) data.labels.push_back(value);
      else if (!options.pixels) data.values.push_back(value);
      else if (value < 0 || value > 255 || value != std::floor(value))
        throw Error(where + "column " + std::to_string(c) + ": pixel '" + std::string(fields[c]) + "' is not an integer 0..255 (use --label-column for general numeric CSV)");
      else data.pixels.push_back(static_cast<std::uint8_t>(value));
    }
    ++data.count;
  }
  if (data.count == 0) throw Error(path + ": no samples");
  return data;
}

int csv_columns(const std::string& path) {
  const std::vector<std::uint8_t> bytes = read_file(path, max_data_file_bytes);
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  for (std::size_t start = 0; start < text.size();) {
    const std::size_t newline = std::min(text.find('\n', start), text.size());
    const std::string_view line = trim(text.substr(start, newline - start));
    if (!line.empty()) return static_cast<int>(split_fields(line).size());
    start = newline + 1;
  }
  throw Error(path + ": no samples");
}

std::size_t dataset_bytes(const Dataset& data) {
  return data.pixels.size() + sizeof(float) * (data.values.size() + data.labels.size());
}

Dataset split_off(Dataset& data, double fraction) {
  if (!(fraction > 0 && fraction < 1)) throw Error("--val-split: must be between 0 and 1, not " + std::to_string(fraction));
  const std::size_t held = static_cast<std::size_t>(std::llround(fraction * double(data.count)));
  if (held == 0 || held == data.count)
    throw Error("--val-split: " + std::to_string(fraction) + " of " + std::to_string(data.count) + " samples leaves an empty split");
  Dataset validation;
  validation.feature_source = data.feature_source + " (validation split)";
  validation.label_source = data.label_source + " (validation split)";
  validation.features = data.features;
  validation.pixel_input = data.pixel_input;
  const std::size_t kept = data.count - held;
  auto keep_tail = [&](auto& all, auto& tail, std::size_t width) {
    if (all.empty()) return;
    tail.assign(all.begin() + kept * width, all.end());
    all.resize(kept * width);
  };
  keep_tail(data.pixels, validation.pixels, data.features);
  keep_tail(data.values, validation.values, data.features);
  keep_tail(data.labels, validation.labels, 1);
  validation.count = held;
  data.count = kept;
  return validation;
}

int target_class(const Architecture& arch, float label) {
  return arch.task == Task::binary ? (label == float(arch.positive) ? 1 : 0) : static_cast<int>(label);
}

void check_fits(const Dataset& data, const Architecture& arch) {
  if (data.features != arch.sizes[0])
    throw Error(data.feature_source + ": samples have " + std::to_string(data.features) +
                " values but the network takes " + std::to_string(arch.sizes[0]) + " inputs (--layers " +
                arch.layers_string() + ")");
  if (data.labels.empty()) return;
  if (arch.task == Task::regression && arch.outputs() != 1)
    throw Error(data.label_source + ": one target per sample but the network has " +
                std::to_string(arch.outputs()) + " outputs");
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
    for (int i = 0; i < data.features; ++i) {
      const T p = T(pixels[i]);
      const T q = p * inverse;
      x[i] = std::fma(std::fma(-q, T(255), p), inverse, q);
    }
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
    const float label = data.labels[indices[j]];
    T* y = Y.col(static_cast<int>(j));
    if (arch.task == Task::regression) {
      y[0] = T(label);
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
