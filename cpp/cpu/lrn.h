// Local response normalisation across channels, NCHW, as SINGA defines it:
// y = x * (knorm + alpha / local_size * sum of x^2 over the channel window) ^ -beta.
#pragma once

#include <cstddef>

#include "../shapes.h"

namespace singa::cpu {

size_t lrn_workspace_bytes(const LrnShape& s);
void lrn_forward(const LrnShape& s, const float* x, float* y, void* ws);
void lrn_backward(const LrnShape& s, const float* x, const float* dy, const void* ws, float* dx);

}  // namespace singa::cpu
