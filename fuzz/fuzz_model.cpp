// Fuzzes mlp::load_model and mlp::read_model_metadata: each input is a model file (safetensors
// layout: 8-byte header length, JSON header, float32 data).
#include <cstddef>
#include <cstdint>

#include "fuzz_common.hpp"
#include "mlp/model_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fuzz::ScratchFile file("model");
  const std::string& path = file.write(data, size);
  fuzz::expect_only_mlp_errors([&] { (void)mlp::load_model(path); });
  fuzz::expect_only_mlp_errors([&] { (void)mlp::read_model_metadata(path); });
  return 0;
}
