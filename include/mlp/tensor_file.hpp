/// @file
/// Files of named float32 tensors with string metadata (the safetensors layout), with a checksum.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace mlp {

/// The layout: an 8-byte little-endian header length N, N bytes of JSON header (padded with
/// spaces so that the data starts 8-byte aligned), then the tensors' raw little-endian float32
/// data. The header maps each tensor's name to {"dtype": "F32", "shape": [...], "data_offsets":
/// [begin, end]} (offsets from the first data byte, row-major) and "__metadata__" to a map of
/// strings. PyTorch's safetensors reads and writes these files.
///
/// The checksum: "__metadata__" holds "checksum": "crc32:xxxxxxxx" (8 lowercase hex digits), the
/// CRC-32 (zlib's) of the header's canonical JSON without that entry (keys sorted, no spaces, as
/// nlohmann's dump() and Python's json.dumps(sort_keys=True, separators=(",", ":"),
/// ensure_ascii=False) write it) followed by the data bytes. Covering the parsed header rather
/// than its bytes lets other writers format it as they like; a changed byte anywhere changes what
/// the header says or the data, so it is caught. Files without a checksum (PyTorch's safetensors)
/// are read with every structural check but cannot be told apart from silently altered ones.
inline constexpr const char* checksum_key = "checksum";

/// One tensor to write: `data` holds the product of `shape` floats in row-major order.
struct TensorData {
  std::string name;
  std::vector<std::uint64_t> shape;
  std::span<const float> data;
};

/// Writes the tensors, in the order given, and `metadata` plus its checksum (a "checksum" entry
/// in `metadata` is replaced), atomically (write_file_atomically): a reader sees the old file or
/// the new one. Throws Error naming the file if a name is empty, repeated or "__metadata__", a
/// shape does not match its data, a name is not UTF-8, or the write fails. Metadata bytes that
/// are not UTF-8 are stored as U+FFFD (JSON holds only Unicode text).
void write_tensor_file(const std::string& path, std::span<const TensorData> tensors,
                       const std::map<std::string, std::string>& metadata);

/// Far above any model we train (784-4096-4096-10 is 80 MB), far below harm.
inline constexpr std::size_t max_tensor_file_bytes = std::size_t(16) << 30;

/// A tensor file read into memory with every field checked: the header length within the file
/// and at most 100 MB, a JSON object, string metadata, the checksum if there is one, and for
/// every tensor dtype F32, a shape of non-negative integers, data_offsets inside the data that
/// hold exactly the shape's floats, and together the tensors tiling the data with no gap and no
/// overlap. Every failure is an Error naming the file and the problem, e.g.
/// "m.safetensors: corrupt: checksum mismatch (file says crc32:1234abcd, contents give ...)".
class TensorFile {
 public:
  static TensorFile read(const std::string& path, std::size_t max_bytes = max_tensor_file_bytes);

  const std::string& path() const { return path_; }
  /// The "__metadata__" entries but the checksum (verified already); empty if there are none.
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  bool has_metadata() const { return has_metadata_; }
  bool has_checksum() const { return has_checksum_; }
  /// The tensors' names in the order of their data.
  std::vector<std::string> names() const;
  bool contains(const std::string& name) const { return tensors_.count(name) != 0; }
  /// The number of floats all tensors hold: the data bytes / 4.
  std::uint64_t float_count() const { return data_bytes_ / 4; }
  /// The stored shape of `name`; Error if there is no such tensor.
  const std::vector<std::uint64_t>& shape(const std::string& name) const;

  /// Copies tensor `name` (row-major) into `out`, which must hold its floats. Throws Error naming
  /// the file and tensor if it is missing or its shape is not `expected_shape`; `what` is added
  /// to that message (e.g. "for layers 784-128-10").
  void copy(const std::string& name, std::span<const std::uint64_t> expected_shape, std::span<float> out,
            const std::string& what = "") const;
  std::vector<float> floats(const std::string& name, std::span<const std::uint64_t> expected_shape,
                            const std::string& what = "") const;

 private:
  struct Entry {
    std::vector<std::uint64_t> shape;
    std::uint64_t begin = 0, end = 0;  ///< within the data
  };
  const Entry& entry(const std::string& name, std::span<const std::uint64_t> expected_shape,
                     const std::string& what) const;

  std::string path_;
  std::vector<std::uint8_t> bytes_;  ///< the whole file
  std::size_t data_start_ = 0;
  std::uint64_t data_bytes_ = 0;
  bool has_metadata_ = false;
  bool has_checksum_ = false;
  std::map<std::string, std::string> metadata_;
  std::map<std::string, Entry> tensors_;
};

}  // namespace mlp
