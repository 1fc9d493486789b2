// Imputation, scaling, one-hot categories and class names: fitted, applied, and kept in model files.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "mlp/error.hpp"
#include "mlp/model.hpp"
#include "mlp/model_file.hpp"
#include "mlp/preprocessing.hpp"
#include "mlp/tensor_file.hpp"
#include "mlp/training.hpp"
#include "test_util.hpp"

namespace mlp {
namespace {

using test::error_of;
using test::ScratchDir;

Dataset read_table(const std::string& path, const std::string& label, CsvOptions options = {}) {
  options.label_column = label;
  options.pixels = false;
  return read_csv(path, options);
}

TEST(Preprocessing, StandardScalingFromTheTrainingRowsOnly) {
  ScratchDir dir;
  // Column a: 1, 2, 3 (mean 2, population std sqrt(2/3)); b is constant; the last row is held out.
  std::ofstream(dir / "d.csv") << "a,b,y\n1,5,0\n2,5,1\n3,5,0\n1000,5,1\n";
  Dataset train = read_table(dir / "d.csv", "y");
  Dataset held = split_off(train, 0.25, 1);  // one sample
  std::vector<std::size_t> first3 = {0, 1, 2};
  Dataset all = read_table(dir / "d.csv", "y");
  train = subset(all, first3);
  const Preprocessing p = fit_preprocessing(train, Scaling::standard, Imputation::none);
  ASSERT_EQ(p.columns.size(), 2u);
  EXPECT_FLOAT_EQ(p.columns[0].center, 2);
  EXPECT_FLOAT_EQ(p.columns[0].scale, static_cast<float>(std::sqrt(2.0 / 3)));
  EXPECT_EQ(p.columns[1].center, 5);
  EXPECT_EQ(p.columns[1].scale, 1);  // a constant column is not divided by zero
  apply_preprocessing(p, all);
  EXPECT_EQ(all.features, 2);
  for (float v : all.values) EXPECT_TRUE(std::isfinite(v));
  EXPECT_EQ(all.values[0], (1.0f - 2.0f) / p.columns[0].scale);
  EXPECT_EQ(all.values[6], (1000.0f - 2.0f) / p.columns[0].scale);  // the held-out row: not in the statistics
  EXPECT_EQ(all.values[1], 0);
  (void)held;
}

TEST(Preprocessing, MinMaxAndImputation) {
  ScratchDir dir;
  std::ofstream(dir / "d.csv") << "a,b,y\n0,1,0\n10,,1\n4,3,0\n,100,1\n";
  CsvOptions options;
  options.allow_missing = true;
  Dataset data = read_table(dir / "d.csv", "y", options);
  Preprocessing p = fit_preprocessing(data, Scaling::minmax, Imputation::median);
  EXPECT_EQ(p.columns[0].fill, 4);  // median of 0, 10, 4
  EXPECT_EQ(p.columns[1].fill, 3);  // median of 1, 3, 100
  EXPECT_EQ(p.columns[0].center, 0);
  EXPECT_EQ(p.columns[0].scale, 10);
  apply_preprocessing(p, data);
  EXPECT_EQ(data.values, (std::vector<float>{0, 0, 1, 2.0f / 99, 0.4f, 2.0f / 99, 0.4f, 1}));
  Dataset again = read_table(dir / "d.csv", "y", options);
  p = fit_preprocessing(again, Scaling::none, Imputation::mean);
  EXPECT_FLOAT_EQ(p.columns[0].fill, 14.0f / 3);
  // Without imputation a missing value is an error naming the line and column.
  p = fit_preprocessing(again, Scaling::none, Imputation::none);
  EXPECT_NE(error_of([&] { apply_preprocessing(p, again); }).find("d.csv:3: column 'b': missing value"), std::string::npos);
}

TEST(Preprocessing, OneHotCategoriesAndUnseenOnes) {
  ScratchDir dir;
  std::ofstream(dir / "train.csv") << "size,color,y\n1,red,0\n2,blue,1\n3,red,0\n";
  std::ofstream(dir / "test.csv") << "size,color,y\n4,blue,1\n5,green,0\n";
  CsvOptions options;
  options.categorical = {"color"};
  Dataset train = read_table(dir / "train.csv", "y", options);
  const Preprocessing p = fit_preprocessing(train, Scaling::none, Imputation::none);
  EXPECT_EQ(p.columns[1].categories, (std::vector<std::string>{"blue", "red"}));
  EXPECT_EQ(p.inputs(), 3);
  apply_preprocessing(p, train);
  EXPECT_EQ(train.values, (std::vector<float>{1, 0, 1, 2, 1, 0, 3, 0, 1}));
  Dataset test = read_table(dir / "test.csv", "y", options);
  const std::string message = error_of([&] { apply_preprocessing(p, test); });
  EXPECT_NE(message.find("test.csv:3: column 'color': category 'green' was not seen in training (it saw blue, red)"),
            std::string::npos) << message;
  // encode(), for one request: the same inputs, the same error.
  EXPECT_EQ(p.encode(std::vector<std::string>{"4", "blue"}), (std::vector<float>{4, 1, 0}));
  EXPECT_NE(error_of([&] { p.encode(std::vector<std::string>{"4", "green"}); }).find("category 'green'"), std::string::npos);
}

TEST(Preprocessing, ClassesChosenFromTheLabels) {
  Dataset data;
  data.labels = {0, 1, 2, 1};
  EXPECT_TRUE(choose_classes(data).empty());  // already indices
  data.labels = {3, 7, 7};
  EXPECT_EQ(choose_classes(data), (std::vector<std::string>{"3", "7"}));
  data.labels = {1, -1};
  EXPECT_EQ(choose_classes(data), (std::vector<std::string>{"-1", "1"}));
  assign_classes(data, {"-1", "1"});
  EXPECT_EQ(data.labels, (std::vector<float>{1, 0}));
  EXPECT_EQ(data.classes, (std::vector<std::string>{"-1", "1"}));
  data = {};
  data.labels = {0, 2};
  EXPECT_EQ(choose_classes(data), (std::vector<std::string>{"0", "2"}));  // a gap: named
  Dataset test;
  test.feature_source = "t.csv";
  test.labels = {3, 5};
  test.lines = {2, 3};
  EXPECT_NE(error_of([&] { assign_classes(test, {"3", "7"}); }).find("t.csv:3: class '5' is not one of the classes trained on (3, 7)"),
            std::string::npos);
}

TEST(Preprocessing, ModelFileRoundTripAndOlderFiles) {
  ScratchDir dir;
  std::ofstream(dir / "d.csv") << "x,color,species\n1.5,red,setosa\n2.5,blue,virginica\n0.5,red,versicolor\n";
  CsvOptions options;
  options.categorical = {"color"};
  options.allow_missing = true;
  Dataset data = read_table(dir / "d.csv", "species", options);
  Preprocessing p = fit_preprocessing(data, Scaling::standard, Imputation::mean);
  Architecture arch;
  arch.sizes = {p.inputs(), 4, 3};
  arch.pixel_input = false;
  Model model{Network<float>(arch), p};
  Rng rng(1);
  model.network.initialize(rng);
  model.save(dir / "m.safetensors");
  const Model loaded = Model::load(dir / "m.safetensors");
  EXPECT_EQ(loaded.preprocessing.classes, (std::vector<std::string>{"setosa", "versicolor", "virginica"}));
  ASSERT_EQ(loaded.preprocessing.columns.size(), 2u);
  EXPECT_EQ(loaded.preprocessing.columns[0].center, p.columns[0].center);  // the same bits
  EXPECT_EQ(loaded.preprocessing.columns[0].scale, p.columns[0].scale);
  EXPECT_EQ(loaded.preprocessing.columns[0].fill, p.columns[0].fill);
  EXPECT_EQ(loaded.preprocessing.columns[1].categories, (std::vector<std::string>{"blue", "red"}));
  EXPECT_EQ(loaded.preprocessing.label_columns, (std::vector<std::string>{"species"}));
  EXPECT_EQ(loaded.class_name(2), "virginica");
  // A file without the entries (as written before them) loads with nothing to apply.
  save_model(dir / "old.safetensors", model.network);
  EXPECT_TRUE(Model::load(dir / "old.safetensors").preprocessing.identity());
  // Entries that do not match the network are refused.
  std::map<std::string, std::string> metadata;
  write_preprocessing(p, metadata);
  metadata["classes"] = "[\"a\",\"b\"]";
  save_model(dir / "bad.safetensors", model.network, metadata);
  EXPECT_NE(error_of([&] { Model::load(dir / "bad.safetensors"); }).find("names 2 classes, but the network has 3"),
            std::string::npos);
  metadata.erase("classes");
  metadata["preprocessing"] = "{\"scaling\":\"standard\"}";
  save_model(dir / "bad.safetensors", model.network, metadata);
  EXPECT_NE(error_of([&] { Model::load(dir / "bad.safetensors"); }).find("bad.safetensors: __metadata__.preprocessing"),
            std::string::npos);
}

TEST(Preprocessing, ModelPredictsFromRawRowsAsFromScaledInputs) {
  ScratchDir dir;
  std::ofstream(dir / "d.csv") << "a,b,y\n1,1000,0\n2,3000,1\n3,2000,0\n4,5000,1\n";
  Dataset data = read_table(dir / "d.csv", "y");
  Preprocessing p = fit_preprocessing(data, Scaling::standard, Imputation::none);
  Architecture arch;
  arch.sizes = {2, 3, 2};
  arch.pixel_input = false;
  Model model{Network<float>(arch), p};
  Rng rng(3);
  model.network.initialize(rng);
  model.save(dir / "m.safetensors");
  Model loaded = Model::load(dir / "m.safetensors");

  Dataset scaled = data;
  apply_preprocessing(p, scaled);
  const Matrix<float> expected = predict(model.network, scaled);
  // Through a file read for the model, through raw samples, and one row as text: the same bits.
  const Dataset read = loaded.read_csv(dir / "d.csv", {}, true);
  EXPECT_EQ(read.values, scaled.values);
  const Matrix<float> from_raw = loaded.predict_raw(data);
  for (int s = 0; s < 4; ++s)
    for (int k = 0; k < 2; ++k) EXPECT_EQ(from_raw.view()(k, s), expected.view()(k, s));
  const std::vector<float> one = loaded.predict(std::vector<std::string>{"4", "5000"});
  EXPECT_EQ(one[0], expected.view()(0, 3));
  EXPECT_EQ(one[1], expected.view()(1, 3));
  // Columns found by name, in any order, with others passed over; or by position without header.
  std::ofstream(dir / "shuffled.csv") << "id,b,a\nx,3000,2\n";
  const Dataset by_name = loaded.read_csv(dir / "shuffled.csv", {}, false);
  EXPECT_EQ(by_name.values, (std::vector<float>{scaled.values[2], scaled.values[3]}));
  std::ofstream(dir / "bare.csv") << "2,3000\n";
  EXPECT_EQ(loaded.read_csv(dir / "bare.csv", {}, false).values, by_name.values);
  std::ofstream(dir / "other.csv") << "c,d\n1,2\n";
  EXPECT_NE(error_of([&] { loaded.read_csv(dir / "other.csv", {}, false); }).find("other.csv: has no column a, b of those the model was trained on; its columns are: c, d"),
            std::string::npos);
}

}  // namespace
}  // namespace mlp
