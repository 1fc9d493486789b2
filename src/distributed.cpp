// The fixed-order sum of shard gradients across ranks, and the small exchanges around it.
#include "mlp/distributed.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>

#include "mlp/error.hpp"

namespace mlp {

namespace {

// The running sum travels in pieces of this many bytes, so that rank r + 1 adds its shards to
// one piece while rank r is still sending the next: 256 KiB, well past the latency of a message,
// and small enough to stay in L2 while it is added to (1 MiB took 3-4x longer on 2 ranks).
constexpr std::size_t piece_bytes = std::size_t(1) << 18;

template <typename T>
std::span<const std::byte> bytes_of(std::span<const T> values) {
  return std::as_bytes(values);
}
template <typename T>
std::span<std::byte> bytes_of(std::span<T> values) {
  return std::as_writable_bytes(values);
}

}  // namespace

void SingleProcess::send(int to, std::span<const std::byte>) {
  throw Error("send to rank " + std::to_string(to) + ": this run has only one process");
}

void SingleProcess::receive(int from, std::span<std::byte>) {
  throw Error("receive from rank " + std::to_string(from) + ": this run has only one process");
}

ShardRange shard_range(int batch_columns, int rank, int ranks) {
  const int shards = Network<float>::shards(batch_columns);
  const auto first_of = [&](int r) { return int(std::int64_t(shards) * r / ranks); };
  ShardRange range;
  range.first_shard = first_of(rank);
  range.shards = first_of(rank + 1) - range.first_shard;
  range.first_column = std::min(batch_columns, range.first_shard * Network<float>::shard_columns);
  range.columns = std::min(batch_columns, (range.first_shard + range.shards) * Network<float>::shard_columns) -
                  range.first_column;
  return range;
}

template <typename T>
void fold_in_shard_order(ProcessGroup& group, int batch_columns, std::span<const T> partials, std::span<T> out) {
  const int ranks = group.size(), me = group.rank();
  const ShardRange mine = shard_range(batch_columns, me, ranks);
  if (partials.size() != std::size_t(mine.shards) * out.size())
    throw Error("fold_in_shard_order: " + std::to_string(partials.size()) + " values for " +
                std::to_string(mine.shards) + " shards of " + std::to_string(out.size()));
  // The ranks that hold shards, in rank order (shard order): the chain the running sum follows.
  int before = -1, after = -1, last = -1;
  for (int r = 0; r < ranks; ++r) {
    if (shard_range(batch_columns, r, ranks).shards == 0) continue;
    if (r < me) before = r;
    if (r > me && after < 0) after = r;
    last = r;
  }
  if (last < 0) {  // an empty batch: nothing to add
    std::fill(out.begin(), out.end(), T(0));
    return;
  }
  if (mine.shards > 0) {
    const std::size_t piece = std::max<std::size_t>(1, piece_bytes / sizeof(T));
    for (std::size_t start = 0; start < out.size(); start += piece) {
      const std::size_t n = std::min(piece, out.size() - start);
      T* running = out.data() + start;
      int s = 0;
      if (before >= 0) {
        group.receive(before, bytes_of(std::span<T>(running, n)));
      } else {
        std::copy(partials.data() + start, partials.data() + start + n, running);
        s = 1;
      }
      for (; s < mine.shards; ++s) {
        const T* shard = partials.data() + std::size_t(s) * out.size() + start;
        for (std::size_t i = 0; i < n; ++i) running[i] += shard[i];
      }
      if (after >= 0) group.send(after, bytes_of(std::span<const T>(running, n)));
    }
  }
  group.broadcast(last, bytes_of(out));
}

template void fold_in_shard_order<float>(ProcessGroup&, int, std::span<const float>, std::span<float>);
template void fold_in_shard_order<double>(ProcessGroup&, int, std::span<const double>, std::span<double>);

std::vector<std::vector<std::byte>> all_gather(ProcessGroup& group, std::span<const std::byte> mine) {
  std::vector<std::vector<std::byte>> all(group.size());
  for (int r = 0; r < group.size(); ++r) {
    std::uint64_t length = r == group.rank() ? mine.size() : 0;
    group.broadcast(r, std::as_writable_bytes(std::span<std::uint64_t>(&length, 1)));
    if (r == group.rank()) all[r].assign(mine.begin(), mine.end());
    else all[r].resize(length);
    group.broadcast(r, all[r]);
  }
  return all;
}

std::string first_failure(ProcessGroup& group, const std::string& my_failure) {
  if (group.size() == 1) return my_failure;
  // A flag byte (1: failed), then the message.
  std::vector<std::byte> mine(1 + my_failure.size());
  mine[0] = std::byte(my_failure.empty() ? 0 : 1);
  std::memcpy(mine.data() + 1, my_failure.data(), my_failure.size());
  const std::vector<std::vector<std::byte>> all = all_gather(group, mine);
  for (int r = 0; r < group.size(); ++r)
    if (!all[r].empty() && all[r][0] == std::byte(1))
      return "rank " + std::to_string(r) + ": " +
             std::string(reinterpret_cast<const char*>(all[r].data()) + 1, all[r].size() - 1);
  return "";
}

DataParallel::Totals DataParallel::backward(Network<float>& net, MatrixView<const float> Y, int batch_columns,
                                            std::size_t correct) {
  const ShardRange mine = range(batch_columns);
  if (Y.cols != mine.columns)
    throw Error("DataParallel::backward: " + std::to_string(Y.cols) + " target columns, but this rank's part of a batch of " +
                std::to_string(batch_columns) + " has " + std::to_string(mine.columns));
  const std::size_t P = net.parameters().size();
  partials_.resize(std::size_t(mine.shards) * P);
  shard_stats_.assign(std::size_t(mine.shards) * 2, 0.0);
  if (mine.shards > 0) {
    net.backward_shards(Y, partials_);
    std::vector<double> losses(mine.shards);
    net.loss_sum(Y, losses);
    for (int s = 0; s < mine.shards; ++s) shard_stats_[2 * s] = losses[s];
    shard_stats_[1] = double(correct);
  }

  const auto start = std::chrono::steady_clock::now();
  double stats[2];
  fold_in_shard_order<double>(group_, batch_columns, shard_stats_, stats);
  fold_in_shard_order<float>(group_, batch_columns, partials_, net.gradients());
  exchange_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  const float inv_m = 1.0f / float(batch_columns);
  for (float& g : net.gradients()) g *= inv_m;  // (1/m) of the shards' sum, as Network::backward
  return {stats[0], std::size_t(stats[1])};
}

double DataParallel::take_exchange_seconds() {
  const double seconds = exchange_seconds_;
  exchange_seconds_ = 0;
  return seconds;
}

}  // namespace mlp
