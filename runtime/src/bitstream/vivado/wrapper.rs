//! `kiln_kernel.v`: the design's top (`kiln_shell`) under the port names
//! Vivado's IP integrator and IP packager infer AXI interfaces from. The
//! ports come from the shell's port table (hw/regs/shell.toml).
//!
//! Verilog-2001, not SystemVerilog, because a block-design module reference
//! must have a Verilog or VHDL top. The AXI4 signals the shell does not
//! have (IDs, lock, cache, protection, QoS) are constants here: one ID, so
//! responses come back in order; cache 4'b0011 (bufferable, modifiable), the
//! value Xilinx's own masters use by default.

use std::fmt::Write as _;

use kiln_spec::regs::{CONTROL_PORT, MEMORY_PORT};
use kiln_spec::shell::{self, Bus};
use kiln_spec::ShellPorts;

use super::{Project, VivadoError, KERNEL};

/// A port of the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    In,
    Out,
}

/// What a kernel port connects to.
#[derive(Debug, Clone)]
enum Drive {
    /// This port of the shell.
    Top(String),
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

/// AXI4 signals of the memory master that the shell does not have, and
/// what the kernel drives on them (an output constant, or nothing for an
/// input it ignores): one ID, so responses return in order; cache 4'b0011.
const MEMORY_EXTRAS: [(&str, Dir, u32, Drive); 12] = [
    ("awid", Dir::Out, 1, Drive::Const("1'b0")),
    ("awlock", Dir::Out, 1, Drive::Const("1'b0")),
    ("awcache", Dir::Out, 4, Drive::Const("4'b0011")),
    ("awprot", Dir::Out, 3, Drive::Const("3'b000")),
    ("awqos", Dir::Out, 4, Drive::Const("4'b0000")),
    ("bid", Dir::In, 1, Drive::Unused),
    ("arid", Dir::Out, 1, Drive::Const("1'b0")),
    ("arlock", Dir::Out, 1, Drive::Const("1'b0")),
    ("arcache", Dir::Out, 4, Drive::Const("4'b0011")),
    ("arprot", Dir::Out, 3, Drive::Const("3'b000")),
    ("arqos", Dir::Out, 4, Drive::Const("4'b0000")),
    ("rid", Dir::In, 1, Drive::Unused),
];

/// The kernel's ports, in declaration order: every port of the shell's
/// port table (hw/regs/shell.toml) under its Vitis name, then the AXI4
/// signals the shell lacks.
fn ports(shell: &ShellPorts) -> Vec<Port> {
    let mut ports: Vec<Port> = shell
        .ports
        .iter()
        .map(|p| {
            let name = match (p.bus, &p.kernel) {
                (Some(Bus::Control), _) => format!("{CONTROL_PORT}_{}", p.signal()),
                (Some(Bus::Memory), _) => format!("{MEMORY_PORT}_{}", p.signal()),
                (None, Some(kernel)) => kernel.clone(),
                // The table's parser refuses a port with neither.
                (None, None) => p.name.clone(),
            };
            let dir = match p.dir {
                shell::Dir::In => Dir::In,
                shell::Dir::Out => Dir::Out,
            };
            Port {
                name,
                dir,
                bits: p.width,
                drive: Drive::Top(p.name.clone()),
            }
        })
        .collect();
    for (signal, dir, bits, drive) in MEMORY_EXTRAS {
        ports.push(Port {
            name: format!("{MEMORY_PORT}_{signal}"),
            dir,
            bits,
            drive,
        });
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
    let ports = ports(&ShellPorts::builtin_with(&project.map)?);
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
        if let Drive::Const(value) = &port.drive {
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
        .filter_map(|p| match &p.drive {
            Drive::Top(top_port) => Some((top_port.as_str(), p.name.as_str())),
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
