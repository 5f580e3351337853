// shift_pot: shift-based PE for power-of-two weights (QKeras po2, PoTAcc
// encoding).
//
// wcode_i[3] is the sign (set: the product is negated); wcode_i[2:0] is the
// exponent e, and the magnitude is act << e. There is no zero code.
module shift_pot (
  input  logic        clk_i,
  input  logic        rst_ni,
  input  logic        valid_i,  // act_i and wcode_i hold an operand pair this cycle
  input  logic [7:0]  act_i,    // int8 activation, two's complement
  input  logic [3:0]  wcode_i,  // {sign, exponent[2:0]}
  output logic        valid_o,  // prod_o holds the product of the pair taken last cycle
  output logic [15:0] prod_o    // signed product, two's complement
);

  // The product, as a function called where the register loads: a
  // simulator computes it only for an operand pair taken. The negation is
  // (mag ^ -s) + s rather than a choice between mag and -mag, which a
  // Verilated model turns into a branch on the (random) sign of each code.
  function automatic logic [15:0] pot_product(logic [7:0] act, logic [3:0] wcode);
    logic [15:0] mag;
    mag         = {{8{act[7]}}, act} << wcode[2:0];
    pot_product = (mag ^ {16{wcode[3]}}) + {15'd0, wcode[3]};
  endfunction

  logic [15:0] prod_q;
  logic        valid_q;

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
      prod_q <= pot_product(act_i, wcode_i);
    end
  end

  assign valid_o = valid_q;
  assign prod_o  = prod_q;

endmodule
