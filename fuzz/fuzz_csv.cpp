// Fuzzes mlp::read_csv: each input is a CSV file, read in the MNIST form (label first, then
// pixels 0..255), as general numeric data with label_column "0", unlabelled, and as a table with
// missing values, a categorical column and the last column as label, then fitted and
// preprocessed; and csv_columns.
#include <cstddef>
#include <cstdint>

#include "fuzz_common.hpp"
#include "mlp/data.hpp"
#include "mlp/preprocessing.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fuzz::ScratchFile file("csv");
  const std::string& path = file.write(data, size);
  const mlp::CsvOptions forms[] = {
      {},                                                       // MNIST form
      {.label_column = "0", .labelled = true, .pixels = false}, // general numeric
      {.label_column = "", .labelled = false, .pixels = false}, // unlabelled features
      {.label_column = "-1", .labelled = true, .pixels = false, .allow_missing = true, .categorical = {"#0"}},
  };
  for (const mlp::CsvOptions& options : forms) {
    fuzz::expect_only_mlp_errors([&] {
      const mlp::Dataset set = mlp::read_csv(path, options);
      const std::size_t values = options.pixels ? set.pixels.size() : set.values.size();
      if (set.count == 0 || values != set.count * std::size_t(set.features) ||
          (options.labelled && set.labels.size() != set.count * std::size_t(set.targets)))
        __builtin_trap();
      if (!options.allow_missing) return;
      mlp::Dataset train = set;
      mlp::assign_classes(train, mlp::choose_classes(train));
      const mlp::Preprocessing p = mlp::fit_preprocessing(train, mlp::Scaling::standard, mlp::Imputation::median);
      mlp::apply_preprocessing(p, train);
      if (train.features != p.inputs() || train.values.size() != train.count * std::size_t(p.inputs())) __builtin_trap();
    });
  }
  fuzz::expect_only_mlp_errors([&] { (void)mlp::csv_columns(path); });
  return 0;
}
