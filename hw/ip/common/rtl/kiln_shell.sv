// kiln_shell: the top of every kiln design, the same for every engine.
//
// It holds what each engine would otherwise repeat: the AXI4-Lite control
// slave with the register block (kiln_ctrl_regs, register map
// hw/regs/kiln.toml), the run flag and performance counters
// (kiln_run_status), the interrupt, and the AXI4 read and write masters.
// The engine itself is `kiln_core`, a module kiln generates per design
// that binds this shell to the design's engine core
// (hw/ip/<engine>/rtl/<engine>_core.sv) with the design's parameters; the
// interface between them is the `engine` list of hw/regs/shell.toml.
//
// The ports toward the board come from the same table, through the
// generated kiln_shell_ports.svh.
//
// A run is done when the core says it has finished and both buses are
// quiet: no read burst in flight and every write acknowledged.
module kiln_shell #(
  parameter logic [31:0] DesignId    = 32'd0,  // DESIGN_ID: FNV-1a of the design name
  parameter int unsigned Engine      = 0,      // ENGINE.KIND (hw/engines.toml)
  parameter int unsigned Block       = 0,      // ENGINE.BLOCK
  parameter int unsigned Rows        = 8,      // ARRAY.ROWS
  parameter int unsigned Cols        = 8,      // ARRAY.COLS
  parameter int unsigned PeKind      = 0,      // ARRAY.PE_KIND
  parameter int unsigned WBits       = 4,      // ARRAY.WEIGHT_BITS
  parameter int unsigned KDepth      = 256,    // BUFFERS.K_DEPTH
  parameter int unsigned MTiles      = 4,      // BUFFERS.M_TILES
  parameter int unsigned NTiles      = 4,      // BUFFERS.N_TILES
  parameter int unsigned MaxBeats    = 16,     // longest AXI4 burst, in beats
  parameter int unsigned Outstanding = 8,      // read bursts in flight
  parameter int unsigned HoldBusy    = 0       // test hook (1): never report done
) (
`include "kiln_shell_ports.svh"
);

  // ------------------------------------------------------------ registers
  logic        start, done;
  logic [63:0] a_addr, b_addr, c_addr, p_addr;
  logic [31:0] m, n, k, lda, ldb, ldc, mode;
  logic [63:0] cycles, busy_count, stall_count, mac_count, rd_bytes, wr_bytes;
  logic [31:0] state;
  logic [31:0] jobs_loaded, jobs_computed, blocks_drained;

  kiln_ctrl_regs #(
    .DesignId (DesignId), .Engine (Engine), .Block (Block), .Rows (Rows), .Cols (Cols),
    .PeKind (PeKind), .WBits (WBits), .KDepth (KDepth), .MTiles (MTiles), .NTiles (NTiles)
  ) u_regs (
    .clk_i (clk_i), .rst_ni (rst_ni),
    .s_awvalid_i, .s_awready_o, .s_awaddr_i, .s_wvalid_i, .s_wready_o, .s_wdata_i, .s_wstrb_i,
    .s_bvalid_o, .s_bready_i, .s_bresp_o, .s_arvalid_i, .s_arready_o, .s_araddr_i,
    .s_rvalid_o, .s_rready_i, .s_rdata_o, .s_rresp_o,
    .start_o (start), .done_i (done), .irq_o (irq_o),
    .a_addr_o (a_addr), .b_addr_o (b_addr), .c_addr_o (c_addr), .p_addr_o (p_addr),
    .m_o (m), .n_o (n), .k_o (k), .lda_o (lda), .ldb_o (ldb), .ldc_o (ldc), .mode_o (mode),
    .cycles_i (cycles), .busy_i (busy_count), .stall_i (stall_count), .macs_i (mac_count),
    .rd_bytes_i (rd_bytes), .wr_bytes_i (wr_bytes), .state_i (state),
    .jobs_loaded_i (jobs_loaded), .jobs_computed_i (jobs_computed),
    .blocks_drained_i (blocks_drained)
  );

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

  // ------------------------------------------------------------ engine core
  logic        core_idle, core_busy, core_stall;
  logic [31:0] core_macs;
  logic [3:0]  loader_state, compute_state, drain_state;

  kiln_core u_core (
    .clk_i (clk_i), .rst_ni (rst_ni), .start_i (start),
    .a_addr_i (a_addr), .b_addr_i (b_addr), .c_addr_i (c_addr), .p_addr_i (p_addr),
    .m_i (m), .n_i (n), .k_i (k), .lda_i (lda), .ldb_i (ldb), .ldc_i (ldc), .mode_i (mode),
    .rd_cmd_valid_o (rd_cmd_valid), .rd_cmd_ready_i (rd_cmd_ready),
    .rd_cmd_addr_o (rd_cmd_addr), .rd_cmd_beats_o (rd_cmd_beats),
    .rd_beat_valid_i (rbeat_valid), .rd_beat_ready_o (rbeat_ready), .rd_beat_data_i (rbeat_data),
    .wr_cmd_valid_o (wr_cmd_valid), .wr_cmd_ready_i (wr_cmd_ready),
    .wr_cmd_addr_o (wr_cmd_addr), .wr_cmd_beats_o (wr_cmd_beats),
    .wr_beat_valid_o (wbeat_valid), .wr_beat_ready_i (wbeat_ready),
    .wr_beat_data_o (wbeat_data), .wr_beat_strb_o (wbeat_strb),
    .idle_o (core_idle), .busy_o (core_busy), .stall_o (core_stall), .macs_o (core_macs),
    .loader_state_o (loader_state), .compute_state_o (compute_state),
    .drain_state_o (drain_state),
    .jobs_loaded_o (jobs_loaded), .jobs_computed_o (jobs_computed),
    .blocks_drained_o (blocks_drained)
  );

  // ------------------------------------------------------------ run state
  logic running, all_idle;
  assign all_idle = core_idle && wr_idle && (rd_outstanding == '0);
  assign done     = running && all_idle && (HoldBusy == 0);

  kiln_run_status u_status (
    .clk_i (clk_i), .rst_ni (rst_ni), .start_i (start), .done_i (done), .running_o (running),
    .busy_i (core_busy), .stall_i (core_stall), .macs_i (core_macs),
    .rd_beat_i (m_rvalid_i && m_rready_o), .wr_beat_i (m_wvalid_o && m_wready_i),
    .wr_strb_i (m_wstrb_o),
    .loader_state_i (loader_state), .compute_state_i (compute_state),
    .drain_state_i (drain_state),
    .rd_outstanding_i (rd_outstanding), .wr_outstanding_i (wr_outstanding),
    .bus_error_i (rd_error || wr_error),
    .cycles_o (cycles), .busy_o (busy_count), .stall_o (stall_count), .macs_o (mac_count),
    .rd_bytes_o (rd_bytes), .wr_bytes_o (wr_bytes), .state_o (state)
  );

endmodule
