// How much of the machine other processes used during a measurement, from /proc/stat.
#pragma once

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <string>

// Busy and total seconds of all CPUs (steal counted busy), and this process's own CPU time.
struct CpuSample {
  double busy = 0, total = 0, own = 0;  // seconds
};

inline CpuSample cpu_sample() {
  CpuSample s;
  std::ifstream in("/proc/stat");
  std::string cpu;
  double user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
  const double hz = double(sysconf(_SC_CLK_TCK));
  s.busy = (user + nice + system + irq + softirq + steal) / hz;
  s.total = s.busy + (idle + iowait) / hz;
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  s.own = double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
          1e-6 * double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
  return s;
}

// The share of all CPUs' time that went to other processes (or the hypervisor) between a and b.
inline double others_share(const CpuSample& a, const CpuSample& b) {
  const double total = b.total - a.total;
  if (total <= 0) return 0;
  return std::clamp((b.busy - a.busy - (b.own - a.own)) / total, 0.0, 1.0);
}
