// bfp_writer: writes finished output tiles to C.
//
// A tile is up to NTile columns of up to Lanes rows, held in the lanes'
// output memories (two halves, used in turn). For each of the tile's rows it
// issues one write segment at C + row * LDC + n0 * 4 and sends the row two
// f32 columns per beat; when the tile has an odd number of columns the last
// beat's upper four bytes are not strobed, so nothing past column N-1 is
// written. A tile is written only once its last result is stored
// (tiles_done_i counts those).
module bfp_writer #(
  parameter int unsigned Lanes = 8,
  parameter int unsigned NTile = 32,
  localparam int unsigned OAW   = $clog2(NTile),
  localparam int unsigned DescW = 64 + 9 + 6
) (
  input  logic                 clk_i,
  input  logic                 rst_ni,
  input  logic                 start_i,
  input  logic [31:0]          ldc_i,
  // Tile descriptors from bfp_stream, in tile order.
  input  logic                 desc_valid_i,
  output logic                 desc_ready_o,
  input  logic [DescW-1:0]     desc_i,
  input  logic [31:0]          tiles_done_i,   // tiles whose results are all stored
  output logic [31:0]          tiles_written_o,
  // Lane output memories.
  output logic [OAW-1:0]       o_raddr_o,
  input  logic [Lanes*64-1:0]  o_rdata_i,
  // Write master.
  output logic                 wr_cmd_valid_o,
  input  logic                 wr_cmd_ready_i,
  output logic [63:0]          wr_cmd_addr_o,
  output logic [31:0]          wr_cmd_beats_o,
  output logic                 wbeat_valid_o,
  input  logic                 wbeat_ready_i,
  output logic [63:0]          wbeat_data_o,
  output logic [7:0]           wbeat_strb_o,
  output logic                 idle_o,
  output logic [3:0]           state_o
);

  typedef enum logic [3:0] {
    Idle  = 4'd0,
    Cmd   = 4'd1,
    Beats = 4'd2
  } state_e;

  state_e      state_q;
  logic [63:0] row_addr_q;
  logic [8:0]  ncols_q;
  logic [5:0]  rows_q, row_q;
  logic [7:0]  beat_q;
  logic        half_q;
  logic [31:0] written_q;

  logic [7:0] beats;          // ceil(ncols / 2)
  assign beats = 8'((ncols_q + 9'd1) >> 1);

  logic [63:0] desc_addr;
  logic [8:0]  desc_cols;
  logic [5:0]  desc_rows;
  assign {desc_addr, desc_cols, desc_rows} = desc_i;

  assign desc_ready_o   = (state_q == Idle) && (tiles_done_i != written_q);
  assign wr_cmd_valid_o = (state_q == Cmd);
  assign wr_cmd_addr_o  = row_addr_q;
  assign wr_cmd_beats_o = 32'(beats);
  assign o_raddr_o      = OAW'(beat_q) + (half_q ? OAW'(NTile / 2) : '0);
  assign wbeat_valid_o  = (state_q == Beats);
  assign wbeat_data_o   = o_rdata_i[row_q*64 +: 64];
  assign wbeat_strb_o   = (9'({beat_q, 1'b1}) < ncols_q) ? 8'hFF : 8'h0F;
  assign tiles_written_o = written_q;
  assign idle_o         = (state_q == Idle) && !desc_valid_i;
  assign state_o        = state_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q    <= Idle;
      row_addr_q <= '0;
      ncols_q    <= '0;
      rows_q     <= '0;
      row_q      <= '0;
      beat_q     <= '0;
      half_q     <= 1'b0;
      written_q  <= '0;
    end else if (start_i) begin
      state_q   <= Idle;
      written_q <= '0;
      half_q    <= 1'b0;
    end else begin
      case (state_q)
        Idle: if (desc_valid_i && desc_ready_o) begin
          state_q    <= Cmd;
          row_addr_q <= desc_addr;
          ncols_q    <= desc_cols;
          rows_q     <= desc_rows;
          row_q      <= '0;
          beat_q     <= '0;
        end
        Cmd: if (wr_cmd_ready_i) state_q <= Beats;
        Beats: if (wbeat_ready_i) begin
          beat_q <= beat_q + 8'd1;
          if (beat_q + 8'd1 == beats) begin
            beat_q     <= '0;
            row_q      <= row_q + 6'd1;
            row_addr_q <= row_addr_q + 64'(ldc_i);
            if (row_q + 6'd1 == rows_q) begin
              state_q   <= Idle;
              written_q <= written_q + 32'd1;
              half_q    <= ~half_q;
            end else begin
              state_q <= Cmd;
            end
          end
        end
        default: state_q <= Idle;
      endcase
    end
  end

endmodule
