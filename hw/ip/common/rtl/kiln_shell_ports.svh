// Generated from hw/regs/shell.toml by `kiln regs generate` (`make regs`); do not edit by hand.
//
// The ports of kiln_shell toward the board, included into its port list.
  input  logic         clk_i,            // Fabric clock.
  input  logic         rst_ni,           // Active-low reset, synchronous to clk_i's domain.
  output logic         irq_o,            // Level interrupt: GIE and an enabled ISR bit.
  // AXI4-Lite control slave (hw/regs/kiln.toml).
  input  logic         s_awvalid_i,
  output logic         s_awready_o,
  input  logic [7:0]   s_awaddr_i,       // Byte offset in the register window.
  input  logic         s_wvalid_i,
  output logic         s_wready_o,
  input  logic [31:0]  s_wdata_i,
  input  logic [3:0]   s_wstrb_i,
  output logic         s_bvalid_o,
  input  logic         s_bready_i,
  output logic [1:0]   s_bresp_o,
  input  logic         s_arvalid_i,
  output logic         s_arready_o,
  input  logic [7:0]   s_araddr_i,       // Byte offset in the register window.
  output logic         s_rvalid_o,
  input  logic         s_rready_i,
  output logic [31:0]  s_rdata_o,
  output logic [1:0]   s_rresp_o,
  // AXI4 memory master.
  output logic         m_arvalid_o,
  input  logic         m_arready_i,
  output logic [63:0]  m_araddr_o,
  output logic [7:0]   m_arlen_o,
  output logic [2:0]   m_arsize_o,
  output logic [1:0]   m_arburst_o,
  input  logic         m_rvalid_i,
  output logic         m_rready_o,
  input  logic [63:0]  m_rdata_i,
  input  logic [1:0]   m_rresp_i,
  input  logic         m_rlast_i,
  output logic         m_awvalid_o,
  input  logic         m_awready_i,
  output logic [63:0]  m_awaddr_o,
  output logic [7:0]   m_awlen_o,
  output logic [2:0]   m_awsize_o,
  output logic [1:0]   m_awburst_o,
  output logic         m_wvalid_o,
  input  logic         m_wready_i,
  output logic [63:0]  m_wdata_o,
  output logic [7:0]   m_wstrb_o,
  output logic         m_wlast_o,
  input  logic         m_bvalid_i,
  output logic         m_bready_o,
  input  logic [1:0]   m_bresp_i
