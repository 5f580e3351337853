// bfp_top: the block-floating-point MatMul engine.
//
// C (M x N, f32) = A (M x K, mxint8 blocks) x W^T (N x K, mxint8 or mxint4
// blocks), with the arithmetic of kiln::bfp::golden_matmul and the row
// records of docs/bfp.md. Control and identity come from the same register
// map as the GEMM engine (hw/regs/kiln.toml); operands move over the same
// AXI4 master blocks.
//
//   bfp_seq     requests A rows (Lanes at a time), then every weight row;
//   bfp_stream  places A rows in the lanes and broadcasts weight beats;
//   bfp_lane    one per A row: block dot products, exponent add, floating
//               accumulation, f32 rounding, output tile;
//   bfp_writer  writes finished output tiles to C.
module bfp_top #(
  parameter logic [31:0] DesignId    = 32'd0,
  parameter int unsigned Lanes       = 8,
  parameter int unsigned NTile       = 32,   // even
  parameter int unsigned WBits       = 8,    // 8 (mxint8) or 4 (mxint4) weights
  parameter int unsigned Block       = 32,   // 16, 32 or 64
  parameter int unsigned KDepth      = 8192, // a multiple of 8 * Block
  parameter int unsigned MaxBeats    = 16,
  parameter int unsigned Outstanding = 8,
  parameter int unsigned HoldBusy    = 0     // test hook (1): never report done
) (
  input  logic        clk_i,
  input  logic        rst_ni,
  output logic        irq_o,
  // AXI4-Lite control slave.
  input  logic        s_awvalid_i,
  output logic        s_awready_o,
  input  logic [7:0]  s_awaddr_i,
  input  logic        s_wvalid_i,
  output logic        s_wready_o,
  input  logic [31:0] s_wdata_i,
  input  logic [3:0]  s_wstrb_i,
  output logic        s_bvalid_o,
  input  logic        s_bready_i,
  output logic [1:0]  s_bresp_o,
  input  logic        s_arvalid_i,
  output logic        s_arready_o,
  input  logic [7:0]  s_araddr_i,
  output logic        s_rvalid_o,
  input  logic        s_rready_i,
  output logic [31:0] s_rdata_o,
  output logic [1:0]  s_rresp_o,
  // AXI4 memory master.
  output logic        m_arvalid_o,
  input  logic        m_arready_i,
  output logic [63:0] m_araddr_o,
  output logic [7:0]  m_arlen_o,
  output logic [2:0]  m_arsize_o,
  output logic [1:0]  m_arburst_o,
  input  logic        m_rvalid_i,
  output logic        m_rready_o,
  input  logic [63:0] m_rdata_i,
  input  logic [1:0]  m_rresp_i,
  input  logic        m_rlast_i,
  output logic        m_awvalid_o,
  input  logic        m_awready_i,
  output logic [63:0] m_awaddr_o,
  output logic [7:0]  m_awlen_o,
  output logic [2:0]  m_awsize_o,
  output logic [1:0]  m_awburst_o,
  output logic        m_wvalid_o,
  input  logic        m_wready_i,
  output logic [63:0] m_wdata_o,
  output logic [7:0]  m_wstrb_o,
  output logic        m_wlast_o,
  input  logic        m_bvalid_i,
  output logic        m_bready_o,
  input  logic [1:0]  m_bresp_i
);

  localparam int unsigned Banks  = 64 / WBits / 8;
  localparam int unsigned AAW    = $clog2(KDepth / 8 / Banks);
  localparam int unsigned XWords = KDepth / Block / 8;
  localparam int unsigned XAW    = (XWords > 1) ? $clog2(XWords) : 1;
  localparam int unsigned OAW    = $clog2(NTile);
  localparam int unsigned DescW  = 64 + 9 + 6;
  localparam int unsigned BlockLog = $clog2(Block);

  // ------------------------------------------------------------ registers
  logic        start, done;
  logic [63:0] a_addr, b_addr, c_addr;
  logic [31:0] m, n, k, lda, ldb, ldc;
  logic [63:0] cycles, busy_count, stall_count, mac_count, rd_bytes, wr_bytes;
  logic [31:0] state;
  logic [31:0] a_tiles, columns, tiles_written;

  // P_ADDR and MODE belong to the GEMM engine; this one has no use for them.
  /* verilator lint_off UNUSEDSIGNAL */
  logic [63:0] p_addr_unused;
  logic        out_int32_unused;
  logic [7:0]  act_zp_unused, out_zp_unused;
  /* verilator lint_on UNUSEDSIGNAL */

  kiln_ctrl_regs #(
    .DesignId (DesignId), .Engine (1), .Block (Block), .Rows (Lanes), .Cols (NTile),
    .PeKind (0), .WBits (WBits), .KDepth (KDepth), .MTiles (1), .NTiles (1)
  ) u_regs (
    .clk_i (clk_i), .rst_ni (rst_ni),
    .s_awvalid_i, .s_awready_o, .s_awaddr_i, .s_wvalid_i, .s_wready_o, .s_wdata_i, .s_wstrb_i,
    .s_bvalid_o, .s_bready_i, .s_bresp_o, .s_arvalid_i, .s_arready_o, .s_araddr_i,
    .s_rvalid_o, .s_rready_i, .s_rdata_o, .s_rresp_o,
    .start_o (start), .done_i (done), .irq_o (irq_o),
    .a_addr_o (a_addr), .b_addr_o (b_addr), .c_addr_o (c_addr), .p_addr_o (p_addr_unused),
    .m_o (m), .n_o (n), .k_o (k), .lda_o (lda), .ldb_o (ldb), .ldc_o (ldc),
    .out_int32_o (out_int32_unused), .act_zp_o (act_zp_unused), .out_zp_o (out_zp_unused),
    .cycles_i (cycles), .busy_i (busy_count), .stall_i (stall_count), .macs_i (mac_count),
    .rd_bytes_i (rd_bytes), .wr_bytes_i (wr_bytes), .state_i (state),
    .jobs_loaded_i (a_tiles), .jobs_computed_i (columns),
    .blocks_drained_i (tiles_written)
  );

  // ------------------------------------------------------------ row geometry
  // Blocks per row, exponent beats per row, and each row record's beats.
  logic [31:0] blocks, groups, a_row_beats, w_row_beats;
  assign blocks      = (k + 32'(Block - 1)) >> BlockLog;
  assign groups      = (blocks + 32'd7) >> 3;
  assign a_row_beats = groups + blocks * 32'(Block / 8);
  assign w_row_beats = groups + blocks * 32'(Block * WBits / 64);

  // ------------------------------------------------------------ memory port
  logic        rd_cmd_valid, rd_cmd_ready, rbeat_valid, rbeat_ready;
  logic [63:0] rd_cmd_addr, rbeat_data;
  logic [31:0] rd_cmd_beats;
  logic [7:0]  rd_outstanding, wr_outstanding;
  logic        rd_error, wr_error, wr_idle;
  logic        wr_cmd_valid, wr_cmd_ready, wbeat_valid, wbeat_ready;
  logic [63:0] wr_cmd_addr, wbeat_data;
  logic [31:0] wr_cmd_beats;
  logic [7:0]  wbeat_strb;

  kiln_axi_rd_master #(.MaxBeats (MaxBeats), .Outstanding (Outstanding)) u_rd (
    .clk_i (clk_i), .rst_ni (rst_ni), .clr_i (start),
    .cmd_valid_i (rd_cmd_valid), .cmd_ready_o (rd_cmd_ready),
    .cmd_addr_i (rd_cmd_addr), .cmd_beats_i (rd_cmd_beats),
    .beat_valid_o (rbeat_valid), .beat_ready_i (rbeat_ready), .beat_data_o (rbeat_data),
    .outstanding_o (rd_outstanding), .error_o (rd_error),
    .m_arvalid_o, .m_arready_i, .m_araddr_o, .m_arlen_o, .m_arsize_o, .m_arburst_o,
    .m_rvalid_i, .m_rready_o, .m_rdata_i, .m_rresp_i, .m_rlast_i
  );

  kiln_axi_wr_master #(.MaxBeats (MaxBeats), .Outstanding (Outstanding)) u_wr (
    .clk_i (clk_i), .rst_ni (rst_ni), .clr_i (start),
    .cmd_valid_i (wr_cmd_valid), .cmd_ready_o (wr_cmd_ready),
    .cmd_addr_i (wr_cmd_addr), .cmd_beats_i (wr_cmd_beats),
    .beat_valid_i (wbeat_valid), .beat_ready_o (wbeat_ready),
    .beat_data_i (wbeat_data), .beat_strb_i (wbeat_strb),
    .idle_o (wr_idle), .outstanding_o (wr_outstanding), .error_o (wr_error),
    .m_awvalid_o, .m_awready_i, .m_awaddr_o, .m_awlen_o, .m_awsize_o, .m_awburst_o,
    .m_wvalid_o, .m_wready_i, .m_wdata_o, .m_wstrb_o, .m_wlast_o,
    .m_bvalid_i, .m_bready_o, .m_bresp_i
  );

  // ------------------------------------------------------------ read sequence
  logic       seq_done;
  logic [3:0] seq_state, stream_state, writer_state;

  bfp_seq #(.Lanes (Lanes)) u_seq (
    .clk_i (clk_i), .rst_ni (rst_ni), .start_i (start),
    .a_addr_i (a_addr), .b_addr_i (b_addr), .m_i (m), .n_i (n), .lda_i (lda), .ldb_i (ldb),
    .a_row_beats_i (a_row_beats), .w_row_beats_i (w_row_beats),
    .done_o (seq_done), .state_o (seq_state),
    .cmd_valid_o (rd_cmd_valid), .cmd_ready_i (rd_cmd_ready),
    .cmd_addr_o (rd_cmd_addr), .cmd_beats_o (rd_cmd_beats)
  );

  // ------------------------------------------------------------ stream
  logic [Lanes-1:0] a_we, x_we;
  logic [Banks-1:0] a_bank;
  logic [AAW-1:0]   a_waddr, w_kword;
  logic [XAW-1:0]   x_waddr, w_group;
  logic [63:0]      lane_wdata, w_beat;
  logic             w_valid, w_blk_first, w_blk_last, w_row_first, w_row_last;
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
    .clk_i (clk_i), .rst_ni (rst_ni), .start_i (start),
    .c_addr_i (c_addr), .m_i (m), .n_i (n), .k_i (k), .ldc_i (ldc), .blocks_i (blocks),
    .beat_valid_i (rbeat_valid), .beat_ready_o (rbeat_ready), .beat_data_i (rbeat_data),
    .a_we_o (a_we), .a_bank_o (a_bank), .a_waddr_o (a_waddr),
    .x_we_o (x_we), .x_waddr_o (x_waddr), .wdata_o (lane_wdata),
    .w_valid_o (w_valid), .w_beat_o (w_beat), .w_kword_o (w_kword), .w_group_o (w_group),
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
    .clk_i (clk_i), .rst_ni (rst_ni), .clr_i (start),
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
      .w_valid_i (w_valid), .w_beat_i (w_beat), .w_kword_i (w_kword), .w_group_i (w_group),
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
    else if (start) tiles_done_q <= '0;
    else if (lane_tile_done[0]) tiles_done_q <= tiles_done_q + 32'd1;
  end

  // ------------------------------------------------------------ writer
  logic writer_idle;

  bfp_writer #(.Lanes (Lanes), .NTile (NTile)) u_writer (
    .clk_i (clk_i), .rst_ni (rst_ni), .start_i (start), .ldc_i (ldc),
    .desc_valid_i (desc_pop_valid), .desc_ready_o (desc_pop_ready), .desc_i (desc_pop),
    .tiles_done_i (tiles_done_q), .tiles_written_o (tiles_written),
    .o_raddr_o (o_raddr), .o_rdata_i (o_rdata),
    .wr_cmd_valid_o (wr_cmd_valid), .wr_cmd_ready_i (wr_cmd_ready),
    .wr_cmd_addr_o (wr_cmd_addr), .wr_cmd_beats_o (wr_cmd_beats),
    .wbeat_valid_o (wbeat_valid), .wbeat_ready_i (wbeat_ready),
    .wbeat_data_o (wbeat_data), .wbeat_strb_o (wbeat_strb),
    .idle_o (writer_idle), .state_o (writer_state)
  );

  // ------------------------------------------------------------ run state
  logic running, all_idle;
  assign all_idle = seq_done && stream_done && !lane_busy[0] && writer_idle && wr_idle
                    && (rd_outstanding == '0);
  assign done     = running && all_idle && (HoldBusy == 0);

  kiln_run_status u_status (
    .clk_i (clk_i), .rst_ni (rst_ni), .start_i (start), .done_i (done), .running_o (running),
    .busy_i (w_valid), .stall_i (stream_stall), .macs_i (stream_macs),
    .rd_beat_i (m_rvalid_i && m_rready_o), .wr_beat_i (m_wvalid_o && m_wready_i),
    .wr_strb_i (m_wstrb_o),
    .loader_state_i (seq_state), .compute_state_i (stream_state), .drain_state_i (writer_state),
    .rd_outstanding_i (rd_outstanding), .wr_outstanding_i (wr_outstanding),
    .bus_error_i (rd_error || wr_error),
    .cycles_o (cycles), .busy_o (busy_count), .stall_o (stall_count), .macs_o (mac_count),
    .rd_bytes_o (rd_bytes), .wr_bytes_o (wr_bytes), .state_o (state)
  );

endmodule
