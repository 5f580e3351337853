// gemm_cell: one PE of the array with its bank of accumulators.
//
// Each PE owns AccWords 32-bit accumulators (two halves, one per output
// block in flight, each holding one accumulator per sub-tile). A product
// taken in at valid_i is added into accumulator addr_i one cycle later, when
// the PE's registered product appears; clear_i starts that accumulator from
// zero instead. Accumulation wraps modulo 2^32, as the golden model does.
// The drain port reads any accumulator combinationally (distributed RAM).
module gemm_cell #(
  parameter int unsigned WBits    = 4,   // bits per weight code
  parameter int unsigned AccWords = 32,  // accumulators in the bank
  parameter int unsigned AccAW    = 5    // clog2(AccWords)
) (
  input  logic             clk_i,
  input  logic             rst_ni,
  input  logic             valid_i,       // act_i/wcode_i hold an operand pair
  input  logic [7:0]       act_i,         // int8 activation
  input  logic [WBits-1:0] wcode_i,       // weight code
  input  logic [AccAW-1:0] addr_i,        // accumulator the product goes to
  input  logic             clear_i,       // first product of that accumulator
  input  logic [AccAW-1:0] drain_addr_i,  // accumulator to read out
  output logic [31:0]      drain_acc_o
);

  logic             prod_valid;
  logic [15:0]      prod;
  logic [AccAW-1:0] addr_q;
  logic             clear_q;
  logic [31:0]      acc_mem_q [AccWords];

  kiln_pe u_pe (
    .clk_i   (clk_i),
    .rst_ni  (rst_ni),
    .valid_i (valid_i),
    .act_i   (act_i),
    .wcode_i (wcode_i),
    .valid_o (prod_valid),
    .prod_o  (prod)
  );

  // Follows the PE's one-cycle latency; qualified by prod_valid, so no reset.
  always_ff @(posedge clk_i) begin
    if (valid_i) begin
      addr_q  <= addr_i;
      clear_q <= clear_i;
    end
  end

  always_ff @(posedge clk_i) begin
    if (prod_valid) begin
      acc_mem_q[addr_q] <= (clear_q ? 32'd0 : acc_mem_q[addr_q]) + {{16{prod[15]}}, prod};
    end
  end

  assign drain_acc_o = acc_mem_q[drain_addr_i];

endmodule
