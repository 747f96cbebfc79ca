// Dense products: dnnl_sgemm, and the matmul primitive used by the inner-product layer.
#pragma once

#include <cstdint>

namespace singa::cpu {

// C[M,N] = alpha * op(A) op(B) + beta * C, row-major; op transposes when the flag is set.
void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
           const float* b, float beta, float* c);

// C[M,N] = op(A)[M,K] op(B)[K,N] (+ bias[N] broadcast over rows when bias is not null).
void matmul(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a, const float* b,
            const float* bias, float* c);

}  // namespace singa::cpu
