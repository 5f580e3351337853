// gemm_array: Rows x Cols PEs fed by broadcast, their accumulators, and one
// zero-point row.
//
// Every cycle with valid_i, PE (r, c) multiplies row r's activation by
// column c's weight code; one cycle later, when the PEs' registered products
// appear, each is added into that PE's accumulator addr_i (clear_i starts
// the accumulator from zero instead). Accumulation wraps modulo 2^32, as the
// golden model does. The zero-point row multiplies the activation zero point
// by the same codes; its sums (one per column and sub-tile) are what the
// drain subtracts, so that outputs are sum((a - zp) * w) while the PEs see
// plain int8. The drain reads any accumulator combinationally.
//
// The accumulators of a group of rows of PEs at one address are one word of
// one memory (distributed RAM, as a bank per PE would be): every PE adds
// into the same address in the same cycle, so each group writes one word
// per cycle, and a Verilated model makes one delayed write per group
// instead of one per PE. A group is as many rows as keep its word at most
// 2048 bits (all eight rows of an 8x8 array, four of 16x16): Verilator
// assembles a wider word from the PEs' slices by chained concatenations,
// which ran the 16x16 array 30 times slower.
module gemm_array #(
  parameter int unsigned Rows     = 8,
  parameter int unsigned Cols     = 8,
  parameter int unsigned WBits    = 4,
  parameter int unsigned AccWords = 32,  // accumulators per PE
  parameter int unsigned AccAW    = 5,
  parameter int unsigned ZpWords  = 8,   // accumulators per zero-point PE
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

  // Rows per group: a power of two, at most 64 / Cols, at least one.
  localparam int unsigned FitRows   = (Cols >= 64) ? 1 : 64 / Cols;
  localparam int unsigned GroupRows = (FitRows >= Rows) ? Rows : 1 << ($clog2(FitRows + 1) - 1);
  localparam int unsigned Groups    = (Rows + GroupRows - 1) / GroupRows;

  // Every PE takes valid_i with the same latency, so PE (0, 0)'s valid
  // speaks for the array and zero-point PE 0's for the zero-point row; the
  // others' are left unused (synthesis removes them).
  logic prod_valid, zp_prod_valid;

  // Address and clear follow the PEs' one-cycle latency; qualified by the
  // products' valid, so no reset.
  logic [AccAW-1:0] addr_q;
  logic [ZpAW-1:0]  zp_addr_q;
  logic             clear_q, zp_clear_q;
  always_ff @(posedge clk_i) begin
    if (valid_i) begin
      addr_q  <= addr_i;
      clear_q <= clear_i;
    end
    if (valid_i && zp_valid_i) begin
      zp_addr_q  <= zp_addr_i;
      zp_clear_q <= clear_i;
    end
  end

  // The drain picks one accumulator in two steps: within each group, then
  // the group.
  logic [Groups*32-1:0] group_picks;

  for (genvar g = 0; g < Groups; g++) begin : g_grp
    localparam int unsigned R0 = g * GroupRows;
    localparam int unsigned GR = (Rows - R0 < GroupRows) ? Rows - R0 : GroupRows;
    // The group's memory (PE (R0 + r, c) at bits (r * Cols + c) * 32), the
    // word at addr_q, and that word with every PE's product added.
    logic [GR*Cols*32-1:0] mem_q [AccWords];
    logic [GR*Cols*32-1:0] rd, wr, drain_word;
    assign rd = mem_q[addr_q];

    for (genvar r = 0; r < GR; r++) begin : g_row
      for (genvar c = 0; c < Cols; c++) begin : g_col
        logic [15:0] prod;
        /* verilator lint_off UNUSEDSIGNAL */
        logic        valid;
        /* verilator lint_on UNUSEDSIGNAL */
        kiln_pe u_pe (
          .clk_i   (clk_i),
          .rst_ni  (rst_ni),
          .valid_i (valid_i),
          .act_i   (acts_i[(R0 + r)*8 +: 8]),
          .wcode_i (codes_i[c*WBits +: WBits]),
          .valid_o (valid),
          .prod_o  (prod)
        );
        localparam int unsigned W = (r*Cols + c) * 32;
        assign wr[W +: 32] = (clear_q ? 32'd0 : rd[W +: 32]) + 32'($signed(prod));
      end
    end

    always_ff @(posedge clk_i) begin
      if (prod_valid) mem_q[addr_q] <= wr;
    end

    assign drain_word             = mem_q[drain_addr_i];
    assign group_picks[g*32 +: 32] =
        drain_word[((32'(drain_row_i) - R0) * Cols + 32'(drain_col_i))*32 +: 32];
  end

  // The zero-point row, the same way.
  logic [Cols*32-1:0] zp_mem_q [ZpWords];
  logic [Cols*32-1:0] zp_rd, zp_wr, drain_zp_word;
  assign zp_rd = zp_mem_q[zp_addr_q];

  for (genvar c = 0; c < Cols; c++) begin : g_zp
    logic [15:0] prod;
    /* verilator lint_off UNUSEDSIGNAL */
    logic        valid;
    /* verilator lint_on UNUSEDSIGNAL */
    kiln_pe u_pe (
      .clk_i   (clk_i),
      .rst_ni  (rst_ni),
      .valid_i (valid_i && zp_valid_i),
      .act_i   (zp_act_i),
      .wcode_i (codes_i[c*WBits +: WBits]),
      .valid_o (valid),
      .prod_o  (prod)
    );
    assign zp_wr[c*32 +: 32] = (zp_clear_q ? 32'd0 : zp_rd[c*32 +: 32]) + 32'($signed(prod));
  end

  always_ff @(posedge clk_i) begin
    if (zp_prod_valid) zp_mem_q[zp_addr_q] <= zp_wr;
  end

  assign prod_valid    = g_grp[0].g_row[0].g_col[0].valid;
  assign zp_prod_valid = g_zp[0].valid;

  assign drain_zp_word = zp_mem_q[drain_zp_addr_i];
  assign drain_acc_o   = group_picks[(32'(drain_row_i) / GroupRows)*32 +: 32];
  assign drain_zp_o    = drain_zp_word[32'(drain_col_i)*32 +: 32];

endmodule
