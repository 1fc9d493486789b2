// MPI point-to-point calls and broadcasts for the data-parallel algorithms, each with a deadline.
#include "mpi_group.hpp"

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "mlp/error.hpp"

namespace mlp {

namespace {

// Messages longer than an int counts of bytes are sent in pieces of this many.
constexpr std::size_t max_message = std::size_t(1) << 30;

std::string mpi_error(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  return std::string(text, length);
}

// The messages name the other rank; the caller names this one ("mlp: rank 0: ...").
void check(int code, const std::string& what) {
  if (code != MPI_SUCCESS) throw Error(what + ": " + mpi_error(code));
}

// Waits for `request` by polling, so that the wait has a deadline: MPI's own blocking calls have
// none. Spins for the first 50 µs (a message on its way), then yields the core between polls,
// and after 20 ms sleeps between them (at most 200 µs), so that a rank waiting for the others
// leaves the cores to them.
void wait(MPI_Request& request, double timeout_seconds, const std::string& what) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point start = Clock::now();
  auto pause = std::chrono::microseconds(0);
  for (;;) {
    int done = 0;
    check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), what);
    if (done) return;
    const double waited = std::chrono::duration<double>(Clock::now() - start).count();
    if (waited > timeout_seconds) {
      // The request is left pending: the run is ending, and MPI_Abort or exit() cleans it up.
      throw Error(what + ": nothing for " + std::to_string(int(timeout_seconds)) +
                  " s; a rank died, hangs, or is stuck (--comm-timeout)");
    }
    if (waited > 20e-3) {
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2 + std::chrono::microseconds(10), std::chrono::microseconds(200));
    } else if (waited > 50e-6) {
      std::this_thread::yield();
    }
  }
}

}  // namespace

bool launched_by_mpi() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"})
    if (std::getenv(name)) return true;
  return false;
}

MpiGroup::MpiGroup(double timeout_seconds) : timeout_seconds_(timeout_seconds) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    // Only the main thread calls MPI; OpenMP's threads never do.
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
  }
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

MpiGroup::~MpiGroup() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

// Runs `post(offset, count)` for each piece of at most max_message bytes (one, for no bytes) and
// waits for each.
template <typename Post>
void in_pieces(std::size_t size, double timeout_seconds, const std::string& what, Post post) {
  std::size_t start = 0;
  do {
    const int n = int(std::min(max_message, size - start));
    MPI_Request request;
    check(post(start, n, &request), what);
    wait(request, timeout_seconds, what);
    start += n;
  } while (start < size);
}

void MpiGroup::send(int to, std::span<const std::byte> bytes) {
  in_pieces(bytes.size(), timeout_seconds_, "sending to rank " + std::to_string(to),
            [&](std::size_t start, int n, MPI_Request* request) {
              return MPI_Isend(bytes.data() + start, n, MPI_BYTE, to, 0, MPI_COMM_WORLD, request);
            });
}

void MpiGroup::receive(int from, std::span<std::byte> bytes) {
  in_pieces(bytes.size(), timeout_seconds_, "waiting for rank " + std::to_string(from),
            [&](std::size_t start, int n, MPI_Request* request) {
              return MPI_Irecv(bytes.data() + start, n, MPI_BYTE, from, 0, MPI_COMM_WORLD, request);
            });
}

void MpiGroup::broadcast(int root, std::span<std::byte> bytes) {
  in_pieces(bytes.size(), timeout_seconds_,
            root == rank_ ? std::string("sending to the other ranks (broadcast)")
                          : "waiting for rank " + std::to_string(root) + " (broadcast)",
            [&](std::size_t start, int n, MPI_Request* request) {
              return MPI_Ibcast(bytes.data() + start, n, MPI_BYTE, root, MPI_COMM_WORLD, request);
            });
}

void MpiGroup::abort(int code) {
  MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);  // MPI_Abort does not return; if it ever did, this process still ends
}

std::string MpiGroup::host() const {
  char name[MPI_MAX_PROCESSOR_NAME];
  int length = 0;
  MPI_Get_processor_name(name, &length);
  return std::string(name, length);
}

}  // namespace mlp
