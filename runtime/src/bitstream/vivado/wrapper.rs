//! `kiln_kernel.v`: the engine top under the port names Vivado's IP
//! integrator and IP packager infer AXI interfaces from.
//!
//! Verilog-2001, not SystemVerilog, because a block-design module reference
//! must have a Verilog or VHDL top. The AXI4 signals the engine tops do not
//! have (IDs, lock, cache, protection, QoS) are constants here: one ID, so
//! responses come back in order; cache 4'b0011 (bufferable, modifiable), the
//! value Xilinx's own masters use by default.

use std::fmt::Write as _;

use kiln_spec::regs::{CONTROL_PORT, MEMORY_PORT, MEMORY_PORT_BITS};

use super::{Project, VivadoError, KERNEL};

/// A port of the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    In,
    Out,
}

/// What a kernel port connects to.
#[derive(Debug, Clone, Copy)]
enum Drive {
    /// This port of the engine top.
    Top(&'static str),
    /// A constant (outputs only).
    Const(&'static str),
    /// Nothing: an input the engine does not need.
    Unused,
}

struct Port {
    name: String,
    dir: Dir,
    bits: u32,
    drive: Drive,
}

/// The kernel's ports, in declaration order.
fn ports(addr_bits: u32) -> Vec<Port> {
    let mut ports = Vec::new();
    let mut add = |name: String, dir, bits, drive| {
        ports.push(Port {
            name,
            dir,
            bits,
            drive,
        })
    };
    add("ap_clk".into(), Dir::In, 1, Drive::Top("clk_i"));
    add("ap_rst_n".into(), Dir::In, 1, Drive::Top("rst_ni"));
    add("interrupt".into(), Dir::Out, 1, Drive::Top("irq_o"));
    use Dir::{In, Out};
    let control: [(&str, Dir, u32, &'static str); 17] = [
        ("awvalid", In, 1, "s_awvalid_i"),
        ("awready", Out, 1, "s_awready_o"),
        ("awaddr", In, addr_bits, "s_awaddr_i"),
        ("wvalid", In, 1, "s_wvalid_i"),
        ("wready", Out, 1, "s_wready_o"),
        ("wdata", In, 32, "s_wdata_i"),
        ("wstrb", In, 4, "s_wstrb_i"),
        ("bvalid", Out, 1, "s_bvalid_o"),
        ("bready", In, 1, "s_bready_i"),
        ("bresp", Out, 2, "s_bresp_o"),
        ("arvalid", In, 1, "s_arvalid_i"),
        ("arready", Out, 1, "s_arready_o"),
        ("araddr", In, addr_bits, "s_araddr_i"),
        ("rvalid", Out, 1, "s_rvalid_o"),
        ("rready", In, 1, "s_rready_i"),
        ("rdata", Out, 32, "s_rdata_o"),
        ("rresp", Out, 2, "s_rresp_o"),
    ];
    for (signal, dir, bits, top) in control {
        add(
            format!("{CONTROL_PORT}_{signal}"),
            dir,
            bits,
            Drive::Top(top),
        );
    }
    let data = MEMORY_PORT_BITS;
    let memory: [(&str, Dir, u32, Drive); 37] = [
        ("awvalid", Out, 1, Drive::Top("m_awvalid_o")),
        ("awready", In, 1, Drive::Top("m_awready_i")),
        ("awaddr", Out, 64, Drive::Top("m_awaddr_o")),
        ("awid", Out, 1, Drive::Const("1'b0")),
        ("awlen", Out, 8, Drive::Top("m_awlen_o")),
        ("awsize", Out, 3, Drive::Top("m_awsize_o")),
        ("awburst", Out, 2, Drive::Top("m_awburst_o")),
        ("awlock", Out, 1, Drive::Const("1'b0")),
        ("awcache", Out, 4, Drive::Const("4'b0011")),
        ("awprot", Out, 3, Drive::Const("3'b000")),
        ("awqos", Out, 4, Drive::Const("4'b0000")),
        ("wvalid", Out, 1, Drive::Top("m_wvalid_o")),
        ("wready", In, 1, Drive::Top("m_wready_i")),
        ("wdata", Out, data, Drive::Top("m_wdata_o")),
        ("wstrb", Out, data / 8, Drive::Top("m_wstrb_o")),
        ("wlast", Out, 1, Drive::Top("m_wlast_o")),
        ("bvalid", In, 1, Drive::Top("m_bvalid_i")),
        ("bready", Out, 1, Drive::Top("m_bready_o")),
        ("bresp", In, 2, Drive::Top("m_bresp_i")),
        ("bid", In, 1, Drive::Unused),
        ("arvalid", Out, 1, Drive::Top("m_arvalid_o")),
        ("arready", In, 1, Drive::Top("m_arready_i")),
        ("araddr", Out, 64, Drive::Top("m_araddr_o")),
        ("arid", Out, 1, Drive::Const("1'b0")),
        ("arlen", Out, 8, Drive::Top("m_arlen_o")),
        ("arsize", Out, 3, Drive::Top("m_arsize_o")),
        ("arburst", Out, 2, Drive::Top("m_arburst_o")),
        ("arlock", Out, 1, Drive::Const("1'b0")),
        ("arcache", Out, 4, Drive::Const("4'b0011")),
        ("arprot", Out, 3, Drive::Const("3'b000")),
        ("arqos", Out, 4, Drive::Const("4'b0000")),
        ("rvalid", In, 1, Drive::Top("m_rvalid_i")),
        ("rready", Out, 1, Drive::Top("m_rready_o")),
        ("rdata", In, data, Drive::Top("m_rdata_i")),
        ("rresp", In, 2, Drive::Top("m_rresp_i")),
        ("rlast", In, 1, Drive::Top("m_rlast_i")),
        ("rid", In, 1, Drive::Unused),
    ];
    for (signal, dir, bits, drive) in memory {
        add(format!("{MEMORY_PORT}_{signal}"), dir, bits, drive);
    }
    ports
}

/// Interface attributes Vivado reads from the port declarations (the same
/// X_INTERFACE_INFO / X_INTERFACE_PARAMETER form Vivado writes into its own
/// generated wrappers). The AXI buses need none: their prefixes suffice.
fn attributes(port: &str) -> Option<(String, String)> {
    match port {
        "ap_clk" => Some((
            "xilinx.com:signal:clock:1.0 ap_clk CLK".into(),
            format!(
                "XIL_INTERFACENAME ap_clk, ASSOCIATED_BUSIF {CONTROL_PORT}:{MEMORY_PORT}, ASSOCIATED_RESET ap_rst_n"
            ),
        )),
        "ap_rst_n" => Some((
            "xilinx.com:signal:reset:1.0 ap_rst_n RST".into(),
            "XIL_INTERFACENAME ap_rst_n, POLARITY ACTIVE_LOW".into(),
        )),
        "interrupt" => Some((
            "xilinx.com:signal:interrupt:1.0 interrupt INTERRUPT".into(),
            "XIL_INTERFACENAME interrupt, SENSITIVITY LEVEL_HIGH, PortWidth 1".into(),
        )),
        _ => None,
    }
}

pub(super) fn render(project: &Project<'_>) -> Result<String, VivadoError> {
    let design = project.design;
    let top = design.top_module();
    let addr_bits = project.map.offset_bits();
    let ports = ports(addr_bits);
    let mut s = String::new();
    let _ = writeln!(s, "// {}", project.note);
    let _ = writeln!(
        s,
        "//\n\
         // {KERNEL}: `{top}` under the port names Vivado and Vitis infer interfaces\n\
         // from: {CONTROL_PORT} (AXI4-Lite, {addr_bits}-bit addresses, the register map's\n\
         // {window:#x}-byte window) and {MEMORY_PORT} (AXI4, 64-bit addresses and data).\n\
         // AXI4 signals `{top}` lacks are constants: one ID (0), so responses\n\
         // return in order; cache 4'b0011; no lock, protection or QoS.",
        window = project.map.window_bytes,
    );
    s.push_str("`default_nettype none\n\n");
    let _ = writeln!(s, "module {KERNEL} (");
    for (i, port) in ports.iter().enumerate() {
        if let Some((info, parameter)) = attributes(&port.name) {
            let _ = writeln!(s, "  (* X_INTERFACE_INFO = \"{info}\" *)");
            let _ = writeln!(s, "  (* X_INTERFACE_PARAMETER = \"{parameter}\" *)");
        }
        let dir = match port.dir {
            Dir::In => "input ",
            Dir::Out => "output",
        };
        let range = if port.bits > 1 {
            format!("[{}:0]", port.bits - 1)
        } else {
            String::new()
        };
        let comma = if i + 1 < ports.len() { "," } else { "" };
        // Vitis requires the name `interrupt`, which Verilator flags as a
        // C++ word; Verilator alone reads this waiver.
        let reserved = port.name == "interrupt";
        if reserved {
            s.push_str("  /* verilator lint_off SYMRSVDWORD */\n");
        }
        let _ = writeln!(s, "  {dir} wire {range:<7} {}{comma}", port.name);
        if reserved {
            s.push_str("  /* verilator lint_on SYMRSVDWORD */\n");
        }
    }
    s.push_str(");\n\n");

    for port in &ports {
        if let Drive::Const(value) = port.drive {
            let _ = writeln!(s, "  assign {} = {value};", port.name);
        }
    }
    let unused: Vec<&str> = ports
        .iter()
        .filter(|p| matches!(p.drive, Drive::Unused))
        .map(|p| p.name.as_str())
        .collect();
    let _ = writeln!(
        s,
        "\n  // Response IDs: the kernel issues one ID, so they tell nothing.\n  \
         wire unused_ids = &{{1'b0, {}}};\n",
        unused.join(", ")
    );

    let params = design.top_parameters()?;
    let _ = writeln!(s, "  {top} #(");
    let width = params.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    for (i, (name, value)) in params.iter().enumerate() {
        let comma = if i + 1 < params.len() { "," } else { "" };
        let _ = writeln!(s, "    .{name:<width$} ({value}){comma}");
    }
    s.push_str("  ) u_top (\n");
    let connected: Vec<(&str, &str)> = ports
        .iter()
        .filter_map(|p| match p.drive {
            Drive::Top(top_port) => Some((top_port, p.name.as_str())),
            _ => None,
        })
        .collect();
    let width = connected.iter().map(|(t, _)| t.len()).max().unwrap_or(0);
    for (i, (top_port, port)) in connected.iter().enumerate() {
        let comma = if i + 1 < connected.len() { "," } else { "" };
        let _ = writeln!(s, "    .{top_port:<width$} ({port}){comma}");
    }
    s.push_str("  );\n\nendmodule\n\n`default_nettype wire\n");
    Ok(s)
}
