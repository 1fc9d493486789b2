// MPI ranks or one process for `mlp train`, and ending all ranks when one fails.
#include "processes.hpp"

#include <cstdio>
#include <cstdlib>

#include <mlp/error.hpp>

#ifdef MLP_MPI
#include "mpi_group.hpp"
#endif

namespace mlp::cli {

#ifndef MLP_MPI
namespace {

// The number of processes a launcher started, as it tells them (0: none did).
int launched_processes() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"})
    if (const char* value = std::getenv(name)) return std::atoi(value);
  return 0;
}

}  // namespace
#endif

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
  if (launched_processes() > 1)
    throw Error("started as " + std::to_string(launched_processes()) +
                " processes by mpirun, but this mlp was built without MPI: configure with -DMLP_MPI=ON (docs/distributed.md)");
#endif
  group_ = std::make_unique<SingleProcess>();
}

Processes::~Processes() = default;

std::string Processes::agree(const std::string& my_failure) { return first_failure(*group_, my_failure); }

void Processes::fail_together(const std::string& message) {
  if (leader()) {
    std::fprintf(stderr, "mlp: %s\n", message.c_str());
    std::fflush(stderr);
  }
  std::byte printed{};
  group_->broadcast(0, {&printed, 1});
}

void Processes::fail_alone(const std::string& message) {
  if (size() == 1) return;
  std::fprintf(stderr, "mlp: rank %d: %s\n", rank(), message.c_str());
  std::fflush(stderr);
#ifdef MLP_MPI
  static_cast<MpiGroup&>(*group_).abort(1);
#endif
}

}  // namespace mlp::cli
