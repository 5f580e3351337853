// mac_dsp: int8 x int8 multiplier PE, the DSP baseline.
//
// The weight code is a plain two's-complement int8. The product is formed
// with a single `*` so that synthesis maps it onto one DSP slice; the output
// register carries no reset so that it can be absorbed into the DSP's own
// pipeline register.
module mac_dsp (
  input  logic        clk_i,
  input  logic        rst_ni,
  input  logic        valid_i,  // act_i and wcode_i hold an operand pair this cycle
  input  logic [7:0]  act_i,    // int8 activation, two's complement
  input  logic [7:0]  wcode_i,  // int8 weight, two's complement
  output logic        valid_o,  // prod_o holds the product of the pair taken last cycle
  output logic [15:0] prod_o    // signed product, two's complement
);

  logic signed [15:0] prod_d, prod_q;
  logic               valid_q;

  assign prod_d = $signed(act_i) * $signed(wcode_i);

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
