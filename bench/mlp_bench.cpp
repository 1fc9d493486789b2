// Training and inference benchmarks of the mlp library on MNIST, through its public C++ API only
// (read_idx_folder, Network<float>, train, predict, forward). One configuration per process by
// default, so that the peak resident memory reported belongs to that configuration alone;
// bench/run.sh loops over them and runs PyTorch (bench/torch_bench.py) on the same ones.
//
//   mlp_bench --list
//   mlp_bench --config NAME [--data DIR] [--epochs N] [--reps N] [--peak-gflops G] [--seed S]
//
// Output: one JSON object per configuration on stdout (JSON lines); a human summary on stderr.
// Exit codes: 0 done, 2 bad usage, 77 MNIST not found (the benchmark is skipped, not failed).
//
// What is measured:
// - training: full epochs of the 60,000 training images (shuffled, batches of m, one forward,
//   backward and SGD step per batch, as mlp::train does it; its per-batch loss and accuracy
//   bookkeeping included); one mlp::train call runs all the epochs, each timed from the end of the
//   one before (on_epoch). samples/s is the median over the epochs (the best is reported too).
//   Effective GFLOP/s = 6 x parameters x samples/s (2 for the forward product, 4 for the two
//   backward products).
// - inference latency: Network::forward of one already-scaled 784 x 1 column, timed one call at
//   a time after a warm-up; the median over --reps calls.
// - inference throughput: mlp::predict over the 60,000 training images in batches of 1024
//   (uint8 -> float scaling included); median over --reps-batch passes. GFLOP/s = 2 x P x samples/s.
// - memory: VmHWM (peak resident set) and VmRSS from /proc/self/status at the end, next to the
//   bound of issue 5: dataset bytes (uint8) + 4 x parameter bytes + activations of one batch +
//   a small constant (see memory_bound()).

#include <sys/resource.h>
#include <unistd.h>

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cpu_load.hpp"

#include "mlp/data.hpp"
#include "mlp/error.hpp"
#include "mlp/network.hpp"
#include "mlp/training.hpp"

#ifndef MLP_BENCH_MNIST
#define MLP_BENCH_MNIST "../shared/data/mnist"
#endif

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kExitSkipped = 77;  // the autotools / CTest convention for "skipped"

enum class Kind { train, latency, throughput };

struct Config {
  const char* name;
  std::vector<int> sizes;
  mlp::Task task;
  int positive;  // binary only
  int batch;
  Kind kind;
  const char* what;
};

const std::vector<Config>& configs() {
  static const std::vector<Config> all = {
      {"small-b32", {784, 16, 32, 1}, mlp::Task::binary, 3, 32, Kind::train,
       "784-16-32-1 binary (positive 3), batch 32"},
      {"mid-b64", {784, 128, 64, 10}, mlp::Task::multiclass, 1, 64, Kind::train,
       "784-128-64-10, batch 64"},
      {"mid-b256", {784, 128, 64, 10}, mlp::Task::multiclass, 1, 256, Kind::train,
       "784-128-64-10, batch 256"},
      {"wide-b128", {784, 800, 10}, mlp::Task::multiclass, 1, 128, Kind::train,
       "784-800-10, batch 128"},
      {"large1024-b256", {784, 1024, 1024, 10}, mlp::Task::multiclass, 1, 256, Kind::train,
       "784-1024-1024-10, batch 256"},
      {"large2048-b512", {784, 2048, 2048, 10}, mlp::Task::multiclass, 1, 512, Kind::train,
       "784-2048-2048-10, batch 512"},
      {"infer-1", {784, 128, 64, 10}, mlp::Task::multiclass, 1, 1, Kind::latency,
       "784-128-64-10 inference, single image latency"},
      {"infer-b1024", {784, 128, 64, 10}, mlp::Task::multiclass, 1, 1024, Kind::throughput,
       "784-128-64-10 inference, batch 1024 throughput"},
  };
  return all;
}

// A field of /proc/self/status in kB ("VmHWM", "VmRSS"), or -1.
long status_kb(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field + ":", 0) == 0) return std::atol(line.c_str() + field.size() + 1);
  return -1;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n == 0 ? 0 : n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string json_array(const std::vector<double>& v, const char* format) {
  std::string s = "[";
  char buffer[64];
  for (std::size_t i = 0; i < v.size(); ++i) {
    std::snprintf(buffer, sizeof buffer, format, v[i]);
    if (i) s += ',';
    s += buffer;
  }
  return s + "]";
}

// Issue 5's memory bound, in bytes:
//   dataset: every image and label held, one byte each (what read_idx_folder loads: train + test)
// + parameters: 4 x the float32 parameter bytes (parameters, gradients, and room for two more
//   copies such as packed weights or optimizer state), i.e. 16 bytes per parameter
// + activations of one batch, float32: X (n0 x m), Z and A of every layer (2 x n_l x m),
//   Y (nL x m) and backward's dZ/dA scratch (2 x max n_l x m)
// + a constant of 16 MiB for the program, its libraries and thread stacks.
struct Bound {
  double dataset, parameters, activations, constant;
  double total() const { return dataset + parameters + activations + constant; }
};

Bound memory_bound(const Config& c, const mlp::TrainTest& data, std::size_t parameters) {
  Bound b{};
  b.dataset = double(data.train.count + data.test.count) * (double(data.train.features) + 1);
  b.parameters = 4.0 * 4.0 * double(parameters);
  double units = c.sizes.front() + c.sizes.back();
  int widest = 0;
  for (std::size_t l = 1; l < c.sizes.size(); ++l) {
    units += 2.0 * c.sizes[l];
    widest = std::max(widest, c.sizes[l]);
  }
  units += 2.0 * widest;
  b.activations = 4.0 * c.batch * units;
  b.constant = 16.0 * 1024 * 1024;
  return b;
}

void usage(std::FILE* out) {
  std::fprintf(out,
               "usage: mlp_bench --config NAME [--data DIR] [--epochs N] [--reps N] [--reps-batch N]\n"
               "                 [--peak-gflops G] [--seed S] [--fixed-threads]\n"
               "       mlp_bench --list\n"
               "  --config NAME    one of the configurations (--list), or 'all' (one process: the\n"
               "                   peak RSS then covers every configuration run so far)\n"
               "  --data DIR       MNIST folder (default: $MLP_MNIST, else %s)\n"
               "  --epochs N       training epochs timed, median reported (default 3)\n"
               "  --reps N         single-image forward calls timed (default 20000)\n"
               "  --reps-batch N   batch-1024 passes over the 60,000 images timed (default 7)\n"
               "  --peak-gflops G  measured FMA peak (bench/fma_peak, all cores) for the share of peak\n"
               "  --fixed-threads  train on all threads throughout (TrainOptions::choose_threads off)\n"
               "exit: 0 done, 2 usage, %d MNIST not found (skipped)\n",
               MLP_BENCH_MNIST, kExitSkipped);
}

struct Options {
  std::string config;
  std::string data;
  int epochs = 3;
  int reps = 20000;
  int reps_batch = 7;
  double peak_gflops = 0;
  std::uint64_t seed = 42;
  bool fixed_threads = false;
};

bool mnist_present(const std::string& folder) {
  namespace fs = std::filesystem;
  for (const char* name : {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                           "t10k-labels-idx1-ubyte"})
    if (!fs::exists(fs::path(folder) / name) && !fs::exists(fs::path(folder) / (std::string(name) + ".gz")))
      return false;
  return true;
}

void run(const Config& c, const Options& o, const mlp::TrainTest& data, long rss_start_kb,
         long rss_loaded_kb, double load_seconds) {
  mlp::Architecture arch;
  arch.sizes = c.sizes;
  arch.hidden_activation = mlp::Activation::relu;
  arch.task = c.task;
  arch.positive = c.positive;
  arch.pixel_input = true;
  mlp::check_architecture(arch);
  const std::size_t P = arch.parameter_count();

  mlp::Rng rng(o.seed);
  mlp::Network<float> net(arch);
  net.initialize(rng);

  std::vector<double> seconds;  // per timed unit: an epoch, a forward call, a predict pass
  double samples_per_unit = 0;
  double final_loss = 0;
  std::string unit;
  const CpuSample cpu_before = cpu_sample();

  if (c.kind == Kind::train) {
    mlp::TrainOptions options;
    options.epochs = o.epochs;
    options.batch_size = c.batch;
    options.learning_rate = 0.1;
    options.shuffle = true;
    options.choose_threads = !o.fixed_threads;
    // One run of all the epochs, as `mlp train` does it; each epoch timed from the end of the
    // one before.
    Clock::time_point start = Clock::now();
    mlp::TrainCallbacks callbacks;
    callbacks.on_epoch = [&](const mlp::EpochMetrics& metrics) {
      const Clock::time_point now = Clock::now();
      seconds.push_back(std::chrono::duration<double>(now - start).count());
      start = now;
      final_loss = metrics.train_loss;
    };
    mlp::train(net, data.train, options, rng, nullptr, nullptr, callbacks);
    samples_per_unit = double(data.train.count);
    unit = "epoch";
  } else if (c.kind == Kind::latency) {
    mlp::Matrix<float> X(arch.sizes[0], 1);
    const std::size_t first = 0;
    mlp::gather_batch<float>(data.test, std::span<const std::size_t>(&first, 1), X.view());
    const mlp::MatrixView<const float> x = X.view();
    float sink = 0;
    for (int r = 0; r < 2000; ++r) sink += net.forward(x).data[0];  // warm-up
    seconds.reserve(o.reps);
    for (int r = 0; r < o.reps; ++r) {
      const Clock::time_point start = Clock::now();
      const mlp::MatrixView<const float> a = net.forward(x);
      seconds.push_back(std::chrono::duration<double>(Clock::now() - start).count());
      sink += a.data[0];
    }
    final_loss = sink;  // keeps the calls alive; not a loss
    samples_per_unit = 1;
    unit = "forward call";
  } else {
    (void)mlp::predict(net, data.train, c.batch);  // warm-up
    for (int r = 0; r < o.reps_batch; ++r) {
      const Clock::time_point start = Clock::now();
      const mlp::Matrix<float> out = mlp::predict(net, data.train, c.batch);
      seconds.push_back(std::chrono::duration<double>(Clock::now() - start).count());
      final_loss += out.data()[0];
    }
    samples_per_unit = double(data.train.count);
    unit = "predict pass";
  }

  const double others = others_share(cpu_before, cpu_sample());
  const long hwm_kb = status_kb("VmHWM"), rss_kb = status_kb("VmRSS");
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);

  const double med = median(seconds);
  const double best = *std::min_element(seconds.begin(), seconds.end());
  const double sps = samples_per_unit / med, sps_best = samples_per_unit / best;
  const double flops_per_sample = (c.kind == Kind::train ? 6.0 : 2.0) * double(P);
  const double gflops = flops_per_sample * sps * 1e-9;
  const double share = o.peak_gflops > 0 ? gflops / o.peak_gflops : 0;
  const Bound bound = memory_bound(c, data, P);
  const double MiB = 1024.0 * 1024.0;

  std::printf(
      "{\"bench\":\"mlp\",\"config\":\"%s\",\"what\":\"%s\",\"layers\":\"%s\",\"batch\":%d,"
      "\"kind\":\"%s\",\"parameters\":%zu,\"threads\":%d,\"unit\":\"%s\",\"units_timed\":%zu,"
      "\"samples_per_unit\":%.0f,\"seconds\":%s,\"seconds_median\":%.6g,"
      "\"samples_per_s_median\":%.1f,\"samples_per_s_best\":%.1f,\"latency_us_median\":%.3f,"
      "\"latency_us_best\":%.3f,\"gflops_median\":%.2f,\"peak_gflops\":%.1f,\"share_of_peak\":%.4f,"
      "\"final_value\":%.6g,\"rss_start_mib\":%.1f,\"rss_loaded_mib\":%.1f,\"peak_rss_mib\":%.1f,\"rss_end_mib\":%.1f,"
      "\"ru_maxrss_mib\":%.1f,\"bound_mib\":%.1f,\"bound_dataset_mib\":%.1f,"
      "\"bound_parameters_mib\":%.1f,\"bound_activations_mib\":%.1f,\"bound_constant_mib\":%.1f,"
      "\"load_seconds\":%.3f,\"others_cpu_share\":%.3f}\n",
      c.name, c.what, arch.layers_string().c_str(), c.batch,
      c.kind == Kind::train ? "train" : c.kind == Kind::latency ? "latency" : "throughput", P,
      omp_get_max_threads(), unit.c_str(), seconds.size(), samples_per_unit,
      c.kind == Kind::latency ? "null" : json_array(seconds, "%.6g").c_str(), med, sps, sps_best,
      c.kind == Kind::latency ? med * 1e6 : 0.0, c.kind == Kind::latency ? best * 1e6 : 0.0, gflops,
      o.peak_gflops, share, final_loss, rss_start_kb / 1024.0, rss_loaded_kb / 1024.0, hwm_kb / 1024.0, rss_kb / 1024.0,
      usage.ru_maxrss / 1024.0, bound.total() / MiB, bound.dataset / MiB, bound.parameters / MiB,
      bound.activations / MiB, bound.constant / MiB, load_seconds, others);
  std::fflush(stdout);

  if (c.kind == Kind::latency)
    std::fprintf(stderr,
                 "mlp  %-15s %s: median %.2f us (best %.2f us) over %zu calls, %.2f GFLOP/s, "
                 "others used %.0f%% of the CPUs\n",
                 c.name, c.what, med * 1e6, best * 1e6, seconds.size(), gflops, others * 100);
  else
    std::fprintf(stderr,
                 "mlp  %-15s %s: %.0f samples/s, median of %zu x %s (best %.0f), %.1f GFLOP/s%s, "
                 "peak RSS %.0f MiB (bound %.0f MiB), others used %.0f%% of the CPUs\n",
                 c.name, c.what, sps, seconds.size(), unit.c_str(), sps_best, gflops,
                 share > 0 ? (", " + std::to_string(int(share * 100 + 0.5)) + "% of peak").c_str() : "",
                 hwm_kb / 1024.0, bound.total() / MiB, others * 100);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (const char* env = std::getenv("MLP_MNIST"); env && *env) o.data = env;
  else o.data = MLP_BENCH_MNIST;
  bool list = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "mlp_bench: %s needs a value\n", arg.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--config") o.config = value();
    else if (arg == "--data") o.data = value();
    else if (arg == "--epochs") o.epochs = std::atoi(value().c_str());
    else if (arg == "--reps") o.reps = std::atoi(value().c_str());
    else if (arg == "--reps-batch") o.reps_batch = std::atoi(value().c_str());
    else if (arg == "--peak-gflops") o.peak_gflops = std::atof(value().c_str());
    else if (arg == "--seed") o.seed = std::strtoull(value().c_str(), nullptr, 10);
    else if (arg == "--fixed-threads") o.fixed_threads = true;
    else if (arg == "--list") list = true;
    else if (arg == "--help" || arg == "-h") {
      usage(stdout);
      return 0;
    } else {
      std::fprintf(stderr, "mlp_bench: unknown argument %s\n", arg.c_str());
      usage(stderr);
      return 2;
    }
  }
  if (list) {
    for (const Config& c : configs()) std::printf("%-15s %s\n", c.name, c.what);
    return 0;
  }
  std::vector<const Config*> chosen;
  for (const Config& c : configs())
    if (o.config == "all" || o.config == c.name) chosen.push_back(&c);
  if (chosen.empty() || o.epochs < 1 || o.reps < 1 || o.reps_batch < 1) {
    std::fprintf(stderr, "mlp_bench: %s\n",
                 chosen.empty() ? ("unknown --config '" + o.config + "' (see --list)").c_str()
                                : "--epochs, --reps and --reps-batch must be at least 1");
    usage(stderr);
    return 2;
  }
  if (!mnist_present(o.data)) {
    std::fprintf(stderr,
                 "mlp_bench: MNIST not found in %s (the four train-/t10k- IDX files, optionally .gz);\n"
                 "           set MLP_MNIST or pass --data DIR. Skipping the benchmark.\n",
                 o.data.c_str());
    return kExitSkipped;
  }

  try {
    const long rss_start_kb = status_kb("VmRSS");
    const Clock::time_point start = Clock::now();
    const mlp::TrainTest data = mlp::read_idx_folder(o.data);
    const double load_seconds = std::chrono::duration<double>(Clock::now() - start).count();
    const long rss_loaded_kb = status_kb("VmRSS");
    for (const Config* c : chosen) run(*c, o, data, rss_start_kb, rss_loaded_kb, load_seconds);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mlp_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
