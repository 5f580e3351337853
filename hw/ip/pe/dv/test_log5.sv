// test_log5: a 5-bit log-quantised weight PE, built only for kiln's own
// tests (a code width that needs a byte container in the GEMM engine).
//
// wcode_i[4] is the sign (set: the product is negated). wcode_i[3:1] is e
// and wcode_i[0] is h: the magnitude is a major term act << e (none at
// e = 0) plus, when h is set, a minor term act << (e - 1) (act itself at
// e = 0). The 16 magnitudes step by about sqrt(2): 0, 1, 2, 3, 4, 6, ...,
// 128, 192.
module test_log5 (
  input  logic        clk_i,
  input  logic        rst_ni,
  input  logic        valid_i,  // act_i and wcode_i hold an operand pair this cycle
  input  logic [7:0]  act_i,    // int8 activation, two's complement
  input  logic [4:0]  wcode_i,  // {sign, e[2:0], h}
  output logic        valid_o,  // prod_o holds the product of the pair taken last cycle
  output logic [15:0] prod_o    // signed product, two's complement
);

  logic [15:0] act_ext;
  logic [2:0]  e;
  logic [15:0] major, minor, mag;
  logic [15:0] prod_d, prod_q;
  logic        valid_q;

  assign act_ext = {{8{act_i[7]}}, act_i};
  assign e       = wcode_i[3:1];
  assign major   = (e == 3'd0) ? 16'd0 : act_ext << e;
  assign minor   = !wcode_i[0]  ? 16'd0 :
                   (e == 3'd0)  ? act_ext : act_ext << (e - 3'd1);
  assign mag     = major + minor;
  assign prod_d  = wcode_i[4] ? 16'd0 - mag : mag;

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
