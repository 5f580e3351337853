// kiln_run_status: the run flag, the performance counters and the STATE
// word every engine reports through kiln_ctrl_regs. Counters clear on
// start_i and count while a run is in progress, the cycle of done_i
// included.
module kiln_run_status (
  input  logic        clk_i,
  input  logic        rst_ni,
  input  logic        start_i,
  input  logic        done_i,
  output logic        running_o,
  // What happened this cycle.
  input  logic        busy_i,        // the compute engine issued a step
  input  logic        stall_i,       // it waited for operands or the output path
  input  logic [31:0] macs_i,        // useful MACs completed
  input  logic        rd_beat_i,     // a read beat was accepted
  input  logic        wr_beat_i,     // a write beat was accepted ...
  input  logic [7:0]  wr_strb_i,     // ... with these byte strobes
  // The engines' state, for the STATE register.
  input  logic [3:0]  loader_state_i,
  input  logic [3:0]  compute_state_i,
  input  logic [3:0]  drain_state_i,
  input  logic [7:0]  rd_outstanding_i,
  input  logic [7:0]  wr_outstanding_i,
  input  logic        bus_error_i,
  output logic [63:0] cycles_o,
  output logic [63:0] busy_o,
  output logic [63:0] stall_o,
  output logic [63:0] macs_o,
  output logic [63:0] rd_bytes_o,
  output logic [63:0] wr_bytes_o,
  output logic [31:0] state_o
);

  logic        running_q;
  logic [63:0] cycles_q, busy_q, stall_q, macs_q, rd_bytes_q, wr_bytes_q;

  logic [3:0] wr_bytes;
  assign wr_bytes = 4'(wr_strb_i[0]) + 4'(wr_strb_i[1]) + 4'(wr_strb_i[2]) + 4'(wr_strb_i[3])
                  + 4'(wr_strb_i[4]) + 4'(wr_strb_i[5]) + 4'(wr_strb_i[6]) + 4'(wr_strb_i[7]);

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      running_q  <= 1'b0;
      cycles_q   <= '0;
      busy_q     <= '0;
      stall_q    <= '0;
      macs_q     <= '0;
      rd_bytes_q <= '0;
      wr_bytes_q <= '0;
    end else if (start_i) begin
      running_q  <= 1'b1;
      cycles_q   <= '0;
      busy_q     <= '0;
      stall_q    <= '0;
      macs_q     <= '0;
      rd_bytes_q <= '0;
      wr_bytes_q <= '0;
    end else if (running_q) begin
      if (done_i) running_q <= 1'b0;
      cycles_q <= cycles_q + 64'd1;
      if (busy_i) busy_q <= busy_q + 64'd1;
      if (stall_i) stall_q <= stall_q + 64'd1;
      macs_q <= macs_q + 64'(macs_i);
      if (rd_beat_i) rd_bytes_q <= rd_bytes_q + 64'd8;
      if (wr_beat_i) wr_bytes_q <= wr_bytes_q + 64'(wr_bytes);
    end
  end

  assign running_o  = running_q;
  assign cycles_o   = cycles_q;
  assign busy_o     = busy_q;
  assign stall_o    = stall_q;
  assign macs_o     = macs_q;
  assign rd_bytes_o = rd_bytes_q;
  assign wr_bytes_o = wr_bytes_q;

  always_comb begin
    state_o = 32'd0;
    state_o[kiln_reg_pkg::KILN_STATE_LOADER_LSB +: 4]         = loader_state_i;
    state_o[kiln_reg_pkg::KILN_STATE_COMPUTE_LSB +: 4]        = compute_state_i;
    state_o[kiln_reg_pkg::KILN_STATE_DRAIN_LSB +: 4]          = drain_state_i;
    state_o[kiln_reg_pkg::KILN_STATE_RD_OUTSTANDING_LSB +: 8] = rd_outstanding_i;
    state_o[kiln_reg_pkg::KILN_STATE_WR_OUTSTANDING_LSB +: 8] = wr_outstanding_i;
    state_o[kiln_reg_pkg::KILN_STATE_BUS_ERROR_LSB]           = bus_error_i;
  end

endmodule
