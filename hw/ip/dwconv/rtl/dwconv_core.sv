// dwconv_core: the depthwise-convolution engine, inside kiln_shell.
//
// acc[c][oy][ox] = sum over the K x K taps of x[c][oy*s+ky][ox*s+kx] *
// value(w[c][ky][kx]), then + bias (int32 mode) or requantised to int8, for
// C channels in groups of Lanes, one kiln_pe per lane (hw/ip/dwconv/doc/
// README.md has the operand layouts and the arithmetic). Its ports are the
// engine interface of hw/regs/shell.toml. Three units run concurrently,
// linked by progress counters:
//   dwconv_loader   fetches each group's channel and tap records into one
//                   half of the parameter and weight banks, and the input
//                   rows into a ring of 2*MaxKernel line-buffer rows;
//   dwconv_compute  steps the lanes over every output pixel, one tap per
//                   cycle, and leaves each pixel's sums in a hold bank;
//   dwconv_drain    requantises held pixels two lanes per cycle and writes
//                   each output row as one command.
// The core latches the arguments at start_i, derives the run's constants
// the cycle after and starts the units the cycle after that; arguments
// that break the driver's limits (K outside 1..MaxKernel, s outside 1..K,
// Wp > MaxWidth, an empty dimension) make an empty run, so that no
// argument set can hang the engine or index outside a buffer.
module dwconv_core #(
  parameter int unsigned Lanes     = 16,   // L: channels at once, one PE each; 8, 16, 24 or 32
  parameter int unsigned WBits     = 4,    // bits per weight code, 1..8
  parameter int unsigned MaxKernel = 5,    // largest K, 1..7
  parameter int unsigned MaxWidth  = 128   // longest padded input row Wp, pixels; 2^n, 16..1024
) (
`include "kiln_core_ports.svh"
);

  // LDB is reserved for this engine, as are the MODE bits it does not
  // define (hw/ip/dwconv/engine.toml).
  /* verilator lint_off UNUSEDSIGNAL */
  logic unused_args;
  assign unused_args = ^{ldb_i, mode_i};
  /* verilator lint_on UNUSEDSIGNAL */

  localparam int unsigned PixBeats = Lanes / 8;                  // beats per input pixel
  localparam int unsigned TapWords = (Lanes * WBits + 63) / 64;  // words per tap record
  localparam int unsigned RingRows = 2 * MaxKernel;              // line-buffer ring slots
  localparam int unsigned SlotW    = $clog2(RingRows);
  localparam int unsigned ColW     = $clog2(MaxWidth);
  localparam int unsigned TapW     = (MaxKernel > 1) ? $clog2(MaxKernel * MaxKernel) : 1;
  localparam int unsigned PairW    = $clog2(Lanes / 2);
  localparam int unsigned LbAW     = SlotW + ColW;               // line buffer: {slot, column}
  localparam int unsigned LbWords  = RingRows * MaxWidth;
  localparam int unsigned WbAW     = TapW + 1;                   // weight bank: {half, tap}
  localparam int unsigned WbWords  = 2 << TapW;

  localparam int unsigned Int32W = dwconv_args_pkg::DWCONV_MODE_OUT_INT32_WIDTH;
  localparam int unsigned KernW  = dwconv_args_pkg::DWCONV_MODE_KERNEL_WIDTH;
  localparam int unsigned StrW   = dwconv_args_pkg::DWCONV_MODE_STRIDE_WIDTH;
  localparam int unsigned ZpW    = dwconv_args_pkg::DWCONV_MODE_OUT_ZP_WIDTH;

  // ------------------------------------------------------------ arguments
  logic [63:0]      a_addr_q, b_addr_q, c_addr_q, p_addr_q;
  logic [31:0]      ho_q, chans_q, wo_q, lda_q, ldc_q;
  logic             int32_q;
  logic [7:0]       out_zp_q;
  logic [KernW-1:0] kern_q;
  logic [StrW-1:0]  stride_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      a_addr_q <= '0;
      b_addr_q <= '0;
      c_addr_q <= '0;
      p_addr_q <= '0;
      ho_q     <= '0;
      chans_q  <= '0;
      wo_q     <= '0;
      lda_q    <= '0;
      ldc_q    <= '0;
      int32_q  <= 1'b0;
      out_zp_q <= '0;
      kern_q   <= '0;
      stride_q <= '0;
    end else if (start_i) begin
      a_addr_q <= a_addr_i;
      b_addr_q <= b_addr_i;
      c_addr_q <= c_addr_i;
      p_addr_q <= p_addr_i;
      ho_q     <= m_i;
      chans_q  <= n_i;
      wo_q     <= k_i;
      lda_q    <= lda_i;
      ldc_q    <= ldc_i;
      int32_q  <= mode_i[dwconv_args_pkg::DWCONV_MODE_OUT_INT32_LSB +: Int32W] != '0;
      out_zp_q <= 8'(mode_i[dwconv_args_pkg::DWCONV_MODE_OUT_ZP_LSB +: ZpW]);
      kern_q   <= mode_i[dwconv_args_pkg::DWCONV_MODE_KERNEL_LSB +: KernW];
      stride_q <= mode_i[dwconv_args_pkg::DWCONV_MODE_STRIDE_LSB +: StrW];
    end
  end

  // Run constants, one cycle after start_i. R and Wp are formed in 36 bits
  // so that the limit checks see an overflow.
  logic [3:0]  kern, stride;
  logic [31:0] ho_m1, wo_m1;
  logic [35:0] rows36, wp36;
  logic        args_ok;
  assign kern    = 4'(kern_q);
  assign stride  = 4'(stride_q);
  assign ho_m1   = ho_q - 32'd1;
  assign wo_m1   = wo_q - 32'd1;
  assign rows36  = 36'(ho_m1) * 36'(stride) + 36'(kern);
  assign wp36    = 36'(wo_m1) * 36'(stride) + 36'(kern);
  assign args_ok = (kern != 4'd0) && (32'(kern) <= MaxKernel) && (stride != 4'd0)
                   && (stride <= kern) && (ho_q != '0) && (wo_q != '0) && (chans_q != '0)
                   && (wo_q <= 32'(MaxWidth)) && (wp36 <= 36'(MaxWidth))
                   && (rows36[35:32] == 4'd0);

  logic [31:0] rows_q, row_beats_q, w_beats_q, out_beats_q;
  logic [15:0] wp_q;
  logic [7:0]  taps_q;
  logic        ok_q;
  logic [1:0]  setup_q;   // start_i one and two cycles ago
  logic        launched_q, run_q, go, finished;
  logic        loader_idle, compute_idle, drain_idle;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      rows_q      <= '0;
      wp_q        <= '0;
      taps_q      <= '0;
      row_beats_q <= '0;
      w_beats_q   <= '0;
      out_beats_q <= '0;
      ok_q        <= 1'b0;
    end else if (setup_q[0]) begin
      rows_q      <= rows36[31:0];
      wp_q        <= wp36[15:0];
      taps_q      <= 8'(kern) * 8'(kern);
      row_beats_q <= 32'(wp36[15:0]) * 32'(PixBeats);
      w_beats_q   <= 32'(8'(kern) * 8'(kern)) * 32'(TapWords);
      out_beats_q <= wo_q * (int32_q ? 32'(4 * PixBeats) : 32'(PixBeats));
      ok_q        <= args_ok;
    end
  end

  // The run: idle_o drops the cycle after start_i and rises when every unit
  // is done; it is high out of reset.
  assign go       = setup_q[1] && ok_q;
  assign finished = launched_q && loader_idle && compute_idle && drain_idle;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      setup_q    <= '0;
      launched_q <= 1'b0;
      run_q      <= 1'b0;
    end else begin
      setup_q <= {setup_q[0], start_i};
      if (start_i) begin
        launched_q <= 1'b0;
        run_q      <= 1'b1;
      end else begin
        if (setup_q[1]) launched_q <= 1'b1;
        if (finished) run_q <= 1'b0;
      end
    end
  end

  // ------------------------------------------------------------ loader
  logic [31:0]           rows_landed, rows_released, groups_drained;
  logic [31:0]           pixels_computed, pixels_drained, rows_written;
  logic [63:0]           buf_wdata;
  logic [PixBeats-1:0]   lb_we;
  logic [LbAW-1:0]       lb_waddr;
  logic [TapWords-1:0]   wb_we;
  logic [WbAW-1:0]       wb_waddr;
  logic                  p_we_lo, p_we_hi;
  logic [PairW+1:0]      p_waddr;

  dwconv_loader #(
    .Lanes (Lanes), .PixBeats (PixBeats), .TapWords (TapWords), .RingRows (RingRows),
    .SlotW (SlotW), .ColW (ColW), .TapW (TapW)
  ) u_loader (
    .clk_i (clk_i), .rst_ni (rst_ni), .start_i (start_i), .go_i (go),
    .a_addr_i (a_addr_q), .b_addr_i (b_addr_q), .p_addr_i (p_addr_q),
    .chans_i (chans_q), .lda_i (lda_q), .rows_i (rows_q), .wp_i (wp_q), .taps_i (taps_q),
    .row_beats_i (row_beats_q), .w_beats_i (w_beats_q),
    .rows_released_i (rows_released), .groups_drained_i (groups_drained),
    .rows_landed_o (rows_landed),
    .idle_o (loader_idle), .state_o (loader_state_o),
    .rd_cmd_valid_o (rd_cmd_valid_o), .rd_cmd_ready_i (rd_cmd_ready_i),
    .rd_cmd_addr_o (rd_cmd_addr_o), .rd_cmd_beats_o (rd_cmd_beats_o),
    .beat_valid_i (rd_beat_valid_i), .beat_ready_o (rd_beat_ready_o),
    .beat_data_i (rd_beat_data_i),
    .wdata_o (buf_wdata), .lb_we_o (lb_we), .lb_waddr_o (lb_waddr),
    .wb_we_o (wb_we), .wb_waddr_o (wb_waddr),
    .p_we_lo_o (p_we_lo), .p_we_hi_o (p_we_hi), .p_waddr_o (p_waddr)
  );

  // ------------------------------------------------------------ buffers
  // Line buffer: bank b holds bytes 8b..8b+7 of every pixel (lanes 8b..8b+7).
  // Weight bank: bank w holds word w of every tap record.
  logic                  buf_re;
  logic [LbAW-1:0]       lb_raddr;
  logic [WbAW-1:0]       wb_raddr;
  logic [Lanes*8-1:0]    lb_rdata;
  // A tap record is padded to whole words; the padding is never read.
  /* verilator lint_off UNUSEDSIGNAL */
  logic [TapWords*64-1:0] wb_rdata;
  /* verilator lint_on UNUSEDSIGNAL */

  for (genvar b = 0; b < PixBeats; b++) begin : g_lbuf
    kiln_ram #(.Words (LbWords), .AddrW (LbAW), .Width (64)) u_ram (
      .clk_i (clk_i), .we_i (lb_we[b]), .waddr_i (lb_waddr), .wdata_i (buf_wdata),
      .re_i (buf_re), .raddr_i (lb_raddr), .rdata_o (lb_rdata[b*64 +: 64])
    );
  end
  for (genvar w = 0; w < TapWords; w++) begin : g_wbuf
    kiln_ram #(.Words (WbWords), .AddrW (WbAW), .Width (64)) u_ram (
      .clk_i (clk_i), .we_i (wb_we[w]), .waddr_i (wb_waddr), .wdata_i (buf_wdata),
      .re_i (buf_re), .raddr_i (wb_raddr), .rdata_o (wb_rdata[w*64 +: 64])
    );
  end

  // ------------------------------------------------------------ compute
  logic             compute_busy, compute_stall;
  logic [5:0]       compute_macs;
  logic             hold_bank;
  logic [PairW-1:0] hold_pair;
  logic [63:0]      hold_data;

  dwconv_compute #(
    .Lanes (Lanes), .WBits (WBits), .RingRows (RingRows), .SlotW (SlotW), .ColW (ColW),
    .TapW (TapW), .PairW (PairW)
  ) u_compute (
    .clk_i (clk_i), .rst_ni (rst_ni), .start_i (start_i), .go_i (go),
    .chans_i (chans_q), .ho_i (ho_q), .wo_i (wo_q), .kern_i (kern), .stride_i (stride),
    .rows_landed_i (rows_landed), .pixels_drained_i (pixels_drained),
    .rows_released_o (rows_released), .pixels_computed_o (pixels_computed),
    .idle_o (compute_idle), .busy_o (compute_busy), .stall_o (compute_stall),
    .macs_o (compute_macs), .state_o (compute_state_o),
    .buf_re_o (buf_re), .lb_raddr_o (lb_raddr), .wb_raddr_o (wb_raddr),
    .lb_rdata_i (lb_rdata), .codes_i (wb_rdata[Lanes*WBits-1:0]),
    .hold_bank_i (hold_bank), .hold_pair_i (hold_pair), .hold_data_o (hold_data)
  );

  // ------------------------------------------------------------ drain
  dwconv_drain #(.Lanes (Lanes), .PairW (PairW)) u_drain (
    .clk_i (clk_i), .rst_ni (rst_ni), .start_i (start_i), .go_i (go),
    .c_addr_i (c_addr_q), .ldc_i (ldc_q), .chans_i (chans_q), .ho_i (ho_q), .wo_i (wo_q),
    .out_beats_i (out_beats_q), .out_int32_i (int32_q), .out_zp_i (out_zp_q),
    .pixels_computed_i (pixels_computed),
    .pixels_drained_o (pixels_drained), .groups_drained_o (groups_drained),
    .rows_written_o (rows_written), .idle_o (drain_idle), .state_o (drain_state_o),
    .hold_bank_o (hold_bank), .hold_pair_o (hold_pair), .hold_data_i (hold_data),
    .p_we_lo_i (p_we_lo), .p_we_hi_i (p_we_hi), .p_waddr_i (p_waddr), .p_wdata_i (buf_wdata),
    .wr_cmd_valid_o (wr_cmd_valid_o), .wr_cmd_ready_i (wr_cmd_ready_i),
    .wr_cmd_addr_o (wr_cmd_addr_o), .wr_cmd_beats_o (wr_cmd_beats_o),
    .wbeat_valid_o (wr_beat_valid_o), .wbeat_ready_i (wr_beat_ready_i),
    .wbeat_data_o (wr_beat_data_o), .wbeat_strb_o (wr_beat_strb_o)
  );

  // ------------------------------------------------------------ status
  assign idle_o           = !run_q;
  assign busy_o           = compute_busy;
  assign stall_o          = compute_stall;
  assign macs_o           = 32'(compute_macs);
  assign jobs_loaded_o    = rows_landed;
  assign jobs_computed_o  = pixels_computed;
  assign blocks_drained_o = rows_written;

endmodule
