// gemm_compute: steps the PE array through each job.
//
// For a job (from the loader) with klen K steps, the engine visits every
// (k, m tile, n tile) in that order, one per cycle: the A banks are read at
// row tile tm, step k, the B banks at channel tile tn, step k, and the array
// adds the products into the accumulators of sub-tile (tm, tn) of the
// job's accumulator half. Sub-tiles wholly outside the matrix are skipped.
// It starts a job when the loader has landed it and, at a block's first
// chunk, when the drain has emptied the accumulator half it will clear.
//
// Pipeline: cycle 0 issues buffer reads, cycle 1 feeds the array (bytes
// and codes picked out of the 64-bit words: a code is the low WBits of its
// CBits container, gemm_pkg), cycle 2 the cells accumulate;
// jobs and blocks count as computed when their last step accumulates.
module gemm_compute #(
  parameter int unsigned Rows   = 8,
  parameter int unsigned Cols   = 8,
  parameter int unsigned WBits  = 4,
  parameter int unsigned KDepth = 256,
  parameter int unsigned MTiles = 4,
  parameter int unsigned NTiles = 4,
  parameter int unsigned AAW    = 9,
  parameter int unsigned BAW    = 8,
  parameter int unsigned AccAW  = 5,
  parameter int unsigned ZpAW   = 3
) (
  input  logic                  clk_i,
  input  logic                  rst_ni,
  input  logic                  start_i,
  // Job descriptors: {first, last, half, ahalf, klen, mrows, ncols}.
  input  logic                  cjob_valid_i,
  output logic                  cjob_ready_o,
  input  logic [51:0]           cjob_i,
  input  logic [31:0]           jobs_loaded_i,
  input  logic [31:0]           blocks_drained_i,
  output logic [31:0]           jobs_computed_o,
  output logic [31:0]           blocks_computed_o,
  output logic                  idle_o,       // no job in progress or in the pipeline
  output logic                  busy_o,       // a step issued this cycle
  output logic                  waiting_o,    // a job is pending but cannot start
  output logic [15:0]           step_macs_o,  // useful MACs of this cycle's step
  output logic [3:0]            state_o,
  // Buffer reads (all banks of a buffer share the address).
  output logic                  buf_re_o,
  output logic [AAW-1:0]        a_raddr_o,
  output logic [BAW-1:0]        b_raddr_o,
  input  logic [Rows*64-1:0]    a_rdata_i,
  input  logic [Cols*64-1:0]    b_rdata_i,
  // PE array.
  output logic                  arr_valid_o,
  output logic [Rows*8-1:0]     arr_acts_o,
  output logic [Cols*WBits-1:0] arr_codes_o,
  output logic [AccAW-1:0]      arr_addr_o,
  output logic                  arr_clear_o,
  output logic                  arr_zp_valid_o,
  output logic [ZpAW-1:0]       arr_zp_addr_o
);

  localparam int unsigned CBits    = gemm_pkg::code_container_bits(WBits);
  localparam int unsigned KW       = KDepth / 8;
  localparam int unsigned KWB      = KDepth * CBits / 64;
  localparam int unsigned PerWord  = 64 / CBits;        // code containers per B word
  localparam int unsigned SelW     = $clog2(PerWord);
  localparam int unsigned Subtiles = MTiles * NTiles;

  localparam logic [3:0] CIdle = 4'd0;
  localparam logic [3:0] CWait = 4'd1;
  localparam logic [3:0] CRun  = 4'd2;

  logic [3:0]  state_q;
  logic [31:0] job_q, blk_q;
  logic        first_q, last_q, half_q, ahalf_q;
  logic [15:0] klen_q, mrows_q, ncols_q;
  logic [15:0] k_q, m_rem_q, n_rem_q;
  logic [7:0]  tm_q, tn_q;
  logic [31:0] a_tile_q, b_tile_q;  // word offset of tile tm / tn
  logic [31:0] jobs_computed_q, blocks_computed_q;

  logic issue, last_tn, last_tm, last_k, job_end;
  assign issue   = (state_q == CRun);
  assign last_tn = (n_rem_q <= 16'(Cols));
  assign last_tm = (m_rem_q <= 16'(Rows));
  assign last_k  = (k_q == klen_q - 16'd1);
  assign job_end = issue && last_tn && last_tm && last_k;

  assign cjob_ready_o = (state_q == CIdle);

  logic can_start;
  assign can_start = (state_q == CWait) && (jobs_loaded_i > job_q)
                     && (!first_q || (blk_q - blocks_drained_i < 32'd2));

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q  <= CIdle;
      job_q    <= '0;
      blk_q    <= '0;
      first_q  <= 1'b0;
      last_q   <= 1'b0;
      half_q   <= 1'b0;
      ahalf_q  <= 1'b0;
      klen_q   <= '0;
      mrows_q  <= '0;
      ncols_q  <= '0;
      k_q      <= '0;
      m_rem_q  <= '0;
      n_rem_q  <= '0;
      tm_q     <= '0;
      tn_q     <= '0;
      a_tile_q <= '0;
      b_tile_q <= '0;
    end else begin
      if (start_i) begin
        job_q <= '0;
        blk_q <= '0;
      end
      unique case (state_q)
        CIdle: begin
          if (cjob_valid_i) begin
            {first_q, last_q} <= cjob_i[51:50];
            {half_q, ahalf_q, klen_q, mrows_q, ncols_q} <= cjob_i[49:0];
            state_q <= CWait;
          end
        end
        CWait: begin
          if (can_start) begin
            k_q      <= '0;
            tm_q     <= '0;
            tn_q     <= '0;
            m_rem_q  <= mrows_q;
            n_rem_q  <= ncols_q;
            a_tile_q <= '0;
            b_tile_q <= '0;
            state_q  <= CRun;
          end
        end
        CRun: begin
          if (!last_tn) begin
            tn_q     <= tn_q + 8'd1;
            n_rem_q  <= n_rem_q - 16'(Cols);
            b_tile_q <= b_tile_q + 32'(KWB);
          end else begin
            tn_q     <= '0;
            n_rem_q  <= ncols_q;
            b_tile_q <= '0;
            if (!last_tm) begin
              tm_q     <= tm_q + 8'd1;
              m_rem_q  <= m_rem_q - 16'(Rows);
              a_tile_q <= a_tile_q + 32'(KW);
            end else begin
              tm_q     <= '0;
              m_rem_q  <= mrows_q;
              a_tile_q <= '0;
              if (!last_k) begin
                k_q <= k_q + 16'd1;
              end else begin
                job_q   <= job_q + 32'd1;
                if (last_q) blk_q <= blk_q + 32'd1;
                state_q <= CIdle;
              end
            end
          end
        end
        default: state_q <= CIdle;
      endcase
    end
  end

  // Step issue: buffer addresses now, the rest one cycle later.
  assign buf_re_o  = issue;
  assign a_raddr_o = AAW'((half_q ? 32'(MTiles * KW) : 32'd0) + a_tile_q + (32'(k_q) >> 3));
  assign b_raddr_o = BAW'((half_q ? 32'(NTiles * KWB) : 32'd0) + b_tile_q + (32'(k_q) >> SelW));

  logic [15:0] rows_here, cols_here;
  assign rows_here   = last_tm ? m_rem_q : 16'(Rows);
  assign cols_here   = last_tn ? n_rem_q : 16'(Cols);
  assign step_macs_o = issue ? 16'(32'(rows_here) * 32'(cols_here)) : 16'd0;
  assign busy_o      = issue;
  assign waiting_o   = (state_q == CWait) && !can_start;

  // Stage 1: operands arrive from the buffers.
  logic             v1_q, clear1_q, zp1_q, jend1_q, bend1_q;
  logic [2:0]       bsel1_q;
  logic [SelW-1:0]  csel1_q;
  logic [AccAW-1:0] addr1_q;
  logic [ZpAW-1:0]  zpaddr1_q;
  // Stage 2: the cells accumulate.
  logic             jend2_q, bend2_q, v2_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      v1_q    <= 1'b0;
      jend1_q <= 1'b0;
      bend1_q <= 1'b0;
      v2_q    <= 1'b0;
      jend2_q <= 1'b0;
      bend2_q <= 1'b0;
    end else begin
      v1_q    <= issue;
      jend1_q <= job_end;
      bend1_q <= job_end && last_q;
      v2_q    <= v1_q;
      jend2_q <= jend1_q;
      bend2_q <= bend1_q;
    end
  end

  always_ff @(posedge clk_i) begin
    if (issue) begin
      clear1_q  <= first_q && (k_q == '0);
      zp1_q     <= (tm_q == '0);
      bsel1_q   <= k_q[2:0];
      csel1_q   <= k_q[SelW-1:0];
      addr1_q   <= AccAW'((ahalf_q ? 32'(Subtiles) : 32'd0) + 32'(tm_q) * 32'(NTiles) + 32'(tn_q));
      zpaddr1_q <= ZpAW'((ahalf_q ? 32'(NTiles) : 32'd0) + 32'(tn_q));
    end
  end

  for (genvar r = 0; r < Rows; r++) begin : g_act
    logic [63:0] word;
    assign word = a_rdata_i[r*64 +: 64];
    assign arr_acts_o[r*8 +: 8] = word[{bsel1_q, 3'b000} +: 8];
  end
  for (genvar c = 0; c < Cols; c++) begin : g_code
    logic [63:0] word;
    assign word = b_rdata_i[c*64 +: 64];
    // The code is the low WBits of its container; the spare bits are zero.
    assign arr_codes_o[c*WBits +: WBits] = word[32'(csel1_q) * CBits +: WBits];
  end

  assign arr_valid_o    = v1_q;
  assign arr_addr_o     = addr1_q;
  assign arr_clear_o    = clear1_q;
  assign arr_zp_valid_o = zp1_q;
  assign arr_zp_addr_o  = zpaddr1_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      jobs_computed_q   <= '0;
      blocks_computed_q <= '0;
    end else if (start_i) begin
      jobs_computed_q   <= '0;
      blocks_computed_q <= '0;
    end else begin
      if (jend2_q) jobs_computed_q <= jobs_computed_q + 32'd1;
      if (bend2_q) blocks_computed_q <= blocks_computed_q + 32'd1;
    end
  end

  assign jobs_computed_o   = jobs_computed_q;
  assign blocks_computed_o = blocks_computed_q;
  assign idle_o            = (state_q == CIdle) && !cjob_valid_i && !v1_q && !v2_q;
  assign state_o           = state_q;

endmodule
