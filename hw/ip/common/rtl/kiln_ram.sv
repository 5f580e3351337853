// kiln_ram: a simple dual-port memory: one write port and one registered
// read port, Width-bit words. Operand buffers of both engines use it; it
// maps to block RAM.
module kiln_ram #(
  parameter int unsigned Words = 64,  // depth in words
  parameter int unsigned AddrW = 6,   // address bits, clog2(Words)
  parameter int unsigned Width = 64   // bits per word
) (
  input  logic             clk_i,
  input  logic             we_i,     // write wdata_i at waddr_i this cycle
  input  logic [AddrW-1:0] waddr_i,
  input  logic [Width-1:0] wdata_i,
  input  logic             re_i,     // read raddr_i; rdata_o holds it next cycle
  input  logic [AddrW-1:0] raddr_i,
  output logic [Width-1:0] rdata_o
);

  logic [Width-1:0] mem_q [Words];
  logic [Width-1:0] rdata_q;

  always_ff @(posedge clk_i) begin
    if (we_i) mem_q[waddr_i] <= wdata_i;
  end

  always_ff @(posedge clk_i) begin
    if (re_i) rdata_q <= mem_q[raddr_i];
  end

  assign rdata_o = rdata_q;

endmodule
