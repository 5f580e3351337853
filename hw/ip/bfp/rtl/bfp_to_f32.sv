// bfp_to_f32: the BFP accumulator's value, acc * 2^(s - EOff), rounded to
// IEEE 754 binary32 (round to nearest, ties to even; overflow gives +-Inf,
// tiny values round to subnormals or +0). Two pipeline stages.
//
// This is the last step of kiln::bfp::golden_matmul (docs/bfp.md), which
// computes it as `(acc as f64 * 2^(s - EOff)) as f32`; the RTL gets the same
// bits by normalising, cutting the mantissa at 24 bits (fewer below the
// normal range) and rounding on guard and sticky bits.
//
// Each stage's logic is a function called where its register loads, so a
// simulator evaluates it only for a valid value: a lane finishes one row
// value every K / 8 beats, and Verilator would otherwise compute both stages
// on every clock. The hardware is the same either way. A value that is not
// take_i (its lane has no row) leaves the registers alone: f32_o then holds
// whatever it held, and nobody writes it out.
module bfp_to_f32 #(
  parameter int unsigned EOff = 282   // exponent offset of the accumulator
) (
  input  logic        clk_i,
  input  logic        rst_ni,
  input  logic        valid_i,
  input  logic        take_i,         // acc_i is this lane's to round
  input  logic [47:0] acc_i,          // two's complement, |acc| < 2^47
  input  logic [9:0]  s_i,            // exponent sum, 0..508
  output logic        valid_o,
  output logic [31:0] f32_o
);

  // ---------------------------------------------------------------- stage 1
  function automatic logic [47:0] magnitude(logic [47:0] x);
    magnitude = x[47] ? (~x + 48'd1) : x;
  endfunction

  // Leading zeros of a 48-bit value (48 when it is zero).
  function automatic logic [5:0] lead_zeros(logic [47:0] x);
    lead_zeros = 6'd48;
    for (int i = 0; i < 48; i++) begin
      if (x[i]) lead_zeros = 6'(47 - i);
    end
  endfunction

  logic        v1_q, take1_q, sign1_q, zero1_q;
  logic [47:0] norm1_q;
  logic [11:0] be1_q;      // biased exponent of the leading bit, signed

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      v1_q    <= 1'b0;
      take1_q <= 1'b0;
      sign1_q <= 1'b0;
      zero1_q <= 1'b0;
      norm1_q <= '0;
      be1_q   <= '0;
    end else begin
      v1_q <= valid_i;
      if (valid_i) take1_q <= take_i;
      if (valid_i && take_i) begin
        sign1_q <= acc_i[47];
        zero1_q <= (magnitude(acc_i) == '0);
        norm1_q <= magnitude(acc_i) << lead_zeros(magnitude(acc_i));
        // leading bit weight: 2^(47 - lz + s - EOff); biased by 127.
        be1_q   <= 12'd47 - 12'(lead_zeros(magnitude(acc_i))) + 12'(s_i) - 12'(EOff) + 12'd127;
      end
    end
  end

  // ---------------------------------------------------------------- stage 2
  // Keep 24 bits (with the hidden one) for a normal result; below the
  // normal range keep 1 - be fewer. rs is how far the normalised value is
  // shifted right; at 49 every bit, guard included, is gone.
  function automatic logic [31:0] round_f32(logic sign, logic zero, logic [47:0] norm,
                                            logic [11:0] be);
    logic [11:0] extra;      // 1 - be when positive
    logic [5:0]  rs;
    // mant is below 2^24 (rs >= 24) and only bit 0 of rest is the guard:
    // the shifts are written at full width for clarity.
    /* verilator lint_off UNUSEDSIGNAL */
    logic [47:0] mant, rest;
    /* verilator lint_on UNUSEDSIGNAL */
    logic [47:0] below_mask;
    logic        guard, sticky, round_up;
    logic [39:0] field_base, bits;
    extra = 12'd1 - be;
    if ($signed(be) >= 12'sd1) rs = 6'd24;
    else if ($signed(extra) >= 12'sd25) rs = 6'd49;
    else rs = 6'd24 + 6'(extra);
    mant       = norm >> rs;
    rest       = norm >> (rs - 6'd1);
    guard      = rest[0];
    below_mask = (48'd1 << (rs - 6'd1)) - 48'd1;
    sticky     = |(norm & below_mask);
    round_up   = guard && (sticky || mant[0]);
    // A normal result's mantissa carries the hidden bit at 2^23, which adds
    // one to the exponent field: so the field starts at be - 1. A carry out
    // of the rounding moves on into the exponent by itself.
    field_base = ($signed(be) >= 12'sd1) ? (40'(be) - 40'd1) << 23 : 40'd0;
    bits       = field_base + 40'(mant) + 40'(round_up);
    if (zero) round_f32 = 32'h0000_0000;
    else if (bits >= 40'h00_7F80_0000) round_f32 = {sign, 31'h7F80_0000};
    else round_f32 = {sign, bits[30:0]};
  endfunction

  logic        v2_q;
  logic [31:0] f32_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      v2_q  <= 1'b0;
      f32_q <= '0;
    end else begin
      v2_q <= v1_q;
      if (v1_q && take1_q) f32_q <= round_f32(sign1_q, zero1_q, norm1_q, be1_q);
    end
  end

  assign valid_o = v2_q;
  assign f32_o   = f32_q;

endmodule
