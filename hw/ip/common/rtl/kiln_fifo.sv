// kiln_fifo: synchronous first-in first-out queue with valid/ready on both
// sides. Data leaves in the order it came; `count_o` says how many entries
// are held. Storage has no reset: only the pointers and the count do.
module kiln_fifo #(
  parameter int unsigned Width = 8,  // bits per entry
  parameter int unsigned Depth = 4   // entries, at least 2
) (
  input  logic             clk_i,
  input  logic             rst_ni,
  input  logic             clr_i,     // drop every entry (synchronous)
  input  logic             wvalid_i,  // push data_i this cycle if wready_o
  output logic             wready_o,  // there is room for one more entry
  input  logic [Width-1:0] wdata_i,
  output logic             rvalid_o,  // rdata_o holds the oldest entry
  input  logic             rready_i,  // pop the oldest entry this cycle
  output logic [Width-1:0] rdata_o,
  output logic [7:0]       count_o    // entries held (saturates at 255)
);

  localparam int unsigned PtrW = (Depth > 1) ? $clog2(Depth) : 1;

  logic [Width-1:0] mem_q [Depth];
  logic [PtrW-1:0]  wptr_q, rptr_q;
  logic [PtrW:0]    count_q;
  logic             push, pop;

  assign wready_o = (count_q != (PtrW+1)'(Depth));
  assign rvalid_o = (count_q != '0);
  assign push     = wvalid_i && wready_o;
  assign pop      = rvalid_o && rready_i;
  assign rdata_o  = mem_q[rptr_q];
  assign count_o  = 8'(count_q);

  // Pointers and count change only on a push or a pop, and are worked out
  // there: a Verilated model then does nothing for an idle queue (most of
  // them, most of the time) beyond testing the two.
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      wptr_q  <= '0;
      rptr_q  <= '0;
      count_q <= '0;
    end else if (clr_i) begin
      wptr_q  <= '0;
      rptr_q  <= '0;
      count_q <= '0;
    end else if (push || pop) begin
      if (push) wptr_q <= (wptr_q == PtrW'(Depth - 1)) ? '0 : wptr_q + 1'b1;
      if (pop) rptr_q <= (rptr_q == PtrW'(Depth - 1)) ? '0 : rptr_q + 1'b1;
      if (push && !pop) count_q <= count_q + 1'b1;
      else if (pop && !push) count_q <= count_q - 1'b1;
    end
  end

  always_ff @(posedge clk_i) begin
    if (push) mem_q[wptr_q] <= wdata_i;
  end

endmodule
