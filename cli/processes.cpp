// MPI ranks or one process for `mlp train`, and ending all ranks when one fails.
#include "processes.hpp"

#include <cstdio>
#include <cstdlib>

#include <mlp/error.hpp>

#ifdef MLP_MPI
#include <mlp/mpi_group.hpp>
#endif

namespace mlp::cli {

namespace {

bool started_by_a_launcher() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"})
    if (std::getenv(name)) return true;
  return false;
}

}  // namespace

Processes::Processes(double timeout_seconds) {
#ifdef MLP_MPI
  if (launched_by_mpi()) {
    group_ = std::make_unique<MpiGroup>(timeout_seconds);
    mpi_ = true;
    return;
  }
#else
  (void)timeout_seconds;
  // Each copy would train the whole run alone and write the same files.
  if (started_by_a_launcher() && std::getenv("OMPI_COMM_WORLD_SIZE") && std::atoi(std::getenv("OMPI_COMM_WORLD_SIZE")) > 1)
    throw Error("started by mpirun, but this mlp was built without MPI: configure with -DMLP_MPI=ON (docs/distributed.md)");
#endif
  group_ = std::make_unique<SingleProcess>();
}

Processes::~Processes() = default;

std::string Processes::agree(const std::string& my_failure) { return first_failure(*group_, my_failure); }

void Processes::fail_alone(const std::string& message) {
  if (size() == 1) return;
  std::fprintf(stderr, "mlp: rank %d: %s\n", rank(), message.c_str());
  std::fflush(stderr);
#ifdef MLP_MPI
  static_cast<MpiGroup&>(*group_).abort(1);
#endif
}

}  // namespace mlp::cli
