// dwconv_drain: requantises finished pixels and writes them to C.
//
// It takes the pixels in the order the compute unit finishes them (group,
// output row, output column). Once pixel p's sums are in hold bank (p & 1)
// it reads them two lanes per cycle, lanes 2j and 2j+1 at cycle j, through
// two kiln_requant pipelines that share the stall (en_i), with the lanes'
// bias, multiplier and shift from the group's half of the parameter bank
// (written here by the loader). A pixel of Lanes lanes takes Lanes/2
// cycles, within the K*K cycles of a 3x3 kernel for Lanes <= 16.
//
// Values go into 64-bit beats in lane order: int32 mode, one beat per lane
// pair ({lane 2j+1, lane 2j}); int8 mode, four pairs (eight lanes) per beat.
// A pixel is whole beats (Lanes is a multiple of 8), so every output row of
// Wo pixels is whole beats and goes out as one write command at
// C_ADDR + (g*Ho + oy) * LDC with every byte strobe set; the command is
// queued when the row's first lane pair is taken, ahead of its beats.
//
// pixels_drained_o counts pixels whose last pair has entered the
// requantisers (their hold bank is free), groups_drained_o groups whose
// last pixel has (their parameter and weight halves are free), and
// rows_written_o output rows whose last beat the write port has taken.
// A full beat queue holds the whole pipeline.
module dwconv_drain #(
  parameter int unsigned Lanes = 16,  // channels per group, a multiple of 8
  parameter int unsigned PairW = 3    // lane pair index bits, clog2(Lanes / 2)
) (
  input  logic                 clk_i,
  input  logic                 rst_ni,
  input  logic                 start_i,            // a run begins: clear the counters
  input  logic                 go_i,               // the run constants are valid: begin
  // Run constants.
  input  logic [63:0]          c_addr_i,           // output
  input  logic [31:0]          ldc_i,              // output row stride in bytes
  input  logic [31:0]          chans_i,            // C
  input  logic [31:0]          ho_i,               // output rows
  input  logic [31:0]          wo_i,               // output columns
  input  logic [31:0]          out_beats_i,        // beats per output row
  input  logic                 out_int32_i,        // write int32 sums, not int8
  input  logic [7:0]           out_zp_i,           // output zero point (int8 mode)
  // Progress.
  input  logic [31:0]          pixels_computed_i,  // pixels whose sums are in a hold bank
  output logic [31:0]          pixels_drained_o,
  output logic [31:0]          groups_drained_o,
  output logic [31:0]          rows_written_o,
  output logic                 idle_o,             // nothing pending, in the pipeline or queued
  output logic [3:0]           state_o,
  // Hold bank reads (combinational).
  output logic                 hold_bank_o,
  output logic [PairW-1:0]     hold_pair_o,
  input  logic [63:0]          hold_data_i,        // {lane 2j+1, lane 2j}
  // Parameter bank writes, from the loader.
  input  logic                 p_we_lo_i,          // bias [31:0], multiplier [63:32]
  input  logic                 p_we_hi_i,          // shift [7:0]
  input  logic [PairW+1:0]     p_waddr_i,          // {half, lane}
  input  logic [63:0]          p_wdata_i,
  // Write port.
  output logic                 wr_cmd_valid_o,
  input  logic                 wr_cmd_ready_i,
  output logic [63:0]          wr_cmd_addr_o,
  output logic [31:0]          wr_cmd_beats_o,
  output logic                 wbeat_valid_o,
  input  logic                 wbeat_ready_i,
  output logic [63:0]          wbeat_data_o,
  output logic [7:0]           wbeat_strb_o
);

  localparam int unsigned Pairs  = Lanes / 2;
  localparam int unsigned PWords = 2 << PairW;  // {half, pair}

  // STATE.DRAIN codes.
  localparam logic [3:0] DIdle    = 4'd0;
  localparam logic [3:0] DWait    = 4'd1;  // waiting for the compute unit's next pixel
  localparam logic [3:0] DRun     = 4'd2;  // took a lane pair
  localparam logic [3:0] DBlocked = 4'd3;  // the write queues are full
  localparam logic [3:0] DFlush   = 4'd4;  // every pair taken, beats still leaving

  // ------------------------------------------------------------ parameters
  // Two halves of Lanes records; even and odd lanes apart, so that one read
  // gives a lane pair. Read combinationally.
  logic [31:0] bias_e_q [PWords];
  logic [31:0] mult_e_q [PWords];
  logic [7:0]  shift_e_q [PWords];
  logic [31:0] bias_o_q [PWords];
  logic [31:0] mult_o_q [PWords];
  logic [7:0]  shift_o_q [PWords];
  logic [PairW:0] p_wpair;  // {half, pair}
  logic           p_wodd;
  assign {p_wpair, p_wodd} = p_waddr_i;

  always_ff @(posedge clk_i) begin
    if (p_we_lo_i && !p_wodd) begin
      bias_e_q[p_wpair] <= p_wdata_i[31:0];
      mult_e_q[p_wpair] <= p_wdata_i[63:32];
    end
    if (p_we_lo_i && p_wodd) begin
      bias_o_q[p_wpair] <= p_wdata_i[31:0];
      mult_o_q[p_wpair] <= p_wdata_i[63:32];
    end
    if (p_we_hi_i && !p_wodd) shift_e_q[p_wpair] <= p_wdata_i[7:0];
    if (p_we_hi_i && p_wodd) shift_o_q[p_wpair] <= p_wdata_i[7:0];
  end

  // ------------------------------------------------------------ sequencing
  logic             active_q;
  logic [31:0]      pix_q;       // pixel being drained, counted across the run
  logic [PairW-1:0] j_q;         // lane pair
  logic [15:0]      ox_q;
  logic [31:0]      oy_q;
  logic [31:0]      ch_left_q;
  logic             half_q;
  logic [63:0]      row_addr_q;
  logic [31:0]      groups_q;

  logic adv, take, ready_pix, row_first, last_pair, last_ox, last_oy, last_grp;
  logic cq_ready, cq_valid, wq_ready;
  logic [7:0] cq_count, wq_count;

  assign adv       = wq_ready;
  assign ready_pix = (pixels_computed_i != pix_q);
  assign row_first = (ox_q == 16'd0) && (j_q == '0);
  assign last_pair = (32'(j_q) == 32'(Pairs - 1));
  assign last_ox   = (32'(ox_q) == wo_i - 32'd1);
  assign last_oy   = (oy_q == ho_i - 32'd1);
  assign last_grp  = (ch_left_q <= 32'(Lanes));
  assign take      = active_q && adv && ready_pix && (!row_first || cq_ready);

  kiln_fifo #(.Width(96), .Depth(4)) u_cmd_fifo (
    .clk_i (clk_i), .rst_ni (rst_ni), .clr_i (start_i),
    .wvalid_i (take && row_first), .wready_o (cq_ready), .wdata_i ({row_addr_q, out_beats_i}),
    .rvalid_o (cq_valid), .rready_i (wr_cmd_ready_i),
    .rdata_o ({wr_cmd_addr_o, wr_cmd_beats_o}), .count_o (cq_count)
  );
  assign wr_cmd_valid_o = cq_valid;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      active_q   <= 1'b0;
      pix_q      <= '0;
      j_q        <= '0;
      ox_q       <= '0;
      oy_q       <= '0;
      ch_left_q  <= '0;
      half_q     <= 1'b0;
      row_addr_q <= '0;
      groups_q   <= '0;
    end else if (start_i) begin
      pix_q    <= '0;
      groups_q <= '0;
    end else if (go_i) begin
      active_q   <= 1'b1;
      j_q        <= '0;
      ox_q       <= '0;
      oy_q       <= '0;
      ch_left_q  <= chans_i;
      half_q     <= 1'b0;
      row_addr_q <= c_addr_i;
    end else if (take) begin
      if (!last_pair) begin
        j_q <= j_q + PairW'(1);
      end else begin
        j_q   <= '0;
        pix_q <= pix_q + 32'd1;
        if (!last_ox) begin
          ox_q <= ox_q + 16'd1;
        end else begin
          ox_q       <= '0;
          row_addr_q <= row_addr_q + 64'(ldc_i);
          if (!last_oy) begin
            oy_q <= oy_q + 32'd1;
          end else begin
            oy_q     <= '0;
            groups_q <= groups_q + 32'd1;
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

  assign hold_bank_o      = pix_q[0];
  assign hold_pair_o      = j_q;
  assign pixels_drained_o = pix_q;
  assign groups_drained_o = groups_q;

  // ------------------------------------------------------------ requantisation
  // Lane 2j in `a`, lane 2j+1 in `b`. a's tag is the pair's place in an int8
  // beat, b's says whether the pair ends a beat.
  logic [PairW:0] p_rpair;
  logic           beat_end;
  logic           rq_valid_a, rq_valid_b, rq_end;
  logic [31:0]    rq_x_a, rq_x_b;
  logic [7:0]     rq_y_a, rq_y_b;
  logic [1:0]     rq_pos;

  assign p_rpair  = {half_q, j_q};
  assign beat_end = out_int32_i || (j_q[1:0] == 2'd3);

  kiln_requant #(.TagW(2)) u_requant_a (
    .clk_i    (clk_i),
    .rst_ni   (rst_ni),
    .en_i     (adv),
    .valid_i  (take),
    .acc_i    (hold_data_i[31:0]),
    .zp_sum_i (32'd0),
    .bias_i   (bias_e_q[p_rpair]),
    .mult_i   (mult_e_q[p_rpair]),
    .shift_i  (shift_e_q[p_rpair]),
    .out_zp_i (out_zp_i),
    .tag_i    (j_q[1:0]),
    .valid_o  (rq_valid_a),
    .x_o      (rq_x_a),
    .y_o      (rq_y_a),
    .tag_o    (rq_pos)
  );

  kiln_requant #(.TagW(1)) u_requant_b (
    .clk_i    (clk_i),
    .rst_ni   (rst_ni),
    .en_i     (adv),
    .valid_i  (take),
    .acc_i    (hold_data_i[63:32]),
    .zp_sum_i (32'd0),
    .bias_i   (bias_o_q[p_rpair]),
    .mult_i   (mult_o_q[p_rpair]),
    .shift_i  (shift_o_q[p_rpair]),
    .out_zp_i (out_zp_i),
    .tag_i    (beat_end),
    .valid_o  (rq_valid_b),
    .x_o      (rq_x_b),
    .y_o      (rq_y_b),
    .tag_o    (rq_end)
  );

  // Beat assembly: an int8 beat fills in four steps, an int32 beat in one;
  // the step that completes a beat pushes it to the queue.
  logic        rq_valid, wq_push;
  logic [63:0] beat_q, beat_d;

  assign rq_valid = rq_valid_a && rq_valid_b;  // the two move in lockstep

  always_comb begin
    beat_d = beat_q;
    if (out_int32_i) beat_d = {rq_x_b, rq_x_a};
    else beat_d[{rq_pos, 4'b0000} +: 16] = {rq_y_b, rq_y_a};
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      beat_q <= '0;
    end else if (adv && rq_valid) begin
      beat_q <= beat_d;
    end
  end

  assign wq_push = adv && rq_valid && rq_end;

  kiln_fifo #(.Width(64), .Depth(4)) u_beat_fifo (
    .clk_i (clk_i), .rst_ni (rst_ni), .clr_i (start_i),
    .wvalid_i (wq_push), .wready_o (wq_ready), .wdata_i (beat_d),
    .rvalid_o (wbeat_valid_o), .rready_i (wbeat_ready_i), .rdata_o (wbeat_data_o),
    .count_o (wq_count)
  );
  assign wbeat_strb_o = 8'hFF;

  // Values in the requantisers.
  logic [2:0] in_flight_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      in_flight_q <= '0;
    end else if (start_i) begin
      in_flight_q <= '0;
    end else if (adv) begin
      in_flight_q <= in_flight_q + {2'd0, take} - {2'd0, rq_valid};
    end
  end

  // Output rows whose every beat the write port has taken.
  logic [31:0] out_beat_q, rows_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      out_beat_q <= '0;
      rows_q     <= '0;
    end else if (start_i) begin
      out_beat_q <= '0;
      rows_q     <= '0;
    end else if (wbeat_valid_o && wbeat_ready_i) begin
      if (out_beat_q == out_beats_i - 32'd1) begin
        out_beat_q <= '0;
        rows_q     <= rows_q + 32'd1;
      end else begin
        out_beat_q <= out_beat_q + 32'd1;
      end
    end
  end
  assign rows_written_o = rows_q;

  logic queues_empty;
  assign queues_empty = (in_flight_q == 3'd0) && (wq_count == 8'd0) && (cq_count == 8'd0);
  assign idle_o       = !active_q && queues_empty;

  always_comb begin
    if (take) state_o = DRun;
    else if (!active_q) state_o = queues_empty ? DIdle : DFlush;
    else if (!ready_pix) state_o = DWait;
    else state_o = DBlocked;
  end

endmodule
