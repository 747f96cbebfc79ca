#include <stdexcept>
#include <string>

#include "common.cuh"
#include "kernels.h"

namespace singa::cuda {

void check(cudaError_t err, const char* what) {
  if (err != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(err));
}

DeviceBuffer::DeviceBuffer(int64_t n, const float* host) : n_(n) {
  SINGA_CUDA_CHECK(cudaMalloc(&ptr_, sizeof(float) * (n > 0 ? n : 1)));
  if (host && n > 0) SINGA_CUDA_CHECK(cudaMemcpy(ptr_, host, sizeof(float) * n, cudaMemcpyHostToDevice));
}

DeviceBuffer::~DeviceBuffer() { cudaFree(ptr_); }

void DeviceBuffer::zero() { SINGA_CUDA_CHECK(cudaMemset(ptr_, 0, sizeof(float) * n_)); }

void DeviceBuffer::to_host(float* host) const {
  if (n_ > 0) SINGA_CUDA_CHECK(cudaMemcpy(host, ptr_, sizeof(float) * n_, cudaMemcpyDeviceToHost));
}

void finish(const char* what) {
  check(cudaGetLastError(), what);
  check(cudaDeviceSynchronize(), what);
}

bool available() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

}  // namespace singa::cuda
