// gemm_loader: walks the run's jobs and fetches their operands.
//
// A job is one (output block, K chunk): rows m0.. of A and channels n0.. of
// B over k0..k0+klen, where a block is (Rows*MTiles) x (Cols*NTiles) and a
// chunk is at most KDepth. Jobs go m0-major, then n0, then k0. For each job
// the sequencer
//   - waits until the buffer half it will fill is free (the PE array is done
//     with the job two before) and, at a block's first chunk, until the
//     accumulator and parameter half is free (the drain is done with the
//     block two before);
//   - hands a job descriptor to the placer, the compute engine and (first
//     chunk only) a block descriptor to the drain;
//   - requests the channel parameters (first chunk only), then each A row
//     and each B row of the chunk as one read segment.
// The placer walks the same descriptors to write returning beats into the
// buffers; jobs_loaded_o counts the jobs whose every beat has landed.
module gemm_loader #(
  parameter int unsigned Rows   = 8,
  parameter int unsigned Cols   = 8,
  parameter int unsigned WBits  = 4,   // bits per weight code (B holds CBits containers)
  parameter int unsigned KDepth = 256,
  parameter int unsigned MTiles = 4,
  parameter int unsigned NTiles = 4,
  parameter int unsigned AAW    = 9,   // A bank address bits
  parameter int unsigned BAW    = 8,   // B bank address bits
  parameter int unsigned PAW    = 6    // parameter memory address bits
) (
  input  logic               clk_i,
  input  logic               rst_ni,
  input  logic               start_i,
  // Run arguments.
  input  logic [63:0]        a_addr_i,
  input  logic [63:0]        b_addr_i,
  input  logic [63:0]        c_addr_i,
  input  logic [63:0]        p_addr_i,
  input  logic [31:0]        m_i,
  input  logic [31:0]        n_i,
  input  logic [31:0]        k_i,
  input  logic [31:0]        lda_i,
  input  logic [31:0]        ldb_i,
  input  logic [31:0]        ldc_i,
  input  logic               out_int32_i,
  // Progress of the other engines.
  input  logic [31:0]        jobs_computed_i,
  input  logic [31:0]        blocks_drained_i,
  output logic [31:0]        jobs_loaded_o,
  output logic               seq_done_o,      // every job has been handed out
  output logic               placer_idle_o,
  output logic [3:0]         state_o,
  // Read master.
  output logic               rd_cmd_valid_o,
  input  logic               rd_cmd_ready_i,
  output logic [63:0]        rd_cmd_addr_o,
  output logic [31:0]        rd_cmd_beats_o,
  input  logic               beat_valid_i,
  output logic               beat_ready_o,
  input  logic [63:0]        beat_data_i,
  // Buffer writes.
  output logic [Rows-1:0]    a_we_o,
  output logic [AAW-1:0]     a_waddr_o,
  output logic [Cols-1:0]    b_we_o,
  output logic [BAW-1:0]     b_waddr_o,
  output logic [63:0]        wdata_o,
  output logic               p_we_lo_o,       // bias and multiplier of channel p_waddr_o
  output logic               p_we_hi_o,       // shift of channel p_waddr_o
  output logic [PAW-1:0]     p_waddr_o,
  // Job descriptors for the compute engine:
  // {first, last, half, ahalf, klen[15:0], mrows[15:0], ncols[15:0]}.
  output logic               cjob_valid_o,
  input  logic               cjob_ready_i,
  output logic [51:0]        cjob_o,
  // Block descriptors for the drain: {c_addr[63:0], mrows[15:0], ncols[15:0], dhalf}.
  output logic               dblk_valid_o,
  input  logic               dblk_ready_i,
  output logic [96:0]        dblk_o
);

  localparam int unsigned MT    = Rows * MTiles;          // block rows
  localparam int unsigned NT    = Cols * NTiles;          // block channels
  localparam int unsigned KW    = KDepth / 8;             // A words per row chunk
  // B holds each code in a container of CBits bits (gemm_pkg).
  localparam int unsigned CBits = gemm_pkg::code_container_bits(WBits);
  localparam int unsigned KWB   = KDepth * CBits / 64;    // B words per row chunk

  // Sequencer states (also reported in STATE.LOADER).
  localparam logic [3:0] SIdle   = 4'd0;
  localparam logic [3:0] SWait   = 4'd1;
  localparam logic [3:0] SParams = 4'd2;
  localparam logic [3:0] SA      = 4'd3;
  localparam logic [3:0] SB      = 4'd4;
  localparam logic [3:0] SNext   = 4'd5;

  logic [3:0]  state_q;
  logic [31:0] m0_q, n0_q, k0_q;
  logic [31:0] job_q, blk_q;
  logic [63:0] a_blk_q, b_blk_q, p_blk_q, c_blk_q;  // block bases (rows m0 / channels n0)
  logic [63:0] row_addr_q;
  logic [15:0] row_q;
  logic [31:0] lda_mt_q, ldb_nt_q, ldc_mt_q;
  logic        seq_done_q;

  // Geometry of the current job.
  logic [31:0] m_left, n_left, k_left;
  logic [15:0] mrows, ncols, klen, a_beats, b_beats;
  logic        first, last, final_job;
  assign m_left    = m_i - m0_q;
  assign n_left    = n_i - n0_q;
  assign k_left    = k_i - k0_q;
  assign mrows     = (m_left < 32'(MT)) ? 16'(m_left) : 16'(MT);
  assign ncols     = (n_left < 32'(NT)) ? 16'(n_left) : 16'(NT);
  assign klen      = (k_left < 32'(KDepth)) ? 16'(k_left) : 16'(KDepth);
  assign a_beats   = (klen + 16'd7) >> 3;
  assign b_beats   = 16'((32'(klen) * CBits + 32'd63) >> 6);
  assign first     = (k0_q == '0);
  assign last      = (k_left <= 32'(KDepth));
  assign final_job = last && (n_left <= 32'(NT)) && (m_left <= 32'(MT));

  // Placer descriptors: {has_params, half, phalf, mrows, ncols, a_beats, b_beats}.
  logic        pjob_wready, pjob_rvalid, pjob_pop;
  logic [66:0] pjob_w, pjob_r;
  logic        cjob_wready, dblk_wready;
  logic        can_go, go;

  assign can_go = (state_q == SWait)
                  && (job_q - jobs_computed_i < 32'd2)
                  && (!first || (blk_q - blocks_drained_i < 32'd2))
                  && pjob_wready && cjob_wready && (!first || dblk_wready);
  assign go     = can_go;
  assign pjob_w = {first, job_q[0], blk_q[0] ^ !first, mrows, ncols, a_beats, b_beats};

  kiln_fifo #(.Width(67), .Depth(2)) u_pjob_fifo (
    .clk_i (clk_i), .rst_ni (rst_ni), .clr_i (start_i),
    .wvalid_i (go), .wready_o (pjob_wready), .wdata_i (pjob_w),
    .rvalid_o (pjob_rvalid), .rready_i (pjob_pop), .rdata_o (pjob_r), .count_o ()
  );

  // The block index of a non-first chunk is blk_q - 1: its first chunk
  // already advanced blk_q. Hence `blk_q[0] ^ !first` above and below.
  kiln_fifo #(.Width(52), .Depth(4)) u_cjob_fifo (
    .clk_i (clk_i), .rst_ni (rst_ni), .clr_i (start_i),
    .wvalid_i (go), .wready_o (cjob_wready),
    .wdata_i  ({first, last, job_q[0], blk_q[0] ^ !first, klen, mrows, ncols}),
    .rvalid_o (cjob_valid_o), .rready_i (cjob_ready_i), .rdata_o (cjob_o), .count_o ()
  );

  kiln_fifo #(.Width(97), .Depth(4)) u_dblk_fifo (
    .clk_i (clk_i), .rst_ni (rst_ni), .clr_i (start_i),
    .wvalid_i (go && first), .wready_o (dblk_wready),
    .wdata_i  ({c_blk_q + (out_int32_i ? {30'd0, n0_q, 2'b00} : {32'd0, n0_q}), mrows, ncols, blk_q[0]}),
    .rvalid_o (dblk_valid_o), .rready_i (dblk_ready_i), .rdata_o (dblk_o), .count_o ()
  );

  // Read segment requests.
  always_comb begin
    rd_cmd_valid_o = 1'b0;
    rd_cmd_addr_o  = row_addr_q;
    rd_cmd_beats_o = 32'd0;
    unique case (state_q)
      SParams: begin
        rd_cmd_valid_o = 1'b1;
        rd_cmd_beats_o = {15'd0, ncols, 1'b0};
      end
      SA: begin
        rd_cmd_valid_o = 1'b1;
        rd_cmd_beats_o = {16'd0, a_beats};
      end
      SB: begin
        rd_cmd_valid_o = 1'b1;
        rd_cmd_beats_o = {16'd0, b_beats};
      end
      default: ;
    endcase
  end

  logic [63:0] b_kbyte;  // byte offset of k0 within a B row of code containers
  assign b_kbyte = 64'((64'(k0_q) * CBits) >> 3);

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q    <= SIdle;
      m0_q       <= '0;
      n0_q       <= '0;
      k0_q       <= '0;
      job_q      <= '0;
      blk_q      <= '0;
      a_blk_q    <= '0;
      b_blk_q    <= '0;
      p_blk_q    <= '0;
      c_blk_q    <= '0;
      row_addr_q <= '0;
      row_q      <= '0;
      lda_mt_q   <= '0;
      ldb_nt_q   <= '0;
      ldc_mt_q   <= '0;
      seq_done_q <= 1'b0;
    end else begin
      unique case (state_q)
        SIdle: begin
          if (start_i) begin
            m0_q       <= '0;
            n0_q       <= '0;
            k0_q       <= '0;
            job_q      <= '0;
            blk_q      <= '0;
            a_blk_q    <= a_addr_i;
            b_blk_q    <= b_addr_i;
            p_blk_q    <= p_addr_i;
            c_blk_q    <= c_addr_i;
            lda_mt_q   <= lda_i * MT;
            ldb_nt_q   <= ldb_i * NT;
            ldc_mt_q   <= ldc_i * MT;
            // A run with an empty dimension has no jobs.
            seq_done_q <= (m_i == '0) || (n_i == '0) || (k_i == '0);
            if ((m_i != '0) && (n_i != '0) && (k_i != '0)) state_q <= SWait;
          end
        end
        SWait: begin
          if (go) begin
            job_q <= job_q + 32'd1;
            if (first) begin
              blk_q      <= blk_q + 32'd1;
              row_addr_q <= p_blk_q;
              state_q    <= SParams;
            end else begin
              row_addr_q <= a_blk_q + 64'(k0_q);
              state_q    <= SA;
            end
            row_q <= '0;
          end
        end
        SParams: begin
          if (rd_cmd_ready_i) begin
            row_addr_q <= a_blk_q + 64'(k0_q);
            state_q    <= SA;
          end
        end
        SA: begin
          if (rd_cmd_ready_i) begin
            if (row_q == mrows - 16'd1) begin
              row_q      <= '0;
              row_addr_q <= b_blk_q + b_kbyte;
              state_q    <= SB;
            end else begin
              row_q      <= row_q + 16'd1;
              row_addr_q <= row_addr_q + 64'(lda_i);
            end
          end
        end
        SB: begin
          if (rd_cmd_ready_i) begin
            if (row_q == ncols - 16'd1) begin
              state_q <= SNext;
            end else begin
              row_q      <= row_q + 16'd1;
              row_addr_q <= row_addr_q + 64'(ldb_i);
            end
          end
        end
        SNext: begin
          if (final_job) begin
            seq_done_q <= 1'b1;
            state_q    <= SIdle;
          end else begin
            state_q <= SWait;
            if (!last) begin
              k0_q <= k0_q + 32'(KDepth);
            end else begin
              k0_q <= '0;
              if (n_left <= 32'(NT)) begin
                n0_q    <= '0;
                b_blk_q <= b_addr_i;
                p_blk_q <= p_addr_i;
                m0_q    <= m0_q + 32'(MT);
                a_blk_q <= a_blk_q + 64'(lda_mt_q);
                c_blk_q <= c_blk_q + 64'(ldc_mt_q);
              end else begin
                n0_q    <= n0_q + 32'(NT);
                b_blk_q <= b_blk_q + 64'(ldb_nt_q);
                p_blk_q <= p_blk_q + 64'(NT * 16);
              end
            end
          end
        end
        default: state_q <= SIdle;
      endcase
    end
  end

  assign seq_done_o = seq_done_q;
  assign state_o    = state_q;

  // ---------------------------------------------------------------- placer
  localparam logic [1:0] PIdle   = 2'd0;
  localparam logic [1:0] PParams = 2'd1;
  localparam logic [1:0] PA      = 2'd2;
  localparam logic [1:0] PB      = 2'd3;

  logic [1:0]       pstate_q;
  logic             p_half_q, p_phalf_q;
  logic [15:0]      p_mrows_q, p_ncols_q, p_abeats_q, p_bbeats_q;
  logic [15:0]      p_row_q, p_beat_q;
  logic [7:0]       p_bank_q;
  logic [31:0]      p_tile_base_q;  // word offset of the current tile within the half
  logic [31:0]      jobs_loaded_q;
  logic             beat_fire;
  logic [15:0]      p_seg_beats;
  logic             p_row_end;

  assign beat_ready_o = (pstate_q != PIdle);
  assign beat_fire    = beat_valid_i && beat_ready_o;
  assign pjob_pop     = (pstate_q == PIdle) && pjob_rvalid;
  assign p_seg_beats  = (pstate_q == PA) ? p_abeats_q : p_bbeats_q;
  assign p_row_end    = (p_beat_q == p_seg_beats - 16'd1);

  // Buffer write ports.
  always_comb begin
    a_we_o    = '0;
    b_we_o    = '0;
    p_we_lo_o = 1'b0;
    p_we_hi_o = 1'b0;
    a_waddr_o = AAW'((p_half_q ? 32'(MTiles * KW) : 32'd0) + p_tile_base_q + 32'(p_beat_q));
    b_waddr_o = BAW'((p_half_q ? 32'(NTiles * KWB) : 32'd0) + p_tile_base_q + 32'(p_beat_q));
    p_waddr_o = PAW'((p_phalf_q ? 32'(NT) : 32'd0) + (32'(p_beat_q) >> 1));
    if (beat_fire) begin
      unique case (pstate_q)
        PParams: begin
          p_we_lo_o = !p_beat_q[0];
          p_we_hi_o = p_beat_q[0];
        end
        PA: a_we_o = Rows'(32'd1 << p_bank_q);
        PB: b_we_o = Cols'(32'd1 << p_bank_q);
        default: ;
      endcase
    end
  end
  assign wdata_o = beat_data_i;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      pstate_q      <= PIdle;
      p_half_q      <= 1'b0;
      p_phalf_q     <= 1'b0;
      p_mrows_q     <= '0;
      p_ncols_q     <= '0;
      p_abeats_q    <= '0;
      p_bbeats_q    <= '0;
      p_row_q       <= '0;
      p_beat_q      <= '0;
      p_bank_q      <= '0;
      p_tile_base_q <= '0;
      jobs_loaded_q <= '0;
    end else begin
      if (start_i) jobs_loaded_q <= '0;
      unique case (pstate_q)
        PIdle: begin
          if (pjob_rvalid) begin
            {p_half_q, p_phalf_q, p_mrows_q, p_ncols_q, p_abeats_q, p_bbeats_q} <= pjob_r[65:0];
            p_row_q       <= '0;
            p_beat_q      <= '0;
            p_bank_q      <= '0;
            p_tile_base_q <= '0;
            pstate_q      <= pjob_r[66] ? PParams : PA;
          end
        end
        PParams: begin
          if (beat_fire) begin
            if (p_beat_q == {p_ncols_q[14:0], 1'b0} - 16'd1) begin
              p_beat_q <= '0;
              pstate_q <= PA;
            end else begin
              p_beat_q <= p_beat_q + 16'd1;
            end
          end
        end
        PA, PB: begin
          if (beat_fire) begin
            if (!p_row_end) begin
              p_beat_q <= p_beat_q + 16'd1;
            end else begin
              p_beat_q <= '0;
              // Rows go to banks round-robin; a full round moves to the next tile.
              if (32'(p_bank_q) == ((pstate_q == PA) ? 32'(Rows - 1) : 32'(Cols - 1))) begin
                p_bank_q      <= '0;
                p_tile_base_q <= p_tile_base_q + ((pstate_q == PA) ? 32'(KW) : 32'(KWB));
              end else begin
                p_bank_q <= p_bank_q + 8'd1;
              end
              if (pstate_q == PA && p_row_q == p_mrows_q - 16'd1) begin
                p_row_q       <= '0;
                p_bank_q      <= '0;
                p_tile_base_q <= '0;
                pstate_q      <= PB;
              end else if (pstate_q == PB && p_row_q == p_ncols_q - 16'd1) begin
                jobs_loaded_q <= jobs_loaded_q + 32'd1;
                pstate_q      <= PIdle;
              end else begin
                p_row_q <= p_row_q + 16'd1;
              end
            end
          end
        end
        default: pstate_q <= PIdle;
      endcase
    end
  end

  assign jobs_loaded_o = jobs_loaded_q;
  assign placer_idle_o = (pstate_q == PIdle) && !pjob_rvalid;

endmodule
