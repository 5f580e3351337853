// kiln_axi_rd_master: AXI4 read master for 64-bit INCR bursts.
//
// Takes segments (a start address and a beat count) and splits each into
// bursts (kiln_axi_addr_gen), keeping up to Outstanding bursts in flight. Read data comes back in
// request order (one ID), so the consumer places beats by walking the same
// segment sequence; this module only passes R beats through.
module kiln_axi_rd_master #(
  parameter int unsigned MaxBeats    = 16,  // longest burst, 1..256
  parameter int unsigned Outstanding = 8    // bursts in flight, 1..255
) (
  input  logic        clk_i,
  input  logic        rst_ni,
  input  logic        clr_i,         // start of a run: clear the error flag
  // Segment commands.
  input  logic        cmd_valid_i,
  output logic        cmd_ready_o,   // idle: the previous segment is fully requested
  input  logic [63:0] cmd_addr_i,    // 8-byte aligned
  input  logic [31:0] cmd_beats_i,   // at least 1
  // Read beats, in request order.
  output logic        beat_valid_o,
  input  logic        beat_ready_i,
  output logic [63:0] beat_data_o,
  // Status.
  output logic [7:0]  outstanding_o, // bursts requested, last beat not yet received
  output logic        error_o,       // a beat came back with SLVERR or DECERR (resp >= 2) since clr_i
  // AXI4 read address channel.
  output logic        m_arvalid_o,
  input  logic        m_arready_i,
  output logic [63:0] m_araddr_o,
  output logic [7:0]  m_arlen_o,
  output logic [2:0]  m_arsize_o,
  output logic [1:0]  m_arburst_o,
  // AXI4 read data channel.
  input  logic        m_rvalid_i,
  output logic        m_rready_o,
  input  logic [63:0] m_rdata_i,
  input  logic [1:0]  m_rresp_i,
  input  logic        m_rlast_i
);

  logic [7:0] outstanding_q;
  logic       error_q;
  logic       ar_fire, r_last_fire;

  kiln_axi_addr_gen #(.MaxBeats(MaxBeats)) u_addr (
    .clk_i         (clk_i),
    .rst_ni        (rst_ni),
    .cmd_valid_i   (cmd_valid_i),
    .cmd_ready_o   (cmd_ready_o),
    .cmd_addr_i    (cmd_addr_i),
    .cmd_beats_i   (cmd_beats_i),
    .allow_i       (outstanding_q < 8'(Outstanding)),
    .ax_valid_o    (m_arvalid_o),
    .ax_ready_i    (m_arready_i),
    .ax_addr_o     (m_araddr_o),
    .ax_len_o      (m_arlen_o),
    .burst_beats_o (),
    .fire_o        (ar_fire)
  );

  assign m_arsize_o  = 3'd3;   // 8 bytes per beat
  assign m_arburst_o = 2'b01;  // INCR

  assign beat_valid_o = m_rvalid_i;
  assign beat_data_o  = m_rdata_i;
  assign m_rready_o   = beat_ready_i;
  assign r_last_fire  = m_rvalid_i && beat_ready_i && m_rlast_i;

  assign outstanding_o = outstanding_q;
  assign error_o       = error_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      outstanding_q <= '0;
      error_q       <= 1'b0;
    end else begin
      if (ar_fire && !r_last_fire) outstanding_q <= outstanding_q + 8'd1;
      else if (r_last_fire && !ar_fire) outstanding_q <= outstanding_q - 8'd1;
      if (clr_i) error_q <= 1'b0;
      else if (m_rvalid_i && beat_ready_i && (m_rresp_i >= 2'b10)) error_q <= 1'b1;
    end
  end

endmodule
