// bfp_dot: one lane's block dot-product unit.
//
// Every valid beat brings E = 64 / WBits weight elements and the E int8
// activations they meet. Stage 1 multiplies them pairwise, stage 2 adds the
// products, stage 3 sums the beats of one block; when a block's last beat
// has been added, valid_o carries its exact integer dot product p together
// with the sideband that came in with that last beat.
//
// take_i says whether the beat is this lane's to compute; a beat not taken
// moves through the stages as valid_i and the sideband say, but leaves the
// arithmetic registers alone, and take_o is low with its result. Every lane
// sees the same valid_i and sideband, so those registers are the same in
// every lane; only the few take flags are a lane's own.
module bfp_dot #(
  parameter int unsigned WBits = 8,        // 8 (mxint8) or 4 (mxint4) weights
  parameter int unsigned PW    = 21,       // bits of p: |p| < 2^20 for blocks up to 64
  parameter int unsigned SW    = 1,        // sideband bits
  localparam int unsigned E    = 64 / WBits
) (
  input  logic          clk_i,
  input  logic          rst_ni,
  input  logic          valid_i,
  input  logic          take_i,            // compute this beat
  input  logic [E*8-1:0] acts_i,           // E int8 activations, element 0 lowest
  input  logic [63:0]   weights_i,         // E weight elements, element 0 lowest
  input  logic          blk_first_i,       // first beat of a block
  input  logic          blk_last_i,        // last beat of a block
  input  logic [SW-1:0] side_i,
  output logic          valid_o,           // a block is complete
  output logic          take_o,            // ... and p_o is its dot product
  output logic [PW-1:0] p_o,
  output logic [SW-1:0] side_o
);

  localparam int unsigned ProdW = 8 + WBits;   // product of int8 and intW
  localparam int unsigned SumW  = ProdW + 5;   // sum of up to 16 products

  // Each stage's arithmetic is a function called where its register loads,
  // so a simulator evaluates it only when the stage takes a value rather
  // than on every clock. The hardware is the same either way.

  // E pairwise products, element 0 lowest.
  function automatic logic [E*ProdW-1:0] products(logic [E*8-1:0] beat_acts,
                                                  logic [63:0]    beat_weights);
    for (int e = 0; e < E; e++) begin
      products[e*ProdW +: ProdW] = ProdW'($signed(beat_acts[e*8 +: 8])
                                        * $signed(beat_weights[e*WBits +: WBits]));
    end
  endfunction

  // The sum of the E products.
  function automatic logic [SumW-1:0] beat_sum(logic [E*ProdW-1:0] prods);
    beat_sum = '0;
    for (int e = 0; e < E; e++) begin
      beat_sum = beat_sum + SumW'($signed(prods[e*ProdW +: ProdW]));
    end
  endfunction

  // ---------------------------------------------------------------- stage 1
  logic [E*ProdW-1:0] prod_q;
  logic          v1_q, take1_q, first1_q, last1_q;
  logic [SW-1:0] side1_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      v1_q     <= 1'b0;
      take1_q  <= 1'b0;
      first1_q <= 1'b0;
      last1_q  <= 1'b0;
      side1_q  <= '0;
      prod_q   <= '0;
    end else begin
      v1_q <= valid_i;
      if (valid_i) begin
        take1_q  <= take_i;
        first1_q <= blk_first_i;
        last1_q  <= blk_last_i;
        side1_q  <= side_i;
        if (take_i) prod_q <= products(acts_i, weights_i);
      end
    end
  end

  // ---------------------------------------------------------------- stage 2
  logic [SumW-1:0] beat_sum_q;
  logic          v2_q, take2_q, first2_q, last2_q;
  logic [SW-1:0] side2_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      v2_q       <= 1'b0;
      take2_q    <= 1'b0;
      first2_q   <= 1'b0;
      last2_q    <= 1'b0;
      side2_q    <= '0;
      beat_sum_q <= '0;
    end else begin
      v2_q <= v1_q;
      if (v1_q) begin
        take2_q  <= take1_q;
        first2_q <= first1_q;
        last2_q  <= last1_q;
        side2_q  <= side1_q;
        if (take1_q) beat_sum_q <= beat_sum(prod_q);
      end
    end
  end

  // ---------------------------------------------------------------- stage 3
  logic [PW-1:0] blk_sum_q;
  logic          v3_q, take3_q;
  logic [SW-1:0] side3_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      blk_sum_q <= '0;
      v3_q      <= 1'b0;
      take3_q   <= 1'b0;
      side3_q   <= '0;
    end else begin
      v3_q <= v2_q && last2_q;
      if (v2_q) begin
        take3_q <= take2_q;
        side3_q <= side2_q;
        if (take2_q) blk_sum_q <= (first2_q ? PW'(0) : blk_sum_q) + PW'($signed(beat_sum_q));
      end
    end
  end

  assign valid_o = v3_q;
  assign take_o  = take3_q;
  assign p_o     = blk_sum_q;
  assign side_o  = side3_q;

endmodule
