// Shared oneDNN plumbing: the engine, a per-thread stream, per-thread primitive caches and scratch.
#pragma once

#include <cstdint>
#include <map>
#include <unordered_map>
#include <vector>

#include <omp.h>

#include <oneapi/dnnl/dnnl.hpp>

namespace singa::cpu {

using Key = std::vector<int64_t>;

// The one CPU engine of the process.
dnnl::engine& engine();

// A stream per thread: each worker thread runs its kernels on its own stream.
dnnl::stream& stream();

// A scratchpad buffer per thread, grown as needed and reused across calls (fresh pages are slow).
void* scratch(size_t bytes);

// Primitive attributes shared by every kernel: the scratchpad is ours, so one cached primitive can run
// in several threads at once.
dnnl::primitive_attr user_scratchpad_attr();

// Execute `p` with `args` plus the thread's scratchpad, and wait for it.
void run(const dnnl::primitive& p, const dnnl::memory::desc& scratch_md,
         std::unordered_map<int, dnnl::memory> args);

// A primitive cache per thread and kernel kind, keyed by the shape and attributes. Thread-local so that
// lookups take no lock; workers are few, so the duplicated entries cost little.
template <class Entry>
std::map<Key, Entry>& cache() {
  thread_local std::map<Key, Entry> entries;
  return entries;
}

int num_threads_for_key();

// Find or build the entry for `key` (the thread count is part of the key: oneDNN picks its
// blocking for the number of threads it sees when the primitive is created).
template <class Entry, class Make>
Entry& cached(Key key, Make make) {
  key.push_back(num_threads_for_key());
  auto& entries = cache<Entry>();
  auto it = entries.find(key);
  if (it == entries.end()) it = entries.emplace(key, make()).first;
  return it->second;
}

// A plain (row-major) f32 memory desc, and a memory object of it over a caller's buffer.
dnnl::memory::desc plain_md(const dnnl::memory::dims& dims);
// A 4-D activation (dims N, C, H, W) as the caller holds it: NCHW, or channels-last (NHWC in memory).
dnnl::memory::desc act_md(const dnnl::memory::dims& dims, bool nhwc);
dnnl::memory plain(const dnnl::memory::dims& dims, const void* data);

void set_num_threads(int n);
int get_num_threads();

// Element-wise kernels wake the OpenMP team only for at least this many values. Idle team threads
// sleep (OMP_WAIT_POLICY=PASSIVE, so that a job sharing its cores does not stall), and waking them
// costs ~50 us a region on this class of machine: more than one core takes for a million-value pass.
constexpr int64_t kParallelMin = int64_t{1} << 20;
// Products wake it only for at least this many multiply-adds (m n k): below, one core is done before
// the team would be awake.
constexpr int64_t kParallelMinMacs = int64_t{1} << 23;

// body(begin, end) over [0, n): in the calling thread alone below kParallelMin, else one block per thread
// of the team. The body holds the (vectorised) loop itself.
template <class Body>
void for_each_block(int64_t n, Body body) {
  if (n < kParallelMin || omp_get_max_threads() == 1) {
    body(int64_t{0}, n);
    return;
  }
#pragma omp parallel
  {
    const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    body(n * t / nt, n * (t + 1) / nt);
  }
}

// While it lives, the calling thread's kernels (oneDNN primitives included) run on one thread when
// the work `n` is below `min`; otherwise it changes nothing.
class SerialBelow {
 public:
  explicit SerialBelow(int64_t n, int64_t min = kParallelMin);
  ~SerialBelow();
  SerialBelow(const SerialBelow&) = delete;
  SerialBelow& operator=(const SerialBelow&) = delete;

 private:
  int saved_ = 0;
};

}  // namespace singa::cpu
