// gemm_core: the quantised GEMM engine, inside kiln_shell.
//
// C = requant(A x W(B) - zp_a * sum W(B) + bias) on an R x C array of the
// design's PE kind. The shell (hw/ip/common/rtl/kiln_shell.sv) gives it
// the run's arguments and one read and one write command port; its ports
// are the engine interface of hw/regs/shell.toml. Three units run
// concurrently, linked by job counters:
//   gemm_loader   fetches each job's A and B chunk into one half of the
//                 double-buffered operand banks (and channel parameters);
//   gemm_compute  steps the array over the other half;
//   gemm_drain    requantises finished blocks and writes them to C.
// Operand layouts and the arithmetic are in docs/gemm-layouts.md.
module gemm_core #(
  parameter int unsigned Rows   = 8,
  parameter int unsigned Cols   = 8,
  parameter int unsigned WBits  = 4,    // bits per weight code, 1..8 (the PE's port)
  parameter int unsigned KDepth = 256,  // multiple of 16; KDepth codes fill whole B words
  parameter int unsigned MTiles = 4,
  parameter int unsigned NTiles = 4
) (
`include "kiln_core_ports.svh"
);

  // MODE bits this engine does not define are reserved (hw/ip/gemm/engine.toml).
  /* verilator lint_off UNUSEDSIGNAL */
  logic unused_mode;
  assign unused_mode = ^mode_i;
  /* verilator lint_on UNUSEDSIGNAL */

  // B holds each code in a container of CBits bits (gemm_pkg).
  localparam int unsigned CBits    = gemm_pkg::code_container_bits(WBits);
  localparam int unsigned NT       = Cols * NTiles;
  localparam int unsigned KW       = KDepth / 8;
  localparam int unsigned KWB      = KDepth * CBits / 64;
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

  // ------------------------------------------------------------ arguments
  logic        out_int32;
  logic [7:0]  act_zp, out_zp;
  logic [31:0] jobs_loaded, jobs_computed, blocks_computed, blocks_drained;

  assign out_int32 = mode_i[gemm_args_pkg::GEMM_MODE_OUT_INT32_LSB];
  assign act_zp    = mode_i[gemm_args_pkg::GEMM_MODE_ACT_ZP_LSB +: gemm_args_pkg::GEMM_MODE_ACT_ZP_WIDTH];
  assign out_zp    = mode_i[gemm_args_pkg::GEMM_MODE_OUT_ZP_LSB +: gemm_args_pkg::GEMM_MODE_OUT_ZP_WIDTH];

  assign jobs_loaded_o    = jobs_loaded;
  assign jobs_computed_o  = jobs_computed;
  assign blocks_drained_o = blocks_drained;

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
    .clk_i (clk_i), .rst_ni (rst_ni), .start_i (start_i),
    .a_addr_i (a_addr_i), .b_addr_i (b_addr_i), .c_addr_i (c_addr_i), .p_addr_i (p_addr_i),
    .m_i (m_i), .n_i (n_i), .k_i (k_i), .lda_i (lda_i), .ldb_i (ldb_i), .ldc_i (ldc_i),
    .out_int32_i (out_int32),
    .jobs_computed_i (jobs_computed), .blocks_drained_i (blocks_drained),
    .jobs_loaded_o (jobs_loaded), .seq_done_o (seq_done), .placer_idle_o (placer_idle),
    .state_o (loader_state),
    .rd_cmd_valid_o (rd_cmd_valid_o), .rd_cmd_ready_i (rd_cmd_ready_i),
    .rd_cmd_addr_o (rd_cmd_addr_o), .rd_cmd_beats_o (rd_cmd_beats_o),
    .beat_valid_i (rd_beat_valid_i), .beat_ready_o (rd_beat_ready_o), .beat_data_i (rd_beat_data_i),
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
    .clk_i (clk_i), .rst_ni (rst_ni), .start_i (start_i),
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
    .clk_i (clk_i), .rst_ni (rst_ni), .start_i (start_i),
    .ldc_i (ldc_i), .out_int32_i (out_int32), .out_zp_i (out_zp),
    .dblk_valid_i (dblk_valid), .dblk_ready_o (dblk_ready), .dblk_i (dblk),
    .blocks_computed_i (blocks_computed), .blocks_drained_o (blocks_drained),
    .idle_o (drain_idle), .state_o (drain_state),
    .acc_addr_o (drain_acc_addr), .zp_addr_o (drain_zp_addr),
    .acc_row_o (drain_row), .acc_col_o (drain_col),
    .acc_i (drain_acc), .zp_sum_i (drain_zp),
    .p_raddr_o (p_raddr), .bias_i (bias_mem_q[p_raddr]), .mult_i (mult_mem_q[p_raddr]),
    .shift_i (shift_mem_q[p_raddr]),
    .wr_cmd_valid_o (wr_cmd_valid_o), .wr_cmd_ready_i (wr_cmd_ready_i),
    .wr_cmd_addr_o (wr_cmd_addr_o), .wr_cmd_beats_o (wr_cmd_beats_o),
    .wbeat_valid_o (wr_beat_valid_o), .wbeat_ready_i (wr_beat_ready_i),
    .wbeat_data_o (wr_beat_data_o), .wbeat_strb_o (wr_beat_strb_o)
  );

  // ------------------------------------------------------------ status
  // The array had work pending (a job handed out but not startable, or
  // none handed out yet) and did nothing: it waited on memory.
  assign stall_o = !compute_busy
                   && (compute_waiting || (!seq_done && compute_state == 4'd0));
  assign busy_o          = compute_busy;
  assign macs_o          = 32'(step_macs);
  assign idle_o          = seq_done && placer_idle && compute_idle && drain_idle;
  assign loader_state_o  = loader_state;
  assign compute_state_o = compute_state;
  assign drain_state_o   = drain_state;

endmodule
