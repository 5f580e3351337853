//! The engine shell's port table, from hw/regs/shell.toml.
//!
//! One list gives the ports of `kiln_shell` (every design's top) toward the
//! board, and another the narrow interface between the shell and an
//! engine core. From them come the shell's port declarations
//! (`kiln_shell_ports.svh`, committed, checked fresh like the register
//! files), the per-design `kiln_core` binding, the Verilator harness and the
//! simulator's port handles (sim/build.rs) and the Vivado kernel wrapper.

use std::fmt::Write as _;

use serde::Deserialize;

use crate::regs::{GeneratedFile, RegisterMap, MEMORY_PORT_BITS};
use crate::{invalid, parse_toml, SpecError};

/// Path of the port table, relative to the repository root.
pub const SHELL_FILE: &str = "hw/regs/shell.toml";
const SHELL_TOML: &str = include_str!("../../regs/shell.toml");

/// The top module of every design.
pub const SHELL_TOP: &str = "kiln_shell";
/// The module the shell instantiates for the engine: generated per design
/// ([`core_binding_sv`]) around the engine's own core.
pub const CORE_BINDING: &str = "kiln_core";
/// Where the generated port declarations are committed.
pub const PORTS_SVH: &str = "hw/ip/common/rtl/kiln_shell_ports.svh";
/// Where the engine interface's port declarations are committed: every
/// engine core includes them as its port list.
pub const CORE_PORTS_SVH: &str = "hw/ip/common/rtl/kiln_core_ports.svh";
/// The generated headers every design's RTL includes.
pub const HEADERS: [&str; 2] = [PORTS_SVH, CORE_PORTS_SVH];
/// The lint stand-in for `kiln_core` (`make lint-rtl` lints each RTL file
/// as its own top, and the shell needs a core): generated like a design's
/// binding, around the first engine's core at its default parameters.
pub const LINT_CORE: &str = "hw/lint/kiln_core.sv";

/// Which way a port points, from its own module's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    In,
    Out,
}

/// The AXI interface a shell port belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Bus {
    /// The AXI4-Lite control slave (names start with `s_`).
    Control,
    /// The AXI4 memory master (names start with `m_`).
    Memory,
}

impl Bus {
    fn rtl_prefix(self) -> &'static str {
        match self {
            Bus::Control => "s_",
            Bus::Memory => "m_",
        }
    }
}

/// One port of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Port {
    /// The RTL name, lowRISC style (`s_awvalid_i`).
    pub name: String,
    pub dir: Dir,
    pub width: u32,
    /// The bus it belongs to (shell ports only).
    pub bus: Option<Bus>,
    /// The Vitis name of a port outside the buses (`ap_clk`).
    pub kernel: Option<String>,
    pub desc: String,
}

impl Port {
    /// The AXI signal name of a bus port: `s_awvalid_i` -> `awvalid`.
    pub fn signal(&self) -> &str {
        let name = self.name.as_str();
        let name = self
            .bus
            .and_then(|b| name.strip_prefix(b.rtl_prefix()))
            .unwrap_or(name);
        name.strip_suffix("_ni")
            .or_else(|| name.strip_suffix("_i"))
            .or_else(|| name.strip_suffix("_o"))
            .unwrap_or(name)
    }

    /// `[W-1:0] ` for a bus wider than one bit, else nothing.
    fn range(&self) -> String {
        if self.width > 1 {
            format!("[{}:0]", self.width - 1)
        } else {
            String::new()
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PortFile {
    name: String,
    width: u32,
    #[serde(default)]
    bus: Option<Bus>,
    #[serde(default)]
    kernel: Option<String>,
    #[serde(default)]
    desc: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ShellFile {
    ports: Vec<PortFile>,
    engine: Vec<PortFile>,
}

/// The parsed table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShellPorts {
    /// `kiln_shell`'s ports toward the board, in declaration order.
    pub ports: Vec<Port>,
    /// The engine interface, seen from the core, in declaration order.
    pub engine: Vec<Port>,
}

impl ShellPorts {
    /// The built-in table, checked against the built-in register map;
    /// parsed once per process.
    pub fn builtin() -> Result<Self, SpecError> {
        static BUILTIN: std::sync::OnceLock<Result<ShellPorts, String>> =
            std::sync::OnceLock::new();
        BUILTIN
            .get_or_init(|| {
                RegisterMap::builtin()
                    .and_then(|map| Self::builtin_with(&map))
                    .map_err(|e| e.to_string())
            })
            .clone()
            .map_err(|message| SpecError::Invalid {
                file: SHELL_FILE.into(),
                message,
            })
    }

    /// The built-in table, checked against `map`.
    pub fn builtin_with(map: &RegisterMap) -> Result<Self, SpecError> {
        Self::parse(SHELL_TOML, map)
    }

    /// Parses and checks a table: names in lowRISC style with a direction
    /// suffix, no name twice, bus ports with their bus's prefix, widths in
    /// 1..=64, the control address as wide as the register window's
    /// offsets and the memory data as wide as the memory port.
    pub fn parse(text: &str, map: &RegisterMap) -> Result<Self, SpecError> {
        let raw: ShellFile = parse_toml(SHELL_FILE, text)?;
        let ports = check_list(raw.ports, "ports", true)?;
        let engine = check_list(raw.engine, "engine", false)?;
        let shell = Self { ports, engine };
        for (name, want) in [
            ("s_awaddr_i", map.offset_bits()),
            ("s_araddr_i", map.offset_bits()),
            ("m_rdata_i", MEMORY_PORT_BITS),
            ("m_wdata_o", MEMORY_PORT_BITS),
        ] {
            let port = shell.port(name)?;
            if port.width != want {
                return Err(invalid(
                    SHELL_FILE,
                    format!("port {name} is {} bits wide; it must be {want}", port.width),
                ));
            }
        }
        for name in ["clk_i", "rst_ni"] {
            if !shell.engine.iter().any(|p| p.name == name) {
                return Err(invalid(SHELL_FILE, format!("engine needs port {name}")));
            }
        }
        Ok(shell)
    }

    /// The shell port called `name`.
    pub fn port(&self, name: &str) -> Result<&Port, SpecError> {
        self.ports
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| invalid(SHELL_FILE, format!("ports has no {name}")))
    }

    /// The committed files generated from the table: the shell's port
    /// declarations and the lint stand-in for `kiln_core`.
    pub fn generated_files(&self) -> Vec<GeneratedFile> {
        vec![
            GeneratedFile {
                path: PORTS_SVH.into(),
                text: self.render_ports_svh(),
            },
            GeneratedFile {
                path: CORE_PORTS_SVH.into(),
                text: self.render_core_ports_svh(),
            },
            GeneratedFile {
                path: LINT_CORE.into(),
                text: self.core_binding_sv("lint stand-in", &lint_core(), &[]),
            },
        ]
    }

    /// `kiln_shell_ports.svh`: the port list of `kiln_shell`, to be
    /// included between its parentheses.
    pub fn render_ports_svh(&self) -> String {
        let mut s = format!(
            "// Generated from {SHELL_FILE} by `kiln regs generate` (`make regs`); do not edit by hand.\n\
             //\n\
             // The ports of {SHELL_TOP} toward the board, included into its port list.\n"
        );
        let mut bus = None;
        for (i, port) in self.ports.iter().enumerate() {
            if port.bus != bus {
                bus = port.bus;
                let _ = writeln!(
                    s,
                    "  // {}",
                    match bus {
                        Some(Bus::Control) => "AXI4-Lite control slave (hw/regs/kiln.toml).",
                        Some(Bus::Memory) => "AXI4 memory master.",
                        None => "Clock, reset, interrupt.",
                    }
                );
            }
            let comma = if i + 1 < self.ports.len() { "," } else { "" };
            let dir = match port.dir {
                Dir::In => "input ",
                Dir::Out => "output",
            };
            let decl = format!("  {dir} logic {:<7} {}{comma}", port.range(), port.name);
            if port.desc.is_empty() {
                let _ = writeln!(s, "{decl}");
            } else {
                let _ = writeln!(s, "{decl:<40} // {}", port.desc);
            }
        }
        s
    }

    /// `kiln_core_ports.svh`: the engine interface seen from a core, to be
    /// included between the parentheses of every `<engine>_core`'s port
    /// list.
    pub fn render_core_ports_svh(&self) -> String {
        let mut s = format!(
            "// Generated from {SHELL_FILE} by `kiln regs generate` (`make regs`); do not edit by hand.\n\
             //\n\
             // The ports of every engine core (hw/ip/<engine>/rtl/<engine>_core.sv): the\n\
             // interface between {SHELL_TOP} and the engine, included into the core's port list.\n"
        );
        for (i, port) in self.engine.iter().enumerate() {
            let comma = if i + 1 < self.engine.len() { "," } else { "" };
            let dir = match port.dir {
                Dir::In => "input ",
                Dir::Out => "output",
            };
            let decl = format!("  {dir} logic {:<7} {}{comma}", port.range(), port.name);
            if port.desc.is_empty() {
                let _ = writeln!(s, "{decl}");
            } else {
                let _ = writeln!(s, "{decl:<40} // {}", port.desc);
            }
        }
        s
    }

    /// The `kiln_core` module of one design: the engine interface bound to
    /// `core` with `parameters` (name, Verilog literal). Generated because
    /// a module name cannot be a parameter.
    pub fn core_binding_sv(
        &self,
        design: &str,
        core: &str,
        parameters: &[(&str, String)],
    ) -> String {
        let mut s = format!(
            "// Generated from {SHELL_FILE} by kiln for {design}; do not edit by hand.\n\
             //\n\
             // Binds {SHELL_TOP}'s engine interface to `{core}`.\n\
             module {CORE_BINDING} (\n"
        );
        for (i, port) in self.engine.iter().enumerate() {
            let comma = if i + 1 < self.engine.len() { "," } else { "" };
            let dir = match port.dir {
                Dir::In => "input ",
                Dir::Out => "output",
            };
            let _ = writeln!(s, "  {dir} logic {:<7} {}{comma}", port.range(), port.name);
        }
        s.push_str(");\n");
        if parameters.is_empty() {
            let _ = writeln!(s, "  {core} u_core (");
        } else {
            let _ = writeln!(s, "  {core} #(");
            let width = parameters.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
            for (i, (name, value)) in parameters.iter().enumerate() {
                let comma = if i + 1 < parameters.len() { "," } else { "" };
                let _ = writeln!(s, "    .{name:<width$} ({value}){comma}");
            }
            s.push_str("  ) u_core (\n");
        }
        let width = self.engine.iter().map(|p| p.name.len()).max().unwrap_or(0);
        for (i, port) in self.engine.iter().enumerate() {
            let comma = if i + 1 < self.engine.len() { "," } else { "" };
            let _ = writeln!(s, "    .{:<width$} ({}){comma}", port.name, port.name);
        }
        s.push_str("  );\nendmodule\n");
        s
    }
}

/// The core the lint stand-in binds: the first engine of hw/engines.toml.
fn lint_core() -> String {
    crate::engines::descs()
        .ok()
        .and_then(|d| d.first())
        .map_or_else(String::new, |d| d.core.clone())
}

fn check_list(raw: Vec<PortFile>, list: &str, shell: bool) -> Result<Vec<Port>, SpecError> {
    let mut ports: Vec<Port> = Vec::new();
    for p in raw {
        let at = |message: String| invalid(SHELL_FILE, format!("{list}: {}: {message}", p.name));
        let dir = if p.name.ends_with("_i") || p.name.ends_with("_ni") {
            Dir::In
        } else if p.name.ends_with("_o") {
            Dir::Out
        } else {
            return Err(at("the name must end in _i, _ni or _o".into()));
        };
        let stem_ok = p
            .name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !stem_ok || p.name.starts_with(|c: char| !c.is_ascii_lowercase()) {
            return Err(at("names are lower_snake_case".into()));
        }
        if !(1..=64).contains(&p.width) {
            return Err(at(format!("width is {}; it must be in 1..=64", p.width)));
        }
        if ports.iter().any(|q| q.name == p.name) {
            return Err(at("declared twice".into()));
        }
        if !shell && (p.bus.is_some() || p.kernel.is_some()) {
            return Err(at("bus and kernel apply to shell ports only".into()));
        }
        match (p.bus, &p.kernel) {
            (Some(bus), None) if !p.name.starts_with(bus.rtl_prefix()) => {
                return Err(at(format!(
                    "a {bus:?} port's name starts with {}",
                    bus.rtl_prefix()
                )));
            }
            (Some(_), Some(_)) => {
                return Err(at("a bus port takes its kernel name from the bus".into()));
            }
            (None, None) if shell => {
                return Err(at("a port outside the buses needs its kernel name".into()));
            }
            _ => {}
        }
        ports.push(Port {
            name: p.name,
            dir,
            width: p.width,
            bus: p.bus,
            kernel: p.kernel,
            desc: p.desc,
        });
    }
    Ok(ports)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map() -> RegisterMap {
        RegisterMap::builtin().unwrap()
    }

    #[test]
    fn the_builtin_table_parses_with_both_buses() {
        let shell = ShellPorts::builtin().unwrap();
        assert_eq!(shell.port("s_awaddr_i").unwrap().signal(), "awaddr");
        assert_eq!(shell.port("m_wdata_o").unwrap().dir, Dir::Out);
        assert_eq!(shell.port("rst_ni").unwrap().dir, Dir::In);
        let control = shell.ports.iter().filter(|p| p.bus == Some(Bus::Control));
        assert_eq!(control.count(), 17);
        let memory = shell.ports.iter().filter(|p| p.bus == Some(Bus::Memory));
        assert_eq!(memory.count(), 25);
        let svh = shell.render_ports_svh();
        assert!(svh.contains("input  logic [7:0]   s_awaddr_i,"), "{svh}");
        assert!(svh.trim_end().ends_with("m_bresp_i"), "{svh}");
    }

    #[test]
    fn bad_tables_are_refused_with_the_port_named() {
        let cases = [
            (
                "{ name = \"s_awvalid\", width = 1, bus = \"control\" }",
                "must end in _i",
            ),
            (
                "{ name = \"x_awvalid_i\", width = 1, bus = \"control\" }",
                "starts with s_",
            ),
            (
                "{ name = \"s_awvalid_i\", width = 0, bus = \"control\" }",
                "width is 0",
            ),
            ("{ name = \"done_o\", width = 1 }", "needs its kernel name"),
            (
                "{ name = \"clk_i\", width = 1, kernel = \"ap_clk\" }",
                "declared twice",
            ),
        ];
        for (line, want) in cases {
            let text = SHELL_TOML.replacen("ports = [\n", &format!("ports = [\n  {line},\n"), 1);
            let err = ShellPorts::parse(&text, &map()).unwrap_err().to_string();
            assert!(err.contains(want), "{line}: {err}");
        }
        let narrow = SHELL_TOML.replace(
            "{ name = \"s_araddr_i\", width = 8,",
            "{ name = \"s_araddr_i\", width = 6,",
        );
        let err = ShellPorts::parse(&narrow, &map()).unwrap_err().to_string();
        assert!(
            err.contains("s_araddr_i is 6 bits wide; it must be 8"),
            "{err}"
        );
    }

    #[test]
    fn the_binding_connects_every_engine_port_by_name() {
        let shell = ShellPorts::builtin().unwrap();
        let sv = shell.core_binding_sv("d", "x_core", &[("Lanes", "4".into())]);
        assert!(sv.contains("module kiln_core ("));
        assert!(
            sv.contains("x_core #(\n    .Lanes (4)\n  ) u_core ("),
            "{sv}"
        );
        for port in &shell.engine {
            assert!(sv.contains(&format!(" ({})", port.name)), "{}", port.name);
        }
    }
}
