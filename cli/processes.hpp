// The processes of `mlp train`: the MPI ranks when mpirun started it (in a build with MLP_MPI),
// else this process alone; and how a failure on one rank ends them all.
#pragma once

#include <memory>
#include <string>

#include <mlp/distributed.hpp>

namespace mlp::cli {

class Processes {
 public:
  // MPI when launched by mpirun (or srun) and built with MLP_MPI; a launcher without the build
  // is an error, not N copies of the same run. Exchanges give up after timeout_seconds.
  explicit Processes(double timeout_seconds);
  ~Processes();
  Processes(const Processes&) = delete;
  Processes& operator=(const Processes&) = delete;

  ProcessGroup& group() { return *group_; }
  int rank() const { return group_->rank(); }
  int size() const { return group_->size(); }
  bool leader() const { return rank() == 0; }  // the rank that prints and writes files

  // Before the run: the first rank's failure (empty for none), agreed by all ranks, each of which
  // passes its own (empty if it has none). "rank 2: data/x: ..." with several ranks.
  std::string agree(const std::string& my_failure);
  // A failure every rank has seen at the same point (agree(), a loss that diverged everywhere):
  // rank 0 prints "mlp: message", and the others end only after it has, because mpirun ends the
  // whole run as soon as one rank exits non-zero. The caller then returns 1 on every rank.
  void fail_together(const std::string& message);
  // A failure on this rank alone in the middle of the run, when the others may be waiting for
  // it: prints "mlp: rank R: message" and ends every rank (MPI_Abort). With one process,
  // returns, and the caller reports the error as usual.
  void fail_alone(const std::string& message);

 private:
  std::unique_ptr<ProcessGroup> group_;
  bool mpi_ = false;
};

}  // namespace mlp::cli
