// gemm_top: the quantised GEMM accelerator.
//
// C = requant(A x W(B) - zp_a * sum W(B) + bias) on an R x C array of the
// design's PE kind, with operands fetched from DDR over one AXI4 master and
// control over AXI4-Lite (register map: hw/regs/kiln.toml). Three engines
// run concurrently, linked by job counters:
//   gemm_loader   fetches each job's A and B chunk into one half of the
//                 double-buffered operand banks (and channel parameters);
//   gemm_compute  steps the array over the other half;
//   gemm_drain    requantises finished blocks and writes them to C.
// Operand layouts and the arithmetic are in docs/gemm-layouts.md.
module gemm_top #(
  parameter logic [31:0] DesignId    = 32'd0,
  parameter int unsigned Rows        = 8,
  parameter int unsigned Cols        = 8,
  parameter int unsigned PeKind      = 0,    // index in the PE library (identity only)
  parameter int unsigned WBits       = 4,
  parameter int unsigned KDepth      = 256,  // multiple of 16
  parameter int unsigned MTiles      = 4,
  parameter int unsigned NTiles      = 4,
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

  localparam int unsigned NT       = Cols * NTiles;
  localparam int unsigned KW       = KDepth / 8;
  localparam int unsigned KWB      = KDepth * WBits / 64;
  localparam int unsigned AWords   = 2 * MTiles * KW;
  localparam int unsigned BWords   = 2 * NTiles * KWB;
  localparam int unsigned AAW      = $clog2(AWords);
  localparam int unsigned BAW      = $clog2(BWords);
  localparam int unsigned AccWords = 2 * MTiles * NTiles;
  localparam int unsigned AccAW    = $clog2(AccWords);
  localparam int unsigned ZpWords  = 2 * NTiles;
  localparam int unsigned ZpAW     = $clog2(ZpWords);
  localparam int unsigned PWords   = 2 * NT;
  localparam int unsigned PAW      = $clog2(PWords);

  // ------------------------------------------------------------ registers
  logic        start, done;
  logic [63:0] a_addr, b_addr, c_addr, p_addr;
  logic [31:0] m, n, k, lda, ldb, ldc;
  logic        out_int32;
  logic [7:0]  act_zp, out_zp;
  logic [63:0] cycles, busy_count, stall_count, mac_count, rd_bytes, wr_bytes;
  logic [31:0] state;
  logic [31:0] jobs_loaded, jobs_computed, blocks_computed, blocks_drained;

  kiln_ctrl_regs #(
    .DesignId (DesignId), .Rows (Rows), .Cols (Cols), .PeKind (PeKind), .WBits (WBits),
    .KDepth (KDepth), .MTiles (MTiles), .NTiles (NTiles)
  ) u_regs (
    .clk_i (clk_i), .rst_ni (rst_ni),
    .s_awvalid_i, .s_awready_o, .s_awaddr_i, .s_wvalid_i, .s_wready_o, .s_wdata_i, .s_wstrb_i,
    .s_bvalid_o, .s_bready_i, .s_bresp_o, .s_arvalid_i, .s_arready_o, .s_araddr_i,
    .s_rvalid_o, .s_rready_i, .s_rdata_o, .s_rresp_o,
    .start_o (start), .done_i (done), .irq_o (irq_o),
    .a_addr_o (a_addr), .b_addr_o (b_addr), .c_addr_o (c_addr), .p_addr_o (p_addr),
    .m_o (m), .n_o (n), .k_o (k), .lda_o (lda), .ldb_o (ldb), .ldc_o (ldc),
    .out_int32_o (out_int32), .act_zp_o (act_zp), .out_zp_o (out_zp),
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

  // ------------------------------------------------------------ loader
  logic [Rows-1:0] a_we;
  logic [Cols-1:0] b_we;
  logic [AAW-1:0]  a_waddr;
  logic [BAW-1:0]  b_waddr;
  logic [63:0]     buf_wdata;
  logic            p_we_lo, p_we_hi;
  logic [PAW-1:0]  p_waddr;
  logic            cjob_valid, cjob_ready, dblk_valid, dblk_ready;
  logic [51:0]     cjob;
  logic [96:0]     dblk;
  logic            seq_done, placer_idle;
  logic [3:0]      loader_state, compute_state, drain_state;

  gemm_loader #(
    .Rows (Rows), .Cols (Cols), .WBits (WBits), .KDepth (KDepth), .MTiles (MTiles),
    .NTiles (NTiles), .AAW (AAW), .BAW (BAW), .PAW (PAW)
  ) u_loader (
    .clk_i (clk_i), .rst_ni (rst_ni), .start_i (start),
    .a_addr_i (a_addr), .b_addr_i (b_addr), .c_addr_i (c_addr), .p_addr_i (p_addr),
    .m_i (m), .n_i (n), .k_i (k), .lda_i (lda), .ldb_i (ldb), .ldc_i (ldc),
    .out_int32_i (out_int32),
    .jobs_computed_i (jobs_computed), .blocks_drained_i (blocks_drained),
    .jobs_loaded_o (jobs_loaded), .seq_done_o (seq_done), .placer_idle_o (placer_idle),
    .state_o (loader_state),
    .rd_cmd_valid_o (rd_cmd_valid), .rd_cmd_ready_i (rd_cmd_ready),
    .rd_cmd_addr_o (rd_cmd_addr), .rd_cmd_beats_o (rd_cmd_beats),
    .beat_valid_i (rbeat_valid), .beat_ready_o (rbeat_ready), .beat_data_i (rbeat_data),
    .a_we_o (a_we), .a_waddr_o (a_waddr), .b_we_o (b_we), .b_waddr_o (b_waddr),
    .wdata_o (buf_wdata), .p_we_lo_o (p_we_lo), .p_we_hi_o (p_we_hi), .p_waddr_o (p_waddr),
    .cjob_valid_o (cjob_valid), .cjob_ready_i (cjob_ready), .cjob_o (cjob),
    .dblk_valid_o (dblk_valid), .dblk_ready_i (dblk_ready), .dblk_o (dblk)
  );

  // ------------------------------------------------------------ buffers
  logic               buf_re;
  logic [AAW-1:0]     a_raddr;
  logic [BAW-1:0]     b_raddr;
  logic [Rows*64-1:0] a_rdata;
  logic [Cols*64-1:0] b_rdata;

  for (genvar r = 0; r < Rows; r++) begin : g_abuf
    kiln_ram #(.Words (AWords), .AddrW (AAW)) u_buf (
      .clk_i (clk_i), .we_i (a_we[r]), .waddr_i (a_waddr), .wdata_i (buf_wdata),
      .re_i (buf_re), .raddr_i (a_raddr), .rdata_o (a_rdata[r*64 +: 64])
    );
  end
  for (genvar c = 0; c < Cols; c++) begin : g_bbuf
    kiln_ram #(.Words (BWords), .AddrW (BAW)) u_buf (
      .clk_i (clk_i), .we_i (b_we[c]), .waddr_i (b_waddr), .wdata_i (buf_wdata),
      .re_i (buf_re), .raddr_i (b_raddr), .rdata_o (b_rdata[c*64 +: 64])
    );
  end

  // Channel parameters, two halves of NT channels (read combinationally).
  logic [31:0] bias_mem_q [PWords];
  logic [31:0] mult_mem_q [PWords];
  logic [7:0]  shift_mem_q [PWords];
  logic [PAW-1:0] p_raddr;
  always_ff @(posedge clk_i) begin
    if (p_we_lo) begin
      bias_mem_q[p_waddr] <= buf_wdata[31:0];
      mult_mem_q[p_waddr] <= buf_wdata[63:32];
    end
    if (p_we_hi) shift_mem_q[p_waddr] <= buf_wdata[7:0];
  end

  // ------------------------------------------------------------ compute
  logic                  arr_valid, arr_clear, arr_zp_valid;
  logic [Rows*8-1:0]     arr_acts;
  logic [Cols*WBits-1:0] arr_codes;
  logic [AccAW-1:0]      arr_addr;
  logic [ZpAW-1:0]       arr_zp_addr;
  logic                  compute_idle, compute_busy, compute_waiting;
  logic [15:0]           step_macs;

  gemm_compute #(
    .Rows (Rows), .Cols (Cols), .WBits (WBits), .KDepth (KDepth), .MTiles (MTiles),
    .NTiles (NTiles), .AAW (AAW), .BAW (BAW), .AccAW (AccAW), .ZpAW (ZpAW)
  ) u_compute (
    .clk_i (clk_i), .rst_ni (rst_ni), .start_i (start),
    .cjob_valid_i (cjob_valid), .cjob_ready_o (cjob_ready), .cjob_i (cjob),
    .jobs_loaded_i (jobs_loaded), .blocks_drained_i (blocks_drained),
    .jobs_computed_o (jobs_computed), .blocks_computed_o (blocks_computed),
    .idle_o (compute_idle), .busy_o (compute_busy), .waiting_o (compute_waiting),
    .step_macs_o (step_macs), .state_o (compute_state),
    .buf_re_o (buf_re), .a_raddr_o (a_raddr), .b_raddr_o (b_raddr),
    .a_rdata_i (a_rdata), .b_rdata_i (b_rdata),
    .arr_valid_o (arr_valid), .arr_acts_o (arr_acts), .arr_codes_o (arr_codes),
    .arr_addr_o (arr_addr), .arr_clear_o (arr_clear),
    .arr_zp_valid_o (arr_zp_valid), .arr_zp_addr_o (arr_zp_addr)
  );

  logic [AccAW-1:0] drain_acc_addr;
  logic [ZpAW-1:0]  drain_zp_addr;
  logic [7:0]       drain_row, drain_col;
  logic [31:0]      drain_acc, drain_zp;

  gemm_array #(
    .Rows (Rows), .Cols (Cols), .WBits (WBits), .AccWords (AccWords), .AccAW (AccAW),
    .ZpWords (ZpWords), .ZpAW (ZpAW)
  ) u_array (
    .clk_i (clk_i), .rst_ni (rst_ni),
    .valid_i (arr_valid), .acts_i (arr_acts), .codes_i (arr_codes),
    .addr_i (arr_addr), .clear_i (arr_clear),
    .zp_valid_i (arr_zp_valid), .zp_act_i (act_zp), .zp_addr_i (arr_zp_addr),
    .drain_addr_i (drain_acc_addr), .drain_zp_addr_i (drain_zp_addr),
    .drain_row_i (drain_row), .drain_col_i (drain_col),
    .drain_acc_o (drain_acc), .drain_zp_o (drain_zp)
  );

  // ------------------------------------------------------------ drain
  logic drain_idle;

  gemm_drain #(
    .Rows (Rows), .Cols (Cols), .MTiles (MTiles), .NTiles (NTiles),
    .AccAW (AccAW), .ZpAW (ZpAW), .PAW (PAW)
  ) u_drain (
    .clk_i (clk_i), .rst_ni (rst_ni), .start_i (start),
    .ldc_i (ldc), .out_int32_i (out_int32), .out_zp_i (out_zp),
    .dblk_valid_i (dblk_valid), .dblk_ready_o (dblk_ready), .dblk_i (dblk),
    .blocks_computed_i (blocks_computed), .blocks_drained_o (blocks_drained),
    .idle_o (drain_idle), .state_o (drain_state),
    .acc_addr_o (drain_acc_addr), .zp_addr_o (drain_zp_addr),
    .acc_row_o (drain_row), .acc_col_o (drain_col),
    .acc_i (drain_acc), .zp_sum_i (drain_zp),
    .p_raddr_o (p_raddr), .bias_i (bias_mem_q[p_raddr]), .mult_i (mult_mem_q[p_raddr]),
    .shift_i (shift_mem_q[p_raddr]),
    .wr_cmd_valid_o (wr_cmd_valid), .wr_cmd_ready_i (wr_cmd_ready),
    .wr_cmd_addr_o (wr_cmd_addr), .wr_cmd_beats_o (wr_cmd_beats),
    .wbeat_valid_o (wbeat_valid), .wbeat_ready_i (wbeat_ready),
    .wbeat_data_o (wbeat_data), .wbeat_strb_o (wbeat_strb)
  );

  // ------------------------------------------------------------ run state
  // The array had work pending (a job handed out but not startable, or
  // none handed out yet) and did nothing: it waited on memory.
  logic compute_stall;
  assign compute_stall = !compute_busy
                         && (compute_waiting || (!seq_done && compute_state == 4'd0));

  logic running, all_idle;
  assign all_idle = seq_done && placer_idle && compute_idle && drain_idle && wr_idle
                    && (rd_outstanding == '0);
  assign done     = running && all_idle && (HoldBusy == 0);

  kiln_run_status u_status (
    .clk_i (clk_i), .rst_ni (rst_ni), .start_i (start), .done_i (done), .running_o (running),
    .busy_i (compute_busy), .stall_i (compute_stall), .macs_i (32'(step_macs)),
    .rd_beat_i (m_rvalid_i && m_rready_o), .wr_beat_i (m_wvalid_o && m_wready_i),
    .wr_strb_i (m_wstrb_o),
    .loader_state_i (loader_state), .compute_state_i (compute_state), .drain_state_i (drain_state),
    .rd_outstanding_i (rd_outstanding), .wr_outstanding_i (wr_outstanding),
    .bus_error_i (rd_error || wr_error),
    .cycles_o (cycles), .busy_o (busy_count), .stall_o (stall_count), .macs_o (mac_count),
    .rd_bytes_o (rd_bytes), .wr_bytes_o (wr_bytes), .state_o (state)
  );

endmodule
