// kiln_requant: turns one accumulator into an output value, four pipeline
// stages that all advance together on en_i.
//
//   s1  x = acc - zp_sum + bias                      (int32, wrapping)
//   s2  p = (x << left) * multiplier                 (64-bit product)
//   s3  h = saturating rounding doubling high half of p
//   s4  y = clamp(rounding_divide_by_pot(h, right) + out_zp, -128, 127)
//
// s2-s4 are TFLite's MultiplyByQuantizedMultiplier (gemmlowp rounding),
// with left = max(shift, 0) and right = max(-shift, 0). x is carried along
// for raw int32 output. The golden model is kiln::formats::requant (runtime/src/formats/requant.rs).
module kiln_requant #(
  parameter int unsigned TagW = 4  // side information carried with each value
) (
  input  logic            clk_i,
  input  logic            rst_ni,
  input  logic            en_i,         // advance every stage
  input  logic            valid_i,
  input  logic [31:0]     acc_i,
  input  logic [31:0]     zp_sum_i,
  input  logic [31:0]     bias_i,
  input  logic [31:0]     mult_i,
  input  logic [7:0]      shift_i,      // signed, -31..30
  input  logic [7:0]      out_zp_i,     // signed
  input  logic [TagW-1:0] tag_i,
  output logic            valid_o,
  output logic [31:0]     x_o,          // raw value (int32 mode)
  output logic [7:0]      y_o,          // requantised value (int8 mode)
  output logic [TagW-1:0] tag_o
);

  // Stage 1.
  logic            v1_q;
  logic [31:0]     x1_q, m1_q;
  logic [7:0]      sh1_q;
  logic [TagW-1:0] t1_q;
  // Stage 2.
  logic            v2_q, minmin2_q;
  logic [63:0]     p2_q;
  logic [31:0]     x2_q;
  logic [4:0]      r2_q;
  logic [TagW-1:0] t2_q;
  // Stage 3.
  logic            v3_q;
  logic [31:0]     h3_q, x3_q;
  logic [4:0]      r3_q;
  logic [TagW-1:0] t3_q;
  // Stage 4.
  logic            v4_q;
  logic [31:0]     x4_q;
  logic [7:0]      y4_q;
  logic [TagW-1:0] t4_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      v1_q <= 1'b0;
      v2_q <= 1'b0;
      v3_q <= 1'b0;
      v4_q <= 1'b0;
    end else if (en_i) begin
      v1_q <= valid_i;
      v2_q <= v1_q;
      v3_q <= v2_q;
      v4_q <= v3_q;
    end
  end

  // The arithmetic of s2-s4 is functions called where their registers
  // load, and those registers load only when their stage takes a value: a
  // simulator then does the work once per value rather than on every clock
  // (the pipeline advances on almost every clock, and holds a value on few
  // of them). What such a register holds without a value is never used.
  // The registers that only carry values along keep the common enable;
  // stage 1 loads on a value too, which also saves the simulator the
  // accumulator read behind acc_i.

  // s2: left shift in 32 bits (wrapping, as the golden model defines it),
  // then the signed 32 x 32 product; and whether both factors are MIN.
  function automatic logic [64:0] s2_product(logic [31:0] x, logic [31:0] m, logic [4:0] left);
    logic [31:0] xl;
    xl         = x << left;
    s2_product = {(xl == 32'h8000_0000) && (m == 32'h8000_0000), 64'($signed(xl) * $signed(m))};
  endfunction

  // s3: (p + nudge) / 2^31 rounded toward zero, saturating MIN * MIN.
  function automatic logic [31:0] s3_high(logic [63:0] p, logic minmin);
    logic [63:0] nudged;
    // Only bits 62:31 of the biased sum form the quotient.
    /* verilator lint_off UNUSEDSIGNAL */
    logic [63:0] biased;
    /* verilator lint_on UNUSEDSIGNAL */
    nudged  = p[63] ? p + 64'hFFFF_FFFF_C000_0001 : p + 64'h0000_0000_4000_0000;
    biased  = nudged[63] ? nudged + 64'h0000_0000_7FFF_FFFF : nudged;
    s3_high = minmin ? 32'h7FFF_FFFF : biased[62:31];
  endfunction

  // s4: rounding right shift, output zero point, saturation to int8.
  function automatic logic [7:0] s4_out(logic [31:0] h, logic [4:0] r, logic [7:0] zp);
    logic [31:0] mask, rem, thr, q;
    logic [32:0] z;
    logic        up;
    mask = (32'd1 << r) - 32'd1;
    rem  = h & mask;
    thr  = (mask >> 1) + {31'd0, h[31]};
    up   = rem > thr;
    q    = 32'($signed(h) >>> r) + {31'd0, up};
    z    = {q[31], q} + {{25{zp[7]}}, zp};
    if ($signed(z) > 33'sd127) s4_out = 8'd127;
    else if ($signed(z) < -33'sd128) s4_out = 8'h80;
    else s4_out = z[7:0];
  endfunction

  always_ff @(posedge clk_i) begin
    if (en_i && valid_i) begin
      x1_q  <= acc_i - zp_sum_i + bias_i;
      m1_q  <= mult_i;
      sh1_q <= shift_i;
    end
    if (en_i) begin
      t1_q <= tag_i;

      x2_q <= x1_q;
      r2_q <= sh1_q[7] ? 5'(8'd0 - sh1_q) : 5'd0;
      t2_q <= t1_q;

      x3_q <= x2_q;
      r3_q <= r2_q;
      t3_q <= t2_q;

      x4_q <= x3_q;
      t4_q <= t3_q;
    end
    if (en_i && v1_q) {minmin2_q, p2_q} <= s2_product(x1_q, m1_q, sh1_q[7] ? 5'd0 : sh1_q[4:0]);
    if (en_i && v2_q) h3_q <= s3_high(p2_q, minmin2_q);
    if (en_i && v3_q) y4_q <= s4_out(h3_q, r3_q, out_zp_i);
  end

  assign valid_o = v4_q;
  assign x_o     = x4_q;
  assign y_o     = y4_q;
  assign tag_o   = t4_q;

endmodule
