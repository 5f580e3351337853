// bfp_seq: issues the BFP engine's memory reads, in the order bfp_stream
// consumes them: for each tile of `Lanes` rows of A, those A row records,
// then every weight row record (N of them). The read master splits each row
// into bursts and returns the beats in this order.
module bfp_seq #(
  parameter int unsigned Lanes = 8
) (
  input  logic        clk_i,
  input  logic        rst_ni,
  input  logic        start_i,
  input  logic [63:0] a_addr_i,
  input  logic [63:0] b_addr_i,
  input  logic [31:0] m_i,
  input  logic [31:0] n_i,
  input  logic [31:0] lda_i,
  input  logic [31:0] ldb_i,
  input  logic [31:0] a_row_beats_i,   // beats of one A row record
  input  logic [31:0] w_row_beats_i,   // beats of one weight row record
  output logic        done_o,          // every read has been requested
  output logic [3:0]  state_o,
  output logic        cmd_valid_o,
  input  logic        cmd_ready_i,
  output logic [63:0] cmd_addr_o,
  output logic [31:0] cmd_beats_o
);

  typedef enum logic [3:0] {
    Idle  = 4'd0,
    ARows = 4'd1,
    WRows = 4'd2
  } state_e;

  state_e      state_q;
  logic [31:0] m0_q, row_q, la_q;
  logic [63:0] a_next_q, w_next_q;

  logic [31:0] rows_left;
  assign rows_left = m_i - m0_q;

  assign cmd_valid_o = (state_q == ARows) || (state_q == WRows);
  assign cmd_addr_o  = (state_q == ARows) ? a_next_q : w_next_q;
  assign cmd_beats_o = (state_q == ARows) ? a_row_beats_i : w_row_beats_i;
  assign done_o      = (state_q == Idle);
  assign state_o     = state_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q  <= Idle;
      m0_q     <= '0;
      row_q    <= '0;
      la_q     <= '0;
      a_next_q <= '0;
      w_next_q <= '0;
    end else if (start_i) begin
      state_q  <= ARows;
      m0_q     <= '0;
      row_q    <= '0;
      la_q     <= (m_i < 32'(Lanes)) ? m_i : 32'(Lanes);
      a_next_q <= a_addr_i;
      w_next_q <= b_addr_i;
    end else if (cmd_valid_o && cmd_ready_i) begin
      row_q <= row_q + 32'd1;
      if (state_q == ARows) begin
        a_next_q <= a_next_q + 64'(lda_i);
        if (row_q + 32'd1 == la_q) begin
          state_q  <= WRows;
          row_q    <= '0;
          w_next_q <= b_addr_i;
        end
      end else begin
        w_next_q <= w_next_q + 64'(ldb_i);
        if (row_q + 32'd1 == n_i) begin
          row_q <= '0;
          m0_q  <= m0_q + la_q;
          if (rows_left == la_q) begin
            state_q <= Idle;
          end else begin
            state_q <= ARows;
            la_q    <= (rows_left - la_q < 32'(Lanes)) ? rows_left - la_q : 32'(Lanes);
          end
        end
      end
    end
  end

endmodule
