// bfp_facc: the BFP floating accumulator of one output (docs/bfp.md).
//
// Each finished block brings its integer dot product p and exponent sum s.
// The accumulator (acc, acc_s) keeps a 48-bit two's-complement value with
// one exponent; the term t = p << 16 (16 guard bits) and the accumulator are
// aligned to the larger exponent by an arithmetic right shift of the other
// (floor, at most 47 places), then added. A row's first block starts from
// (0, 0). This is the recurrence of kiln::bfp::golden_matmul, bit for bit.
// A block that is not take_i (its lane has no row) leaves the accumulator
// alone, and the row's take_o is that of its last block.
module bfp_facc #(
  parameter int unsigned PW = 21       // bits of the block dot product
) (
  input  logic          clk_i,
  input  logic          rst_ni,
  input  logic          valid_i,       // a block finished
  input  logic          take_i,        // ... and p_i is this lane's to add
  input  logic [PW-1:0] p_i,           // its dot product, two's complement
  input  logic [9:0]    s_i,           // its exponent sum Xa + Xw
  input  logic          first_i,       // first block of the row
  input  logic          last_i,        // last block of the row
  output logic          valid_o,       // the row's value, one cycle after its last block
  output logic          take_o,        // ... and acc_o holds it
  output logic [47:0]   acc_o,
  output logic [9:0]    s_o
);

  logic [47:0] acc_q;
  logic [9:0]  acc_s_q;

  // One step of the recurrence: (base, base_s) plus the term (p, s). A
  // function called where the accumulator loads, so a simulator evaluates
  // it only when a block finishes (one beat in Block / 8), not every clock.
  function automatic logic [57:0] add_term(logic [47:0] base, logic [9:0] base_s,
                                           logic [PW-1:0] blk_p, logic [9:0] blk_s);
    logic [47:0] t, big, lesser;
    // The shift gets its own signed variable: inside `big + (x >>> sh)` with
    // an unsigned `big`, the whole expression is unsigned and >>> would shift
    // zeros in.
    logic signed [47:0] aligned;
    logic [9:0]  d;
    logic [5:0]  sh;
    logic        term_wins;
    t         = {{(48 - PW - 16){blk_p[PW-1]}}, blk_p, 16'd0};
    term_wins = (blk_s > base_s);
    big       = term_wins ? t : base;
    lesser    = term_wins ? base : t;
    d         = term_wins ? (blk_s - base_s) : (base_s - blk_s);
    sh        = (d > 10'd47) ? 6'd47 : 6'(d);
    aligned   = $signed(lesser) >>> sh;
    add_term  = {term_wins ? blk_s : base_s, big + aligned};
  endfunction

  logic v_q, take_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      acc_q   <= '0;
      acc_s_q <= '0;
      v_q     <= 1'b0;
      take_q  <= 1'b0;
    end else begin
      v_q <= valid_i && last_i;
      if (valid_i) begin
        take_q <= take_i;
        if (take_i) begin
          {acc_s_q, acc_q} <= add_term(first_i ? 48'd0 : acc_q, first_i ? 10'd0 : acc_s_q,
                                       p_i, s_i);
        end
      end
    end
  end

  assign valid_o = v_q;
  assign take_o  = take_q;
  assign acc_o   = acc_q;
  assign s_o     = acc_s_q;

endmodule
