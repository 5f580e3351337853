// bfp_dot: one lane's block dot-product unit.
//
// Every valid beat brings E = 64 / WBits weight elements and the E int8
// activations they meet. Stage 1 multiplies them pairwise, stage 2 adds the
// products, stage 3 sums the beats of one block; when a block's last beat
// has been added, valid_o carries its exact integer dot product p together
// with the sideband that came in with that last beat.
module bfp_dot #(
  parameter int unsigned WBits = 8,        // 8 (mxint8) or 4 (mxint4) weights
  parameter int unsigned PW    = 21,       // bits of p: |p| < 2^20 for blocks up to 64
  parameter int unsigned SW    = 1,        // sideband bits
  localparam int unsigned E    = 64 / WBits
) (
  input  logic          clk_i,
  input  logic          rst_ni,
  input  logic          valid_i,
  input  logic [E*8-1:0] acts_i,           // E int8 activations, element 0 lowest
  input  logic [63:0]   weights_i,         // E weight elements, element 0 lowest
  input  logic          blk_first_i,       // first beat of a block
  input  logic          blk_last_i,        // last beat of a block
  input  logic [SW-1:0] side_i,
  output logic          valid_o,           // a block is complete
  output logic [PW-1:0] p_o,
  output logic [SW-1:0] side_o
);

  localparam int unsigned ProdW = 8 + WBits;   // product of int8 and intW
  localparam int unsigned SumW  = ProdW + 5;   // sum of up to 16 products

  // ---------------------------------------------------------------- stage 1
  logic [E*ProdW-1:0] prod_d, prod_q;
  always_comb begin
    for (int e = 0; e < E; e++) begin
      prod_d[e*ProdW +: ProdW] = ProdW'($signed(acts_i[e*8 +: 8]) * $signed(weights_i[e*WBits +: WBits]));
    end
  end

  logic          v1_q, first1_q, last1_q;
  logic [SW-1:0] side1_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      v1_q     <= 1'b0;
      first1_q <= 1'b0;
      last1_q  <= 1'b0;
      side1_q  <= '0;
      prod_q   <= '0;
    end else begin
      v1_q <= valid_i;
      if (valid_i) begin
        first1_q <= blk_first_i;
        last1_q  <= blk_last_i;
        side1_q  <= side_i;
        prod_q   <= prod_d;
      end
    end
  end

  // ---------------------------------------------------------------- stage 2
  logic [SumW-1:0] beat_sum_d, beat_sum_q;
  always_comb begin
    beat_sum_d = '0;
    for (int e = 0; e < E; e++) begin
      beat_sum_d = beat_sum_d + SumW'($signed(prod_q[e*ProdW +: ProdW]));
    end
  end

  logic          v2_q, first2_q, last2_q;
  logic [SW-1:0] side2_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      v2_q       <= 1'b0;
      first2_q   <= 1'b0;
      last2_q    <= 1'b0;
      side2_q    <= '0;
      beat_sum_q <= '0;
    end else begin
      v2_q <= v1_q;
      if (v1_q) begin
        first2_q   <= first1_q;
        last2_q    <= last1_q;
        side2_q    <= side1_q;
        beat_sum_q <= beat_sum_d;
      end
    end
  end

  // ---------------------------------------------------------------- stage 3
  logic [PW-1:0] blk_sum_q, blk_sum_d;
  assign blk_sum_d = (first2_q ? PW'(0) : blk_sum_q)
                   + PW'($signed(beat_sum_q));

  logic          v3_q;
  logic [SW-1:0] side3_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      blk_sum_q <= '0;
      v3_q      <= 1'b0;
      side3_q   <= '0;
    end else begin
      v3_q <= v2_q && last2_q;
      if (v2_q) begin
        blk_sum_q <= blk_sum_d;
        side3_q   <= side2_q;
      end
    end
  end

  assign valid_o = v3_q;
  assign p_o     = blk_sum_q;
  assign side_o  = side3_q;

endmodule
