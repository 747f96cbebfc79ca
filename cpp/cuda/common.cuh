// CUDA plumbing shared by the twins: error checks, device buffers, launch sizes, the device GEMM.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace singa::cuda {

// Throws std::runtime_error naming the failed call (the binding turns it into a Python RuntimeError).
void check(cudaError_t err, const char* what);
#define SINGA_CUDA_CHECK(call) ::singa::cuda::check((call), #call)

// A device array of floats; optionally filled from, and copied back to, host memory.
class DeviceBuffer {
 public:
  explicit DeviceBuffer(int64_t n, const float* host = nullptr);
  ~DeviceBuffer();
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  float* get() const { return ptr_; }
  void zero();
  void to_host(float* host) const;

 private:
  float* ptr_ = nullptr;
  int64_t n_;
};

constexpr int kThreads = 256;
inline unsigned blocks(int64_t n) { return static_cast<unsigned>((n + kThreads - 1) / kThreads); }

// Raises the error of the last launch, if any, and waits for the device.
void finish(const char* what);

// Row-major C[M,N] = alpha * op(A) op(B) + beta * C on device pointers.
void gemm_device(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                 const float* b, float beta, float* c);

}  // namespace singa::cuda
