// bfp_lane: one lane of the BFP engine: one row of A held on chip, and the
// arithmetic that turns a stream of weight rows into that row's outputs.
//
// The stream writes the lane's A row (elements and block exponents) before
// a tile of weight rows starts. Then every weight beat, broadcast to all
// lanes, reads the E activations it meets and the activation block's
// exponent (stage 0, registered RAM reads), goes through the block
// dot-product unit (bfp_dot), the floating accumulator (bfp_facc) and the
// f32 rounding (bfp_to_f32); the result lands in the lane's output tile at
// (half, column), where bfp_writer picks it up two columns per beat.
//
// Every lane sees every beat, in lockstep; a lane without a row of the
// current A tile (w_take_i low) moves it through its pipeline without
// computing it, which leaves its registers alone and its output tile
// unread.
module bfp_lane #(
  parameter int unsigned WBits  = 8,
  parameter int unsigned KDepth = 8192,
  parameter int unsigned Block  = 32,
  parameter int unsigned NTile  = 32,
  localparam int unsigned E      = 64 / WBits,          // weights per beat
  localparam int unsigned Banks  = E / 8,               // A words per weight beat
  localparam int unsigned AWords = KDepth / 8 / Banks,  // words per A bank
  localparam int unsigned AAW    = $clog2(AWords),
  localparam int unsigned XWords = KDepth / Block / 8,  // exponent words (8 blocks each)
  localparam int unsigned XAW    = (XWords > 1) ? $clog2(XWords) : 1,
  localparam int unsigned OWords = NTile,               // two halves of NTile/2 column pairs
  localparam int unsigned OAW    = $clog2(OWords),
  localparam int unsigned EOff   = 254 + 6 + ((WBits == 8) ? 6 : 2) + 16
) (
  input  logic             clk_i,
  input  logic             rst_ni,
  // Loading the A row.
  input  logic             a_we_i,        // element word
  input  logic [Banks-1:0] a_bank_i,      // one-hot bank of that word
  input  logic [AAW-1:0]   a_waddr_i,
  input  logic             x_we_i,        // exponent word (a group header)
  input  logic [XAW-1:0]   x_waddr_i,
  input  logic [63:0]      wdata_i,
  // A weight beat, broadcast to every lane.
  input  logic             w_valid_i,
  input  logic             w_take_i,      // this lane computes it (it holds a row)
  input  logic [63:0]      w_beat_i,
  input  logic [AAW-1:0]   w_kword_i,     // A word (per bank) the beat meets
  input  logic [XAW-1:0]   w_group_i,     // exponent word of its block
  input  logic [2:0]       w_bsel_i,      // its block within the group
  input  logic [7:0]       w_xw_i,        // the weight block's exponent
  input  logic             w_blk_first_i,
  input  logic             w_blk_last_i,
  input  logic             w_row_first_i, // first block of the weight row
  input  logic             w_row_last_i,  // last block of the weight row
  input  logic [OAW-1:0]   w_slot_i,      // output slot: half * NTile/2 + column/2
  input  logic             w_odd_i,       // column is odd
  input  logic             w_tile_last_i, // column is the tile's last
  // Results.
  output logic             tile_done_o,   // the tile's last result was stored
  output logic             busy_o,        // a beat or result is in the pipeline
  input  logic [OAW-1:0]   o_raddr_i,
  output logic [63:0]      o_rdata_o      // {odd column, even column}
);

  // ---------------------------------------------------------------- stage 0
  logic [E*8-1:0] acts;
  logic [63:0]    xa_word;

  for (genvar b = 0; b < Banks; b++) begin : g_bank
    kiln_ram #(.Words (AWords), .AddrW (AAW), .Width (64)) u_abuf (
      .clk_i (clk_i), .we_i (a_we_i && a_bank_i[b]), .waddr_i (a_waddr_i), .wdata_i (wdata_i),
      .re_i (w_valid_i), .raddr_i (w_kword_i), .rdata_o (acts[b*64 +: 64])
    );
  end

  kiln_ram #(.Words (XWords), .AddrW (XAW), .Width (64)) u_xbuf (
    .clk_i (clk_i), .we_i (x_we_i), .waddr_i (x_waddr_i), .wdata_i (wdata_i),
    .re_i (w_valid_i), .raddr_i (w_group_i), .rdata_o (xa_word)
  );

  localparam int unsigned SideW = 10 + 2 + OAW + 2;   // s, row first/last, slot, odd, tile last

  logic             v0_q, take0_q, bfirst0_q, blast0_q;
  logic [63:0]      beat0_q;
  logic [2:0]       bsel0_q;
  logic [7:0]       xw0_q;
  logic [SideW-11:0] ctl0_q;      // row first/last, slot, odd, tile last

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      v0_q      <= 1'b0;
      take0_q   <= 1'b0;
      bfirst0_q <= 1'b0;
      blast0_q  <= 1'b0;
      beat0_q   <= '0;
      bsel0_q   <= '0;
      xw0_q     <= '0;
      ctl0_q    <= '0;
    end else begin
      v0_q <= w_valid_i;
      if (w_valid_i) begin
        take0_q   <= w_take_i;
        bfirst0_q <= w_blk_first_i;
        blast0_q  <= w_blk_last_i;
        beat0_q   <= w_beat_i;
        bsel0_q   <= w_bsel_i;
        xw0_q     <= w_xw_i;
        ctl0_q    <= {w_row_first_i, w_row_last_i, w_slot_i, w_odd_i, w_tile_last_i};
      end
    end
  end

  logic [7:0] xa;
  assign xa = xa_word[bsel0_q*8 +: 8];

  // ---------------------------------------------------------------- dot product
  logic             blk_valid, blk_take;
  logic [20:0]      p;
  logic [SideW-1:0] side;

  bfp_dot #(.WBits (WBits), .PW (21), .SW (SideW)) u_dot (
    .clk_i (clk_i), .rst_ni (rst_ni),
    .valid_i (v0_q), .take_i (take0_q), .acts_i (acts), .weights_i (beat0_q),
    .blk_first_i (bfirst0_q), .blk_last_i (blast0_q),
    .side_i ({10'(xa) + 10'(xw0_q), ctl0_q}),
    .valid_o (blk_valid), .take_o (blk_take), .p_o (p), .side_o (side)
  );

  logic [9:0]     s;
  logic           row_first, row_last;
  logic [OAW+1:0] place;         // slot, odd, tile last
  assign {s, row_first, row_last, place} = side;

  // ---------------------------------------------------------------- accumulate
  logic        row_valid, row_take;
  logic [47:0] acc;
  logic [9:0]  acc_s;

  bfp_facc #(.PW (21)) u_facc (
    .clk_i (clk_i), .rst_ni (rst_ni),
    .valid_i (blk_valid), .take_i (blk_take), .p_i (p), .s_i (s),
    .first_i (row_first), .last_i (row_last),
    .valid_o (row_valid), .take_o (row_take), .acc_o (acc), .s_o (acc_s)
  );

  // Where the row's result goes travels beside it: captured with the row's
  // last block, then one stage per bfp_to_f32 stage.
  logic [OAW+1:0] place1_q, place2_q, place3_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      place1_q <= '0;
      place2_q <= '0;
      place3_q <= '0;
    end else begin
      if (blk_valid && row_last) place1_q <= place;
      place2_q <= place1_q;
      place3_q <= place2_q;
    end
  end

  logic        f_valid;
  logic [31:0] f32;

  bfp_to_f32 #(.EOff (EOff)) u_round (
    .clk_i (clk_i), .rst_ni (rst_ni),
    .valid_i (row_valid), .take_i (row_take), .acc_i (acc), .s_i (acc_s),
    .valid_o (f_valid), .f32_o (f32)
  );

  // ---------------------------------------------------------------- output tile
  logic [OAW-1:0] o_slot;
  logic           o_odd, o_tile_last;
  assign {o_slot, o_odd, o_tile_last} = place3_q;

  logic [31:0] even_q [OWords];
  logic [31:0] odd_q [OWords];
  always_ff @(posedge clk_i) begin
    if (f_valid && !o_odd) even_q[o_slot] <= f32;
    if (f_valid && o_odd) odd_q[o_slot] <= f32;
  end
  assign o_rdata_o   = {odd_q[o_raddr_i], even_q[o_raddr_i]};
  assign tile_done_o = f_valid && o_tile_last;

  // A beat's result is stored at most PipeDepth cycles after it was
  // dispatched (stage 0, three bfp_dot stages, bfp_facc, two bfp_to_f32
  // stages), so the lane is idle once no beat came in for that long.
  localparam int unsigned PipeDepth = 7;
  logic [PipeDepth-1:0] recent_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) recent_q <= '0;
    else recent_q <= {recent_q[PipeDepth-2:0], w_valid_i};
  end
  assign busy_o = w_valid_i || (|recent_q);

endmodule
