// dwconv_loader: walks the run's channel groups and fetches their operands.
//
// For group g (channels g*Lanes.. of the run) the sequencer asks the read
// port for, in this order,
//   - the group's Lanes channel records (2 beats each: {multiplier, bias},
//     then the shift), once the drain is done with group g-2, whose half
//     (g & 1) of the parameter and weight banks they overwrite;
//   - its K*K tap records (one command, TapWords beats per tap);
//   - each of its R = (Ho-1)*s + K input rows, one command each, into slot
//     (row mod RingRows) of the line-buffer ring, as soon as the compute
//     unit has released the row that slot held before.
// Rows are numbered across groups (the input is G*R rows, LDA bytes apart),
// so the next group's records and first rows load while the current group
// is still being computed.
//
// The placer writes the returning beats, which come back in command order,
// by walking a queue of per-command descriptors: it accepts a beat whenever
// a descriptor is queued, so the read stream never waits on it. Each beat
// goes straight to its place: beat b of an input pixel to line-buffer bank
// b, word w of a tap record to weight-bank bank w, so no beat is assembled
// in a register first. rows_landed_o counts the rows whose every beat has
// been written. A group's tap records come before its rows in the read
// stream, so one of its rows having landed means its records are in.
module dwconv_loader #(
  parameter int unsigned Lanes    = 16,  // channels per group, a multiple of 8
  parameter int unsigned PixBeats = 2,   // beats per input pixel, Lanes / 8
  parameter int unsigned TapWords = 1,   // 64-bit words per tap record
  parameter int unsigned RingRows = 10,  // line-buffer ring slots
  parameter int unsigned SlotW    = 4,   // ring slot index bits
  parameter int unsigned ColW     = 7,   // line-buffer column bits, clog2(MaxWidth)
  parameter int unsigned TapW     = 5    // tap index bits of the weight bank
) (
  input  logic                       clk_i,
  input  logic                       rst_ni,
  input  logic                       start_i,            // a run begins: clear the counters
  input  logic                       go_i,               // the run constants are valid: begin
  // Run constants (stable from go_i to the end of the run).
  input  logic [63:0]                a_addr_i,           // input rows
  input  logic [63:0]                b_addr_i,           // tap records
  input  logic [63:0]                p_addr_i,           // channel records
  input  logic [31:0]                chans_i,            // C, channels
  input  logic [31:0]                lda_i,              // input row stride in bytes
  input  logic [31:0]                rows_i,             // R, input rows per group
  input  logic [15:0]                wp_i,               // Wp, pixels per input row
  input  logic [7:0]                 taps_i,             // K*K
  input  logic [31:0]                row_beats_i,        // Wp * PixBeats
  input  logic [31:0]                w_beats_i,          // K*K * TapWords
  // Progress of the other units.
  input  logic [31:0]                rows_released_i,    // input rows the compute unit is done with
  input  logic [31:0]                groups_drained_i,   // groups whose every output left the banks
  output logic [31:0]                rows_landed_o,      // input rows wholly in the line buffer
  output logic                       idle_o,             // every command issued and every beat placed
  output logic [3:0]                 state_o,
  // Read port.
  output logic                       rd_cmd_valid_o,
  input  logic                       rd_cmd_ready_i,
  output logic [63:0]                rd_cmd_addr_o,
  output logic [31:0]                rd_cmd_beats_o,
  input  logic                       beat_valid_i,
  output logic                       beat_ready_o,
  input  logic [63:0]                beat_data_i,
  // Buffer writes, all from wdata_o.
  output logic [63:0]                wdata_o,
  output logic [PixBeats-1:0]        lb_we_o,            // line-buffer bank b takes beat b of a pixel
  output logic [SlotW+ColW-1:0]      lb_waddr_o,         // {slot, column}
  output logic [TapWords-1:0]        wb_we_o,            // weight bank w takes word w of a tap record
  output logic [TapW:0]              wb_waddr_o,         // {half, tap}
  output logic                       p_we_lo_o,          // bias [31:0] and multiplier [63:32] of a lane
  output logic                       p_we_hi_o,          // shift [7:0] of a lane
  output logic [$clog2(Lanes):0]     p_waddr_o           // {half, lane}
);

  localparam int unsigned LaneW = $clog2(Lanes);
  localparam int unsigned DescW = 2 + SlotW;  // {kind, slot or half}

  // Sequencer states; STATE.LOADER also shows why it waits (see state_o).
  localparam logic [3:0] LIdle    = 4'd0;
  localparam logic [3:0] LParams  = 4'd2;  // offering the channel records (1: waiting for the half)
  localparam logic [3:0] LWeights = 4'd3;  // offering the tap records
  localparam logic [3:0] LRows    = 4'd4;  // offering an input row (5: waiting for a ring slot)

  // Descriptor kinds.
  localparam logic [1:0] KParams  = 2'd0;
  localparam logic [1:0] KWeights = 2'd1;
  localparam logic [1:0] KRow     = 2'd2;

  logic [3:0]       state_q;
  logic [31:0]      ch_left_q;   // channels of this group and the ones after it
  logic [31:0]      grp_q;       // group index
  logic             half_q;      // grp_q & 1
  logic [63:0]      p_cur_q, b_cur_q, a_cur_q;
  logic [31:0]      row_q;       // row within the group
  logic [31:0]      grow_q;      // row across groups
  logic [SlotW-1:0] slot_q;      // grow_q mod RingRows

  logic desc_wready, desc_rvalid, desc_pop;
  logic [DescW-1:0] desc_w, desc_r;
  logic [7:0]       desc_count;

  logic bank_ok, slot_ok, cmd_fire, last_row, last_grp;
  assign bank_ok  = (grp_q - groups_drained_i) < 32'd2;
  assign slot_ok  = (grow_q - rows_released_i) < 32'(RingRows);
  assign cmd_fire = rd_cmd_valid_o && rd_cmd_ready_i;
  assign last_row = (row_q == rows_i - 32'd1);
  assign last_grp = (ch_left_q <= 32'(Lanes));

  // Commands. Each condition only ever turns true (the counters it reads
  // only grow), so an offered command stays offered until taken.
  always_comb begin
    rd_cmd_valid_o = 1'b0;
    rd_cmd_addr_o  = a_cur_q;
    rd_cmd_beats_o = row_beats_i;
    desc_w         = {KRow, slot_q};
    unique case (state_q)
      LParams: begin
        rd_cmd_valid_o = bank_ok && desc_wready;
        rd_cmd_addr_o  = p_cur_q;
        rd_cmd_beats_o = 32'(2 * Lanes);
        desc_w         = {KParams, SlotW'(half_q)};
      end
      LWeights: begin
        rd_cmd_valid_o = desc_wready;
        rd_cmd_addr_o  = b_cur_q;
        rd_cmd_beats_o = w_beats_i;
        desc_w         = {KWeights, SlotW'(half_q)};
      end
      LRows: rd_cmd_valid_o = slot_ok && desc_wready;
      default: ;
    endcase
  end

  kiln_fifo #(.Width(DescW), .Depth(8)) u_desc_fifo (
    .clk_i (clk_i), .rst_ni (rst_ni), .clr_i (start_i),
    .wvalid_i (cmd_fire), .wready_o (desc_wready), .wdata_i (desc_w),
    .rvalid_o (desc_rvalid), .rready_i (desc_pop), .rdata_o (desc_r), .count_o (desc_count)
  );

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q   <= LIdle;
      ch_left_q <= '0;
      grp_q     <= '0;
      half_q    <= 1'b0;
      p_cur_q   <= '0;
      b_cur_q   <= '0;
      a_cur_q   <= '0;
      row_q     <= '0;
      grow_q    <= '0;
      slot_q    <= '0;
    end else begin
      unique case (state_q)
        LIdle: begin
          if (go_i) begin
            ch_left_q <= chans_i;
            grp_q     <= '0;
            half_q    <= 1'b0;
            p_cur_q   <= p_addr_i;
            b_cur_q   <= b_addr_i;
            a_cur_q   <= a_addr_i;
            row_q     <= '0;
            grow_q    <= '0;
            slot_q    <= '0;
            state_q   <= LParams;
          end
        end
        LParams: begin
          if (cmd_fire) begin
            p_cur_q <= p_cur_q + 64'(Lanes * 16);
            state_q <= LWeights;
          end
        end
        LWeights: begin
          if (cmd_fire) begin
            b_cur_q <= b_cur_q + {29'd0, w_beats_i, 3'b000};
            row_q   <= '0;
            state_q <= LRows;
          end
        end
        LRows: begin
          if (cmd_fire) begin
            a_cur_q <= a_cur_q + 64'(lda_i);
            grow_q  <= grow_q + 32'd1;
            slot_q  <= (32'(slot_q) == 32'(RingRows - 1)) ? '0 : slot_q + SlotW'(1);
            row_q   <= row_q + 32'd1;
            if (last_row) begin
              if (last_grp) begin
                state_q <= LIdle;
              end else begin
                ch_left_q <= ch_left_q - 32'(Lanes);
                grp_q     <= grp_q + 32'd1;
                half_q    <= !half_q;
                state_q   <= LParams;
              end
            end
          end
        end
        default: state_q <= LIdle;
      endcase
    end
  end

  // ---------------------------------------------------------------- placer
  // The head descriptor says where the next beat goes; beat `sub_q` of
  // record or pixel `idx_q` of the command.
  logic [1:0]       p_kind;
  logic [SlotW-1:0] p_slot;
  logic             p_half;
  logic [15:0]      idx_q;
  logic [1:0]       sub_q;
  logic [15:0]      last_idx;
  logic [1:0]       last_sub;
  logic             beat_fire, sub_end, cmd_end;
  logic [31:0]      rows_landed_q;

  assign {p_kind, p_slot} = desc_r;
  assign p_half           = p_slot[0];

  always_comb begin
    unique case (p_kind)
      KParams: begin
        last_idx = 16'(Lanes - 1);
        last_sub = 2'd1;
      end
      KWeights: begin
        last_idx = 16'(taps_i) - 16'd1;
        last_sub = 2'(TapWords - 1);
      end
      default: begin
        last_idx = wp_i - 16'd1;
        last_sub = 2'(PixBeats - 1);
      end
    endcase
  end

  assign beat_ready_o = desc_rvalid;
  assign beat_fire    = beat_valid_i && desc_rvalid;
  assign sub_end      = (sub_q == last_sub);
  assign cmd_end      = sub_end && (idx_q == last_idx);
  assign desc_pop     = beat_fire && cmd_end;

  assign wdata_o    = beat_data_i;
  assign lb_waddr_o = {p_slot, idx_q[ColW-1:0]};
  assign wb_waddr_o = {p_half, idx_q[TapW-1:0]};
  assign p_waddr_o  = {p_half, idx_q[LaneW-1:0]};
  assign lb_we_o    = (beat_fire && (p_kind == KRow)) ? PixBeats'(32'd1 << sub_q) : '0;
  assign wb_we_o    = (beat_fire && (p_kind == KWeights)) ? TapWords'(32'd1 << sub_q) : '0;
  assign p_we_lo_o  = beat_fire && (p_kind == KParams) && !sub_q[0];
  assign p_we_hi_o  = beat_fire && (p_kind == KParams) && sub_q[0];

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      idx_q         <= '0;
      sub_q         <= '0;
      rows_landed_q <= '0;
    end else if (start_i) begin
      idx_q         <= '0;
      sub_q         <= '0;
      rows_landed_q <= '0;
    end else if (beat_fire) begin
      if (!sub_end) begin
        sub_q <= sub_q + 2'd1;
      end else begin
        sub_q <= '0;
        idx_q <= cmd_end ? 16'd0 : idx_q + 16'd1;
        if (cmd_end && (p_kind == KRow)) rows_landed_q <= rows_landed_q + 32'd1;
      end
    end
  end

  assign rows_landed_o = rows_landed_q;
  assign idle_o        = (state_q == LIdle) && (desc_count == 8'd0);

  always_comb begin
    unique case (state_q)
      LParams: state_o = bank_ok ? LParams : 4'd1;
      LRows:   state_o = slot_ok ? LRows : 4'd5;
      LIdle:   state_o = (desc_count != 8'd0) ? 4'd6 : LIdle;  // 6: beats still landing
      default: state_o = state_q;
    endcase
  end

endmodule
