// Lint-only binding of the GEMM array's `kiln_pe` to one PE, so that the
// gemm blocks can be linted on their own. The real binding is generated per
// design from kiln_spec::Design::pe_binding_sv, and the kiln-sim build
// lints every design with its own binding when it Verilates it.
module kiln_pe (
  input  logic        clk_i,
  input  logic        rst_ni,
  input  logic        valid_i,
  input  logic [7:0]  act_i,
  input  logic [3:0]  wcode_i,
  output logic        valid_o,
  output logic [15:0] prod_o
);
  shift_pot u_pe (
    .clk_i   (clk_i),
    .rst_ni  (rst_ni),
    .valid_i (valid_i),
    .act_i   (act_i),
    .wcode_i (wcode_i),
    .valid_o (valid_o),
    .prod_o  (prod_o)
  );
endmodule
