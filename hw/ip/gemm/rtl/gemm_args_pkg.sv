// Generated from hw/ip/gemm/engine.toml by `kiln regs generate` (`make regs`); do not edit by hand.
//
// The gemm engine's MODE fields (the register is hw/regs/kiln.toml's MODE).
package gemm_args_pkg;

  // 1: write raw int32 accumulators plus bias; 0: requantise to int8.
  localparam int unsigned GEMM_MODE_OUT_INT32_LSB   = 0;
  localparam int unsigned GEMM_MODE_OUT_INT32_WIDTH = 1;

  // Activation zero point (int8, two's complement).
  localparam int unsigned GEMM_MODE_ACT_ZP_LSB      = 8;
  localparam int unsigned GEMM_MODE_ACT_ZP_WIDTH    = 8;

  // Output zero point (int8, two's complement), int8 mode only.
  localparam int unsigned GEMM_MODE_OUT_ZP_LSB      = 16;
  localparam int unsigned GEMM_MODE_OUT_ZP_WIDTH    = 8;

endpackage
