/// @file
/// Data-parallel training over several processes: how a batch is split between them, what they
/// exchange, and the sum in a fixed order that makes any number of them give the bits of one.
///
/// A batch of m columns is cut into shards of Network::shard_columns; each process (rank) takes
/// a contiguous run of whole shards, computes their forward and backward passes, and keeps each
/// shard's gradient apart. The batch gradient is then the shards' sum in shard order,
/// ((S_0 + S_1) + S_2) + ..., exactly as Network::backward sums it in one process: rank r
/// receives the running sum from the rank before it, adds its own shards, and passes it on; the
/// last rank sends the total to all (fold_in_shard_order). No rank ever regroups the sum, so the
/// result is the same for any number of ranks and threads.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "mlp/matrix.hpp"
#include "mlp/network.hpp"

namespace mlp {

/// The processes of one run and the point-to-point exchanges the algorithms below are made of.
/// Every process calls the same algorithms in the same order. A call that cannot complete (a
/// rank died, hung, or sent the wrong size) throws Error naming the rank, within the
/// implementation's timeout, instead of waiting for ever.
class ProcessGroup {
 public:
  virtual ~ProcessGroup() = default;
  virtual int rank() const = 0;  ///< 0 .. size() - 1
  virtual int size() const = 0;
  /// Sends bytes.size() bytes to rank `to`, which receives exactly as many.
  virtual void send(int to, std::span<const std::byte> bytes) = 0;
  virtual void receive(int from, std::span<std::byte> bytes) = 0;
  /// Root's bytes to every rank (each passes a span of the same size).
  virtual void broadcast(int root, std::span<std::byte> bytes) = 0;
};

/// One process alone: what training runs on without a launcher.
class SingleProcess final : public ProcessGroup {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void send(int, std::span<const std::byte>) override;     ///< @throws Error: there is no one to talk to
  void receive(int, std::span<std::byte>) override;        ///< @throws Error
  void broadcast(int, std::span<std::byte>) override {}     ///< root is this process: nothing to do
};

/// The shards of a batch one rank computes: shards [first_shard, first_shard + shards), which
/// are columns [first_column, first_column + columns) of the batch.
struct ShardRange {
  int first_shard = 0;
  int shards = 0;
  int first_column = 0;
  int columns = 0;
};

/// Rank `rank` of `ranks`: its contiguous share of the batch's shards, as even as whole shards
/// allow (with fewer shards than ranks, some ranks have none).
ShardRange shard_range(int batch_columns, int rank, int ranks);

/// The left fold ((p_0 + p_1) + p_2) + ... of every shard's block of out.size() values, in shard
/// order, into `out` on every rank. This rank's shards are shard_range(batch_columns, rank,
/// size), their blocks one after the other in `partials`.
template <typename T>
void fold_in_shard_order(ProcessGroup& group, int batch_columns, std::span<const T> partials, std::span<T> out);

/// Every rank's bytes, in rank order, on every rank (ranks may give different lengths).
std::vector<std::vector<std::byte>> all_gather(ProcessGroup& group, std::span<const std::byte> mine);

/// What every rank says about itself before the run goes on: if any failed, the first failing
/// rank and its message ("rank 2: data/x: no such file"), the same on every rank; else empty.
/// Lets a rank with bad input stop every rank cleanly, instead of leaving them waiting.
std::string first_failure(ProcessGroup& group, const std::string& my_failure);

/// The per-batch exchange of data-parallel training: after this rank's Network::forward of its
/// columns, backward() computes its shards' gradients and sums them with every other rank's in
/// shard order; the network's gradients() then hold the batch's, scaled by 1/m, on every rank,
/// the same bits as Network::backward on the whole batch in one process.
class DataParallel {
 public:
  explicit DataParallel(ProcessGroup& group) : group_(group) {}
  ProcessGroup& group() const { return group_; }
  /// This rank's part of a batch of `batch_columns`.
  ShardRange range(int batch_columns) const { return shard_range(batch_columns, group_.rank(), group_.size()); }

  /// The batch's totals, the same on every rank.
  struct Totals {
    double loss_sum = 0;        ///< J summed over the batch's samples, shard by shard in order
    std::size_t correct = 0;    ///< samples classified right
  };
  /// @param Y the targets of this rank's columns (range(batch_columns).columns of them); the
  ///        last forward() of `net` must have been those columns
  /// @param correct this rank's count of samples classified right
  Totals backward(Network<float>& net, MatrixView<const float> Y, int batch_columns, std::size_t correct);

  /// Seconds spent in the exchanges since the last call (communication, and waiting for the
  /// other ranks), for the benchmark's share of communication per step.
  double take_exchange_seconds();

 private:
  ProcessGroup& group_;
  std::vector<float> partials_;       // this rank's shards' gradients, shard after shard
  std::vector<double> shard_stats_;   // per shard: loss sum, correct count (only the first shard's)
  double exchange_seconds_ = 0;
};

}  // namespace mlp
