// shift_pot_faulty: a deliberately wrong shift_pot, built only for tests.
//
// The shifted activation is kept in 12 bits before it is widened, a plausible
// width mistake: any |act << e| above 2047 wraps. `kiln pe verify` must
// report it against the shift_pot golden model.
module shift_pot_faulty (
  input  logic        clk_i,
  input  logic        rst_ni,
  input  logic        valid_i,  // act_i and wcode_i hold an operand pair this cycle
  input  logic [7:0]  act_i,    // int8 activation, two's complement
  input  logic [3:0]  wcode_i,  // {sign, exponent[2:0]}
  output logic        valid_o,  // prod_o holds the product of the pair taken last cycle
  output logic [15:0] prod_o    // signed product, two's complement
);

  logic [11:0] mag_narrow;
  logic [15:0] mag;
  logic [15:0] prod_d, prod_q;
  logic        valid_q;

  assign mag_narrow = {{4{act_i[7]}}, act_i} << wcode_i[2:0];
  assign mag        = {{4{mag_narrow[11]}}, mag_narrow};
  assign prod_d     = wcode_i[3] ? 16'd0 - mag : mag;

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
