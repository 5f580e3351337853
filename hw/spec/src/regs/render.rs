//! The files generated from the register map. Each renderer is a pure
//! function of the map: no dates, no paths of the machine it runs on, so a
//! committed file can be compared with a fresh rendering byte for byte.

use std::fmt::Write as _;

use super::{HwAccess, RegisterMap, SwAccess, REGS_FILE};
use crate::SpecError;

/// One generated file: where it is committed and what it must contain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFile {
    /// Path relative to the repository root.
    pub path: String,
    /// The whole text of the file.
    pub text: String,
}

/// Every committed file generated from the map, the shell's port table
/// beside it and the engines' descriptions, in a fixed order: the
/// SystemVerilog package, the driver's Rust module, the Markdown reference,
/// the shell's port declarations, then each engine's MODE package, MODE
/// constants and register page.
pub fn generated_files(map: &RegisterMap) -> Result<Vec<GeneratedFile>, SpecError> {
    let mut files = vec![
        GeneratedFile {
            path: format!("hw/ip/common/rtl/{}", sv_file_name(map)),
            text: render_sv(map),
        },
        GeneratedFile {
            path: "driver/src/regs.rs".into(),
            text: render_rust(map),
        },
        GeneratedFile {
            path: "docs/registers.md".into(),
            text: render_markdown(map),
        },
    ];
    files.extend(crate::ShellPorts::builtin_with(map)?.generated_files());
    for engine in crate::engines::descs()? {
        files.extend(engine.generated_files());
    }
    Ok(files)
}

fn generated_note() -> String {
    format!(
        "Generated from {REGS_FILE} by `kiln regs generate` (`make regs`); do not edit by hand."
    )
}

fn sv_package(map: &RegisterMap) -> String {
    format!("{}_reg_pkg", map.name)
}

fn sv_file_name(map: &RegisterMap) -> String {
    format!("{}.sv", sv_package(map))
}

/// Hex digits for a byte offset in the window.
fn offset_digits(map: &RegisterMap) -> usize {
    map.offset_bits().div_ceil(4).max(1) as usize
}

/// The SystemVerilog package the RTL imports (hw/ip/common/rtl/kiln_reg_pkg.sv).
///
/// Plain `localparam`s only, so Verilator 5 and yosys 0.23 both read it.
pub fn render_sv(map: &RegisterMap) -> String {
    let p = map.prefix();
    let bits = map.offset_bits();
    let digits = offset_digits(map);
    let mut s = String::new();
    let mut line = |text: &str| {
        s.push_str(text);
        s.push('\n');
    };
    line(&format!("// {}", generated_note()));
    line("// `make test` fails when this file is stale.");
    line("//");
    line(&format!(
        "// Control registers of {}, register-map version {}: the byte offset and",
        map.name, map.version
    ));
    line(&format!(
        "// reset value of each register in the {}-byte AXI-Lite window, and the",
        map.window_bytes
    ));
    line("// LSB and width of each field. Software access: rw read/write, ro read-only,");
    line("// rc read-only and cleared by a read of the register, tow writing 1 toggles");
    line("// the bit. Hardware access: hro reads, hrw reads and updates, hwo drives.");
    line("//");
    line("// A module that imports this package uses only some of its constants, so");
    line("// the package waives Verilator's UNUSEDPARAM for its own parameters.");
    line("");
    line(&format!("package {};", sv_package(map)));
    line("  // verilator lint_off UNUSEDPARAM");
    line("");
    line("  // Identity: the value the MAGIC register reads.");
    line(&format!(
        "  localparam logic [31:0] {p}_MAGIC = 32'h{:08X};",
        map.magic
    ));
    line("  // Register-map version: the value the VERSION register reads.");
    line(&format!(
        "  localparam logic [31:0] {p}_REG_VERSION = 32'd{};",
        map.version
    ));
    line("  // Size of the register window in bytes.");
    line(&format!(
        "  localparam integer {p}_REG_WINDOW = {};",
        map.window_bytes
    ));
    for r in &map.registers {
        line("");
        line(&format!(
            "  // {} at 0x{:0digits$X}: {}",
            r.name, r.offset, r.desc
        ));
        line(&format!(
            "  localparam logic [{}:0] {p}_{}_OFFSET = {bits}'h{:0digits$X};",
            bits - 1,
            r.name,
            r.offset
        ));
        line(&format!(
            "  localparam logic [31:0] {p}_{}_RESET = 32'h{:08X};",
            r.name,
            r.reset()
        ));
        for f in &r.fields {
            line(&format!(
                "  // {}.{} [{}] sw {}, hw {}, reset {:#x}: {}",
                r.name,
                f.name,
                f.bits(),
                f.sw.as_str(),
                f.hw.as_str(),
                f.reset,
                f.desc
            ));
            line(&format!(
                "  localparam integer {p}_{}_{}_LSB = {};",
                r.name, f.name, f.lsb
            ));
            line(&format!(
                "  localparam integer {p}_{}_{}_WIDTH = {};",
                r.name, f.name, f.width
            ));
        }
    }
    line("");
    line("  // verilator lint_on UNUSEDPARAM");
    line("endpackage");
    s
}

/// Text for a Rust doc comment or a Markdown paragraph: `<`, `>`, `[` and
/// `]` escaped so that neither reads them as HTML or links.
fn md_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '<' | '>' | '[' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Text for a Markdown table cell.
fn md_cell(text: &str) -> String {
    md_text(text).replace('|', "\\|")
}

/// A 32-bit value as a Rust literal, `0x4B49_4C4E`.
fn rust_word(value: u32) -> String {
    format!("0x{:04X}_{:04X}", value >> 16, value & 0xffff)
}

/// The driver's register module (driver/src/regs.rs): constants only, no
/// dependencies, rustfmt- and clippy-clean as generated.
pub fn render_rust(map: &RegisterMap) -> String {
    let digits = offset_digits(map);
    let mut s = String::new();
    let _ = writeln!(s, "//! {}", generated_note());
    let _ = writeln!(s, "//! `make test` fails when this file is stale.");
    let _ = writeln!(s, "//!");
    let _ = writeln!(
        s,
        "//! The control registers of {}, register-map version {}: byte offsets in the",
        map.name, map.version
    );
    s.push_str(
        "//! AXI-Lite register window, reset values and bit fields. docs/registers.md\n\
         //! describes the same map.\n\n",
    );
    let _ = writeln!(
        s,
        "/// Register-map version: the value the [`VERSION`] register reads.\n\
         pub const REG_VERSION: u32 = {};",
        map.version
    );
    let _ = writeln!(
        s,
        "/// Identity: the value the [`MAGIC`] register reads.\n\
         pub const MAGIC_VALUE: u32 = {};",
        rust_word(map.magic)
    );
    let _ = writeln!(
        s,
        "/// Size of the register window in bytes.\n\
         pub const WINDOW_BYTES: u32 = {:#x};\n",
        map.window_bytes
    );
    s.push_str(RUST_TYPES);
    for r in &map.registers {
        let module = r.name.to_ascii_lowercase();
        let _ = writeln!(s);
        let _ = writeln!(s, "/// {}", md_text(&r.desc));
        let _ = writeln!(s, "///");
        let _ = writeln!(
            s,
            "/// Offset `0x{:0digits$X}`, reset `{}`; fields in [`{module}`](mod@{module}).",
            r.offset,
            rust_word(r.reset())
        );
        let _ = writeln!(s, "pub const {}: Register = Register {{", r.name);
        let _ = writeln!(s, "    name: \"{}\",", r.name);
        let _ = writeln!(s, "    offset: 0x{:0digits$X},", r.offset);
        let _ = writeln!(s, "    reset: {},", rust_word(r.reset()));
        let list: Vec<String> = r
            .fields
            .iter()
            .map(|f| {
                if f.sw.software_writes() {
                    format!("{module}::{}.field()", f.name)
                } else {
                    format!("{module}::{}", f.name)
                }
            })
            .collect();
        rust_array(&mut s, "    fields: &[", &list, 4, "],");
        let _ = writeln!(s, "}};");
        let _ = writeln!(s);
        let _ = writeln!(s, "/// Fields of `{}`.", r.name);
        let _ = writeln!(s, "pub mod {module} {{");
        let mut types: Vec<&str> = Vec::new();
        if r.fields.iter().any(|f| !f.sw.software_writes()) {
            types.push("Field");
        }
        if r.fields.iter().any(|f| f.sw.software_writes()) {
            types.push("RwField");
        }
        types.push("SwAccess");
        let _ = writeln!(s, "    use super::{{{}}};", types.join(", "));
        for f in &r.fields {
            let _ = writeln!(s);
            let _ = writeln!(s, "    /// {}", md_text(&f.desc));
            let _ = writeln!(s, "    ///");
            let _ = writeln!(
                s,
                "    /// {} {}, software `{}`, hardware `{}`, reset `{:#x}`.",
                if f.width == 1 { "Bit" } else { "Bits" },
                f.bits(),
                f.sw.as_str(),
                f.hw.as_str(),
                f.reset
            );
            if f.sw.software_writes() {
                s.push_str(&rw_field_const(4, f));
            } else {
                let _ = writeln!(s, "    pub const {}: Field = Field {{", f.name);
                let _ = writeln!(s, "        name: \"{}\",", f.name);
                let _ = writeln!(s, "        lsb: {},", f.lsb);
                let _ = writeln!(s, "        width: {},", f.width);
                let _ = writeln!(s, "        sw: SwAccess::{},", f.sw.variant());
                let _ = writeln!(s, "    }};");
            }
        }
        let _ = writeln!(s, "}}");
    }
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "/// The registers as XRT kernel arguments (kernel.xml), by argument index:\n\
         /// `_ADDR_LO`/`_ADDR_HI` pairs are 64-bit device pointers."
    );
    let _ = writeln!(s, "pub const KERNEL_ARGS: &[KernelArg] = &[");
    for a in map.kernel_args() {
        let _ = writeln!(s, "    KernelArg {{");
        let _ = writeln!(s, "        name: \"{}\",", a.name);
        let _ = writeln!(s, "        offset: 0x{:0digits$X},", a.offset);
        let _ = writeln!(s, "        pointer: {},", a.pointer);
        let _ = writeln!(s, "    }},");
    }
    let _ = writeln!(s, "];");
    let _ = writeln!(s);
    let _ = writeln!(s, "/// Every register, by ascending offset.");
    let names: Vec<String> = map.registers.iter().map(|r| r.name.clone()).collect();
    rust_array(&mut s, "pub const ALL: &[Register] = &[", &names, 0, "];");
    s
}

/// `pub const NAME: RwField = RwField::new(..);` for `field` at `indent`,
/// laid out as rustfmt does: on one line when it fits in 100 columns,
/// else one argument per line.
pub(crate) fn rw_field_const(indent: usize, f: &super::Field) -> String {
    let pad = " ".repeat(indent);
    let args = [
        format!("\"{}\"", f.name),
        f.lsb.to_string(),
        f.width.to_string(),
        format!("SwAccess::{}", f.sw.variant()),
    ];
    let line = format!(
        "{pad}pub const {}: RwField = RwField::new({});",
        f.name,
        args.join(", ")
    );
    if line.len() <= 100 {
        return format!("{line}\n");
    }
    let mut s = format!("{pad}pub const {}: RwField = RwField::new(\n", f.name);
    for arg in args {
        let _ = writeln!(s, "{pad}    {arg},");
    }
    let _ = writeln!(s, "{pad});");
    s
}

/// Writes an array literal the way rustfmt lays it out (default options):
/// on one line when the items take at most 60 columns; otherwise several
/// per line when every item is a plain identifier of at most 10 characters;
/// otherwise one per line.
fn rust_array(s: &mut String, open: &str, items: &[String], indent: usize, close: &str) {
    let joined = items.join(", ");
    if joined.len() <= 60 && open.len() + joined.len() + close.len() <= 100 {
        let _ = writeln!(s, "{open}{joined}{close}");
        return;
    }
    let _ = writeln!(s, "{open}");
    let pad = " ".repeat(indent + 4);
    let short = items.len() > 1 && items.iter().all(|i| i.len() <= 10 && !i.contains("::"));
    if short {
        let mut line = String::new();
        for item in items {
            if !line.is_empty() && pad.len() + line.len() + 1 + item.len() + 1 > 100 {
                let _ = writeln!(s, "{pad}{line}");
                line.clear();
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(item);
            line.push(',');
        }
        let _ = writeln!(s, "{pad}{line}");
    } else {
        for item in items {
            let _ = writeln!(s, "{pad}{item},");
        }
    }
    let _ = writeln!(s, "{}{close}", " ".repeat(indent));
}

/// The fixed part of the Rust module: the types and their methods.
const RUST_TYPES: &str = r#"/// Software access of a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SwAccess {
    /// Read and write.
    ReadWrite,
    /// Read only; writes are ignored.
    ReadOnly,
    /// Read only; a read of the register clears the field.
    ReadClear,
    /// Readable; writing 1 to a bit toggles it.
    ToggleOnWrite,
}

/// A bit field of a register, as software reads it. A field software
/// may not write (`ro`, `rc`) has this type only, so it has no setter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// Name, as in hw/regs/kiln.toml.
    pub name: &'static str,
    /// Lowest bit.
    pub lsb: u32,
    /// Width in bits; `lsb + width` is at most 32.
    pub width: u32,
    /// Software access.
    pub sw: SwAccess,
}

impl Field {
    /// The field's bits, in place in the register word.
    #[must_use]
    pub const fn mask(self) -> u32 {
        let ones = if self.width >= 32 {
            u32::MAX
        } else {
            (1 << self.width) - 1
        };
        ones << self.lsb
    }

    /// The field's value in `word`, shifted down to bit 0.
    #[must_use]
    pub const fn get(self, word: u32) -> u32 {
        (word & self.mask()) >> self.lsb
    }
}

/// A field software writes (`rw`, or `tow`: writing 1 toggles a bit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RwField(Field);

impl RwField {
    /// The field at `lsb`, `width` bits wide.
    #[must_use]
    pub const fn new(name: &'static str, lsb: u32, width: u32, sw: SwAccess) -> Self {
        Self(Field {
            name,
            lsb,
            width,
            sw,
        })
    }

    /// The field as software reads it.
    #[must_use]
    pub const fn field(self) -> Field {
        self.0
    }

    /// The field's bits, in place in the register word.
    #[must_use]
    pub const fn mask(self) -> u32 {
        self.0.mask()
    }

    /// The field's value in `word`, shifted down to bit 0.
    #[must_use]
    pub const fn get(self, word: u32) -> u32 {
        self.0.get(word)
    }

    /// `word` with the field replaced by `value`, truncated to the field's width.
    #[must_use]
    pub const fn set(self, word: u32, value: u32) -> u32 {
        (word & !self.mask()) | ((value << self.0.lsb) & self.mask())
    }
}

/// A 32-bit register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Register {
    /// Name, as in hw/regs/kiln.toml.
    pub name: &'static str,
    /// Byte offset in the register window.
    pub offset: u32,
    /// Value after reset.
    pub reset: u32,
    /// Bit fields, as declared.
    pub fields: &'static [Field],
}

/// A kernel argument under XRT: one 32-bit register, or a pointer held in
/// two (low word at `offset`, high word at `offset + 4`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelArg {
    /// lower_snake name, as in kernel.xml.
    pub name: &'static str,
    /// Byte offset of the (low) register.
    pub offset: u32,
    /// A 64-bit device pointer rather than a 32-bit scalar.
    pub pointer: bool,
}

impl KernelArg {
    /// Size of the argument in bytes.
    #[must_use]
    pub const fn size(self) -> u32 {
        if self.pointer {
            8
        } else {
            4
        }
    }
}

impl Register {
    /// The field called `name`, if the register has one.
    #[must_use]
    pub fn field(self, name: &str) -> Option<Field> {
        self.fields.iter().copied().find(|f| f.name == name)
    }
}

/// The register at byte `offset`, if there is one.
#[must_use]
pub fn by_offset(offset: u32) -> Option<Register> {
    ALL.iter().copied().find(|r| r.offset == offset)
}

/// The register called `name`, if there is one.
#[must_use]
pub fn by_name(name: &str) -> Option<Register> {
    ALL.iter().copied().find(|r| r.name == name)
}
"#;

/// The Markdown reference (docs/registers.md).
pub fn render_markdown(map: &RegisterMap) -> String {
    let digits = offset_digits(map);
    let mut s = String::new();
    let _ = writeln!(s, "<!-- {} -->\n", generated_note());
    let _ = writeln!(s, "# Control registers\n");
    let _ = writeln!(
        s,
        "The {name} accelerator's control registers (register-map version {version}) follow \
the XRT RTL-kernel convention: run control at 0x00, interrupt registers at 0x04 to 0x0C, \
kernel arguments from 0x10, so one kernel runs under XRT, over /dev/mem and in simulation \
with one driver. They have one source, `{REGS_FILE}`: `kiln regs generate` (`make regs`) \
renders it into this page, the SystemVerilog package `{pkg}` (`hw/ip/common/rtl/{file}`) \
and the driver's Rust module (`driver/src/regs.rs`), and `make test` fails when one of \
them is stale.\n",
        name = map.name,
        version = map.version,
        pkg = sv_package(map),
        file = sv_file_name(map),
    );
    let _ = writeln!(
        s,
        "The register window is {} bytes ({:#x}) of 32-bit registers. The identity registers \
let a driver check what it talks to: MAGIC reads `{:#010X}` and VERSION reads {}. \
The operand layouts and the per-channel parameter records that the address registers \
point to are described in [gemm-layouts.md](gemm-layouts.md).\n",
        map.window_bytes, map.window_bytes, map.magic, map.version
    );
    s.push_str("## Access\n\n| software | meaning |\n|---|---|\n");
    for sw in [
        SwAccess::ReadWrite,
        SwAccess::ReadOnly,
        SwAccess::ReadClear,
        SwAccess::ToggleOnWrite,
    ] {
        let _ = writeln!(s, "| {} | {} |", sw.as_str(), sw.meaning());
    }
    s.push_str("\n| hardware | meaning |\n|---|---|\n");
    for hw in [HwAccess::ReadOnly, HwAccess::ReadWrite, HwAccess::WriteOnly] {
        let _ = writeln!(s, "| {} | {} |", hw.as_str(), hw.meaning());
    }
    s.push_str("\n## Registers\n\n| offset | name | description | reset |\n|---|---|---|---|\n");
    let anchor = |name: &str, offset: u32| format!("{}-0x{offset:0digits$x}", name.to_lowercase());
    for r in &map.registers {
        let _ = writeln!(
            s,
            "| 0x{:0digits$X} | [{}](#{}) | {} | 0x{:08X} |",
            r.offset,
            r.name,
            anchor(&r.name, r.offset),
            md_cell(&r.desc),
            r.reset()
        );
    }
    s.push_str("\n## Fields\n");
    for r in &map.registers {
        let _ = writeln!(s, "\n### {} (0x{:0digits$X})\n", r.name, r.offset);
        let _ = writeln!(
            s,
            "{} Offset 0x{:0digits$X}, reset 0x{:08X}.\n",
            md_text(&r.desc),
            r.offset,
            r.reset()
        );
        s.push_str("| bits | field | sw | hw | reset | description |\n|---|---|---|---|---|---|\n");
        for f in &r.fields {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {:#x} | {} |",
                f.bits(),
                f.name,
                f.sw.as_str(),
                f.hw.as_str(),
                f.reset,
                md_cell(&f.desc)
            );
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_starts_with_the_generated_note_and_is_deterministic() {
        let map = RegisterMap::builtin().unwrap();
        let files = generated_files(&map).unwrap();
        let paths: Vec<_> = files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths[..6],
            [
                "hw/ip/common/rtl/kiln_reg_pkg.sv",
                "driver/src/regs.rs",
                "docs/registers.md",
                "hw/ip/common/rtl/kiln_shell_ports.svh",
                "hw/ip/common/rtl/kiln_core_ports.svh",
                "hw/lint/kiln_core.sv",
            ]
        );
        // Then each engine's, in hw/engines.toml's order.
        let engines: Vec<String> = crate::engines::descs()
            .unwrap()
            .iter()
            .flat_map(|d| d.generated_files().into_iter().map(|f| f.path))
            .collect();
        assert_eq!(
            paths[6..],
            engines.iter().map(String::as_str).collect::<Vec<_>>()[..]
        );
        assert!(engines.contains(&"hw/ip/gemm/rtl/gemm_args_pkg.sv".to_string()));
        assert!(engines.contains(&"hw/ip/bfp/doc/registers.md".to_string()));
        for file in &files {
            let first = file.text.lines().next().unwrap();
            let shell = ["kiln_shell", "kiln_core_ports", "hw/lint"];
            let source = if shell.iter().any(|s| file.path.contains(s)) {
                "hw/regs/shell.toml".to_string()
            } else if let Some(engine) = file
                .path
                .strip_prefix("hw/ip/")
                .or_else(|| file.path.strip_prefix("runtime/src/engines/"))
                .filter(|rest| !rest.starts_with("common/"))
            {
                format!("hw/ip/{}/engine.toml", engine.split('/').next().unwrap())
            } else {
                "hw/regs/kiln.toml".to_string()
            };
            assert!(
                first.contains(&format!("Generated from {source} by "))
                    && first.contains("do not edit by hand"),
                "{}: {first}",
                file.path
            );
        }
        assert_eq!(files, generated_files(&map).unwrap());
    }

    #[test]
    fn sv_package_has_the_names_the_rtl_uses() {
        let sv = render_sv(&RegisterMap::builtin().unwrap());
        for want in [
            "package kiln_reg_pkg;",
            "localparam logic [31:0] KILN_MAGIC = 32'h4B494C4E;",
            "localparam logic [31:0] KILN_REG_VERSION = 32'd2;",
            "localparam integer KILN_REG_WINDOW = 256;",
            "localparam logic [7:0] KILN_CTRL_OFFSET = 8'h00;",
            "localparam logic [31:0] KILN_CTRL_RESET = 32'h00000004;",
            "localparam integer KILN_CTRL_AP_IDLE_LSB = 2;",
            "localparam integer KILN_CTRL_AP_IDLE_WIDTH = 1;",
            "localparam logic [7:0] KILN_MODE_OFFSET = 8'h48;",
            "localparam integer KILN_ARRAY_COLS_LSB = 8;",
            "localparam integer KILN_ARRAY_COLS_WIDTH = 8;",
            "localparam logic [31:0] KILN_MAGIC_RESET = 32'h4B494C4E;",
            "endpackage",
        ] {
            assert!(sv.contains(want), "missing `{want}`");
        }
    }

    #[test]
    fn rust_module_has_constants_per_register_and_field() {
        let rs = render_rust(&RegisterMap::builtin().unwrap());
        for want in [
            "pub const REG_VERSION: u32 = 2;",
            "pub const MAGIC_VALUE: u32 = 0x4B49_4C4E;",
            "pub const WINDOW_BYTES: u32 = 0x100;",
            "pub const CTRL: Register = Register {",
            "    reset: 0x0000_0004,",
            "pub mod ctrl {",
            "    pub const AP_START: RwField = RwField::new(",
            "        sw: SwAccess::ReadClear,",
            "    pub const AP_IDLE: Field = Field {",
            "        ctrl::AP_START.field(),",
            "pub const ALL: &[Register] = &[",
        ] {
            assert!(rs.contains(want), "missing `{want}`");
        }
        assert!(!rs.contains("\n\n\n"), "no double blank lines (rustfmt)");
    }

    #[test]
    fn markdown_escapes_html_and_table_bars() {
        assert_eq!(md_cell("a|b <name> [x]"), "a\\|b \\<name\\> \\[x\\]");
        let md = render_markdown(&RegisterMap::builtin().unwrap());
        assert!(md.contains("hw/designs/\\<name\\>.toml"));
        assert!(md.contains("| 0x80 | [MAGIC](#magic-0x80) |"));
    }
}
