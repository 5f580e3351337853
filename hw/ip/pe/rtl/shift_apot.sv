// shift_apot: shift-based PE for additive power-of-two weights (APoT,
// PoTAcc encoding).
//
// wcode_i[3] is the sign (set: the product is negated). wcode_i[2:1] picks
// the first term: none, act << 1, act << 2 or act << 4. wcode_i[0] adds a
// second term act << 3. The magnitude is the sum of the two terms.
module shift_apot (
  input  logic        clk_i,
  input  logic        rst_ni,
  input  logic        valid_i,  // act_i and wcode_i hold an operand pair this cycle
  input  logic [7:0]  act_i,    // int8 activation, two's complement
  input  logic [3:0]  wcode_i,  // {sign, first term[1:0], second term}
  output logic        valid_o,  // prod_o holds the product of the pair taken last cycle
  output logic [15:0] prod_o    // signed product, two's complement
);

  logic [15:0] act_ext;
  logic [15:0] term1, term2, mag;
  logic [15:0] prod_d, prod_q;
  logic        valid_q;

  assign act_ext = {{8{act_i[7]}}, act_i};

  always_comb begin
    unique case (wcode_i[2:1])
      2'd0:    term1 = 16'd0;
      2'd1:    term1 = act_ext << 1;
      2'd2:    term1 = act_ext << 2;
      default: term1 = act_ext << 4;
    endcase
  end

  assign term2  = wcode_i[0] ? act_ext << 3 : 16'd0;
  assign mag    = term1 + term2;
  assign prod_d = wcode_i[3] ? 16'd0 - mag : mag;

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
