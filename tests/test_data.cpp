// The IDX and CSV readers on good and broken files, validation splits, and batch assembly.
#include <gtest/gtest.h>
#include <omp.h>
#include <zlib.h>

#include <algorithm>

#include "mlp/csv.hpp"
#include "mlp/data.hpp"
#include "mlp/error.hpp"
#include "test_util.hpp"

namespace mlp {
namespace {

using test::error_of;
using test::idx_bytes;
using test::ScratchDir;
using test::write_bytes;

void write_gzip(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  gzFile file = gzopen(path.c_str(), "wb");
  gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(file);
}

// Three 2x2 images with pixels 0, 51, 255 ... and their labels.
struct TinyIdx {
  std::vector<std::uint8_t> images = idx_bytes({3, 2, 2}, {0, 51, 102, 255, 1, 2, 3, 4, 9, 8, 7, 6});
  std::vector<std::uint8_t> labels = idx_bytes({3}, {7, 0, 9});
};

TEST(Idx, ReadsImagesAndLabels) {
  ScratchDir dir;
  TinyIdx tiny;
  write_bytes(dir / "images", tiny.images);
  write_bytes(dir / "labels", tiny.labels);
  const Dataset data = read_idx(dir / "images", dir / "labels");
  EXPECT_EQ(data.count, 3u);
  EXPECT_EQ(data.features, 4);
  EXPECT_TRUE(data.pixel_input);
  EXPECT_EQ(data.pixels[3], 255);
  EXPECT_EQ(data.labels, (std::vector<float>{7, 0, 9}));
}

TEST(Idx, ReadsGzip) {
  ScratchDir dir;
  TinyIdx tiny;
  write_gzip(dir / "images.gz", tiny.images);
  write_gzip(dir / "labels.gz", tiny.labels);
  const Dataset data = read_idx(dir / "images.gz", dir / "labels.gz");
  EXPECT_EQ(data.count, 3u);
  EXPECT_EQ(data.pixels[11], 6);
}

TEST(Idx, WrongMagic) {
  ScratchDir dir;
  TinyIdx tiny;
  tiny.images[2] = 0x0D;  // float data
  write_bytes(dir / "images", tiny.images);
  const std::string message = error_of([&] { read_idx(dir / "images", ""); });
  EXPECT_NE(message.find(dir / "images"), std::string::npos);
  EXPECT_NE(message.find("magic"), std::string::npos);
  // Labels passed where images are expected.
  write_bytes(dir / "labels", tiny.labels);
  EXPECT_NE(error_of([&] { read_idx(dir / "labels", ""); }).find("magic"), std::string::npos);
}

TEST(Idx, Truncated) {
  ScratchDir dir;
  TinyIdx tiny;
  tiny.images.pop_back();
  write_bytes(dir / "images", tiny.images);
  EXPECT_NE(error_of([&] { read_idx(dir / "images", ""); }).find("truncated"), std::string::npos);
  write_bytes(dir / "header", {0, 0, 8, 3, 0, 0});
  EXPECT_NE(error_of([&] { read_idx(dir / "header", ""); }).find("truncated"), std::string::npos);
}

TEST(Idx, TruncatedGzip) {
  ScratchDir dir;
  TinyIdx tiny;
  write_gzip(dir / "images.gz", tiny.images);
  const std::vector<std::uint8_t> bytes = test::read_bytes(dir / "images.gz");
  ASSERT_GT(bytes.size(), 10u);
  write_bytes(dir / "images.gz", std::vector<std::uint8_t>(bytes.begin(), bytes.end() - 10));
  EXPECT_NE(error_of([&] { read_idx(dir / "images.gz", ""); }).find(dir / "images.gz"), std::string::npos);
}

TEST(Idx, LyingHeaderIsRejectedWithoutAllocating) {
  ScratchDir dir;
  // Claims 2^31 images of 28x28 but holds 4 bytes: must fail fast, not allocate 1.6 TB.
  write_bytes(dir / "images", idx_bytes({0x80000000u, 28, 28}, {1, 2, 3, 4}));
  EXPECT_NE(error_of([&] { read_idx(dir / "images", ""); }).find("truncated"), std::string::npos);
  write_bytes(dir / "images", idx_bytes({0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu}, {1}));
  EXPECT_NE(error_of([&] { read_idx(dir / "images", ""); }).find("truncated"), std::string::npos);
}

TEST(Idx, TrailingBytes) {
  ScratchDir dir;
  TinyIdx tiny;
  tiny.labels.push_back(3);
  write_bytes(dir / "images", tiny.images);
  write_bytes(dir / "labels", tiny.labels);
  EXPECT_NE(error_of([&] { read_idx(dir / "images", dir / "labels"); }).find("beyond"), std::string::npos);
}

TEST(Idx, CountsDiffer) {
  ScratchDir dir;
  TinyIdx tiny;
  write_bytes(dir / "images", tiny.images);
  write_bytes(dir / "labels", idx_bytes({2}, {1, 2}));
  const std::string message = error_of([&] { read_idx(dir / "images", dir / "labels"); });
  EXPECT_NE(message.find("2 labels"), std::string::npos);
  EXPECT_NE(message.find("3 images"), std::string::npos);
}

TEST(Idx, MissingFileAndFolder) {
  ScratchDir dir;
  EXPECT_NE(error_of([&] { read_idx(dir / "nothing", ""); }).find("No such file"), std::string::npos);
  EXPECT_NE(error_of([&] { read_idx(dir.path(), ""); }).find("directory"), std::string::npos);
  EXPECT_NE(error_of([&] { read_idx_folder(dir.path()); }).find("train-images-idx3-ubyte"), std::string::npos);
}

TEST(Idx, FolderWithMixedGzipAndPlainFiles) {
  ScratchDir dir;
  TinyIdx tiny;
  write_bytes(dir / "train-images-idx3-ubyte", tiny.images);
  write_gzip(dir / "train-labels-idx1-ubyte.gz", tiny.labels);
  write_gzip(dir / "t10k-images-idx3-ubyte.gz", tiny.images);
  write_bytes(dir / "t10k-labels-idx1-ubyte", tiny.labels);
  const TrainTest sets = read_idx_folder(dir.path());
  EXPECT_EQ(sets.train.count, 3u);
  EXPECT_EQ(sets.test.labels[2], 9);
}

TEST(Csv, MnistFormWithHeader) {
  ScratchDir dir;
  write_bytes(dir / "d.csv", {});
  std::ofstream(dir / "d.csv") << "label,p0,p1,p2\n3,0,128,255\n\n5,1,2,3\r\n";
  const Dataset data = read_csv(dir / "d.csv", {});
  EXPECT_EQ(data.count, 2u);
  EXPECT_EQ(data.features, 3);
  EXPECT_TRUE(data.pixel_input);
  EXPECT_EQ(data.labels, (std::vector<float>{3, 5}));
  EXPECT_EQ(data.pixels, (std::vector<std::uint8_t>{0, 128, 255, 1, 2, 3}));
}

TEST(Csv, GeneralWithLabelColumnByNameOrIndex) {
  ScratchDir dir;
  std::ofstream(dir / "d.csv") << "x1,price,x2\n0.5,10.25,-3\n1.5,20,4e-1\n";
  CsvOptions options;
  options.label_column = "price";
  options.pixels = false;
  Dataset data = read_csv(dir / "d.csv", options);
  EXPECT_FALSE(data.pixel_input);
  EXPECT_EQ(data.labels, (std::vector<float>{10.25f, 20}));
  EXPECT_EQ(data.values, (std::vector<float>{0.5f, -3, 1.5f, 0.4f}));
  options.label_column = "2";
  data = read_csv(dir / "d.csv", options);
  EXPECT_EQ(data.labels, (std::vector<float>{-3, 0.4f}));
  options.label_column = "weight";
  EXPECT_NE(error_of([&] { read_csv(dir / "d.csv", options); }).find("--label-column"), std::string::npos);
}

TEST(Csv, BadValuesNameFileAndLine) {
  ScratchDir dir;
  std::ofstream(dir / "a.csv") << "1,2,3\n4,5\n";
  EXPECT_NE(error_of([&] { read_csv(dir / "a.csv", {}); }).find(dir / "a.csv" + ":2: expected 3 values, found 2"),
            std::string::npos);
  std::ofstream(dir / "b.csv") << "1,2,3\n4,nan,6\n";
  EXPECT_NE(error_of([&] { read_csv(dir / "b.csv", {}); }).find(":2:"), std::string::npos);
  std::ofstream(dir / "c.csv") << "1,2,300\n";
  EXPECT_NE(error_of([&] { read_csv(dir / "c.csv", {}); }).find("0..255"), std::string::npos);
  std::ofstream(dir / "d.csv") << "\n\n";
  EXPECT_NE(error_of([&] { read_csv(dir / "d.csv", {}); }).find("no samples"), std::string::npos);
}

// The fields of every record of `text`, joined by '|', records by '/'.
std::string records_of(std::string_view text, char separator) {
  CsvRecords records(text, "t.csv", separator);
  std::string out;
  while (records.next()) {
    if (!out.empty()) out += '/';
    for (std::size_t i = 0; i < records.fields().size(); ++i) {
      if (i) out += '|';
      out += records.fields()[i];
    }
  }
  return out;
}

TEST(Csv, RecordsWithQuotesCrlfBomAndSeparators) {
  EXPECT_EQ(records_of("a,b\r\n1,2\r\n", ','), "a|b/1|2");
  EXPECT_EQ(records_of("\xEF\xBB\xBF" "1,2\n3,4\n", ','), "1|2/3|4");
  EXPECT_EQ(records_of("\"x, y\",\"say \"\"hi\"\"\",3\n", ','), "x, y|say \"hi\"|3");
  EXPECT_EQ(records_of("\"two\nlines\",1\n\n  \n2,3", ','), "two\nlines|1/2|3");
  EXPECT_EQ(records_of("1;2,5;3\n", ';'), "1|2,5|3");
  EXPECT_EQ(records_of("1\t 2\t3\n", '\t'), "1|2|3");
  EXPECT_EQ(records_of("  59 2   32.1\n48 1 21.6  \n", ' '), "59|2|32.1/48|1|21.6");
  EXPECT_EQ(records_of("a,,c,\n", ','), "a||c|");
  EXPECT_NE(error_of([] { records_of("1,\"open\n2,3\n", ','); }).find("t.csv:1: a quote opened on this line is never closed"),
            std::string::npos);
  EXPECT_NE(error_of([] { records_of("1,\"a\"b,3\n", ','); }).find("t.csv:1: 'b' after a closing quote"), std::string::npos);
}

TEST(Csv, DetectsTheSeparator) {
  EXPECT_EQ(detect_separator("a,b,c\n"), ',');
  EXPECT_EQ(detect_separator("\n\na;b;c,d\n"), ';');
  EXPECT_EQ(detect_separator("a\tb\tc\n"), '\t');
  EXPECT_EQ(detect_separator("\"a;b\",c\n"), ',');
  EXPECT_EQ(detect_separator("59 2 32.1\n"), ' ');
  EXPECT_EQ(detect_separator("  42\n"), ',');  // one column
}

// A general CSV read with the label column `label`.
Dataset read_table(const std::string& path, const std::string& label, CsvOptions options = {}) {
  options.label_column = label;
  options.pixels = false;
  return read_csv(path, options);
}

TEST(Csv, HeaderDetectedOrDeclared) {
  ScratchDir dir;
  // scikit-learn's own first line: counts and class names, text above numbers: a header.
  std::ofstream(dir / "iris.csv") << "4,2,setosa,versicolor\n5.1,3.5,1.4,0\n4.9,3.0,1.3,1\n";
  Dataset data = read_table(dir / "iris.csv", "#3");
  EXPECT_EQ(data.count, 2u);
  EXPECT_EQ(data.labels, (std::vector<float>{0, 1}));
  // scikit-learn's wine_data.csv: a first line narrower than the samples is passed over.
  std::ofstream(dir / "wine.csv") << "2,3,class_0,class_1,class_2\n1,2,3,0\n4,5,6,1\n";
  data = read_table(dir / "wine.csv", "-1");
  EXPECT_EQ(data.count, 2u);
  EXPECT_EQ(data.columns, (std::vector<std::string>{"column 0", "column 1", "column 2"}));
  // pandas' names of unnamed columns, 0..n-1, all numbers: still a header.
  std::ofstream(dir / "pandas.csv") << "0,1,2,3\n1,2,3,0\n4,5,6,1\n";
  data = read_table(dir / "pandas.csv", "3");
  EXPECT_EQ(data.count, 2u);
  EXPECT_EQ(data.columns, (std::vector<std::string>{"0", "1", "2"}));
  // No header: texts above texts are categories, not names.
  std::ofstream(dir / "plain.csv") << "red,1.5,0\nblue,2.5,1\n";
  CsvOptions options;
  options.categorical = {"0"};
  data = read_table(dir / "plain.csv", "2", options);
  EXPECT_EQ(data.count, 2u);
  EXPECT_EQ(data.categories[0], (std::vector<std::string>{"red", "blue"}));
  // A BOM on a file without header keeps its first row.
  std::ofstream(dir / "bom.csv") << "\xEF\xBB\xBF" "1,2,0\n3,4,1\n";
  data = read_table(dir / "bom.csv", "2");
  EXPECT_EQ(data.count, 2u);
  EXPECT_EQ(data.values, (std::vector<float>{1, 2, 3, 4}));
  // Declared: --no-header takes the first line as data, --header as names.
  options = {};
  options.header = CsvHeader::absent;
  EXPECT_EQ(read_table(dir / "pandas.csv", "3", options).count, 3u);
  options.header = CsvHeader::present;
  EXPECT_EQ(read_table(dir / "bom.csv", "#2", options).count, 1u);
}

TEST(Csv, LabelColumnNameOrIndexNeverBoth) {
  ScratchDir dir;
  std::ofstream(dir / "iris.csv") << "150,4,setosa,versicolor,virginica\n5.1,3.5,1.4,0.2,0\n4.9,3.0,1.4,0.2,2\n";
  // "4" names column 1 and indexes column 4: refused, with both ways out.
  const std::string ambiguous = error_of([&] { read_table(dir / "iris.csv", "4"); });
  EXPECT_NE(ambiguous.find("--label-column '4' is ambiguous: it is the name of column 1 and the index of column 'virginica'"),
            std::string::npos) << ambiguous;
  EXPECT_NE(ambiguous.find("'#4'"), std::string::npos);
  EXPECT_EQ(read_table(dir / "iris.csv", "#4").labels, (std::vector<float>{0, 2}));
  EXPECT_EQ(read_table(dir / "iris.csv", "virginica").labels, (std::vector<float>{0, 2}));
  EXPECT_EQ(read_table(dir / "iris.csv", "-1").labels, (std::vector<float>{0, 2}));
  EXPECT_EQ(read_table(dir / "iris.csv", "setosa").labels, (std::vector<float>{1.4f, 1.4f}));
  // A missing column lists those there are.
  const std::string missing = error_of([&] { read_table(dir / "iris.csv", "species"); });
  EXPECT_NE(missing.find("the columns are: 150, 4, setosa, versicolor, virginica"), std::string::npos) << missing;
}

TEST(Csv, MissingValuesNameFileLineAndColumn) {
  ScratchDir dir;
  std::ofstream(dir / "m.csv") << "a,b,y\n1,2,0\n3,,1\n5,NA,0\n7,NaN,1\n";
  const std::string message = error_of([&] { read_table(dir / "m.csv", "y"); });
  EXPECT_NE(message.find(dir / "m.csv" + ":3: column 'b' (1): missing value (''); fill it in, or impute it with --impute"),
            std::string::npos) << message;
  CsvOptions options;
  options.allow_missing = true;
  const Dataset data = read_table(dir / "m.csv", "y", options);
  EXPECT_EQ(data.count, 4u);
  for (std::size_t s = 1; s < 4; ++s) EXPECT_TRUE(std::isnan(data.values[2 * s + 1])) << s;
  EXPECT_EQ(data.lines, (std::vector<std::size_t>{2, 3, 4, 5}));
  std::ofstream(dir / "l.csv") << "a,y\n1,0\n2,NA\n";
  EXPECT_NE(error_of([&] { read_table(dir / "l.csv", "y", options); }).find(":3: column 'y' (1): the label is missing"),
            std::string::npos);
}

TEST(Csv, TextNeedsCategorical) {
  ScratchDir dir;
  std::ofstream(dir / "c.csv") << "size,color,y\n1,red,yes\n2,\"blue\",no\n3,red,yes\n";
  EXPECT_NE(error_of([&] { read_table(dir / "c.csv", "y"); })
                .find(":2: column 'color' (1): 'red' is not a number; one-hot encode a column of categories with --categorical color"),
            std::string::npos);
  CsvOptions options;
  options.categorical = {"color"};
  const Dataset data = read_table(dir / "c.csv", "y", options);
  EXPECT_EQ(data.categories[1], (std::vector<std::string>{"red", "blue"}));
  EXPECT_EQ(data.values, (std::vector<float>{1, 0, 2, 1, 3, 0}));
  // Text labels become classes in sorted order.
  EXPECT_EQ(data.classes, (std::vector<std::string>{"no", "yes"}));
  EXPECT_EQ(data.labels, (std::vector<float>{1, 0, 1}));
}

TEST(Csv, SeveralTargetsAndChosenFeatures) {
  ScratchDir dir;
  std::ofstream(dir / "r.csv") << "id,x1,x2,t1,t2\nq,1,2,10,20\nr,3,4,30,40\n";
  CsvOptions options;
  options.features = {"x2", "x1"};
  const Dataset data = read_table(dir / "r.csv", "t1,t2", options);
  EXPECT_EQ(data.targets, 2);
  EXPECT_EQ(data.labels, (std::vector<float>{10, 20, 30, 40}));
  EXPECT_EQ(data.values, (std::vector<float>{2, 1, 4, 3}));
  EXPECT_EQ(data.label_columns, (std::vector<std::string>{"t1", "t2"}));
  EXPECT_EQ(data.column_index, (std::vector<int>{2, 1}));
  std::ofstream(dir / "bad.csv") << "x,t1,t2\n1,2,a\n";
  EXPECT_NE(error_of([&] { read_table(dir / "bad.csv", "t1,t2"); }).find("bad.csv:2: column 't2' (2): target 'a' is not a number"),
            std::string::npos);
}

TEST(Csv, SemicolonsAndTabsAndSpaces) {
  ScratchDir dir;
  std::ofstream(dir / "eu.csv") << "a;b;y\r\n1.5;2;0\r\n3;4.25;1\r\n";
  EXPECT_EQ(read_table(dir / "eu.csv", "y").values, (std::vector<float>{1.5f, 2, 3, 4.25f}));
  std::ofstream(dir / "t.tsv") << "a\tb\ty\n1\t2\t0\n";
  EXPECT_EQ(read_table(dir / "t.tsv", "y").values, (std::vector<float>{1, 2}));
  std::ofstream(dir / "diabetes.txt") << "59 2 32.1 101.0\n48 1 21.6 87.0\n";
  EXPECT_EQ(read_table(dir / "diabetes.txt", "-1").labels, (std::vector<float>{101, 87}));
  CsvOptions options;
  options.separator = ',';
  EXPECT_NE(error_of([&] { read_table(dir / "eu.csv", "y", options); }).find("is neither a column name"), std::string::npos);
}

TEST(Data, SplitOffDrawsAfterASeededShuffle) {
  Dataset data;
  data.features = 1;
  data.count = 10;
  for (int s = 0; s < 10; ++s) data.pixels.push_back(s), data.labels.push_back(s % 3);
  Dataset copy = data;
  const Dataset validation = split_off(data, 0.2, 7);
  EXPECT_EQ(data.count, 8u);
  EXPECT_EQ(data.pixels.size(), 8u);
  EXPECT_EQ(validation.count, 2u);
  // Every sample on exactly one side, each side in file order, labels with their samples.
  std::vector<std::uint8_t> all = data.pixels;
  all.insert(all.end(), validation.pixels.begin(), validation.pixels.end());
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, (std::vector<std::uint8_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_TRUE(std::is_sorted(validation.pixels.begin(), validation.pixels.end()));
  for (std::size_t s = 0; s < validation.count; ++s) EXPECT_EQ(validation.labels[s], validation.pixels[s] % 3);
  // The same seed draws the same samples; the split is not simply the last ones.
  EXPECT_EQ(split_off(copy, 0.2, 7).pixels, validation.pixels);
  EXPECT_THROW(split_off(data, 0.01), Error);
  EXPECT_THROW(split_off(data, 1.0), Error);
  EXPECT_NE(error_of([&] { split_off(data, 1.5, 1, false, "--test-split"); }).find("--test-split"), std::string::npos);
}

TEST(Data, StratifiedSplitGivesEveryClassItsShare) {
  // Sorted by class as iris is: 30 of class 0, 30 of class 1, 30 of class 2.
  Dataset data;
  data.pixel_input = false;
  data.features = 1;
  data.count = 90;
  for (int s = 0; s < 90; ++s) data.values.push_back(s), data.labels.push_back(s / 30);
  for (std::uint64_t seed : {1, 2, 3}) {
    Dataset train = data;
    const Dataset validation = split_off(train, 0.3, seed, true);
    ASSERT_EQ(validation.count, 27u);
    for (int c = 0; c < 3; ++c) {
      EXPECT_EQ(std::count(validation.labels.begin(), validation.labels.end(), float(c)), 9) << "seed " << seed;
      EXPECT_EQ(std::count(train.labels.begin(), train.labels.end(), float(c)), 21) << "seed " << seed;
    }
  }
  // Uneven classes: the total is still round(fraction * count).
  data.labels.assign(90, 0);
  std::fill(data.labels.begin(), data.labels.begin() + 7, 1.0f);
  Dataset train = data;
  const Dataset validation = split_off(train, 0.25, 1, true);
  EXPECT_EQ(validation.count, 23u);
  EXPECT_EQ(std::count(validation.labels.begin(), validation.labels.end(), 1.0f), 2);
}

TEST(Data, CheckFits) {
  Dataset data;
  data.feature_source = "images.idx";
  data.label_source = "labels.idx";
  data.features = 4;
  data.count = 2;
  data.pixels.assign(8, 0);
  data.labels = {1, 12};
  const Architecture ten{{4, 10}};
  EXPECT_NE(error_of([&] { check_fits(data, ten); }).find("labels.idx: label 12"), std::string::npos);
  EXPECT_NE(error_of([&] { check_fits(data, Architecture{{5, 13}}); }).find("images.idx"), std::string::npos);
  EXPECT_NO_THROW(check_fits(data, Architecture{{4, 13}}));
  EXPECT_NO_THROW(check_fits(data, Architecture{{4, 1}, Activation::relu, Task::binary, 12}));
  data.labels = {1, 0.5f};
  EXPECT_THROW(check_fits(data, ten), Error);
}

template <typename T>
void expect_every_pixel_scaled_exactly() {
  Dataset data;
  data.features = 256;
  data.count = 1;
  for (int p = 0; p < 256; ++p) data.pixels.push_back(static_cast<std::uint8_t>(p));
  const std::size_t batch[] = {0};
  Matrix<T> X(256, 1);
  gather_batch<T>(data, batch, X);
  for (int p = 0; p < 256; ++p) ASSERT_EQ(X(p, 0), T(p) / T(255)) << "pixel " << p;
}

TEST(Data, GatherGivesExactlyPixelOver255) {
  expect_every_pixel_scaled_exactly<float>();
  expect_every_pixel_scaled_exactly<double>();
}

TEST(Data, GatherDoesNotDependOnTheThreadCount) {
  // A batch large enough to be gathered on two threads, in shuffled order, against one thread.
  Dataset data;
  data.features = 784;
  data.count = 1000;
  data.pixels.resize(data.count * data.features);
  for (std::size_t i = 0; i < data.pixels.size(); ++i) data.pixels[i] = std::uint8_t(i * 2654435761u >> 24);
  std::vector<std::size_t> batch(256);
  for (std::size_t j = 0; j < batch.size(); ++j) batch[j] = (j * 617) % data.count;
  Matrix<float> one(784, 256), two(784, 256);
  omp_set_num_threads(1);
  gather_batch<float>(data, batch, one);
  omp_set_num_threads(2);
  gather_batch<float>(data, batch, two);
  EXPECT_TRUE(std::equal(one.data(), one.data() + 784 * 256, two.data()));
  EXPECT_EQ(two(5, 255), data.pixels[batch[255] * 784 + 5] / 255.0f);
}

TEST(Data, GatherScalesPixelsAndBuildsTargets) {
  Dataset data;
  data.features = 2;
  data.count = 3;
  data.pixels = {0, 255, 51, 102, 1, 2};
  data.labels = {3, 1, 3};
  const std::size_t batch[] = {2, 0};
  Matrix<float> X(2, 2);
  gather_batch<float>(data, batch, X);
  EXPECT_EQ(X(0, 0), 1.0f / 255.0f);
  EXPECT_EQ(X(1, 1), 1.0f);
  EXPECT_EQ(X(0, 1), 0.0f);

  Matrix<float> Y(4, 2);
  gather_targets<float>(data, batch, Architecture{{2, 4}}, Y);
  EXPECT_EQ(Y(3, 0), 1.0f);
  EXPECT_EQ(Y(0, 0) + Y(1, 0) + Y(2, 0), 0.0f);
  Matrix<float> binary(1, 2);
  const std::size_t others[] = {1, 2};
  gather_targets<float>(data, others, Architecture{{2, 1}, Activation::relu, Task::binary, 3}, binary);
  EXPECT_EQ(binary(0, 0), 0.0f);  // label 1 is not a 3
  EXPECT_EQ(binary(0, 1), 1.0f);
}

}  // namespace
}  // namespace mlp
