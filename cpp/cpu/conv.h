// 2-D convolution, NCHW, square kernel, symmetric zero padding: forward, backward data, backward weights.
#pragma once

#include "../shapes.h"

namespace singa::cpu {

// y[n,oc,oh,ow] = conv(x[n,c,h,w], w[oc,c,k,k]) + b[oc] (b may be null).
void conv_forward(const ConvShape& s, const float* x, const float* w, const float* b, float* y);
// dx = conv_transpose(dy, w).
void conv_backward_data(const ConvShape& s, const float* dy, const float* w, float* dx);
// dw = correlation of x with dy; db = sum of dy over n, oh, ow (db may be null).
void conv_backward_weights(const ConvShape& s, const float* x, const float* dy, float* dw, float* db);

}  // namespace singa::cpu
