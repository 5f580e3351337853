// test_sign1: a 1-bit weight PE, built only for kiln's own tests.
//
// wcode_i[0] is the sign (set: the product is negated); there are no
// magnitude bits, and the one magnitude is 64: the product is
// +-(act << 6). It carries the narrowest code width through the engines.
module test_sign1 (
  input  logic        clk_i,
  input  logic        rst_ni,
  input  logic        valid_i,  // act_i and wcode_i hold an operand pair this cycle
  input  logic [7:0]  act_i,    // int8 activation, two's complement
  input  logic [0:0]  wcode_i,  // {sign}
  output logic        valid_o,  // prod_o holds the product of the pair taken last cycle
  output logic [15:0] prod_o    // signed product, two's complement
);

  logic [15:0] mag;
  logic [15:0] prod_d, prod_q;
  logic        valid_q;

  assign mag    = {{2{act_i[7]}}, act_i, 6'd0};
  assign prod_d = wcode_i[0] ? 16'd0 - mag : mag;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      valid_q <= 1'b0;
    end else begin
      valid_q <= valid_i;
    end
  end

  // Datapath register: enabled by valid_i, no reset (valid_q qualifies it).
  always_ff @(posedge clk_i) begin
    if (valid_i) begin
      prod_q <= prod_d;
    end
  end

  assign valid_o = valid_q;
  assign prod_o  = prod_q;

endmodule
