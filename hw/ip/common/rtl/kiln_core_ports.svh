// Generated from hw/regs/shell.toml by `kiln regs generate` (`make regs`); do not edit by hand.
//
// The ports of every engine core (hw/ip/<engine>/rtl/<engine>_core.sv): the
// interface between kiln_shell and the engine, included into the core's port list.
  input  logic         clk_i,            // Fabric clock.
  input  logic         rst_ni,           // Active-low reset.
  input  logic         start_i,          // One-cycle pulse: a run begins with the arguments below.
  input  logic [63:0]  a_addr_i,         // A_ADDR: device address of operand A.
  input  logic [63:0]  b_addr_i,         // B_ADDR: device address of operand B (weights).
  input  logic [63:0]  c_addr_i,         // C_ADDR: device address of the output.
  input  logic [63:0]  p_addr_i,         // P_ADDR: device address of per-channel parameters, for engines that take them.
  input  logic [31:0]  m_i,              // M.
  input  logic [31:0]  n_i,              // N.
  input  logic [31:0]  k_i,              // K.
  input  logic [31:0]  lda_i,            // LDA: row stride of A in bytes.
  input  logic [31:0]  ldb_i,            // LDB: row stride of B in bytes.
  input  logic [31:0]  ldc_i,            // LDC: row stride of C in bytes.
  input  logic [31:0]  mode_i,           // MODE, the whole word: the engine decodes the fields it defines.
  output logic         rd_cmd_valid_o,   // Read command: fetch rd_cmd_beats_o 64-bit beats from rd_cmd_addr_o.
  input  logic         rd_cmd_ready_i,   // The read master took the command.
  output logic [63:0]  rd_cmd_addr_o,    // Read command: 8-byte aligned start address.
  output logic [31:0]  rd_cmd_beats_o,   // Read command: beats (the master splits it into bursts).
  input  logic         rd_beat_valid_i,  // A read beat, in command order.
  output logic         rd_beat_ready_o,  // The core takes the read beat.
  input  logic [63:0]  rd_beat_data_i,   // Read beat data.
  output logic         wr_cmd_valid_o,   // Write command: store wr_cmd_beats_o beats at wr_cmd_addr_o.
  input  logic         wr_cmd_ready_i,   // The write master took the command.
  output logic [63:0]  wr_cmd_addr_o,    // Write command: 8-byte aligned start address.
  output logic [31:0]  wr_cmd_beats_o,   // Write command: beats.
  output logic         wr_beat_valid_o,  // A write beat, in command order.
  input  logic         wr_beat_ready_i,  // The write master took the beat.
  output logic [63:0]  wr_beat_data_o,   // Write beat data.
  output logic [7:0]   wr_beat_strb_o,   // Write beat byte strobes.
  output logic         idle_o,           // The core has finished the run (the shell adds the buses' own idleness).
  output logic         busy_o,           // BUSY counter: the core issued a compute step this cycle.
  output logic         stall_o,          // STALL counter: the core waited for operands or the output path this cycle.
  output logic [31:0]  macs_o,           // MACS counter: useful multiply-accumulates completed this cycle.
  output logic [3:0]   loader_state_o,   // STATE.LOADER: the core's fetch unit state (0 idle).
  output logic [3:0]   compute_state_o,  // STATE.COMPUTE: the core's compute unit state (0 idle).
  output logic [3:0]   drain_state_o,    // STATE.DRAIN: the core's output unit state (0 idle).
  output logic [31:0]  jobs_loaded_o,    // JOBS_LOADED: the core's fetch progress in this run.
  output logic [31:0]  jobs_computed_o,  // JOBS_COMPUTED: the core's compute progress in this run.
  output logic [31:0]  blocks_drained_o  // BLOCKS_DRAINED: the core's output progress in this run.
