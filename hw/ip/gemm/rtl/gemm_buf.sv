// gemm_buf: one bank of an operand buffer: 64-bit words, one write port
// (the loader) and one registered read port (the PE array's feed). Maps to
// block RAM.
module gemm_buf #(
  parameter int unsigned Words = 64,  // depth in 64-bit words
  parameter int unsigned AddrW = 6    // address bits, clog2(Words)
) (
  input  logic             clk_i,
  input  logic             we_i,     // write wdata_i at waddr_i this cycle
  input  logic [AddrW-1:0] waddr_i,
  input  logic [63:0]      wdata_i,
  input  logic             re_i,     // read raddr_i; rdata_o holds it next cycle
  input  logic [AddrW-1:0] raddr_i,
  output logic [63:0]      rdata_o
);

  logic [63:0] mem_q [Words];
  logic [63:0] rdata_q;

  always_ff @(posedge clk_i) begin
    if (we_i) mem_q[waddr_i] <= wdata_i;
  end

  always_ff @(posedge clk_i) begin
    if (re_i) rdata_q <= mem_q[raddr_i];
  end

  assign rdata_o = rdata_q;

endmodule
