// test_pot3: shift PE for 3-bit power-of-two weights. It is also the PE of
// every new project (`kiln new` writes it as module pot3), so kiln's own
// 3-bit RTL tests run the very RTL a user starts from.
//
// wcode_i[2] is the sign (set: the product is negated); wcode_i[1:0] is the
// exponent e, and the magnitude is act << e. One register stage: valid_o
// and prod_o follow valid_i by one cycle.
//
// Every kiln PE has these ports: act_i is int8, prod_o the int16 product,
// wcode_i as wide as weight_bits in codebook.toml.
module test_pot3 (
  input  logic        clk_i,
  input  logic        rst_ni,
  input  logic        valid_i,  // act_i and wcode_i hold an operand pair
  input  logic [7:0]  act_i,    // int8 activation, two's complement
  input  logic [2:0]  wcode_i,  // {sign, exponent[1:0]}
  output logic        valid_o,  // prod_o holds the product of the last pair
  output logic [15:0] prod_o    // signed product, two's complement
);

  logic [15:0] act_ext;
  logic [15:0] mag;
  logic [15:0] prod_d, prod_q;
  logic        valid_q;

  assign act_ext = {{8{act_i[7]}}, act_i};
  assign mag     = act_ext << wcode_i[1:0];
  assign prod_d  = wcode_i[2] ? 16'd0 - mag : mag;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      valid_q <= 1'b0;
    end else begin
      valid_q <= valid_i;
    end
  end

  always_ff @(posedge clk_i) begin
    if (valid_i) begin
      prod_q <= prod_d;
    end
  end

  assign valid_o = valid_q;
  assign prod_o  = prod_q;

endmodule
