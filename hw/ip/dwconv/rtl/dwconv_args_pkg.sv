// Generated from hw/ip/dwconv/engine.toml by `kiln regs generate` (`make regs`); do not edit by hand.
//
// The dwconv engine's MODE fields (the register is hw/regs/kiln.toml's MODE).
package dwconv_args_pkg;

  // 1: write raw int32 sums plus bias; 0: requantise to int8.
  localparam int unsigned DWCONV_MODE_OUT_INT32_LSB   = 0;
  localparam int unsigned DWCONV_MODE_OUT_INT32_WIDTH = 1;

  // K: the kernel is K x K, 1 to the design's max_kernel.
  localparam int unsigned DWCONV_MODE_KERNEL_LSB      = 4;
  localparam int unsigned DWCONV_MODE_KERNEL_WIDTH    = 4;

  // s: the stride on both axes, 1 to K.
  localparam int unsigned DWCONV_MODE_STRIDE_LSB      = 8;
  localparam int unsigned DWCONV_MODE_STRIDE_WIDTH    = 4;

  // Output zero point (int8, two's complement), int8 mode only.
  localparam int unsigned DWCONV_MODE_OUT_ZP_LSB      = 16;
  localparam int unsigned DWCONV_MODE_OUT_ZP_WIDTH    = 8;

endpackage
