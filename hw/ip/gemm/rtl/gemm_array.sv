// gemm_array: Rows x Cols PE cells fed by broadcast, plus one zero-point row.
//
// Every cycle with valid_i, cell (r, c) multiplies row r's activation by
// column c's weight code and accumulates into accumulator addr_i. The
// zero-point row multiplies the activation zero point by the same codes;
// its sums (one per column and sub-tile) are what the drain subtracts, so
// that outputs are sum((a - zp) * w) while the PEs see plain int8.
module gemm_array #(
  parameter int unsigned Rows     = 8,
  parameter int unsigned Cols     = 8,
  parameter int unsigned WBits    = 4,
  parameter int unsigned AccWords = 32,  // accumulators per cell
  parameter int unsigned AccAW    = 5,
  parameter int unsigned ZpWords  = 8,   // accumulators per zero-point cell
  parameter int unsigned ZpAW     = 3
) (
  input  logic                  clk_i,
  input  logic                  rst_ni,
  input  logic                  valid_i,
  input  logic [Rows*8-1:0]     acts_i,        // row r's activation at [r*8 +: 8]
  input  logic [Cols*WBits-1:0] codes_i,       // column c's code at [c*WBits +: WBits]
  input  logic [AccAW-1:0]      addr_i,
  input  logic                  clear_i,
  input  logic                  zp_valid_i,    // the zero-point row takes this step
  input  logic [7:0]            zp_act_i,      // activation zero point
  input  logic [ZpAW-1:0]       zp_addr_i,
  // Drain: one accumulator and its column's zero-point sum.
  input  logic [AccAW-1:0]      drain_addr_i,
  input  logic [ZpAW-1:0]       drain_zp_addr_i,
  input  logic [7:0]            drain_row_i,
  input  logic [7:0]            drain_col_i,
  output logic [31:0]           drain_acc_o,
  output logic [31:0]           drain_zp_o
);

  // The drain picks one accumulator in two steps, column within each row and
  // then row, over vectors one row wide: a single Rows*Cols*32-bit vector
  // written piecewise by every cell costs Verilator a whole-vector update per
  // piece (30x slower for 16x16), and yosys builds the same mux either way.
  logic [Rows*32-1:0] row_picks;
  logic [Cols*32-1:0] zps;

  for (genvar r = 0; r < Rows; r++) begin : g_row
    logic [Cols*32-1:0] row_accs;
    assign row_picks[r*32 +: 32] = row_accs[32'(drain_col_i)*32 +: 32];
    for (genvar c = 0; c < Cols; c++) begin : g_col
      gemm_cell #(.WBits(WBits), .AccWords(AccWords), .AccAW(AccAW)) u_cell (
        .clk_i        (clk_i),
        .rst_ni       (rst_ni),
        .valid_i      (valid_i),
        .act_i        (acts_i[r*8 +: 8]),
        .wcode_i      (codes_i[c*WBits +: WBits]),
        .addr_i       (addr_i),
        .clear_i      (clear_i),
        .drain_addr_i (drain_addr_i),
        .drain_acc_o  (row_accs[c*32 +: 32])
      );
    end
  end

  for (genvar c = 0; c < Cols; c++) begin : g_zp
    gemm_cell #(.WBits(WBits), .AccWords(ZpWords), .AccAW(ZpAW)) u_cell (
      .clk_i        (clk_i),
      .rst_ni       (rst_ni),
      .valid_i      (valid_i && zp_valid_i),
      .act_i        (zp_act_i),
      .wcode_i      (codes_i[c*WBits +: WBits]),
      .addr_i       (zp_addr_i),
      .clear_i      (clear_i),
      .drain_addr_i (drain_zp_addr_i),
      .drain_acc_o  (zps[c*32 +: 32])
    );
  end

  assign drain_acc_o = row_picks[32'(drain_row_i)*32 +: 32];
  assign drain_zp_o  = zps[32'(drain_col_i)*32 +: 32];

endmodule
