// Fuzzes mlp::read_csv: each input is a CSV file, read in the MNIST form (label first, then
// pixels 0..255), as general numeric data with label_column "0", and unlabelled; and csv_columns.
#include <cstddef>
#include <cstdint>

#include "fuzz_common.hpp"
#include "mlp/data.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fuzz::ScratchFile file("csv");
  const std::string& path = file.write(data, size);
  const mlp::CsvOptions forms[] = {
      {},                                                       // MNIST form
      {.label_column = "0", .labelled = true, .pixels = false}, // general numeric
      {.label_column = "", .labelled = false, .pixels = false}, // unlabelled features
  };
  for (const mlp::CsvOptions& options : forms) {
    fuzz::expect_only_mlp_errors([&] {
      const mlp::Dataset set = mlp::read_csv(path, options);
      const std::size_t values = options.pixels ? set.pixels.size() : set.values.size();
      if (set.count == 0 || values != set.count * std::size_t(set.features) ||
          (options.labelled && set.labels.size() != set.count))
        __builtin_trap();
    });
  }
  fuzz::expect_only_mlp_errors([&] { (void)mlp::csv_columns(path); });
  return 0;
}
