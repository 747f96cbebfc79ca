// The recurrent cells (rnn, gru, lstm), one time step: two products (oneDNN, as gemm.h) then one fused
// pass over the gates. Shapes, equations and the arrays' roles are in ../shapes.h (CellShape, CellArrays).
#pragma once

#include "../shapes.h"

namespace singa::cpu {

void cell_forward(const CellShape& s, const CellArrays& a);
void cell_backward(const CellShape& s, const CellArrays& a);

}  // namespace singa::cpu
