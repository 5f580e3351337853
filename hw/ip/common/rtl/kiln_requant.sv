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

  // s2: left shift in 32 bits (wrapping, as the golden model defines it),
  // then the signed 32 x 32 product.
  logic [4:0]  left2, right2;
  logic [31:0] xl2;
  logic [63:0] p2;
  assign left2  = sh1_q[7] ? 5'd0 : sh1_q[4:0];
  assign right2 = sh1_q[7] ? 5'(8'd0 - sh1_q) : 5'd0;
  assign xl2    = x1_q << left2;
  assign p2     = 64'($signed(xl2) * $signed(m1_q));

  // s3: (p + nudge) / 2^31 rounded toward zero, saturating MIN * MIN.
  logic [63:0] nudged3;
  // Only bits 62:31 of the biased sum form the quotient.
  /* verilator lint_off UNUSEDSIGNAL */
  logic [63:0] biased3;
  /* verilator lint_on UNUSEDSIGNAL */
  logic [31:0] h3;
  assign nudged3 = p2_q[63] ? p2_q + 64'hFFFF_FFFF_C000_0001 : p2_q + 64'h0000_0000_4000_0000;
  assign biased3 = nudged3[63] ? nudged3 + 64'h0000_0000_7FFF_FFFF : nudged3;
  assign h3      = minmin2_q ? 32'h7FFF_FFFF : biased3[62:31];

  // s4: rounding right shift, output zero point, saturation to int8.
  logic [31:0] mask4, rem4, thr4, q4;
  logic [32:0] z4;
  logic        up4;
  assign mask4 = (32'd1 << r3_q) - 32'd1;
  assign rem4  = h3_q & mask4;
  assign thr4  = (mask4 >> 1) + {31'd0, h3_q[31]};
  assign up4   = rem4 > thr4;
  assign q4    = 32'($signed(h3_q) >>> r3_q) + {31'd0, up4};
  assign z4    = {q4[31], q4} + {{25{out_zp_i[7]}}, out_zp_i};

  always_ff @(posedge clk_i) begin
    if (en_i) begin
      x1_q  <= acc_i - zp_sum_i + bias_i;
      m1_q  <= mult_i;
      sh1_q <= shift_i;
      t1_q  <= tag_i;

      p2_q      <= p2;
      minmin2_q <= (xl2 == 32'h8000_0000) && (m1_q == 32'h8000_0000);
      x2_q      <= x1_q;
      r2_q      <= right2;
      t2_q      <= t1_q;

      h3_q <= h3;
      x3_q <= x2_q;
      r3_q <= r2_q;
      t3_q <= t2_q;

      if ($signed(z4) > 33'sd127) y4_q <= 8'd127;
      else if ($signed(z4) < -33'sd128) y4_q <= 8'h80;
      else y4_q <= z4[7:0];
      x4_q <= x3_q;
      t4_q <= t3_q;
    end
  end

  assign valid_o = v4_q;
  assign x_o     = x4_q;
  assign y_o     = y4_q;
  assign tag_o   = t4_q;

endmodule
