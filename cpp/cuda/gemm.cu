// GEMM on the device: cuBLAS where the toolkit has it, else a shared-memory tiled kernel.
#include "common.cuh"
#include "kernels.h"

#ifdef SINGA_WITH_CUBLAS
#include <cublas_v2.h>

#include <stdexcept>
#include <string>
#endif

namespace singa::cuda {

namespace {

// C = beta C (C = 0 when beta is 0): a product with K = 0.
__global__ void scale(int64_t count, float beta, float* c) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i < count) c[i] = beta == 0.f ? 0.f : beta * c[i];
}

// Zero sizes, which cuBLAS (a leading dimension of 0) and a launch (an empty grid) refuse: true when
// they are handled here and nothing is left to do.
bool gemm_zero_sizes(int64_t m, int64_t n, int64_t k, float beta, float* c) {
  if (m == 0 || n == 0) return true;
  if (k != 0) return false;
  scale<<<blocks(m * n), kThreads>>>(m * n, beta, c);
  check(cudaGetLastError(), "gemm (K = 0)");
  return true;
}

}  // namespace

#ifdef SINGA_WITH_CUBLAS

namespace {

cublasHandle_t handle() {
  thread_local cublasHandle_t h = [] {
    cublasHandle_t made;
    if (cublasCreate(&made) != CUBLAS_STATUS_SUCCESS) throw std::runtime_error("cublasCreate failed");
    return made;
  }();
  return h;
}

}  // namespace

const char* gemm_backend() { return "cublas"; }

// cuBLAS is column-major: a row-major C is C^T column-major, and C^T = op(B)^T op(A)^T.
void gemm_device(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                 const float* b, float beta, float* c) {
  if (gemm_zero_sizes(m, n, k, beta, c)) return;
  const int lda = static_cast<int>(ta ? m : k), ldb = static_cast<int>(tb ? k : n);
  cublasStatus_t st = cublasSgemm(handle(), tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N,
                                  static_cast<int>(n), static_cast<int>(m), static_cast<int>(k), &alpha, b,
                                  ldb, a, lda, &beta, c, static_cast<int>(n));
  if (st != CUBLAS_STATUS_SUCCESS) throw std::runtime_error("cublasSgemm failed: " + std::to_string(st));
}

#else

namespace {

constexpr int kTile = 16;

// One output tile per block; tiles of op(A) and op(B) are staged in shared memory.
__global__ void gemm_tiled(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                           const float* b, float beta, float* c) {
  __shared__ float as[kTile][kTile + 1], bs[kTile][kTile + 1];
  const int ty = threadIdx.y, tx = threadIdx.x;
  const int64_t row = blockIdx.y * int64_t(kTile) + ty, col = blockIdx.x * int64_t(kTile) + tx;
  float acc = 0.f;
  for (int64_t t = 0; t < k; t += kTile) {
    const int64_t la = t + tx, lb = t + ty;
    as[ty][tx] = (row < m && la < k) ? (ta ? a[la * m + row] : a[row * k + la]) : 0.f;
    bs[ty][tx] = (lb < k && col < n) ? (tb ? b[col * k + lb] : b[lb * n + col]) : 0.f;
    __syncthreads();
    for (int q = 0; q < kTile; ++q) acc += as[ty][q] * bs[q][tx];
    __syncthreads();
  }
  if (row < m && col < n) c[row * n + col] = alpha * acc + (beta == 0.f ? 0.f : beta * c[row * n + col]);
}

}  // namespace

const char* gemm_backend() { return "tiled"; }

void gemm_device(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                 const float* b, float beta, float* c) {
  if (gemm_zero_sizes(m, n, k, beta, c)) return;
  dim3 grid(static_cast<unsigned>((n + kTile - 1) / kTile), static_cast<unsigned>((m + kTile - 1) / kTile));
  gemm_tiled<<<grid, dim3(kTile, kTile)>>>(ta, tb, m, n, k, alpha, a, b, beta, c);
  check(cudaGetLastError(), "gemm_tiled");
}

#endif

void sgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, const float* b,
           float beta, float* c) {
  if (m == 0 || n == 0) return;
  DeviceBuffer da(m * k, a), db(k * n, b), dc(m * n, c);
  gemm_device(ta, tb, m, n, k, alpha, da.get(), db.get(), beta, dc.get());
  finish("sgemm");
  dc.to_host(c);
}

}  // namespace singa::cuda
