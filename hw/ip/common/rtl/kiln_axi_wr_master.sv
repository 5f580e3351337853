// kiln_axi_wr_master: AXI4 write master for 64-bit INCR bursts.
//
// Segments (start address, beat count) are split into bursts exactly as the
// read master splits them (kiln_axi_addr_gen). Write data arrives as a stream
// of beats with byte strobes, in segment order; the length of every issued
// burst is queued so that WLAST falls on the right beat even when W runs
// behind AW. `idle_o` is high once every burst has its write response.
module kiln_axi_wr_master #(
  parameter int unsigned MaxBeats    = 16,  // longest burst, 1..256
  parameter int unsigned Outstanding = 8    // bursts awaiting a response, 2..255
) (
  input  logic        clk_i,
  input  logic        rst_ni,
  input  logic        clr_i,          // start of a run: clear the error flag
  // Segment commands.
  input  logic        cmd_valid_i,
  output logic        cmd_ready_o,
  input  logic [63:0] cmd_addr_i,     // 8-byte aligned
  input  logic [31:0] cmd_beats_i,    // at least 1
  // Write beats, in segment order.
  input  logic        beat_valid_i,
  output logic        beat_ready_o,
  input  logic [63:0] beat_data_i,
  input  logic [7:0]  beat_strb_i,
  // Status.
  output logic        idle_o,         // no segment pending, every burst acknowledged
  output logic [7:0]  outstanding_o,  // bursts issued and not yet acknowledged
  output logic        error_o,        // a response was SLVERR or DECERR since clr_i
  // AXI4 write address channel.
  output logic        m_awvalid_o,
  input  logic        m_awready_i,
  output logic [63:0] m_awaddr_o,
  output logic [7:0]  m_awlen_o,
  output logic [2:0]  m_awsize_o,
  output logic [1:0]  m_awburst_o,
  // AXI4 write data channel.
  output logic        m_wvalid_o,
  input  logic        m_wready_i,
  output logic [63:0] m_wdata_o,
  output logic [7:0]  m_wstrb_o,
  output logic        m_wlast_o,
  // AXI4 write response channel.
  input  logic        m_bvalid_i,
  output logic        m_bready_o,
  input  logic [1:0]  m_bresp_i
);

  logic [7:0]  outstanding_q;
  logic        error_q;
  logic [8:0]  burst_beats;
  logic        aw_fire, w_fire, b_fire;
  logic        len_wready, len_rvalid;
  logic [8:0]  len_head;
  logic [8:0]  wbeat_q;  // beats sent of the burst at the head of the length queue
  logic        w_last;
  logic        seg_idle;

  kiln_axi_addr_gen #(.MaxBeats(MaxBeats)) u_addr (
    .clk_i         (clk_i),
    .rst_ni        (rst_ni),
    .cmd_valid_i   (cmd_valid_i),
    .cmd_ready_o   (seg_idle),
    .cmd_addr_i    (cmd_addr_i),
    .cmd_beats_i   (cmd_beats_i),
    .allow_i       ((outstanding_q < 8'(Outstanding)) && len_wready),
    .ax_valid_o    (m_awvalid_o),
    .ax_ready_i    (m_awready_i),
    .ax_addr_o     (m_awaddr_o),
    .ax_len_o      (m_awlen_o),
    .burst_beats_o (burst_beats),
    .fire_o        (aw_fire)
  );

  // Lengths of bursts whose address is out and whose data is not yet sent.
  kiln_fifo #(.Width(9), .Depth(Outstanding)) u_len_fifo (
    .clk_i    (clk_i),
    .rst_ni   (rst_ni),
    .clr_i    (1'b0),
    .wvalid_i (aw_fire),
    .wready_o (len_wready),
    .wdata_i  (burst_beats),
    .rvalid_o (len_rvalid),
    .rready_i (w_fire && w_last),
    .rdata_o  (len_head),
    .count_o  ()
  );

  assign cmd_ready_o = seg_idle;
  assign m_awsize_o  = 3'd3;
  assign m_awburst_o = 2'b01;

  assign w_last       = (wbeat_q == len_head - 9'd1);
  assign m_wvalid_o   = beat_valid_i && len_rvalid;
  assign m_wdata_o    = beat_data_i;
  assign m_wstrb_o    = beat_strb_i;
  assign m_wlast_o    = w_last;
  assign beat_ready_o = m_wready_i && len_rvalid;
  assign w_fire       = m_wvalid_o && m_wready_i;

  assign m_bready_o = 1'b1;
  assign b_fire     = m_bvalid_i;

  assign idle_o        = seg_idle && (outstanding_q == '0);
  assign outstanding_o = outstanding_q;
  assign error_o       = error_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      outstanding_q <= '0;
      wbeat_q       <= '0;
      error_q       <= 1'b0;
    end else begin
      if (aw_fire && !b_fire) outstanding_q <= outstanding_q + 8'd1;
      else if (b_fire && !aw_fire) outstanding_q <= outstanding_q - 8'd1;
      if (w_fire) wbeat_q <= w_last ? 9'd0 : wbeat_q + 9'd1;
      if (clr_i) error_q <= 1'b0;
      else if (b_fire && (m_bresp_i >= 2'b10)) error_q <= 1'b1;
    end
  end

endmodule
