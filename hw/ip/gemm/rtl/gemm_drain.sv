// gemm_drain: writes finished output blocks to C.
//
// For each block (from the loader) it waits until the PE array has
// finished the block, then reads the accumulators one per cycle, row by
// row, through kiln_requant, packs the values into 64-bit beats with byte
// strobes (int8: one byte per value; int32: four) and hands the beats to
// the write master. Each output row is one write segment: its first and
// last beats carry partial strobes, so nothing outside the row is written.
// A block counts as drained once its last accumulator has been read; the
// accumulator and parameter half is then free for the block after next.
// A stall anywhere downstream (full beat queue) holds the whole pipeline.
module gemm_drain #(
  parameter int unsigned Rows   = 8,
  parameter int unsigned Cols   = 8,
  parameter int unsigned MTiles = 4,
  parameter int unsigned NTiles = 4,
  parameter int unsigned AccAW  = 5,
  parameter int unsigned ZpAW   = 3,
  parameter int unsigned PAW    = 6
) (
  input  logic              clk_i,
  input  logic              rst_ni,
  input  logic              start_i,
  input  logic [31:0]       ldc_i,
  input  logic              out_int32_i,
  input  logic [7:0]        out_zp_i,
  // Block descriptors: {c_addr[63:0], mrows[15:0], ncols[15:0], dhalf}.
  input  logic              dblk_valid_i,
  output logic              dblk_ready_o,
  input  logic [96:0]       dblk_i,
  input  logic [31:0]       blocks_computed_i,
  output logic [31:0]       blocks_drained_o,
  output logic              idle_o,           // nothing pending, in the pipeline or queued
  output logic [3:0]        state_o,
  // Accumulator and parameter reads (combinational).
  output logic [AccAW-1:0]  acc_addr_o,
  output logic [ZpAW-1:0]   zp_addr_o,
  output logic [7:0]        acc_row_o,
  output logic [7:0]        acc_col_o,
  input  logic [31:0]       acc_i,
  input  logic [31:0]       zp_sum_i,
  output logic [PAW-1:0]    p_raddr_o,
  input  logic [31:0]       bias_i,
  input  logic [31:0]       mult_i,
  input  logic [7:0]        shift_i,
  // Write master.
  output logic              wr_cmd_valid_o,
  input  logic              wr_cmd_ready_i,
  output logic [63:0]       wr_cmd_addr_o,
  output logic [31:0]       wr_cmd_beats_o,
  output logic              wbeat_valid_o,
  input  logic              wbeat_ready_i,
  output logic [63:0]       wbeat_data_o,
  output logic [7:0]        wbeat_strb_o
);

  localparam int unsigned NT       = Cols * NTiles;
  localparam int unsigned Subtiles = MTiles * NTiles;

  localparam logic [3:0] DIdle = 4'd0;
  localparam logic [3:0] DWait = 4'd1;
  localparam logic [3:0] DRun  = 4'd2;

  logic [3:0]  state_q;
  logic [31:0] blk_q, drained_q;
  logic [63:0] row_addr_q;
  logic [15:0] mrows_q, ncols_q;
  logic        dhalf_q;
  logic [15:0] r_q, c_q;
  logic [7:0]  rbank_q, cbank_q, tm_q, tn_q;
  logic [2:0]  lane_q;

  // Downstream room: the beat queue and the segment queue.
  logic wq_ready, cq_ready, cq_valid;
  logic adv;         // the requant pipeline moves this cycle
  logic take;        // an accumulator enters the pipeline this cycle
  logic row_start, row_last, blk_last;

  assign adv       = wq_ready;
  assign row_start = (c_q == '0);
  assign row_last  = (c_q == ncols_q - 16'd1);
  assign blk_last  = row_last && (r_q == mrows_q - 16'd1);
  assign take      = (state_q == DRun) && adv && (!row_start || cq_ready);

  assign dblk_ready_o = (state_q == DIdle);

  // Lane of this value within its beat, and whether the beat ends with it.
  logic [3:0] elem_bytes, lane_end;
  logic       beat_end;
  assign elem_bytes = out_int32_i ? 4'd4 : 4'd1;
  assign lane_end   = {1'b0, lane_q} + elem_bytes;
  assign beat_end   = (lane_end == 4'd8) || row_last;

  // Output row segment: starts at the row's byte address rounded down to a
  // beat, covers its ncols elements.
  logic [31:0] row_bytes;
  assign row_bytes = out_int32_i ? {14'd0, ncols_q, 2'b00} : {16'd0, ncols_q};

  kiln_fifo #(.Width(96), .Depth(4)) u_cmd_fifo (
    .clk_i (clk_i), .rst_ni (rst_ni), .clr_i (start_i),
    .wvalid_i (take && row_start), .wready_o (cq_ready),
    .wdata_i  ({row_addr_q[63:3], 3'b000, (32'(row_addr_q[2:0]) + row_bytes + 32'd7) >> 3}),
    .rvalid_o (cq_valid), .rready_i (wr_cmd_ready_i),
    .rdata_o  ({wr_cmd_addr_o, wr_cmd_beats_o}), .count_o ()
  );
  assign wr_cmd_valid_o = cq_valid;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q    <= DIdle;
      blk_q      <= '0;
      drained_q  <= '0;
      row_addr_q <= '0;
      mrows_q    <= '0;
      ncols_q    <= '0;
      dhalf_q    <= 1'b0;
      r_q        <= '0;
      c_q        <= '0;
      rbank_q    <= '0;
      cbank_q    <= '0;
      tm_q       <= '0;
      tn_q       <= '0;
      lane_q     <= '0;
    end else begin
      if (start_i) begin
        blk_q     <= '0;
        drained_q <= '0;
      end
      unique case (state_q)
        DIdle: begin
          if (dblk_valid_i) begin
            {row_addr_q, mrows_q, ncols_q, dhalf_q} <= dblk_i;
            state_q <= DWait;
          end
        end
        DWait: begin
          if (blocks_computed_i > blk_q) begin
            r_q     <= '0;
            c_q     <= '0;
            rbank_q <= '0;
            cbank_q <= '0;
            tm_q    <= '0;
            tn_q    <= '0;
            lane_q  <= row_addr_q[2:0];
            state_q <= DRun;
          end
        end
        DRun: begin
          if (take) begin
            lane_q <= beat_end ? 3'd0 : lane_end[2:0];
            if (!row_last) begin
              c_q <= c_q + 16'd1;
              if (32'(cbank_q) == 32'(Cols - 1)) begin
                cbank_q <= '0;
                tn_q    <= tn_q + 8'd1;
              end else begin
                cbank_q <= cbank_q + 8'd1;
              end
            end else begin
              c_q        <= '0;
              cbank_q    <= '0;
              tn_q       <= '0;
              lane_q     <= row_addr_q[2:0] + ldc_i[2:0];
              row_addr_q <= row_addr_q + 64'(ldc_i);
              r_q        <= r_q + 16'd1;
              if (32'(rbank_q) == 32'(Rows - 1)) begin
                rbank_q <= '0;
                tm_q    <= tm_q + 8'd1;
              end else begin
                rbank_q <= rbank_q + 8'd1;
              end
              if (blk_last) begin
                blk_q     <= blk_q + 32'd1;
                drained_q <= drained_q + 32'd1;
                state_q   <= DIdle;
              end
            end
          end
        end
        default: state_q <= DIdle;
      endcase
    end
  end

  assign acc_addr_o = AccAW'((dhalf_q ? 32'(Subtiles) : 32'd0) + 32'(tm_q) * 32'(NTiles) + 32'(tn_q));
  assign zp_addr_o  = ZpAW'((dhalf_q ? 32'(NTiles) : 32'd0) + 32'(tn_q));
  assign acc_row_o  = rbank_q;
  assign acc_col_o  = cbank_q;
  assign p_raddr_o  = PAW'((dhalf_q ? 32'(NT) : 32'd0) + 32'(c_q));

  // Requantisation; the tag carries {lane, beat_end}.
  logic       rq_valid;
  logic [31:0] rq_x;
  logic [7:0]  rq_y;
  logic [3:0]  rq_tag;

  kiln_requant #(.TagW(4)) u_requant (
    .clk_i    (clk_i),
    .rst_ni   (rst_ni),
    .en_i     (adv),
    .valid_i  (take),
    .acc_i    (acc_i),
    .zp_sum_i (zp_sum_i),
    .bias_i   (bias_i),
    .mult_i   (mult_i),
    .shift_i  (shift_i),
    .out_zp_i (out_zp_i),
    .tag_i    ({lane_q, beat_end}),
    .valid_o  (rq_valid),
    .x_o      (rq_x),
    .y_o      (rq_y),
    .tag_o    (rq_tag)
  );

  // Beat assembly: merge each value into the beat being built; a value that
  // ends its beat pushes the beat to the queue in the same cycle.
  logic [63:0] beat_q, beat_d;
  logic [7:0]  strb_q, strb_d;
  logic [2:0]  rq_lane;
  assign rq_lane = rq_tag[3:1];

  always_comb begin
    beat_d = beat_q;
    strb_d = strb_q;
    if (out_int32_i) begin
      beat_d[{rq_lane, 3'b000} +: 32] = rq_x;
      strb_d[rq_lane +: 4]            = 4'hF;
    end else begin
      beat_d[{rq_lane, 3'b000} +: 8] = rq_y;
      strb_d[rq_lane]                = 1'b1;
    end
  end

  logic wq_push, wq_empty_n;
  assign wq_push = adv && rq_valid && rq_tag[0];

  kiln_fifo #(.Width(72), .Depth(4)) u_beat_fifo (
    .clk_i (clk_i), .rst_ni (rst_ni), .clr_i (start_i),
    .wvalid_i (wq_push), .wready_o (wq_ready), .wdata_i ({strb_d, beat_d}),
    .rvalid_o (wq_empty_n), .rready_i (wbeat_ready_i),
    .rdata_o  ({wbeat_strb_o, wbeat_data_o}), .count_o ()
  );
  assign wbeat_valid_o = wq_empty_n;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      beat_q <= '0;
      strb_q <= '0;
    end else if (adv && rq_valid) begin
      beat_q <= rq_tag[0] ? 64'd0 : beat_d;
      strb_q <= rq_tag[0] ? 8'd0 : strb_d;
    end
  end

  // The pipeline is empty when no stage holds a value: track by count.
  logic [2:0] in_flight_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      in_flight_q <= '0;
    end else if (adv) begin
      in_flight_q <= in_flight_q + {2'd0, take} - {2'd0, rq_valid};
    end
  end

  assign blocks_drained_o = drained_q;
  assign idle_o = (state_q == DIdle) && !dblk_valid_i && (in_flight_q == '0)
                  && !wq_empty_n && !cq_valid;
  assign state_o = state_q;

endmodule
