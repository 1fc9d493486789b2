/// @file
/// The ProcessGroup of a run started by mpirun: MPI point-to-point calls, each bounded in time.
/// Built only with -DMLP_MPI=ON, into the mlp_mpi library that the `mlp` command links.
#pragma once

#include <string>

#include "mlp/distributed.hpp"

namespace mlp {

/// True when this process was started by an MPI launcher (mpirun, srun): it then has ranks to
/// talk to, and MpiGroup must be created before anything else is done.
bool launched_by_mpi();

/// MPI_COMM_WORLD. Creating one initializes MPI (once per process), destroying it finalizes it.
/// Every wait polls with a deadline of `timeout_seconds`: a rank that died or hangs makes the
/// call throw Error ("rank 1: nothing from rank 0 for 120 s ...") instead of waiting for ever.
/// MPI's own errors come back as codes (MPI_ERRORS_RETURN) and are thrown as Error too.
class MpiGroup final : public ProcessGroup {
 public:
  explicit MpiGroup(double timeout_seconds = 120);
  ~MpiGroup() override;
  MpiGroup(const MpiGroup&) = delete;
  MpiGroup& operator=(const MpiGroup&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void send(int to, std::span<const std::byte> bytes) override;
  void receive(int from, std::span<std::byte> bytes) override;
  void broadcast(int root, std::span<std::byte> bytes) override;

  /// Ends every rank of the run at once (MPI_Abort) with `code`; for an error on one rank in the
  /// middle of the run, after its line is printed, when the others cannot be told in order.
  [[noreturn]] void abort(int code);
  /// This host's name, as MPI knows it.
  std::string host() const;

 private:
  int rank_ = 0, size_ = 1;
  double timeout_seconds_;
};

}  // namespace mlp
