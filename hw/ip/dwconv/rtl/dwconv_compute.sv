// dwconv_compute: steps the lanes' PEs over every output pixel, one tap per
// cycle.
//
// Per group, output row oy, output column ox and tap (ky, kx) in row-major
// order, a tap reads pixel (oy*s + ky, ox*s + kx) of the group's plane from
// the line buffer and the tap's codes from the group's half of the weight
// bank; lane l's PE (one kiln_pe per lane) gets byte l and code l. An output
// row starts once its K input rows have landed (which means its group's tap
// records have too: the loader reads them before the group's rows); there
// is no bubble between taps, pixels, rows or groups.
//
// Each lane sums its PE's products (32-bit, wrapping). The PE's latency is
// the design's business, not this unit's: every tap's {first, last, bank}
// tag waits in a queue until lane 0's PE hands back that tap's products
// (valid_o follows valid_i in order after a fixed latency). A pixel's last
// product moves the lanes' sums into hold bank (pixel & 1), which the drain
// empties. The last tap of pixel p issues only once the drain is done with
// pixel p-2, the bank's previous owner, so pixel p's other taps overlap the
// drain of p-2. Waiting at the first tap instead (at most one pixel held)
// leaves the PEs idle for the PE latency plus a few cycles every other
// pixel: 5 to 14 points of utilisation on 3x3 layers with 1- to 3-cycle PEs.
//
// Input rows go back to the loader in order as output rows finish: rows
// oy*s..oy*s+s-1 after row oy, all the group's remaining rows after its last
// output row. A row is released in the cycle its last tap is read, which is
// safe: the loader can only refill the slot from a command issued later.
module dwconv_compute #(
  parameter int unsigned Lanes    = 16,  // channels per group, one PE each
  parameter int unsigned WBits    = 4,   // bits per weight code
  parameter int unsigned RingRows = 10,  // line-buffer ring slots
  parameter int unsigned SlotW    = 4,   // ring slot index bits
  parameter int unsigned ColW     = 7,   // line-buffer column bits
  parameter int unsigned TapW     = 5,   // tap index bits of the weight bank
  parameter int unsigned PairW    = 3    // lane pair index bits, clog2(Lanes / 2)
) (
  input  logic                     clk_i,
  input  logic                     rst_ni,
  input  logic                     start_i,            // a run begins: clear the counters
  input  logic                     go_i,               // the run constants are valid: begin
  // Run constants.
  input  logic [31:0]              chans_i,            // C
  input  logic [31:0]              ho_i,               // output rows
  input  logic [31:0]              wo_i,               // output columns
  input  logic [3:0]               kern_i,             // K
  input  logic [3:0]               stride_i,           // s
  // Progress of the other units.
  input  logic [31:0]              rows_landed_i,      // input rows in the line buffer
  input  logic [31:0]              pixels_drained_i,   // pixels the drain has taken from the hold banks
  output logic [31:0]              rows_released_o,    // input rows this unit is done with
  output logic [31:0]              pixels_computed_o,  // pixels whose sums are in a hold bank
  // Status.
  output logic                     idle_o,             // nothing to issue, no product in flight
  output logic                     busy_o,             // a tap issued this cycle
  output logic                     stall_o,            // there was a tap to issue and it could not
  output logic [5:0]               macs_o,             // lanes doing useful work this cycle
  output logic [3:0]               state_o,
  // Buffer reads (registered: the data comes back the next cycle).
  output logic                     buf_re_o,
  output logic [SlotW+ColW-1:0]    lb_raddr_o,         // {slot, column}
  output logic [TapW:0]            wb_raddr_o,         // {half, tap}
  input  logic [Lanes*8-1:0]       lb_rdata_i,         // lane l's pixel byte at [l*8 +: 8]
  input  logic [Lanes*WBits-1:0]   codes_i,            // lane l's code at [l*WBits +: WBits]
  // Hold banks, read by the drain two lanes at a time (combinational).
  input  logic                     hold_bank_i,
  input  logic [PairW-1:0]         hold_pair_i,
  output logic [63:0]              hold_data_o         // {lane 2j+1, lane 2j} sums
);

  // Taps between issue and the PEs' outputs: PE latency + 1 of them, so a PE
  // slower than TagDepth - 2 cycles makes issue wait (correct, but slower).
  localparam int unsigned TagDepth = 8;

  // STATE.COMPUTE codes.
  localparam logic [3:0] CIdle    = 4'd0;
  localparam logic [3:0] CRun     = 4'd1;  // issued a tap
  localparam logic [3:0] CRows    = 4'd2;  // waiting for the output row's input rows
  localparam logic [3:0] CHold    = 4'd3;  // waiting for a hold bank
  localparam logic [3:0] CPipe    = 4'd4;  // waiting for room in the tag queue
  localparam logic [3:0] CFlush   = 4'd5;  // every tap issued, products in flight

  // (slot + n) mod RingRows, for slot < RingRows and n <= RingRows.
  function automatic logic [SlotW-1:0] slot_add(logic [SlotW-1:0] slot, logic [3:0] n);
    logic [7:0] total;
    total = 8'(slot) + 8'(n);
    if (total >= 8'(RingRows)) total = total - 8'(RingRows);
    slot_add = SlotW'(total);
  endfunction

  logic             active_q;
  logic [31:0]      ch_left_q;   // channels of this group and the ones after it
  logic             half_q;
  logic [31:0]      oy_q;
  logic [15:0]      ox_q;
  logic [3:0]       kx_q, ky_q;
  logic [TapW-1:0]  tap_q;
  logic [SlotW-1:0] slot0_q;     // slot of input row oy*s
  logic [SlotW-1:0] slot_q;      // slot of input row oy*s + ky
  logic [ColW-1:0]  col0_q;      // ox*s
  logic [ColW-1:0]  col_q;       // ox*s + kx
  logic [31:0]      need_q;      // rows that must have landed for this output row
  logic [31:0]      released_q;
  logic [31:0]      pix_q;       // pixel being issued, counted across the run

  logic last_kx, last_ky, first_tap, last_tap, last_ox, last_oy, last_grp;
  logic rows_ok, hold_ok, tag_room, issue;

  assign last_kx   = (kx_q == kern_i - 4'd1);
  assign last_ky   = (ky_q == kern_i - 4'd1);
  assign first_tap = (kx_q == 4'd0) && (ky_q == 4'd0);
  assign last_tap  = last_kx && last_ky;
  assign last_ox   = (32'(ox_q) == wo_i - 32'd1);
  assign last_oy   = (oy_q == ho_i - 32'd1);
  assign last_grp  = (ch_left_q <= 32'(Lanes));

  assign rows_ok = (rows_landed_i >= need_q);
  assign hold_ok = !last_tap || ((pix_q - pixels_drained_i) < 32'd2);
  assign issue   = active_q && rows_ok && hold_ok && tag_room;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      active_q   <= 1'b0;
      ch_left_q  <= '0;
      half_q     <= 1'b0;
      oy_q       <= '0;
      ox_q       <= '0;
      kx_q       <= '0;
      ky_q       <= '0;
      tap_q      <= '0;
      slot0_q    <= '0;
      slot_q     <= '0;
      col0_q     <= '0;
      col_q      <= '0;
      need_q     <= '0;
      released_q <= '0;
      pix_q      <= '0;
    end else if (start_i) begin
      released_q <= '0;
      pix_q      <= '0;
    end else if (go_i) begin
      active_q  <= 1'b1;
      ch_left_q <= chans_i;
      half_q    <= 1'b0;
      oy_q      <= '0;
      ox_q      <= '0;
      kx_q      <= '0;
      ky_q      <= '0;
      tap_q     <= '0;
      slot0_q   <= '0;
      slot_q    <= '0;
      col0_q    <= '0;
      col_q     <= '0;
      need_q    <= 32'(kern_i);
    end else if (issue) begin
      if (!last_kx) begin
        kx_q  <= kx_q + 4'd1;
        col_q <= col_q + ColW'(1);
        tap_q <= tap_q + TapW'(1);
      end else if (!last_ky) begin
        kx_q   <= '0;
        ky_q   <= ky_q + 4'd1;
        slot_q <= slot_add(slot_q, 4'd1);
        col_q  <= col0_q;
        tap_q  <= tap_q + TapW'(1);
      end else begin
        // The pixel's last tap.
        kx_q  <= '0;
        ky_q  <= '0;
        tap_q <= '0;
        pix_q <= pix_q + 32'd1;
        if (!last_ox) begin
          ox_q   <= ox_q + 16'd1;
          col0_q <= col0_q + ColW'(stride_i);
          col_q  <= col0_q + ColW'(stride_i);
          slot_q <= slot0_q;
        end else begin
          ox_q   <= '0;
          col0_q <= '0;
          col_q  <= '0;
          if (!last_oy) begin
            // Input rows oy*s.. oy*s+s-1 are done with.
            oy_q       <= oy_q + 32'd1;
            need_q     <= need_q + 32'(stride_i);
            released_q <= released_q + 32'(stride_i);
            slot0_q    <= slot_add(slot0_q, stride_i);
            slot_q     <= slot_add(slot0_q, stride_i);
          end else begin
            // The group's last output row: its remaining K rows are done
            // with, and the next group's rows start right after them.
            oy_q       <= '0;
            need_q     <= need_q + 32'(kern_i);
            released_q <= released_q + 32'(kern_i);
            slot0_q    <= slot_add(slot0_q, kern_i);
            slot_q     <= slot_add(slot0_q, kern_i);
            if (last_grp) begin
              active_q <= 1'b0;
            end else begin
              ch_left_q <= ch_left_q - 32'(Lanes);
              half_q    <= !half_q;
            end
          end
        end
      end
    end
  end

  assign buf_re_o   = issue;
  assign lb_raddr_o = {slot_q, col_q};
  assign wb_raddr_o = {half_q, tap_q};

  assign rows_released_o = released_q;
  assign busy_o          = issue;
  assign stall_o         = active_q && !issue;
  assign macs_o          = issue ? (last_grp ? 6'(ch_left_q) : 6'(Lanes)) : 6'd0;

  // ---------------------------------------------------------------- lanes
  // Stage 1: the buffers' data is out; the PEs take it.
  logic v1_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      v1_q <= 1'b0;
    end else begin
      v1_q <= issue;
    end
  end

  logic [Lanes-1:0]    pe_valid;
  logic [Lanes*16-1:0] pe_prod;

  for (genvar l = 0; l < Lanes; l++) begin : g_lane
    kiln_pe u_pe (
      .clk_i   (clk_i),
      .rst_ni  (rst_ni),
      .valid_i (v1_q),
      .act_i   (lb_rdata_i[l*8 +: 8]),
      .wcode_i (codes_i[l*WBits +: WBits]),
      .valid_o (pe_valid[l]),
      .prod_o  (pe_prod[l*16 +: 16])
    );
  end

  // Tags of the taps between issue and the PEs' outputs.
  logic       t_first, t_last, t_bank, tag_rvalid;
  logic [7:0] tag_count;

  kiln_fifo #(.Width(3), .Depth(TagDepth)) u_tag_fifo (
    .clk_i (clk_i), .rst_ni (rst_ni), .clr_i (start_i),
    .wvalid_i (issue), .wready_o (tag_room), .wdata_i ({first_tap, last_tap, pix_q[0]}),
    .rvalid_o (tag_rvalid), .rready_i (pe_valid[0]), .rdata_o ({t_first, t_last, t_bank}),
    .count_o (tag_count)
  );

  // Accumulators and hold banks: lane l at [l*32 +: 32]. Datapath only (the
  // tags qualify them), so no reset.
  logic [Lanes*32-1:0] acc_q, hold0_q, hold1_q, sum;

  always_comb begin
    for (int l = 0; l < Lanes; l++) begin
      sum[l*32 +: 32] = (t_first ? 32'd0 : acc_q[l*32 +: 32])
                        + {{16{pe_prod[l*16 + 15]}}, pe_prod[l*16 +: 16]};
    end
  end

  always_ff @(posedge clk_i) begin
    for (int l = 0; l < Lanes; l++) begin
      if (pe_valid[l]) begin
        if (!t_last) acc_q[l*32 +: 32] <= sum[l*32 +: 32];
        else if (t_bank) hold1_q[l*32 +: 32] <= sum[l*32 +: 32];
        else hold0_q[l*32 +: 32] <= sum[l*32 +: 32];
      end
    end
  end

  logic [31:0] computed_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      computed_q <= '0;
    end else if (start_i) begin
      computed_q <= '0;
    end else if (pe_valid[0] && tag_rvalid && t_last) begin
      computed_q <= computed_q + 32'd1;
    end
  end

  assign pixels_computed_o = computed_q;
  assign hold_data_o = hold_bank_i ? hold1_q[32'(hold_pair_i)*64 +: 64]
                                   : hold0_q[32'(hold_pair_i)*64 +: 64];

  assign idle_o = !active_q && (tag_count == 8'd0);

  always_comb begin
    if (issue) state_o = CRun;
    else if (!active_q) state_o = (tag_count != 8'd0) ? CFlush : CIdle;
    else if (!rows_ok) state_o = CRows;
    else if (!hold_ok) state_o = CHold;
    else state_o = CPipe;
  end

endmodule
