// Generated from hw/regs/kiln.toml by `kiln regs generate` (`make regs`); do not edit by hand.
// `make test` fails when this file is stale.
//
// Control registers of kiln, register-map version 2: the byte offset and
// reset value of each register in the 256-byte AXI-Lite window, and the
// LSB and width of each field. Software access: rw read/write, ro read-only,
// rc read-only and cleared by a read of the register, tow writing 1 toggles
// the bit. Hardware access: hro reads, hrw reads and updates, hwo drives.
//
// A module that imports this package uses only some of its constants, so
// the package waives Verilator's UNUSEDPARAM for its own parameters.

package kiln_reg_pkg;
  // verilator lint_off UNUSEDPARAM

  // Identity: the value the MAGIC register reads.
  localparam logic [31:0] KILN_MAGIC = 32'h4B494C4E;
  // Register-map version: the value the VERSION register reads.
  localparam logic [31:0] KILN_REG_VERSION = 32'd2;
  // Size of the register window in bytes.
  localparam integer KILN_REG_WINDOW = 256;

  // CTRL at 0x00: Run control and status, XRT ap_ctrl_hs convention.
  localparam logic [7:0] KILN_CTRL_OFFSET = 8'h00;
  localparam logic [31:0] KILN_CTRL_RESET = 32'h00000004;
  // CTRL.AP_START [0] sw rw, hw hrw, reset 0x0: Write 1 to start a run with the argument registers; hardware clears it when the run is accepted.
  localparam integer KILN_CTRL_AP_START_LSB = 0;
  localparam integer KILN_CTRL_AP_START_WIDTH = 1;
  // CTRL.AP_DONE [1] sw rc, hw hrw, reset 0x0: Set when a run has finished and every output write is acknowledged; cleared when CTRL is read.
  localparam integer KILN_CTRL_AP_DONE_LSB = 1;
  localparam integer KILN_CTRL_AP_DONE_WIDTH = 1;
  // CTRL.AP_IDLE [2] sw ro, hw hwo, reset 0x1: 1 while no run is in progress.
  localparam integer KILN_CTRL_AP_IDLE_LSB = 2;
  localparam integer KILN_CTRL_AP_IDLE_WIDTH = 1;
  // CTRL.AP_READY [3] sw rc, hw hrw, reset 0x0: Set with AP_DONE: the argument registers may be rewritten; cleared when CTRL is read.
  localparam integer KILN_CTRL_AP_READY_LSB = 3;
  localparam integer KILN_CTRL_AP_READY_WIDTH = 1;
  // CTRL.AUTO_RESTART [7] sw rw, hw hro, reset 0x0: Start the next run with the same arguments as soon as one finishes.
  localparam integer KILN_CTRL_AUTO_RESTART_LSB = 7;
  localparam integer KILN_CTRL_AUTO_RESTART_WIDTH = 1;

  // GIE at 0x04: Global interrupt enable.
  localparam logic [7:0] KILN_GIE_OFFSET = 8'h04;
  localparam logic [31:0] KILN_GIE_RESET = 32'h00000000;
  // GIE.ENABLE [0] sw rw, hw hro, reset 0x0: Drive the interrupt line when an enabled ISR bit is set.
  localparam integer KILN_GIE_ENABLE_LSB = 0;
  localparam integer KILN_GIE_ENABLE_WIDTH = 1;

  // IER at 0x08: Interrupt enable per source.
  localparam logic [7:0] KILN_IER_OFFSET = 8'h08;
  localparam logic [31:0] KILN_IER_RESET = 32'h00000000;
  // IER.DONE [0] sw rw, hw hro, reset 0x0: Interrupt on ap_done.
  localparam integer KILN_IER_DONE_LSB = 0;
  localparam integer KILN_IER_DONE_WIDTH = 1;
  // IER.READY [1] sw rw, hw hro, reset 0x0: Interrupt on ap_ready.
  localparam integer KILN_IER_READY_LSB = 1;
  localparam integer KILN_IER_READY_WIDTH = 1;

  // ISR at 0x0C: Interrupt status; writing 1 to a bit toggles it (XRT's TOW convention).
  localparam logic [7:0] KILN_ISR_OFFSET = 8'h0C;
  localparam logic [31:0] KILN_ISR_RESET = 32'h00000000;
  // ISR.DONE [0] sw tow, hw hrw, reset 0x0: A run finished.
  localparam integer KILN_ISR_DONE_LSB = 0;
  localparam integer KILN_ISR_DONE_WIDTH = 1;
  // ISR.READY [1] sw tow, hw hrw, reset 0x0: The accelerator accepted new arguments.
  localparam integer KILN_ISR_READY_LSB = 1;
  localparam integer KILN_ISR_READY_WIDTH = 1;

  // A_ADDR_LO at 0x10: Operand A (activations): device address, low word. 8-byte aligned. What it holds is the engine's (hw/ip/<engine>/doc/registers.md).
  localparam logic [7:0] KILN_A_ADDR_LO_OFFSET = 8'h10;
  localparam logic [31:0] KILN_A_ADDR_LO_RESET = 32'h00000000;
  // A_ADDR_LO.VALUE [31:0] sw rw, hw hro, reset 0x0: Address bits 31:0.
  localparam integer KILN_A_ADDR_LO_VALUE_LSB = 0;
  localparam integer KILN_A_ADDR_LO_VALUE_WIDTH = 32;

  // A_ADDR_HI at 0x14: Operand A: device address, high word.
  localparam logic [7:0] KILN_A_ADDR_HI_OFFSET = 8'h14;
  localparam logic [31:0] KILN_A_ADDR_HI_RESET = 32'h00000000;
  // A_ADDR_HI.VALUE [31:0] sw rw, hw hro, reset 0x0: Address bits 63:32.
  localparam integer KILN_A_ADDR_HI_VALUE_LSB = 0;
  localparam integer KILN_A_ADDR_HI_VALUE_WIDTH = 32;

  // B_ADDR_LO at 0x18: Operand B (weights): device address, low word. 8-byte aligned. What it holds is the engine's.
  localparam logic [7:0] KILN_B_ADDR_LO_OFFSET = 8'h18;
  localparam logic [31:0] KILN_B_ADDR_LO_RESET = 32'h00000000;
  // B_ADDR_LO.VALUE [31:0] sw rw, hw hro, reset 0x0: Address bits 31:0.
  localparam integer KILN_B_ADDR_LO_VALUE_LSB = 0;
  localparam integer KILN_B_ADDR_LO_VALUE_WIDTH = 32;

  // B_ADDR_HI at 0x1C: Operand B: device address, high word.
  localparam logic [7:0] KILN_B_ADDR_HI_OFFSET = 8'h1C;
  localparam logic [31:0] KILN_B_ADDR_HI_RESET = 32'h00000000;
  // B_ADDR_HI.VALUE [31:0] sw rw, hw hro, reset 0x0: Address bits 63:32.
  localparam integer KILN_B_ADDR_HI_VALUE_LSB = 0;
  localparam integer KILN_B_ADDR_HI_VALUE_WIDTH = 32;

  // C_ADDR_LO at 0x20: Output C: device address, low word. 8-byte aligned. What it holds is the engine's.
  localparam logic [7:0] KILN_C_ADDR_LO_OFFSET = 8'h20;
  localparam logic [31:0] KILN_C_ADDR_LO_RESET = 32'h00000000;
  // C_ADDR_LO.VALUE [31:0] sw rw, hw hro, reset 0x0: Address bits 31:0.
  localparam integer KILN_C_ADDR_LO_VALUE_LSB = 0;
  localparam integer KILN_C_ADDR_LO_VALUE_WIDTH = 32;

  // C_ADDR_HI at 0x24: Output C: device address, high word.
  localparam logic [7:0] KILN_C_ADDR_HI_OFFSET = 8'h24;
  localparam logic [31:0] KILN_C_ADDR_HI_RESET = 32'h00000000;
  // C_ADDR_HI.VALUE [31:0] sw rw, hw hro, reset 0x0: Address bits 63:32.
  localparam integer KILN_C_ADDR_HI_VALUE_LSB = 0;
  localparam integer KILN_C_ADDR_HI_VALUE_WIDTH = 32;

  // P_ADDR_LO at 0x28: Operand P (per-channel parameters, for engines that take them): device address, low word. 8-byte aligned.
  localparam logic [7:0] KILN_P_ADDR_LO_OFFSET = 8'h28;
  localparam logic [31:0] KILN_P_ADDR_LO_RESET = 32'h00000000;
  // P_ADDR_LO.VALUE [31:0] sw rw, hw hro, reset 0x0: Address bits 31:0.
  localparam integer KILN_P_ADDR_LO_VALUE_LSB = 0;
  localparam integer KILN_P_ADDR_LO_VALUE_WIDTH = 32;

  // P_ADDR_HI at 0x2C: Operand P: device address, high word.
  localparam logic [7:0] KILN_P_ADDR_HI_OFFSET = 8'h2C;
  localparam logic [31:0] KILN_P_ADDR_HI_RESET = 32'h00000000;
  // P_ADDR_HI.VALUE [31:0] sw rw, hw hro, reset 0x0: Address bits 63:32.
  localparam integer KILN_P_ADDR_HI_VALUE_LSB = 0;
  localparam integer KILN_P_ADDR_HI_VALUE_WIDTH = 32;

  // M at 0x30: First dimension of the run (GEMM and BFP: rows of A and C).
  localparam logic [7:0] KILN_M_OFFSET = 8'h30;
  localparam logic [31:0] KILN_M_RESET = 32'h00000000;
  // M.VALUE [31:0] sw rw, hw hro, reset 0x0: M, at least 1.
  localparam integer KILN_M_VALUE_LSB = 0;
  localparam integer KILN_M_VALUE_WIDTH = 32;

  // N at 0x34: Second dimension of the run (GEMM and BFP: output channels, columns of C).
  localparam logic [7:0] KILN_N_OFFSET = 8'h34;
  localparam logic [31:0] KILN_N_RESET = 32'h00000000;
  // N.VALUE [31:0] sw rw, hw hro, reset 0x0: N, at least 1.
  localparam integer KILN_N_VALUE_LSB = 0;
  localparam integer KILN_N_VALUE_WIDTH = 32;

  // K at 0x38: Third dimension of the run (GEMM and BFP: the reduction length).
  localparam logic [7:0] KILN_K_OFFSET = 8'h38;
  localparam logic [31:0] KILN_K_RESET = 32'h00000000;
  // K.VALUE [31:0] sw rw, hw hro, reset 0x0: K, at least 1.
  localparam integer KILN_K_VALUE_LSB = 0;
  localparam integer KILN_K_VALUE_WIDTH = 32;

  // LDA at 0x3C: Row stride of A in bytes.
  localparam logic [7:0] KILN_LDA_OFFSET = 8'h3C;
  localparam logic [31:0] KILN_LDA_RESET = 32'h00000000;
  // LDA.VALUE [31:0] sw rw, hw hro, reset 0x0: A multiple of 8, at least one row of A as the engine lays it out.
  localparam integer KILN_LDA_VALUE_LSB = 0;
  localparam integer KILN_LDA_VALUE_WIDTH = 32;

  // LDB at 0x40: Row stride of B in bytes (for engines that use it).
  localparam logic [7:0] KILN_LDB_OFFSET = 8'h40;
  localparam logic [31:0] KILN_LDB_RESET = 32'h00000000;
  // LDB.VALUE [31:0] sw rw, hw hro, reset 0x0: A multiple of 8, at least one row of B as the engine lays it out.
  localparam integer KILN_LDB_VALUE_LSB = 0;
  localparam integer KILN_LDB_VALUE_WIDTH = 32;

  // LDC at 0x44: Row stride of C in bytes.
  localparam logic [7:0] KILN_LDC_OFFSET = 8'h44;
  localparam logic [31:0] KILN_LDC_RESET = 32'h00000000;
  // LDC.VALUE [31:0] sw rw, hw hro, reset 0x0: A multiple of 8, at least one row of C.
  localparam integer KILN_LDC_VALUE_LSB = 0;
  localparam integer KILN_LDC_VALUE_WIDTH = 32;

  // MODE at 0x48: Run options, defined per engine: each engine's fields are in hw/ip/<engine>/engine.toml (and its doc/registers.md).
  localparam logic [7:0] KILN_MODE_OFFSET = 8'h48;
  localparam logic [31:0] KILN_MODE_RESET = 32'h00000000;
  // MODE.VALUE [31:0] sw rw, hw hro, reset 0x0: The engine's MODE word.
  localparam integer KILN_MODE_VALUE_LSB = 0;
  localparam integer KILN_MODE_VALUE_WIDTH = 32;

  // MAGIC at 0x80: Identity: reads 0x4B494C4E ("KILN").
  localparam logic [7:0] KILN_MAGIC_OFFSET = 8'h80;
  localparam logic [31:0] KILN_MAGIC_RESET = 32'h4B494C4E;
  // MAGIC.VALUE [31:0] sw ro, hw hwo, reset 0x4b494c4e: Magic number.
  localparam integer KILN_MAGIC_VALUE_LSB = 0;
  localparam integer KILN_MAGIC_VALUE_WIDTH = 32;

  // VERSION at 0x84: Identity: register-map version this hardware implements.
  localparam logic [7:0] KILN_VERSION_OFFSET = 8'h84;
  localparam logic [31:0] KILN_VERSION_RESET = 32'h00000002;
  // VERSION.VALUE [31:0] sw ro, hw hwo, reset 0x2: Register-map version.
  localparam integer KILN_VERSION_VALUE_LSB = 0;
  localparam integer KILN_VERSION_VALUE_WIDTH = 32;

  // DESIGN_ID at 0x88: Identity: 32-bit FNV-1a hash of the design name (hw/designs/<name>.toml).
  localparam logic [7:0] KILN_DESIGN_ID_OFFSET = 8'h88;
  localparam logic [31:0] KILN_DESIGN_ID_RESET = 32'h00000000;
  // DESIGN_ID.VALUE [31:0] sw ro, hw hwo, reset 0x0: Design id.
  localparam integer KILN_DESIGN_ID_VALUE_LSB = 0;
  localparam integer KILN_DESIGN_ID_VALUE_WIDTH = 32;

  // ARRAY at 0x8C: Identity: PE array geometry and PE kind.
  localparam logic [7:0] KILN_ARRAY_OFFSET = 8'h8C;
  localparam logic [31:0] KILN_ARRAY_RESET = 32'h00000000;
  // ARRAY.ROWS [7:0] sw ro, hw hwo, reset 0x0: Output rows computed at once (GEMM: PE rows; BFP, dwconv: lanes).
  localparam integer KILN_ARRAY_ROWS_LSB = 0;
  localparam integer KILN_ARRAY_ROWS_WIDTH = 8;
  // ARRAY.COLS [15:8] sw ro, hw hwo, reset 0x0: GEMM: PE columns. BFP: output columns collected per write (n_tile). Other engines: their doc/registers.md.
  localparam integer KILN_ARRAY_COLS_LSB = 8;
  localparam integer KILN_ARRAY_COLS_WIDTH = 8;
  // ARRAY.PE_KIND [23:16] sw ro, hw hwo, reset 0x0: PE kind, an index into the PE library (hw/ip/pe/data/codebooks.toml); 0 for an engine without PEs.
  localparam integer KILN_ARRAY_PE_KIND_LSB = 16;
  localparam integer KILN_ARRAY_PE_KIND_WIDTH = 8;
  // ARRAY.WEIGHT_BITS [31:24] sw ro, hw hwo, reset 0x0: Bits per weight code (engines with PEs) or weight element (BFP: 8 mxint8, 4 mxint4).
  localparam integer KILN_ARRAY_WEIGHT_BITS_LSB = 24;
  localparam integer KILN_ARRAY_WEIGHT_BITS_WIDTH = 8;

  // BUFFERS at 0x90: Identity: on-chip buffer geometry.
  localparam logic [7:0] KILN_BUFFERS_OFFSET = 8'h90;
  localparam logic [31:0] KILN_BUFFERS_RESET = 32'h00000000;
  // BUFFERS.K_DEPTH [15:0] sw ro, hw hwo, reset 0x0: GEMM: K elements held per buffer half. BFP: the longest K. Other engines: their buffer limit (doc/registers.md).
  localparam integer KILN_BUFFERS_K_DEPTH_LSB = 0;
  localparam integer KILN_BUFFERS_K_DEPTH_WIDTH = 16;
  // BUFFERS.M_TILES [23:16] sw ro, hw hwo, reset 0x0: GEMM: array-row tiles per output block. Other engines: 1.
  localparam integer KILN_BUFFERS_M_TILES_LSB = 16;
  localparam integer KILN_BUFFERS_M_TILES_WIDTH = 8;
  // BUFFERS.N_TILES [31:24] sw ro, hw hwo, reset 0x0: GEMM: array-column tiles per output block. Other engines: 1.
  localparam integer KILN_BUFFERS_N_TILES_LSB = 24;
  localparam integer KILN_BUFFERS_N_TILES_WIDTH = 8;

  // ENGINE at 0x94: Identity: which engine the design instantiates.
  localparam logic [7:0] KILN_ENGINE_OFFSET = 8'h94;
  localparam logic [31:0] KILN_ENGINE_RESET = 32'h00000000;
  // ENGINE.KIND [3:0] sw ro, hw hwo, reset 0x0: The engine's kind code (hw/engines.toml).
  localparam integer KILN_ENGINE_KIND_LSB = 0;
  localparam integer KILN_ENGINE_KIND_WIDTH = 4;
  // ENGINE.BLOCK [15:8] sw ro, hw hwo, reset 0x0: BFP: elements per block sharing one exponent. Other engines: 0.
  localparam integer KILN_ENGINE_BLOCK_LSB = 8;
  localparam integer KILN_ENGINE_BLOCK_WIDTH = 8;

  // CYCLES_LO at 0xA0: Counter: cycles from start to done, low word.
  localparam logic [7:0] KILN_CYCLES_LO_OFFSET = 8'hA0;
  localparam logic [31:0] KILN_CYCLES_LO_RESET = 32'h00000000;
  // CYCLES_LO.VALUE [31:0] sw ro, hw hwo, reset 0x0: Bits 31:0.
  localparam integer KILN_CYCLES_LO_VALUE_LSB = 0;
  localparam integer KILN_CYCLES_LO_VALUE_WIDTH = 32;

  // CYCLES_HI at 0xA4: Counter: cycles from start to done, high word.
  localparam logic [7:0] KILN_CYCLES_HI_OFFSET = 8'hA4;
  localparam logic [31:0] KILN_CYCLES_HI_RESET = 32'h00000000;
  // CYCLES_HI.VALUE [31:0] sw ro, hw hwo, reset 0x0: Bits 63:32.
  localparam integer KILN_CYCLES_HI_VALUE_LSB = 0;
  localparam integer KILN_CYCLES_HI_VALUE_WIDTH = 32;

  // BUSY_LO at 0xA8: Counter: cycles the compute engine issued a step (GEMM: a PE-array step; BFP: a weight beat into the lanes), low word.
  localparam logic [7:0] KILN_BUSY_LO_OFFSET = 8'hA8;
  localparam logic [31:0] KILN_BUSY_LO_RESET = 32'h00000000;
  // BUSY_LO.VALUE [31:0] sw ro, hw hwo, reset 0x0: Bits 31:0.
  localparam integer KILN_BUSY_LO_VALUE_LSB = 0;
  localparam integer KILN_BUSY_LO_VALUE_WIDTH = 32;

  // BUSY_HI at 0xAC: Counter: cycles the PE array issued a step, high word.
  localparam logic [7:0] KILN_BUSY_HI_OFFSET = 8'hAC;
  localparam logic [31:0] KILN_BUSY_HI_RESET = 32'h00000000;
  // BUSY_HI.VALUE [31:0] sw ro, hw hwo, reset 0x0: Bits 63:32.
  localparam integer KILN_BUSY_HI_VALUE_LSB = 0;
  localparam integer KILN_BUSY_HI_VALUE_WIDTH = 32;

  // STALL_LO at 0xB0: Counter: cycles the PE array waited for operands from memory or for the output path, low word.
  localparam logic [7:0] KILN_STALL_LO_OFFSET = 8'hB0;
  localparam logic [31:0] KILN_STALL_LO_RESET = 32'h00000000;
  // STALL_LO.VALUE [31:0] sw ro, hw hwo, reset 0x0: Bits 31:0.
  localparam integer KILN_STALL_LO_VALUE_LSB = 0;
  localparam integer KILN_STALL_LO_VALUE_WIDTH = 32;

  // STALL_HI at 0xB4: Counter: memory-stall cycles, high word.
  localparam logic [7:0] KILN_STALL_HI_OFFSET = 8'hB4;
  localparam logic [31:0] KILN_STALL_HI_RESET = 32'h00000000;
  // STALL_HI.VALUE [31:0] sw ro, hw hwo, reset 0x0: Bits 63:32.
  localparam integer KILN_STALL_HI_VALUE_LSB = 0;
  localparam integer KILN_STALL_HI_VALUE_WIDTH = 32;

  // MACS_LO at 0xB8: Counter: useful multiply-accumulates (M x N x K when a run completes), low word.
  localparam logic [7:0] KILN_MACS_LO_OFFSET = 8'hB8;
  localparam logic [31:0] KILN_MACS_LO_RESET = 32'h00000000;
  // MACS_LO.VALUE [31:0] sw ro, hw hwo, reset 0x0: Bits 31:0.
  localparam integer KILN_MACS_LO_VALUE_LSB = 0;
  localparam integer KILN_MACS_LO_VALUE_WIDTH = 32;

  // MACS_HI at 0xBC: Counter: useful multiply-accumulates, high word.
  localparam logic [7:0] KILN_MACS_HI_OFFSET = 8'hBC;
  localparam logic [31:0] KILN_MACS_HI_RESET = 32'h00000000;
  // MACS_HI.VALUE [31:0] sw ro, hw hwo, reset 0x0: Bits 63:32.
  localparam integer KILN_MACS_HI_VALUE_LSB = 0;
  localparam integer KILN_MACS_HI_VALUE_WIDTH = 32;

  // RD_BYTES_LO at 0xC0: Counter: bytes read over the memory port, low word.
  localparam logic [7:0] KILN_RD_BYTES_LO_OFFSET = 8'hC0;
  localparam logic [31:0] KILN_RD_BYTES_LO_RESET = 32'h00000000;
  // RD_BYTES_LO.VALUE [31:0] sw ro, hw hwo, reset 0x0: Bits 31:0.
  localparam integer KILN_RD_BYTES_LO_VALUE_LSB = 0;
  localparam integer KILN_RD_BYTES_LO_VALUE_WIDTH = 32;

  // RD_BYTES_HI at 0xC4: Counter: bytes read, high word.
  localparam logic [7:0] KILN_RD_BYTES_HI_OFFSET = 8'hC4;
  localparam logic [31:0] KILN_RD_BYTES_HI_RESET = 32'h00000000;
  // RD_BYTES_HI.VALUE [31:0] sw ro, hw hwo, reset 0x0: Bits 63:32.
  localparam integer KILN_RD_BYTES_HI_VALUE_LSB = 0;
  localparam integer KILN_RD_BYTES_HI_VALUE_WIDTH = 32;

  // WR_BYTES_LO at 0xC8: Counter: bytes written over the memory port (strobed bytes only), low word.
  localparam logic [7:0] KILN_WR_BYTES_LO_OFFSET = 8'hC8;
  localparam logic [31:0] KILN_WR_BYTES_LO_RESET = 32'h00000000;
  // WR_BYTES_LO.VALUE [31:0] sw ro, hw hwo, reset 0x0: Bits 31:0.
  localparam integer KILN_WR_BYTES_LO_VALUE_LSB = 0;
  localparam integer KILN_WR_BYTES_LO_VALUE_WIDTH = 32;

  // WR_BYTES_HI at 0xCC: Counter: bytes written, high word.
  localparam logic [7:0] KILN_WR_BYTES_HI_OFFSET = 8'hCC;
  localparam logic [31:0] KILN_WR_BYTES_HI_RESET = 32'h00000000;
  // WR_BYTES_HI.VALUE [31:0] sw ro, hw hwo, reset 0x0: Bits 63:32.
  localparam integer KILN_WR_BYTES_HI_VALUE_LSB = 0;
  localparam integer KILN_WR_BYTES_HI_VALUE_WIDTH = 32;

  // STATE at 0xD0: Debug: state of the three engines, for watchdog and timeout reports.
  localparam logic [7:0] KILN_STATE_OFFSET = 8'hD0;
  localparam logic [31:0] KILN_STATE_RESET = 32'h00000000;
  // STATE.LOADER [3:0] sw ro, hw hwo, reset 0x0: Loader state (0 idle).
  localparam integer KILN_STATE_LOADER_LSB = 0;
  localparam integer KILN_STATE_LOADER_WIDTH = 4;
  // STATE.COMPUTE [7:4] sw ro, hw hwo, reset 0x0: Compute state (0 idle).
  localparam integer KILN_STATE_COMPUTE_LSB = 4;
  localparam integer KILN_STATE_COMPUTE_WIDTH = 4;
  // STATE.DRAIN [11:8] sw ro, hw hwo, reset 0x0: Drain state (0 idle).
  localparam integer KILN_STATE_DRAIN_LSB = 8;
  localparam integer KILN_STATE_DRAIN_WIDTH = 4;
  // STATE.RD_OUTSTANDING [19:12] sw ro, hw hwo, reset 0x0: Read bursts in flight.
  localparam integer KILN_STATE_RD_OUTSTANDING_LSB = 12;
  localparam integer KILN_STATE_RD_OUTSTANDING_WIDTH = 8;
  // STATE.WR_OUTSTANDING [27:20] sw ro, hw hwo, reset 0x0: Write bursts awaiting a response.
  localparam integer KILN_STATE_WR_OUTSTANDING_LSB = 20;
  localparam integer KILN_STATE_WR_OUTSTANDING_WIDTH = 8;
  // STATE.BUS_ERROR [31] sw ro, hw hwo, reset 0x0: A read or write response was SLVERR or DECERR during this run.
  localparam integer KILN_STATE_BUS_ERROR_LSB = 31;
  localparam integer KILN_STATE_BUS_ERROR_WIDTH = 1;

  // JOBS_LOADED at 0xD4: Debug: operand tiles loaded in this run.
  localparam logic [7:0] KILN_JOBS_LOADED_OFFSET = 8'hD4;
  localparam logic [31:0] KILN_JOBS_LOADED_RESET = 32'h00000000;
  // JOBS_LOADED.VALUE [31:0] sw ro, hw hwo, reset 0x0: Count.
  localparam integer KILN_JOBS_LOADED_VALUE_LSB = 0;
  localparam integer KILN_JOBS_LOADED_VALUE_WIDTH = 32;

  // JOBS_COMPUTED at 0xD8: Debug: operand tiles consumed by the PE array in this run.
  localparam logic [7:0] KILN_JOBS_COMPUTED_OFFSET = 8'hD8;
  localparam logic [31:0] KILN_JOBS_COMPUTED_RESET = 32'h00000000;
  // JOBS_COMPUTED.VALUE [31:0] sw ro, hw hwo, reset 0x0: Count.
  localparam integer KILN_JOBS_COMPUTED_VALUE_LSB = 0;
  localparam integer KILN_JOBS_COMPUTED_VALUE_WIDTH = 32;

  // BLOCKS_DRAINED at 0xDC: Debug: output blocks written in this run.
  localparam logic [7:0] KILN_BLOCKS_DRAINED_OFFSET = 8'hDC;
  localparam logic [31:0] KILN_BLOCKS_DRAINED_RESET = 32'h00000000;
  // BLOCKS_DRAINED.VALUE [31:0] sw ro, hw hwo, reset 0x0: Count.
  localparam integer KILN_BLOCKS_DRAINED_VALUE_LSB = 0;
  localparam integer KILN_BLOCKS_DRAINED_VALUE_WIDTH = 32;

  // verilator lint_on UNUSEDPARAM
endpackage
