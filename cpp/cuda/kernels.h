// The CUDA twins of the CPU kernels. Plain C++ declarations (the binding file is not compiled by nvcc);
// every function takes host arrays, runs on the current device and copies the result back.
#pragma once

#include <cstdint>

#include "../shapes.h"

namespace singa::cuda {

// True when a CUDA device is present and usable.
bool available();
// The GEMM library the twins use: "cublas", or "tiled" (a shared-memory kernel) when cuBLAS was absent.
const char* gemm_backend();

void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
           const float* b, float beta, float* c);

void conv_forward(const ConvShape& s, const float* x, const float* w, const float* b, float* y);
void conv_backward_data(const ConvShape& s, const float* dy, const float* w, float* dx);
void conv_backward_weights(const ConvShape& s, const float* x, const float* dy, float* dw, float* db);

// Max pooling's backward recomputes the argmax from x (the first maximum of each window).
void pool_forward(const PoolShape& s, const float* x, float* y);
void pool_backward(const PoolShape& s, const float* x, const float* dy, float* dx);

void lrn_forward(const LrnShape& s, const float* x, float* y);
void lrn_backward(const LrnShape& s, const float* x, const float* dy, float* dx);

void act_forward(Act a, int64_t n, const float* x, float* y);
void act_backward(Act a, int64_t n, const float* y, const float* dy, float* dx);
void softmax_forward(int64_t rows, int64_t cols, const float* x, float* y);

// One step of a recurrent cell (shapes.h: CellShape, CellArrays); backward adds into the weight and bias
// gradients.
void cell_forward(const CellShape& s, const CellArrays& a);
void cell_backward(const CellShape& s, const CellArrays& a);

}  // namespace singa::cuda
