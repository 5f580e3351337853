// bfp_core: the block-floating-point MatMul engine, inside kiln_shell.
//
// C (M x N, f32) = A (M x K, mxint8 blocks) x W^T (N x K, mxint8 or mxint4
// blocks), with the arithmetic of kiln::bfp::golden_matmul and the row
// records of docs/bfp.md. The shell (hw/ip/common/rtl/kiln_shell.sv) holds
// the registers and the AXI masters; the ports here are the engine
// interface of hw/regs/shell.toml.
//
//   bfp_seq     requests A rows (Lanes at a time), then every weight row;
//   bfp_stream  places A rows in the lanes and broadcasts weight beats;
//   bfp_lane    one per A row: block dot products, exponent add, floating
//               accumulation, f32 rounding, output tile;
//   bfp_writer  writes finished output tiles to C.
module bfp_core #(
  parameter int unsigned Lanes  = 8,
  parameter int unsigned NTile  = 32,   // even
  parameter int unsigned WBits  = 8,    // 8 (mxint8) or 4 (mxint4) weights
  parameter int unsigned Block  = 32,   // 16, 32 or 64
  parameter int unsigned KDepth = 8192  // a multiple of 8 * Block
) (
`include "kiln_core_ports.svh"
);

  // The engine takes no channel parameters and no MODE fields.
  /* verilator lint_off UNUSEDSIGNAL */
  logic unused_args;
  assign unused_args = ^{p_addr_i, mode_i};
  /* verilator lint_on UNUSEDSIGNAL */

  localparam int unsigned Banks  = 64 / WBits / 8;
  localparam int unsigned AAW    = $clog2(KDepth / 8 / Banks);
  localparam int unsigned XWords = KDepth / Block / 8;
  localparam int unsigned XAW    = (XWords > 1) ? $clog2(XWords) : 1;
  localparam int unsigned OAW    = $clog2(NTile);
  localparam int unsigned DescW  = 64 + 9 + 6;
  localparam int unsigned BlockLog = $clog2(Block);

  // Progress, reported as JOBS_LOADED, JOBS_COMPUTED and BLOCKS_DRAINED.
  logic [31:0] a_tiles, columns, tiles_written;

  // ------------------------------------------------------------ row geometry
  // Blocks per row, exponent beats per row, and each row record's beats.
  logic [31:0] blocks, groups, a_row_beats, w_row_beats;
  assign blocks      = (k_i + 32'(Block - 1)) >> BlockLog;
  assign groups      = (blocks + 32'd7) >> 3;
  assign a_row_beats = groups + blocks * 32'(Block / 8);
  assign w_row_beats = groups + blocks * 32'(Block * WBits / 64);

  // ------------------------------------------------------------ read sequence
  logic       seq_done;
  logic [3:0] seq_state, stream_state, writer_state;

  bfp_seq #(.Lanes (Lanes)) u_seq (
    .clk_i (clk_i), .rst_ni (rst_ni), .start_i (start_i),
    .a_addr_i (a_addr_i), .b_addr_i (b_addr_i), .m_i (m_i), .n_i (n_i), .lda_i (lda_i), .ldb_i (ldb_i),
    .a_row_beats_i (a_row_beats), .w_row_beats_i (w_row_beats),
    .done_o (seq_done), .state_o (seq_state),
    .cmd_valid_o (rd_cmd_valid_o), .cmd_ready_i (rd_cmd_ready_i),
    .cmd_addr_o (rd_cmd_addr_o), .cmd_beats_o (rd_cmd_beats_o)
  );

  // ------------------------------------------------------------ stream
  logic [Lanes-1:0] a_we, x_we;
  logic [Banks-1:0] a_bank;
  logic [AAW-1:0]   a_waddr, w_kword;
  logic [XAW-1:0]   x_waddr, w_group;
  logic [63:0]      lane_wdata, w_beat;
  logic             w_valid, w_blk_first, w_blk_last, w_row_first, w_row_last;
  logic [Lanes-1:0] w_lanes;
  logic             w_odd, w_tile_last;
  logic [2:0]       w_bsel;
  logic [7:0]       w_xw;
  logic [OAW-1:0]   w_slot;
  logic             desc_push_valid, desc_push_ready, desc_pop_valid, desc_pop_ready;
  logic [DescW-1:0] desc_push, desc_pop;
  logic             stream_done, stream_stall;
  logic [31:0]      stream_macs;

  bfp_stream #(
    .Lanes (Lanes), .WBits (WBits), .Block (Block), .KDepth (KDepth), .NTile (NTile)
  ) u_stream (
    .clk_i (clk_i), .rst_ni (rst_ni), .start_i (start_i),
    .c_addr_i (c_addr_i), .m_i (m_i), .n_i (n_i), .k_i (k_i), .ldc_i (ldc_i), .blocks_i (blocks),
    .beat_valid_i (rd_beat_valid_i), .beat_ready_o (rd_beat_ready_o), .beat_data_i (rd_beat_data_i),
    .a_we_o (a_we), .a_bank_o (a_bank), .a_waddr_o (a_waddr),
    .x_we_o (x_we), .x_waddr_o (x_waddr), .wdata_o (lane_wdata),
    .w_valid_o (w_valid), .w_lanes_o (w_lanes), .w_beat_o (w_beat), .w_kword_o (w_kword),
    .w_group_o (w_group),
    .w_bsel_o (w_bsel), .w_xw_o (w_xw), .w_blk_first_o (w_blk_first), .w_blk_last_o (w_blk_last),
    .w_row_first_o (w_row_first), .w_row_last_o (w_row_last), .w_slot_o (w_slot),
    .w_odd_o (w_odd), .w_tile_last_o (w_tile_last),
    .desc_valid_o (desc_push_valid), .desc_ready_i (desc_push_ready), .desc_o (desc_push),
    .tiles_written_i (tiles_written),
    .done_o (stream_done), .stall_o (stream_stall), .macs_o (stream_macs),
    .a_tiles_o (a_tiles), .columns_o (columns), .state_o (stream_state)
  );

  /* verilator lint_off PINCONNECTEMPTY */
  kiln_fifo #(.Width (DescW), .Depth (4)) u_desc (
    .clk_i (clk_i), .rst_ni (rst_ni), .clr_i (start_i),
    .wvalid_i (desc_push_valid), .wready_o (desc_push_ready), .wdata_i (desc_push),
    .rvalid_o (desc_pop_valid), .rready_i (desc_pop_ready), .rdata_o (desc_pop),
    .count_o ()
  );
  /* verilator lint_on PINCONNECTEMPTY */

  // ------------------------------------------------------------ lanes
  // Every lane runs in lockstep, so lane 0's pipeline speaks for all; the
  // others' copies of these flags are left for synthesis to remove.
  /* verilator lint_off UNUSEDSIGNAL */
  logic [Lanes-1:0]    lane_busy, lane_tile_done;
  /* verilator lint_on UNUSEDSIGNAL */
  logic [OAW-1:0]      o_raddr;
  logic [Lanes*64-1:0] o_rdata;

  for (genvar l = 0; l < Lanes; l++) begin : g_lane
    bfp_lane #(.WBits (WBits), .KDepth (KDepth), .Block (Block), .NTile (NTile)) u_lane (
      .clk_i (clk_i), .rst_ni (rst_ni),
      .a_we_i (a_we[l]), .a_bank_i (a_bank), .a_waddr_i (a_waddr),
      .x_we_i (x_we[l]), .x_waddr_i (x_waddr), .wdata_i (lane_wdata),
      .w_valid_i (w_valid), .w_take_i (w_lanes[l]), .w_beat_i (w_beat), .w_kword_i (w_kword),
      .w_group_i (w_group),
      .w_bsel_i (w_bsel), .w_xw_i (w_xw), .w_blk_first_i (w_blk_first),
      .w_blk_last_i (w_blk_last), .w_row_first_i (w_row_first), .w_row_last_i (w_row_last),
      .w_slot_i (w_slot), .w_odd_i (w_odd), .w_tile_last_i (w_tile_last),
      .tile_done_o (lane_tile_done[l]), .busy_o (lane_busy[l]),
      .o_raddr_i (o_raddr), .o_rdata_o (o_rdata[l*64 +: 64])
    );
  end

  logic [31:0] tiles_done_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) tiles_done_q <= '0;
    else if (start_i) tiles_done_q <= '0;
    else if (lane_tile_done[0]) tiles_done_q <= tiles_done_q + 32'd1;
  end

  // ------------------------------------------------------------ writer
  logic writer_idle;

  bfp_writer #(.Lanes (Lanes), .NTile (NTile)) u_writer (
    .clk_i (clk_i), .rst_ni (rst_ni), .start_i (start_i), .ldc_i (ldc_i),
    .desc_valid_i (desc_pop_valid), .desc_ready_o (desc_pop_ready), .desc_i (desc_pop),
    .tiles_done_i (tiles_done_q), .tiles_written_o (tiles_written),
    .o_raddr_o (o_raddr), .o_rdata_i (o_rdata),
    .wr_cmd_valid_o (wr_cmd_valid_o), .wr_cmd_ready_i (wr_cmd_ready_i),
    .wr_cmd_addr_o (wr_cmd_addr_o), .wr_cmd_beats_o (wr_cmd_beats_o),
    .wbeat_valid_o (wr_beat_valid_o), .wbeat_ready_i (wr_beat_ready_i),
    .wbeat_data_o (wr_beat_data_o), .wbeat_strb_o (wr_beat_strb_o),
    .idle_o (writer_idle), .state_o (writer_state)
  );

  // ------------------------------------------------------------ status
  // Every lane runs in lockstep: lane 0's busy flag speaks for all.
  assign idle_o           = seq_done && stream_done && !lane_busy[0] && writer_idle;
  assign busy_o           = w_valid;
  assign stall_o          = stream_stall;
  assign macs_o           = stream_macs;
  assign loader_state_o   = seq_state;
  assign compute_state_o  = stream_state;
  assign drain_state_o    = writer_state;
  assign jobs_loaded_o    = a_tiles;
  assign jobs_computed_o  = columns;
  assign blocks_drained_o = tiles_written;

endmodule
