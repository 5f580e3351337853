// bfp_facc: the BFP floating accumulator of one output (docs/bfp.md).
//
// Each finished block brings its integer dot product p and exponent sum s.
// The accumulator (acc, acc_s) keeps a 48-bit two's-complement value with
// one exponent; the term t = p << 16 (16 guard bits) and the accumulator are
// aligned to the larger exponent by an arithmetic right shift of the other
// (floor, at most 47 places), then added. A row's first block starts from
// (0, 0). This is the recurrence of kiln::bfp::golden_matmul, bit for bit.
module bfp_facc #(
  parameter int unsigned PW = 21       // bits of the block dot product
) (
  input  logic          clk_i,
  input  logic          rst_ni,
  input  logic          valid_i,       // a block finished
  input  logic [PW-1:0] p_i,           // its dot product, two's complement
  input  logic [9:0]    s_i,           // its exponent sum Xa + Xw
  input  logic          first_i,       // first block of the row
  input  logic          last_i,        // last block of the row
  output logic          valid_o,       // the row's value, one cycle after its last block
  output logic [47:0]   acc_o,
  output logic [9:0]    s_o
);

  logic [47:0] acc_q;
  logic [9:0]  acc_s_q;
  logic [47:0] base, t, big, lesser, sum;
  // The shift gets its own signed variable: inside `big + (x >>> sh)` with
  // an unsigned `big`, the whole expression is unsigned and >>> would shift
  // zeros in.
  logic signed [47:0] aligned;
  logic [9:0]  base_s, d;
  logic [5:0]  sh;
  logic        term_wins;

  always_comb begin
    base      = first_i ? 48'd0 : acc_q;
    base_s    = first_i ? 10'd0 : acc_s_q;
    t         = {{(48 - PW - 16){p_i[PW-1]}}, p_i, 16'd0};
    term_wins = (s_i > base_s);
    big       = term_wins ? t : base;
    lesser    = term_wins ? base : t;
    d         = term_wins ? (s_i - base_s) : (base_s - s_i);
    sh        = (d > 10'd47) ? 6'd47 : 6'(d);
    aligned   = $signed(lesser) >>> sh;
    sum       = big + aligned;
  end

  logic v_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      acc_q   <= '0;
      acc_s_q <= '0;
      v_q     <= 1'b0;
    end else begin
      v_q <= valid_i && last_i;
      if (valid_i) begin
        acc_q   <= sum;
        acc_s_q <= term_wins ? s_i : base_s;
      end
    end
  end

  assign valid_o = v_q;
  assign acc_o   = acc_q;
  assign s_o     = acc_s_q;

endmodule
