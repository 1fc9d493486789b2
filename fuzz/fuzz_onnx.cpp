// Fuzzes mlp::load_onnx, mlp::load_onnx_model and mlp::read_onnx_metadata: each input is an ONNX file (a protobuf
// ModelProto).
#include <cstddef>
#include <cstdint>

#include "fuzz_common.hpp"
#include "mlp/onnx.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fuzz::ScratchFile file("onnx");
  const std::string& path = file.write(data, size);
  fuzz::expect_only_mlp_errors([&] { (void)mlp::load_onnx(path); });
  fuzz::expect_only_mlp_errors([&] { (void)mlp::load_onnx_model(path); });
  fuzz::expect_only_mlp_errors([&] { (void)mlp::read_onnx_metadata(path); });
  return 0;
}
