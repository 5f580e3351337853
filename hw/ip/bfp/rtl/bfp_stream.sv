// bfp_stream: consumes the read beats in the order bfp_seq requested them
// and walks each row record (docs/bfp.md: groups of one exponent beat and up
// to eight blocks of element beats).
//
//   A rows:      exponent beats go to the lane's exponent buffer, element
//                beats to its activation buffer.
//   weight rows: the exponent beat is latched; each element beat is
//                broadcast to every lane with where it sits (activation word,
//                block, first/last flags) and where its result goes in the
//                output tile.
//
// Results are collected NTile columns at a time in one of two output-tile
// halves. A tile's first column waits until its half has been written out
// (fewer than two tiles started and not yet written); the tile's descriptor
// goes to bfp_writer when its last column has been dispatched.
module bfp_stream #(
  parameter int unsigned Lanes  = 8,
  parameter int unsigned WBits  = 8,
  parameter int unsigned Block  = 32,
  parameter int unsigned KDepth = 8192,
  parameter int unsigned NTile  = 32,
  localparam int unsigned Banks  = 64 / WBits / 8,
  localparam int unsigned AAW    = $clog2(KDepth / 8 / Banks),
  localparam int unsigned XWords = KDepth / Block / 8,
  localparam int unsigned XAW    = (XWords > 1) ? $clog2(XWords) : 1,
  localparam int unsigned OAW    = $clog2(NTile),
  localparam int unsigned ABpb   = Block / 8,              // A beats per block
  localparam int unsigned WBpb   = Block * WBits / 64,     // weight beats per block
  localparam int unsigned DescW  = 64 + 9 + 6
) (
  input  logic               clk_i,
  input  logic               rst_ni,
  input  logic               start_i,
  input  logic [63:0]        c_addr_i,
  input  logic [31:0]        m_i,
  input  logic [31:0]        n_i,
  input  logic [31:0]        k_i,
  input  logic [31:0]        ldc_i,
  input  logic [31:0]        blocks_i,        // blocks per row, ceil(K / Block)
  // Read beats.
  input  logic               beat_valid_i,
  output logic               beat_ready_o,
  input  logic [63:0]        beat_data_i,
  // Loading lanes.
  output logic [Lanes-1:0]   a_we_o,
  output logic [Banks-1:0]   a_bank_o,
  output logic [AAW-1:0]     a_waddr_o,
  output logic [Lanes-1:0]   x_we_o,
  output logic [XAW-1:0]     x_waddr_o,
  output logic [63:0]        wdata_o,
  // Weight beats.
  output logic               w_valid_o,
  output logic [Lanes-1:0]   w_lanes_o,       // lanes that compute it: those holding a row
  output logic [63:0]        w_beat_o,
  output logic [AAW-1:0]     w_kword_o,
  output logic [XAW-1:0]     w_group_o,
  output logic [2:0]         w_bsel_o,
  output logic [7:0]         w_xw_o,
  output logic               w_blk_first_o,
  output logic               w_blk_last_o,
  output logic               w_row_first_o,
  output logic               w_row_last_o,
  output logic [OAW-1:0]     w_slot_o,
  output logic               w_odd_o,
  output logic               w_tile_last_o,
  // Output tiles.
  output logic               desc_valid_o,
  input  logic               desc_ready_i,
  output logic [DescW-1:0]   desc_o,          // {C address of row 0, columns, rows}
  input  logic [31:0]        tiles_written_i,
  // Status.
  output logic               done_o,
  output logic               stall_o,         // waiting for a beat or an output half
  output logic [31:0]        macs_o,          // MACs completed this cycle
  output logic [31:0]        a_tiles_o,       // A tiles loaded
  output logic [31:0]        columns_o,       // weight rows consumed
  output logic [3:0]         state_o
);

  typedef enum logic [3:0] {
    Idle  = 4'd0,
    ARows = 4'd1,
    WRows = 4'd2
  } state_e;

  state_e      state_q;
  // Position in the current row record.
  logic        hdr_q;                 // the next beat is a group's exponents
  logic [XAW-1:0] grp_q;
  logic [2:0]  bing_q;                // block within the group
  logic [3:0]  beat_q;                // beat within the block
  logic [31:0] blk_q;                 // block within the row
  // Element beat within the row: an A row has up to KDepth / 8 of them
  // (two per bank address when weights are 4-bit), a weight row fewer.
  localparam int unsigned WordW = $clog2(KDepth / 8) + 1;
  logic [WordW-1:0] word_q;
  logic [63:0] wexp_q;                // the weight group's exponents
  // Position in the run.
  logic [31:0] m0_q, la_q, row_q, col_q;
  logic [63:0] c_next_q, c_tile_q;
  logic [31:0] tiles_started_q;
  logic        half_q;
  logic [31:0] macs_per_col_q;
  logic [31:0] a_tiles_q, columns_q;

  logic [3:0]  bpb_last;
  assign bpb_last = (state_q == ARows) ? 4'(ABpb - 1) : 4'(WBpb - 1);

  logic row_start, tile_start, half_free, can_take, take;
  logic blk_last, row_last_blk, row_end, tile_last;
  assign row_start    = hdr_q && (grp_q == '0);
  assign tile_start   = (state_q == WRows) && row_start && (col_q == '0);
  assign half_free    = (tiles_started_q - tiles_written_i) < 32'd2;
  assign can_take     = ((state_q == ARows) || (state_q == WRows))
                        && (!tile_start || half_free) && desc_ready_i;
  assign beat_ready_o = can_take;
  assign take         = can_take && beat_valid_i;
  assign blk_last     = (beat_q == bpb_last);
  assign row_last_blk = (blk_q == blocks_i - 32'd1);
  assign row_end      = take && !hdr_q && blk_last && row_last_blk;
  assign tile_last    = (col_q == 32'(NTile - 1)) || (row_q == n_i - 32'd1);
  assign stall_o      = ((state_q == ARows) || (state_q == WRows)) && !take;

  // Loading lanes.
  for (genvar l = 0; l < Lanes; l++) begin : g_lane_we
    assign a_we_o[l] = take && (state_q == ARows) && !hdr_q && (row_q == 32'(l));
    assign x_we_o[l] = take && (state_q == ARows) && hdr_q && (row_q == 32'(l));
  end
  if (Banks == 1) begin : g_one_bank
    assign a_bank_o  = 1'b1;
    assign a_waddr_o = AAW'(word_q);
  end else begin : g_two_banks
    assign a_bank_o  = word_q[0] ? 2'b10 : 2'b01;
    assign a_waddr_o = AAW'(word_q >> 1);
  end
  assign x_waddr_o = grp_q;
  assign wdata_o   = beat_data_i;

  // Weight beats.
  assign w_valid_o     = take && (state_q == WRows) && !hdr_q;
  // A lane without a row of this A tile (the last tile of an M that is not
  // a multiple of Lanes) would only compute results nobody writes out: it
  // passes the beats through without computing them (bfp_dot's take_i).
  // Lane 0 computes every beat.
  for (genvar l = 0; l < Lanes; l++) begin : g_lane_take
    assign w_lanes_o[l] = (l == 0) || (la_q > 32'(l));
  end
  assign w_beat_o      = beat_data_i;
  assign w_kword_o     = AAW'(word_q);
  assign w_group_o     = grp_q;
  assign w_bsel_o      = bing_q;
  assign w_xw_o        = wexp_q[bing_q*8 +: 8];
  assign w_blk_first_o = (beat_q == '0);
  assign w_blk_last_o  = blk_last;
  assign w_row_first_o = (blk_q == '0);
  assign w_row_last_o  = row_last_blk;
  assign w_slot_o      = OAW'(col_q >> 1) + (half_q ? OAW'(NTile / 2) : '0);
  assign w_odd_o       = col_q[0];
  assign w_tile_last_o = tile_last;

  assign desc_valid_o = row_end && (state_q == WRows) && tile_last;
  assign desc_o       = {c_tile_q, 9'(col_q + 32'd1), 6'(la_q)};

  assign done_o    = (state_q == Idle);
  assign macs_o    = (row_end && (state_q == WRows)) ? macs_per_col_q : 32'd0;
  assign a_tiles_o = a_tiles_q;
  assign columns_o = columns_q;
  assign state_o   = state_q;

  // Rows in the next A tile, and the MACs each of its columns completes.
  logic [31:0] rows_left, next_la;
  assign rows_left = m_i - m0_q - la_q;
  assign next_la   = (rows_left < 32'(Lanes)) ? rows_left : 32'(Lanes);
  logic [5:0]  first_la;
  assign first_la  = (m_i < 32'(Lanes)) ? 6'(m_i) : 6'(Lanes);

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q         <= Idle;
      hdr_q           <= 1'b1;
      grp_q           <= '0;
      bing_q          <= '0;
      beat_q          <= '0;
      blk_q           <= '0;
      word_q          <= '0;
      wexp_q          <= '0;
      m0_q            <= '0;
      la_q            <= '0;
      row_q           <= '0;
      col_q           <= '0;
      c_next_q        <= '0;
      c_tile_q        <= '0;
      tiles_started_q <= '0;
      half_q          <= 1'b0;
      macs_per_col_q  <= '0;
      a_tiles_q       <= '0;
      columns_q       <= '0;
    end else if (start_i) begin
      state_q         <= ARows;
      hdr_q           <= 1'b1;
      grp_q           <= '0;
      bing_q          <= '0;
      beat_q          <= '0;
      blk_q           <= '0;
      word_q          <= '0;
      m0_q            <= '0;
      la_q            <= 32'(first_la);
      row_q           <= '0;
      col_q           <= '0;
      c_next_q        <= c_addr_i;
      c_tile_q        <= c_addr_i;
      tiles_started_q <= '0;
      half_q          <= 1'b0;
      macs_per_col_q  <= 32'(first_la) * k_i;
      a_tiles_q       <= '0;
      columns_q       <= '0;
    end else if (take) begin
      if (hdr_q) begin
        hdr_q <= 1'b0;
        if (state_q == WRows) wexp_q <= beat_data_i;
        if (tile_start) begin
          tiles_started_q <= tiles_started_q + 32'd1;
          half_q          <= tiles_started_q[0];
        end
      end else begin
        word_q <= word_q + 1'b1;
        if (!blk_last) begin
          beat_q <= beat_q + 4'd1;
        end else begin
          beat_q <= '0;
          blk_q  <= blk_q + 32'd1;
          bing_q <= bing_q + 3'd1;
          if (!row_last_blk && bing_q == 3'd7) begin
            hdr_q <= 1'b1;
            grp_q <= grp_q + 1'b1;
          end
        end
      end
      if (row_end) begin
        // Back to the start of a row record.
        hdr_q  <= 1'b1;
        grp_q  <= '0;
        bing_q <= '0;
        beat_q <= '0;
        blk_q  <= '0;
        word_q <= '0;
        row_q  <= row_q + 32'd1;
        if (state_q == ARows) begin
          c_next_q <= c_next_q + 64'(ldc_i);
          if (row_q + 32'd1 == la_q) begin
            state_q   <= WRows;
            row_q     <= '0;
            col_q     <= '0;
            a_tiles_q <= a_tiles_q + 32'd1;
          end
        end else begin
          columns_q <= columns_q + 32'd1;
          col_q     <= tile_last ? 32'd0 : col_q + 32'd1;
          if (tile_last) c_tile_q <= c_tile_q + 64'(NTile * 4);
          if (row_q + 32'd1 == n_i) begin
            row_q <= '0;
            m0_q  <= m0_q + la_q;
            if (rows_left == '0) begin
              state_q <= Idle;
            end else begin
              state_q        <= ARows;
              la_q           <= next_la;
              macs_per_col_q <= 32'(6'(next_la)) * k_i;
              c_tile_q       <= c_next_q;
            end
          end
        end
      end
    end
  end

endmodule
