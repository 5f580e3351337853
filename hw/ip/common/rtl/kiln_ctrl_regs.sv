// kiln_ctrl_regs: AXI4-Lite slave holding the accelerator's control
// registers, laid out by the generated package kiln_reg_pkg (source:
// hw/regs/kiln.toml). Run control follows XRT's ap_ctrl_hs convention:
// software writes the arguments, sets CTRL.AP_START, and waits for
// CTRL.AP_DONE or the interrupt.
//
// One write (AW and W together) or one read is in flight at a time; that is
// all a control port needs. Unmapped offsets read as zero and ignore writes.
module kiln_ctrl_regs #(
  parameter logic [31:0] DesignId = 32'd0,   // FNV-1a of the design name
  // The identity registers' values; what each means for an engine is in
  // hw/regs/kiln.toml and the engine's own docs.
  parameter int unsigned Engine   = 0,       // ENGINE.KIND (hw/engines.toml)
  parameter int unsigned Block    = 0,       // ENGINE.BLOCK
  parameter int unsigned Rows     = 8,       // ARRAY.ROWS
  parameter int unsigned Cols     = 8,       // ARRAY.COLS
  parameter int unsigned PeKind   = 0,       // ARRAY.PE_KIND
  parameter int unsigned WBits    = 4,       // ARRAY.WEIGHT_BITS
  parameter int unsigned KDepth   = 256,     // BUFFERS.K_DEPTH
  parameter int unsigned MTiles   = 4,       // BUFFERS.M_TILES
  parameter int unsigned NTiles   = 4        // BUFFERS.N_TILES
) (
  input  logic        clk_i,
  input  logic        rst_ni,
  // AXI4-Lite slave.
  input  logic        s_awvalid_i,
  output logic        s_awready_o,
  // Address bits 1:0 select a byte within a word; registers are whole
  // words (byte lanes come from WSTRB), so they are ignored.
  /* verilator lint_off UNUSEDSIGNAL */
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
  /* verilator lint_on UNUSEDSIGNAL */
  output logic        s_rvalid_o,
  input  logic        s_rready_i,
  output logic [31:0] s_rdata_o,
  output logic [1:0]  s_rresp_o,
  // Run control.
  output logic        start_o,        // one-cycle pulse: a run begins with the arguments below
  input  logic        done_i,         // one-cycle pulse: the run has finished
  output logic        irq_o,          // level interrupt (GIE and an enabled ISR bit)
  // Arguments, stable while a run is in progress.
  output logic [63:0] a_addr_o,
  output logic [63:0] b_addr_o,
  output logic [63:0] c_addr_o,
  output logic [63:0] p_addr_o,
  output logic [31:0] m_o,
  output logic [31:0] n_o,
  output logic [31:0] k_o,
  output logic [31:0] lda_o,
  output logic [31:0] ldb_o,
  output logic [31:0] ldc_o,
  output logic [31:0] mode_o,         // MODE, whole: each engine decodes its own fields
  // Counters and state, read-only to software.
  input  logic [63:0] cycles_i,
  input  logic [63:0] busy_i,
  input  logic [63:0] stall_i,
  input  logic [63:0] macs_i,
  input  logic [63:0] rd_bytes_i,
  input  logic [63:0] wr_bytes_i,
  input  logic [31:0] state_i,
  input  logic [31:0] jobs_loaded_i,
  input  logic [31:0] jobs_computed_i,
  input  logic [31:0] blocks_drained_i
);

  // Argument registers, indexed by (offset - 0x10) / 4.
  localparam int unsigned NumArgs = 15;
  logic [31:0] args_q [NumArgs];

  // The arguments have no reset: software writes every one before a start.

  logic ap_start_q, ap_done_q, ap_idle_q, ap_ready_q, auto_restart_q;
  logic gie_q;
  logic [1:0] ier_q, isr_q;

  logic        bvalid_q, rvalid_q;
  logic [31:0] rdata_q;
  logic        wr_fire, rd_fire;
  logic [7:0]  waddr, raddr;

  assign waddr = {s_awaddr_i[7:2], 2'b00};
  assign raddr = {s_araddr_i[7:2], 2'b00};

  assign s_awready_o = s_awvalid_i && s_wvalid_i && !bvalid_q;
  assign s_wready_o  = s_awready_o;
  assign wr_fire     = s_awready_o;
  assign s_bvalid_o  = bvalid_q;
  assign s_bresp_o   = 2'b00;

  assign s_arready_o = !rvalid_q;
  assign rd_fire     = s_arvalid_i && s_arready_o;
  assign s_rvalid_o  = rvalid_q;
  assign s_rdata_o   = rdata_q;
  assign s_rresp_o   = 2'b00;

  assign start_o = ap_start_q && ap_idle_q;
  assign irq_o   = gie_q && ((isr_q & ier_q) != 2'b00);

  assign a_addr_o    = {args_q[1], args_q[0]};
  assign b_addr_o    = {args_q[3], args_q[2]};
  assign c_addr_o    = {args_q[5], args_q[4]};
  assign p_addr_o    = {args_q[7], args_q[6]};
  assign m_o         = args_q[8];
  assign n_o         = args_q[9];
  assign k_o         = args_q[10];
  assign lda_o       = args_q[11];
  assign ldb_o       = args_q[12];
  assign ldc_o       = args_q[13];
  assign mode_o      = args_q[14];

  // What a write or a read does is worked out under its fire, in the
  // registers' processes: a Verilated model evaluates continuous logic of
  // the bus's inputs on every evaluation (twice a clock), and the bus is
  // idle on nearly all of them.

  // Interrupt status: set by events whose enable is on; a write of 1 toggles.
  function automatic logic [1:0] isr_next(logic write);
    isr_next = isr_q;
    if (write && waddr == kiln_reg_pkg::KILN_ISR_OFFSET && s_wstrb_i[0]) begin
      isr_next = isr_next ^ s_wdata_i[1:0];
    end
    if (done_i && ier_q[0]) isr_next[0] = 1'b1;
    if (done_i && ier_q[1]) isr_next[1] = 1'b1;
  endfunction

  // An argument register after a write of s_wdata_i under s_wstrb_i.
  function automatic logic [31:0] arg_written(logic [31:0] old);
    logic [31:0] wmask;
    wmask       = {{8{s_wstrb_i[3]}}, {8{s_wstrb_i[2]}}, {8{s_wstrb_i[1]}}, {8{s_wstrb_i[0]}}};
    arg_written = (old & ~wmask) | (s_wdata_i & wmask);
  endfunction

  // Read multiplexer: the word at `addr`. A function called where rdata_q
  // loads, so a simulator evaluates it for a read only, not on every clock
  // (s_araddr_i is an input, so as continuous logic it would run on every
  // evaluation).
  function automatic logic [31:0] read_word(logic [7:0] addr);
    logic [31:0] rdata_d;
    rdata_d = 32'd0;
    unique case (addr)
      kiln_reg_pkg::KILN_CTRL_OFFSET: begin
        rdata_d[kiln_reg_pkg::KILN_CTRL_AP_START_LSB]     = ap_start_q;
        rdata_d[kiln_reg_pkg::KILN_CTRL_AP_DONE_LSB]      = ap_done_q;
        rdata_d[kiln_reg_pkg::KILN_CTRL_AP_IDLE_LSB]      = ap_idle_q;
        rdata_d[kiln_reg_pkg::KILN_CTRL_AP_READY_LSB]     = ap_ready_q;
        rdata_d[kiln_reg_pkg::KILN_CTRL_AUTO_RESTART_LSB] = auto_restart_q;
      end
      kiln_reg_pkg::KILN_GIE_OFFSET: rdata_d[kiln_reg_pkg::KILN_GIE_ENABLE_LSB] = gie_q;
      kiln_reg_pkg::KILN_IER_OFFSET: rdata_d[1:0] = ier_q;
      kiln_reg_pkg::KILN_ISR_OFFSET: rdata_d[1:0] = isr_q;
      kiln_reg_pkg::KILN_A_ADDR_LO_OFFSET: rdata_d = args_q[0];
      kiln_reg_pkg::KILN_A_ADDR_HI_OFFSET: rdata_d = args_q[1];
      kiln_reg_pkg::KILN_B_ADDR_LO_OFFSET: rdata_d = args_q[2];
      kiln_reg_pkg::KILN_B_ADDR_HI_OFFSET: rdata_d = args_q[3];
      kiln_reg_pkg::KILN_C_ADDR_LO_OFFSET: rdata_d = args_q[4];
      kiln_reg_pkg::KILN_C_ADDR_HI_OFFSET: rdata_d = args_q[5];
      kiln_reg_pkg::KILN_P_ADDR_LO_OFFSET: rdata_d = args_q[6];
      kiln_reg_pkg::KILN_P_ADDR_HI_OFFSET: rdata_d = args_q[7];
      kiln_reg_pkg::KILN_M_OFFSET:         rdata_d = args_q[8];
      kiln_reg_pkg::KILN_N_OFFSET:         rdata_d = args_q[9];
      kiln_reg_pkg::KILN_K_OFFSET:         rdata_d = args_q[10];
      kiln_reg_pkg::KILN_LDA_OFFSET:       rdata_d = args_q[11];
      kiln_reg_pkg::KILN_LDB_OFFSET:       rdata_d = args_q[12];
      kiln_reg_pkg::KILN_LDC_OFFSET:       rdata_d = args_q[13];
      kiln_reg_pkg::KILN_MODE_OFFSET:      rdata_d = args_q[14];
      kiln_reg_pkg::KILN_MAGIC_OFFSET:     rdata_d = kiln_reg_pkg::KILN_MAGIC;
      kiln_reg_pkg::KILN_VERSION_OFFSET:   rdata_d = kiln_reg_pkg::KILN_REG_VERSION;
      kiln_reg_pkg::KILN_DESIGN_ID_OFFSET: rdata_d = DesignId;
      kiln_reg_pkg::KILN_ARRAY_OFFSET: begin
        rdata_d[kiln_reg_pkg::KILN_ARRAY_ROWS_LSB +: 8]        = 8'(Rows);
        rdata_d[kiln_reg_pkg::KILN_ARRAY_COLS_LSB +: 8]        = 8'(Cols);
        rdata_d[kiln_reg_pkg::KILN_ARRAY_PE_KIND_LSB +: 8]     = 8'(PeKind);
        rdata_d[kiln_reg_pkg::KILN_ARRAY_WEIGHT_BITS_LSB +: 8] = 8'(WBits);
      end
      kiln_reg_pkg::KILN_BUFFERS_OFFSET: begin
        rdata_d[kiln_reg_pkg::KILN_BUFFERS_K_DEPTH_LSB +: 16] = 16'(KDepth);
        rdata_d[kiln_reg_pkg::KILN_BUFFERS_M_TILES_LSB +: 8]  = 8'(MTiles);
        rdata_d[kiln_reg_pkg::KILN_BUFFERS_N_TILES_LSB +: 8]  = 8'(NTiles);
      end
      kiln_reg_pkg::KILN_ENGINE_OFFSET: begin
        rdata_d[kiln_reg_pkg::KILN_ENGINE_KIND_LSB +: 4]  = 4'(Engine);
        rdata_d[kiln_reg_pkg::KILN_ENGINE_BLOCK_LSB +: 8] = 8'(Block);
      end
      kiln_reg_pkg::KILN_CYCLES_LO_OFFSET:      rdata_d = cycles_i[31:0];
      kiln_reg_pkg::KILN_CYCLES_HI_OFFSET:      rdata_d = cycles_i[63:32];
      kiln_reg_pkg::KILN_BUSY_LO_OFFSET:        rdata_d = busy_i[31:0];
      kiln_reg_pkg::KILN_BUSY_HI_OFFSET:        rdata_d = busy_i[63:32];
      kiln_reg_pkg::KILN_STALL_LO_OFFSET:       rdata_d = stall_i[31:0];
      kiln_reg_pkg::KILN_STALL_HI_OFFSET:       rdata_d = stall_i[63:32];
      kiln_reg_pkg::KILN_MACS_LO_OFFSET:        rdata_d = macs_i[31:0];
      kiln_reg_pkg::KILN_MACS_HI_OFFSET:        rdata_d = macs_i[63:32];
      kiln_reg_pkg::KILN_RD_BYTES_LO_OFFSET:    rdata_d = rd_bytes_i[31:0];
      kiln_reg_pkg::KILN_RD_BYTES_HI_OFFSET:    rdata_d = rd_bytes_i[63:32];
      kiln_reg_pkg::KILN_WR_BYTES_LO_OFFSET:    rdata_d = wr_bytes_i[31:0];
      kiln_reg_pkg::KILN_WR_BYTES_HI_OFFSET:    rdata_d = wr_bytes_i[63:32];
      kiln_reg_pkg::KILN_STATE_OFFSET:          rdata_d = state_i;
      kiln_reg_pkg::KILN_JOBS_LOADED_OFFSET:    rdata_d = jobs_loaded_i;
      kiln_reg_pkg::KILN_JOBS_COMPUTED_OFFSET:  rdata_d = jobs_computed_i;
      kiln_reg_pkg::KILN_BLOCKS_DRAINED_OFFSET: rdata_d = blocks_drained_i;
      default: rdata_d = 32'd0;
    endcase
    read_word = rdata_d;
  endfunction

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      bvalid_q       <= 1'b0;
      rvalid_q       <= 1'b0;
      rdata_q        <= 32'd0;
      ap_start_q     <= 1'b0;
      ap_done_q      <= 1'b0;
      ap_idle_q      <= 1'b1;
      ap_ready_q     <= 1'b0;
      auto_restart_q <= 1'b0;
      gie_q          <= 1'b0;
      ier_q          <= 2'b00;
      isr_q          <= 2'b00;
    end else begin
      // Write response and read data handshakes.
      if (wr_fire) bvalid_q <= 1'b1;
      else if (s_bready_i) bvalid_q <= 1'b0;
      if (rd_fire) begin
        rvalid_q <= 1'b1;
        rdata_q  <= read_word(raddr);
      end else if (s_rready_i) begin
        rvalid_q <= 1'b0;
      end

      // Run control. A done pulse and a CTRL read in the same cycle leave
      // AP_DONE set: the read returned the old value, so it must not clear
      // the new one.
      if (start_o) begin
        ap_idle_q  <= 1'b0;
        ap_start_q <= 1'b0;
      end
      if (done_i) begin
        ap_idle_q  <= 1'b1;
        ap_done_q  <= 1'b1;
        ap_ready_q <= 1'b1;
        if (auto_restart_q) ap_start_q <= 1'b1;
      end else if (rd_fire && raddr == kiln_reg_pkg::KILN_CTRL_OFFSET) begin
        ap_done_q  <= 1'b0;
        ap_ready_q <= 1'b0;
      end

      if (wr_fire) begin
        unique case (waddr)
          kiln_reg_pkg::KILN_CTRL_OFFSET: begin
            if (s_wstrb_i[0] && s_wdata_i[kiln_reg_pkg::KILN_CTRL_AP_START_LSB]) ap_start_q <= 1'b1;
            if (s_wstrb_i[0]) auto_restart_q <= s_wdata_i[kiln_reg_pkg::KILN_CTRL_AUTO_RESTART_LSB];
          end
          kiln_reg_pkg::KILN_GIE_OFFSET: if (s_wstrb_i[0]) gie_q <= s_wdata_i[kiln_reg_pkg::KILN_GIE_ENABLE_LSB];
          kiln_reg_pkg::KILN_IER_OFFSET: if (s_wstrb_i[0]) ier_q <= s_wdata_i[1:0];
          default: ;
        endcase
      end

      if (wr_fire || done_i) isr_q <= isr_next(wr_fire);
    end
  end

  // Argument index of a write: (offset - A_ADDR_LO) / 4.
  always_ff @(posedge clk_i) begin
    if (wr_fire && waddr >= kiln_reg_pkg::KILN_A_ADDR_LO_OFFSET
        && waddr <= kiln_reg_pkg::KILN_MODE_OFFSET) begin
      args_q[4'((waddr - kiln_reg_pkg::KILN_A_ADDR_LO_OFFSET) >> 2)]
        <= arg_written(args_q[4'((waddr - kiln_reg_pkg::KILN_A_ADDR_LO_OFFSET) >> 2)]);
    end
  end

endmodule
