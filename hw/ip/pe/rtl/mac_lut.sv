// mac_lut: int8 x int4 multiplier PE built from LUTs, the LUT baseline.
//
// The weight code is a two's-complement int4 w = -8*w3 + 4*w2 + 2*w1 + w0.
// The product is the sum of the shifted activation for each set bit, with
// the sign bit's term subtracted. It is written as partial products rather
// than `*` so that synthesis builds it from LUTs and carry chains instead of
// inferring a DSP slice.
module mac_lut (
  input  logic        clk_i,
  input  logic        rst_ni,
  input  logic        valid_i,  // act_i and wcode_i hold an operand pair this cycle
  input  logic [7:0]  act_i,    // int8 activation, two's complement
  input  logic [3:0]  wcode_i,  // int4 weight, two's complement
  output logic        valid_o,  // prod_o holds the product of the pair taken last cycle
  output logic [15:0] prod_o    // signed product, two's complement
);

  logic [15:0] act_ext;
  logic [15:0] pp0, pp1, pp2, pp3;
  logic [15:0] prod_d, prod_q;
  logic        valid_q;

  assign act_ext = {{8{act_i[7]}}, act_i};

  assign pp0 = wcode_i[0] ? act_ext         : 16'd0;
  assign pp1 = wcode_i[1] ? act_ext <<< 1   : 16'd0;
  assign pp2 = wcode_i[2] ? act_ext <<< 2   : 16'd0;
  assign pp3 = wcode_i[3] ? act_ext <<< 3   : 16'd0;

  assign prod_d = pp0 + pp1 + pp2 - pp3;

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
