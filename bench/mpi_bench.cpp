// The cost of data-parallel training under mpirun: the exchange of a gradient (MPI_Allreduce
// against the fixed-order fold that training uses) and whole training steps, with the share of
// each step spent in the exchange. Built with -DMLP_MPI=ON; bench/mpi_bench.sh runs it.
//
//   mpirun -np N build/bench/mpi_bench exchange [--floats 1000000,10000000] [--reps 20]
//   mpirun -np N build/bench/mpi_bench train [--layers 784-1024-1024-10] [--batch 256] [--steps 60]
//
// Output: one JSON object per measurement on stdout, from rank 0.
// - exchange: for each size, the median and best seconds of MPI_Allreduce (MPI_SUM, in place)
//   and of fold_in_shard_order with one shard's block per rank (what a step of training sends).
// - train: random inputs and one-hot targets of the layer sizes (the speed does not depend on the
//   values), SGD; each step is forward of this rank's columns, then DataParallel::backward's steps
//   (one rank: Network::backward, as the trainer), update. samples/s from the median step time;
//   wait share: the time from this rank's gradients being ready to every rank's (a barrier),
//   exchange share: the fold after it, each over the step's time, medians over the steps.

#include <mpi.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "mlp/distributed.hpp"
#include "mlp/error.hpp"
#include "mpi_group.hpp"
#include "mlp/network.hpp"
#include "mlp/optimizers.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n == 0 ? 0 : n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::vector<long> parse_list(const std::string& text) {
  std::vector<long> values;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = std::min(text.find(',', start), text.size());
    values.push_back(std::atol(text.substr(start, end - start).c_str()));
    start = end + 1;
  }
  return values;
}

void exchange(mlp::MpiGroup& group, const std::vector<long>& sizes, int reps) {
  for (const long n : sizes) {
    std::vector<float> mine(n), out(n);
    for (long i = 0; i < n; ++i) mine[i] = float(group.rank() + 1) * 1e-3f * float(i % 97);
    // One 64-column shard per rank: each rank holds one block of n values.
    const int batch = group.size() * mlp::Network<float>::shard_columns;
    std::vector<double> allreduce, fold;
    for (int rep = 0; rep < reps + 2; ++rep) {  // two warm-up rounds
      MPI_Barrier(MPI_COMM_WORLD);
      Clock::time_point start = Clock::now();
      std::copy(mine.begin(), mine.end(), out.begin());
      MPI_Allreduce(MPI_IN_PLACE, out.data(), int(n), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
      const double a = seconds_since(start);
      MPI_Barrier(MPI_COMM_WORLD);
      start = Clock::now();
      mlp::fold_in_shard_order<float>(group, batch, mine, out);
      const double f = seconds_since(start);
      if (rep >= 2) allreduce.push_back(a), fold.push_back(f);
    }
    if (group.rank() == 0)
      std::printf("{\"bench\":\"exchange\",\"ranks\":%d,\"floats\":%ld,\"bytes\":%ld,\"reps\":%d,"
                  "\"allreduce_s_median\":%.6f,\"allreduce_s_best\":%.6f,"
                  "\"fold_s_median\":%.6f,\"fold_s_best\":%.6f}\n",
                  group.size(), n, 4 * n, reps, median(allreduce), *std::min_element(allreduce.begin(), allreduce.end()),
                  median(fold), *std::min_element(fold.begin(), fold.end()));
  }
}

void train(mlp::MpiGroup& group, const std::string& layers, int batch, int steps) {
  mlp::Architecture arch;
  arch.sizes = mlp::parse_layers(layers);
  if (arch.outputs() == 1) arch.task = mlp::Task::binary;  // 784-16-32-1 of the benchmarks
  mlp::Rng rng(42);
  mlp::Network<float> net(arch);
  net.initialize(rng);
  mlp::Optimizer sgd(mlp::OptimizerOptions{}, net.parameters().size());
  const mlp::ShardRange mine = mlp::shard_range(batch, group.rank(), group.size());
  mlp::Matrix<float> X(arch.sizes.front(), std::max(mine.columns, 1)), Y(arch.outputs(), std::max(mine.columns, 1));
  for (int j = 0; j < X.cols(); ++j) {
    for (int i = 0; i < X.rows(); ++i) X(i, j) = float(rng.uniform());
    Y(int(rng.below(arch.outputs())), j) = arch.outputs() == 1 ? float(rng.below(2)) : 1;
  }
  const std::size_t P = net.parameters().size();
  std::vector<float> partials(std::size_t(mine.shards) * P);
  std::vector<double> step_seconds, wait_shares, transfer_shares;
  for (int step = 0; step < steps + 3; ++step) {  // three warm-up steps
    MPI_Barrier(MPI_COMM_WORLD);
    const Clock::time_point start = Clock::now();
    const mlp::MatrixView<const float> Xr = X.view().first_cols(mine.columns), Yr = Y.view().first_cols(mine.columns);
    double waited = 0, transferred = 0;
    net.forward(Xr);
    if (group.size() == 1) {  // as the trainer: one process sums its shards in place
      net.loss(Yr);
      net.backward(Yr);
    } else {
      // DataParallel::backward's steps, with a barrier between the computation and the fold so
      // that waiting for the slower rank and moving the data are timed apart.
      if (mine.shards > 0) net.backward_shards(Yr, partials);
      const Clock::time_point computed = Clock::now();
      MPI_Barrier(MPI_COMM_WORLD);
      const Clock::time_point all_computed = Clock::now();
      mlp::fold_in_shard_order<float>(group, batch, partials, net.gradients());
      for (float& g : net.gradients()) g *= 1.0f / float(batch);
      waited = seconds_since(computed) - seconds_since(all_computed);
      transferred = seconds_since(all_computed);
    }
    sgd.step(net.parameters(), net.gradients(), 0.01);
    const double seconds = seconds_since(start);
    if (step >= 3) {
      step_seconds.push_back(seconds);
      wait_shares.push_back(waited / seconds);
      transfer_shares.push_back(transferred / seconds);
    }
  }
  // Rank 0 reports its own view; the slowest rank sets the pace, and rank 0's wait shows it.
  if (group.rank() == 0)
    std::printf("{\"bench\":\"train\",\"layers\":\"%s\",\"batch\":%d,\"ranks\":%d,\"threads\":%d,\"steps\":%d,"
                "\"step_s_median\":%.6f,\"step_s_best\":%.6f,\"samples_per_s\":%.1f,\"wait_share_median\":%.4f,"
                "\"exchange_share_median\":%.4f}\n",
                layers.c_str(), batch, group.size(), omp_get_max_threads(), steps, median(step_seconds),
                *std::min_element(step_seconds.begin(), step_seconds.end()), batch / median(step_seconds),
                median(wait_shares), median(transfer_shares));
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  std::string layers = "784-1024-1024-10", floats = "1000000,10000000";
  int batch = 256, steps = 60, reps = 20;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string option = argv[i], value = argv[i + 1];
    if (option == "--layers") layers = value;
    else if (option == "--batch") batch = std::atoi(value.c_str());
    else if (option == "--steps") steps = std::atoi(value.c_str());
    else if (option == "--floats") floats = value;
    else if (option == "--reps") reps = std::atoi(value.c_str());
    else mode = "";
  }
  if (mode != "exchange" && mode != "train") {
    std::fprintf(stderr, "usage: mpirun -np N mpi_bench exchange [--floats 1000000,10000000] [--reps 20]\n"
                         "       mpirun -np N mpi_bench train [--layers 784-1024-1024-10] [--batch 256] [--steps 60]\n");
    return 2;
  }
  try {
    mlp::MpiGroup group;
    if (mode == "exchange") exchange(group, parse_list(floats), std::max(reps, 1));
    else train(group, layers, batch, std::max(steps, 1));
  } catch (const mlp::Error& e) {
    std::fprintf(stderr, "mpi_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
