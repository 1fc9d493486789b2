// Fuzzes mlp::read_idx. An input holds two files: byte 0 says whether there is a labels file
// (bit 0), bytes 1-2 (little-endian) the length of the images file, which follows; the labels
// file is the rest. Either may be gzip (zlib recognizes it by its magic). fuzz/make_corpus.py
// packs the seeds.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "fuzz_common.hpp"
#include "mlp/data.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fuzz::ScratchFile images("images"), labels("labels");
  if (size < 3) return 0;
  const bool with_labels = data[0] & 1;
  const std::size_t images_size = std::min<std::size_t>(data[1] | data[2] << 8, size - 3);
  const std::string& images_path = images.write(data + 3, images_size);
  const std::string& labels_path = labels.write(data + 3 + images_size, size - 3 - images_size);
  fuzz::expect_only_mlp_errors([&] {
    const mlp::Dataset set = mlp::read_idx(images_path, with_labels ? labels_path : std::string());
    // What read_idx promises: count samples of `features` pixels, and one label each if labelled.
    if (set.pixels.size() != set.count * std::size_t(set.features) ||
        (with_labels && set.labels.size() != set.count))
      __builtin_trap();
  });
  return 0;
}
