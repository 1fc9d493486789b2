// Writing and reading safetensors files of float32 tensors, checking every field and the checksum.
#include "mlp/tensor_file.hpp"

#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstring>
#include <optional>
#include <set>
#include <string_view>
#include <tuple>

#include <nlohmann/json.hpp>

#include "mlp/error.hpp"
#include "mlp/file_io.hpp"

namespace mlp {

static_assert(std::endian::native == std::endian::little,
              "tensor files hold little-endian float32; a big-endian host would need byte swaps");

namespace {

using nlohmann::json;

// A JSON header over 100 MB is not a tensor file's header (the same cap as the reference
// safetensors reader); refuse before parsing it.
constexpr std::uint64_t max_header_bytes = 100u << 20;
constexpr std::string_view checksum_prefix = "crc32:";

// zlib's CRC-32 of `bytes`, continuing from `crc`; in pieces, as zlib's length is 32-bit.
std::uint32_t crc32_of(std::uint32_t crc, std::string_view bytes) {
  for (std::size_t done = 0; done < bytes.size();) {
    const std::size_t n = std::min<std::size_t>(bytes.size() - done, 1u << 30);
    crc = static_cast<std::uint32_t>(crc32(crc, reinterpret_cast<const Bytef*>(bytes.data() + done), static_cast<uInt>(n)));
    done += n;
  }
  return crc;
}

std::string checksum_text(std::uint32_t crc) {
  char text[16];
  std::snprintf(text, sizeof text, "%08x", crc);
  return std::string(checksum_prefix) + text;
}

// The header as written: sorted keys, no spaces. Metadata that is not UTF-8 (a file name in
// another encoding, say) is written with U+FFFD in place of the bad bytes rather than lose the
// file; tensor names are checked before (see write_tensor_file), and a header read from a file
// is valid UTF-8 (the parser checks), so the replacement happens only when writing.
std::string dump(const json& header) { return header.dump(-1, ' ', false, json::error_handler_t::replace); }

// The header's canonical form, without the checksum entry: what the checksum covers before the data.
std::string canonical(json header) {
  if (const auto metadata = header.find("__metadata__"); metadata != header.end() && metadata->is_object())
    metadata->erase(checksum_key);
  return dump(header);
}

std::string shape_text(std::span<const std::uint64_t> shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

// The product of `shape`, or `limit` + 1 if it exceeds `limit` (no overflow on hostile shapes).
std::uint64_t element_count(std::span<const std::uint64_t> shape, std::uint64_t limit) {
  std::uint64_t count = 1;
  for (const std::uint64_t d : shape)
    if (d == 0) return 0;
  for (const std::uint64_t d : shape) {
    if (d > limit || count > limit / d) return limit + 1;
    count *= d;
  }
  return count;
}

}  // namespace

void write_tensor_file(const std::string& path, std::span<const TensorData> tensors,
                       const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  header["__metadata__"] = metadata;
  header["__metadata__"].erase(checksum_key);  // one read from another file: computed afresh below
  std::uint64_t offset = 0;
  for (const TensorData& t : tensors) {
    if (t.name.empty() || t.name == "__metadata__" || header.contains(t.name))
      throw Error(path + ": tensor name '" + t.name + "' is empty, reserved or repeated");
    try {
      (void)json(t.name).dump();
    } catch (const json::exception&) {
      throw Error(path + ": tensor name '" + t.name + "' is not valid UTF-8");
    }
    if (element_count(t.shape, t.data.size()) != t.data.size())
      throw Error(path + ": tensor '" + t.name + "' of shape " + shape_text(t.shape) + " given " +
                  std::to_string(t.data.size()) + " floats");
    header[t.name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.data.size() * 4}}};
    offset += t.data.size() * 4;
  }
  std::uint32_t crc = crc32_of(0, canonical(header));
  for (const TensorData& t : tensors)
    crc = crc32_of(crc, {reinterpret_cast<const char*>(t.data.data()), t.data.size() * 4});
  header["__metadata__"][checksum_key] = checksum_text(crc);

  std::string header_text = dump(header);
  header_text.resize((header_text.size() + 7) / 8 * 8, ' ');  // the data starts 8-byte aligned
  const std::uint64_t header_length = header_text.size();
  char length[8];
  std::memcpy(length, &header_length, 8);

  std::vector<std::string_view> pieces = {{length, 8}, header_text};
  for (const TensorData& t : tensors) pieces.emplace_back(reinterpret_cast<const char*>(t.data.data()), t.data.size() * 4);
  write_file_atomically(path, pieces);
}

namespace {

// The JSON header after the 8-byte length; `text` is set to its bytes.
json read_header(const std::string& path, const std::vector<std::uint8_t>& bytes, std::string_view& text) {
  if (bytes.size() < 8)
    throw Error(path + ": too short for a safetensors file (" + std::to_string(bytes.size()) + " bytes)");
  std::uint64_t header_length = 0;
  std::memcpy(&header_length, bytes.data(), 8);
  if (header_length > max_header_bytes || header_length > bytes.size() - 8)
    throw Error(path + ": not a safetensors file: its header claims " + std::to_string(header_length) +
                " bytes of the file's " + std::to_string(bytes.size()));
  text = std::string_view(reinterpret_cast<const char*>(bytes.data() + 8), header_length);
  // JSON never holds a NUL byte, and the parser would take one as the end of the text.
  if (text.find('\0') != std::string_view::npos) throw Error(path + ": not a safetensors file: a NUL byte in its header");
  json header = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (!header.is_object()) throw Error(path + ": not a safetensors file: its header is not a JSON object");
  return header;
}

// The checksum first, so that a damaged file says so rather than what the damage looks like.
// Its value is looked for in the raw text too: a damaged "checksum" key must not turn the check off.
void check_checksum(const std::string& path, std::string_view text, const json& header, std::string_view data,
                    const std::optional<std::string>& checksum) {
  if (!checksum) {
    if (text.find("\"crc32:") != std::string_view::npos)
      throw Error(path + ": corrupt: the header holds a crc32 value but no '" + checksum_key + "' entry");
    return;
  }
  const std::string& stated = *checksum;
  const bool well_formed = stated.size() == checksum_prefix.size() + 8 && stated.starts_with(checksum_prefix) &&
                           std::all_of(stated.begin() + checksum_prefix.size(), stated.end(),
                                       [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
  if (!well_formed)
    throw Error(path + ": corrupt: checksum '" + stated + "' is not crc32: and 8 hexadecimal digits");
  // Checksummed writers put no tabs or line breaks in the header; JSON would read a byte
  // changed into one as the same header, so it is caught here.
  if (text.find_first_of("\t\n\r") != std::string_view::npos)
    throw Error(path + ": corrupt: a tab or line break in a checksummed header");
  const std::string actual = checksum_text(crc32_of(crc32_of(0, canonical(header)), data));
  if (actual != stated)
    throw Error(path + ": corrupt: checksum mismatch (the file says " + stated + ", its contents give " + actual + ")");
}

// Where one tensor's floats are, from its header entry, checked against the data's size.
struct TensorPlace {
  std::vector<std::uint64_t> shape;
  std::uint64_t begin = 0, end = 0;
};

TensorPlace tensor_place(const std::string& path, const std::string& name, const json& info, std::uint64_t data_bytes) {
  const std::string where = path + ": tensor '" + name + "'";
  if (!info.is_object()) throw Error(where + " is not described by an object");
  if (info.value("dtype", json()) != "F32")
    throw Error(where + " has dtype " + info.value("dtype", json()).dump() + ", expected \"F32\"");
  const json shape = info.value("shape", json());
  if (!shape.is_array() || shape.size() > 8 ||
      !std::all_of(shape.begin(), shape.end(), [](const json& d) { return d.is_number_unsigned(); }))
    throw Error(where + " has shape " + shape.dump() + ", not a list of at most 8 sizes");
  const json offsets = info.value("data_offsets", json());
  if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() || !offsets[1].is_number_unsigned())
    throw Error(where + " has no valid data_offsets");
  TensorPlace place;
  place.shape = shape.get<std::vector<std::uint64_t>>();
  place.begin = offsets[0];
  place.end = offsets[1];
  if (place.begin > place.end || place.end > data_bytes)
    throw Error(where + " has data_offsets [" + std::to_string(place.begin) + ", " + std::to_string(place.end) +
                "] outside the " + std::to_string(data_bytes) + " data bytes");
  const std::uint64_t count = element_count(place.shape, data_bytes / 4);
  if (count > data_bytes / 4 || place.end - place.begin != count * 4)
    throw Error(where + " has shape " + shape_text(place.shape) + " but data_offsets [" + std::to_string(place.begin) +
                ", " + std::to_string(place.end) + "] hold " + std::to_string(place.end - place.begin) + " bytes");
  return place;
}

struct Range {
  std::uint64_t begin, end;
  const std::string* name;
};

// As in safetensors itself: the tensors tile the data exactly, no overlap and no gap.
void check_tiling(const std::string& path, std::vector<Range> ranges, std::uint64_t data_bytes) {
  std::sort(ranges.begin(), ranges.end(),
            [](const Range& a, const Range& b) { return std::tie(a.begin, a.end) < std::tie(b.begin, b.end); });
  std::uint64_t covered = 0;
  for (const Range& r : ranges) {
    if (r.begin != covered)
      throw Error(path + ": tensor data overlaps or leaves a gap at byte " + std::to_string(r.begin) + " (tensor '" +
                  *r.name + "')");
    covered = r.end;
  }
  if (covered != data_bytes)
    throw Error(path + ": " + std::to_string(data_bytes - covered) + " bytes beyond the last tensor");
}

}  // namespace

TensorFile TensorFile::read(const std::string& path, std::size_t max_bytes) {
  TensorFile file;
  file.path_ = path;
  file.bytes_ = read_file(path, max_bytes);
  std::string_view text;
  const json header = read_header(path, file.bytes_, text);
  file.data_start_ = 8 + text.size();
  file.data_bytes_ = file.bytes_.size() - file.data_start_;
  const std::string_view data(reinterpret_cast<const char*>(file.bytes_.data() + file.data_start_), file.data_bytes_);

  if (const auto it = header.find("__metadata__"); it != header.end()) {
    if (!it->is_object()) throw Error(path + ": __metadata__ is not a map of strings");
    file.has_metadata_ = true;
    for (const auto& [key, value] : it->items()) {
      if (!value.is_string()) throw Error(path + ": __metadata__." + key + " is not a string");
      file.metadata_[key] = value.get<std::string>();
    }
  }
  std::optional<std::string> checksum;
  if (const auto it = file.metadata_.find(checksum_key); it != file.metadata_.end()) {
    checksum = it->second;
    file.metadata_.erase(it);
  }
  file.has_checksum_ = checksum.has_value();
  check_checksum(path, text, header, data, checksum);

  std::vector<Range> ranges;
  for (const auto& [name, info] : header.items()) {
    if (name == "__metadata__") continue;
    TensorPlace place = tensor_place(path, name, info, file.data_bytes_);
    const auto [it, added] = file.tensors_.emplace(name, Entry{std::move(place.shape), place.begin, place.end});
    ranges.push_back({it->second.begin, it->second.end, &it->first});
  }
  check_tiling(path, std::move(ranges), file.data_bytes_);
  return file;
}

std::vector<std::string> TensorFile::names() const {
  std::vector<std::pair<std::uint64_t, std::string>> ordered;
  for (const auto& [name, entry] : tensors_) ordered.emplace_back(entry.begin, name);
  std::sort(ordered.begin(), ordered.end());
  std::vector<std::string> names;
  for (auto& [begin, name] : ordered) names.push_back(std::move(name));
  return names;
}

const std::vector<std::uint64_t>& TensorFile::shape(const std::string& name) const {
  const auto it = tensors_.find(name);
  if (it == tensors_.end()) throw Error(path_ + ": tensor '" + name + "' is missing");
  return it->second.shape;
}

const TensorFile::Entry& TensorFile::entry(const std::string& name, std::span<const std::uint64_t> expected_shape,
                                           const std::string& what) const {
  const auto it = tensors_.find(name);
  const std::string suffix = what.empty() ? "" : " " + what;
  if (it == tensors_.end()) throw Error(path_ + ": tensor '" + name + "' is missing" + suffix);
  if (!std::equal(it->second.shape.begin(), it->second.shape.end(), expected_shape.begin(), expected_shape.end()))
    throw Error(path_ + ": tensor '" + name + "' has shape " + shape_text(it->second.shape) + ", expected " +
                shape_text(expected_shape) + suffix);
  return it->second;
}

void TensorFile::copy(const std::string& name, std::span<const std::uint64_t> expected_shape, std::span<float> out,
                      const std::string& what) const {
  const Entry& e = entry(name, expected_shape, what);
  if (out.size() * 4 != e.end - e.begin)
    throw Error(path_ + ": tensor '" + name + "' holds " + std::to_string((e.end - e.begin) / 4) + " floats, not " +
                std::to_string(out.size()));
  // memcpy, not a cast: another writer's data offsets need not be 4-byte aligned.
  if (!out.empty()) std::memcpy(out.data(), bytes_.data() + data_start_ + e.begin, e.end - e.begin);
}

std::vector<float> TensorFile::floats(const std::string& name, std::span<const std::uint64_t> expected_shape,
                                      const std::string& what) const {
  const Entry& e = entry(name, expected_shape, what);
  std::vector<float> out((e.end - e.begin) / 4);
  copy(name, expected_shape, out, what);
  return out;
}

}  // namespace mlp
