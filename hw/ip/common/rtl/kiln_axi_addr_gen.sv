// kiln_axi_addr_gen: the address channel shared by the AXI4 read and write
// masters.
//
// Takes segments (a start address and a beat count) and offers them as
// INCR bursts of 64-bit beats: each as long as the remaining beats allow,
// at most MaxBeats, and never across a 4 KiB boundary (AXI4 forbids it).
// The master says with allow_i whether it has room for one more burst in
// flight; address and length hold still while a burst is offered, as AXI
// requires.
module kiln_axi_addr_gen #(
  parameter int unsigned MaxBeats = 16  // longest burst, 1..256 beats
) (
  input  logic        clk_i,
  input  logic        rst_ni,
  input  logic        cmd_valid_i,
  output logic        cmd_ready_o,    // idle: the previous segment is fully issued
  input  logic [63:0] cmd_addr_i,     // 8-byte aligned
  input  logic [31:0] cmd_beats_i,    // at least 1
  input  logic        allow_i,        // the master may take one more burst
  output logic        ax_valid_o,
  input  logic        ax_ready_i,
  output logic [63:0] ax_addr_o,
  output logic [7:0]  ax_len_o,       // beats - 1
  output logic [8:0]  burst_beats_o,  // beats of the offered burst, 1..MaxBeats
  output logic        fire_o          // the offered burst is accepted this cycle
);

  logic [63:0] addr_q;
  logic [31:0] remaining_q;
  logic [9:0]  to_boundary;  // beats before the next 4 KiB boundary, 1..512
  logic [31:0] limit;

  assign to_boundary   = 10'd512 - {1'b0, addr_q[11:3]};
  assign limit         = (to_boundary < 10'(MaxBeats)) ? 32'(to_boundary) : 32'(MaxBeats);
  assign burst_beats_o = (remaining_q < limit) ? 9'(remaining_q) : 9'(limit);

  assign cmd_ready_o = (remaining_q == '0);
  assign ax_valid_o  = (remaining_q != '0) && allow_i;
  assign ax_addr_o   = addr_q;
  assign ax_len_o    = 8'(burst_beats_o - 9'd1);
  assign fire_o      = ax_valid_o && ax_ready_i;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      addr_q      <= '0;
      remaining_q <= '0;
    end else if (cmd_valid_i && cmd_ready_o) begin
      addr_q      <= cmd_addr_i;
      remaining_q <= cmd_beats_i;
    end else if (fire_o) begin
      addr_q      <= addr_q + {52'd0, burst_beats_o, 3'd0};
      remaining_q <= remaining_q - 32'(burst_beats_o);
    end
  end

endmodule
