// kiln_burst_len: length of the next AXI4 INCR burst of 64-bit beats.
//
// The burst is as long as the remaining beats allow, at most MaxBeats, and
// never crosses a 4 KiB boundary (AXI4 forbids it). Purely combinational;
// the read and write masters share it so their bursts split identically.
module kiln_burst_len #(
  parameter int unsigned MaxBeats = 16  // longest burst, 1..256 beats
) (
  input  logic [8:0]  page_beat_i,  // beat index of the first beat within its 4 KiB page (address bits 11:3)
  input  logic [31:0] remaining_i,  // beats still to transfer, at least 1
  output logic [8:0]  beats_o       // beats in this burst, 1..MaxBeats
);

  logic [9:0]  to_boundary;  // beats before the next 4 KiB boundary, 1..512
  logic [31:0] limit;

  assign to_boundary = 10'd512 - {1'b0, page_beat_i};
  assign limit       = (to_boundary < 10'(MaxBeats)) ? 32'(to_boundary) : 32'(MaxBeats);
  assign beats_o     = (remaining_i < limit) ? 9'(remaining_i) : 9'(limit);

endmodule
