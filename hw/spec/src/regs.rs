//! The accelerator's control registers, from hw/regs/kiln.toml.
//!
//! That file is the one source of the register map. [`generated_files`]
//! renders the three files derived from it: the SystemVerilog package the
//! RTL imports, the Rust module the driver compiles and the Markdown
//! reference. `kiln regs generate` writes them and a test fails when a
//! committed copy is stale.

mod kernel;
mod render;
mod sync;

pub use kernel::{
    render_kernel_xml, KernelArg, CONTROL_PORT, FIRST_ARG_OFFSET, MEMORY_PORT, MEMORY_PORT_BITS,
};
pub(crate) use render::rw_field_const;
pub use render::{generated_files, render_markdown, render_rust, render_sv, GeneratedFile};
pub use sync::{sync_generated, Synced};

use serde::{Deserialize, Serialize};

use crate::{invalid, parse_toml, SpecError};

/// Path of the register map, relative to the repository root.
pub const REGS_FILE: &str = "hw/regs/kiln.toml";
const REGS_TOML: &str = include_str!("../../regs/kiln.toml");

/// Names the Rust renderer uses at the top level of its module; no register
/// may take them.
const RESERVED_NAMES: [&str; 4] = ["REG_VERSION", "MAGIC_VALUE", "WINDOW_BYTES", "ALL"];

/// Rust keywords: a register's lower-case name names a Rust module.
const RUST_KEYWORDS: [&str; 51] = [
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "static", "struct", "super", "trait", "true", "try", "type", "typeof",
    "union", "unsafe", "unsized", "use", "virtual", "where", "while",
];

/// How software may access a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SwAccess {
    /// `rw`: read and write.
    #[serde(rename = "rw")]
    ReadWrite,
    /// `ro`: read only; writes are ignored.
    #[serde(rename = "ro")]
    ReadOnly,
    /// `rc`: read only; a read of the register clears the field.
    #[serde(rename = "rc")]
    ReadClear,
    /// `tow`: read; writing 1 to a bit toggles it.
    #[serde(rename = "tow")]
    ToggleOnWrite,
}

impl SwAccess {
    /// Software writes the field (`rw`, `tow`); the generated Rust gives it
    /// a setter. `ro` and `rc` fields have none.
    pub fn software_writes(self) -> bool {
        matches!(self, SwAccess::ReadWrite | SwAccess::ToggleOnWrite)
    }

    /// The short name hw/regs/kiln.toml uses (`rw`, `ro`, `rc`, `tow`).
    pub fn as_str(self) -> &'static str {
        match self {
            SwAccess::ReadWrite => "rw",
            SwAccess::ReadOnly => "ro",
            SwAccess::ReadClear => "rc",
            SwAccess::ToggleOnWrite => "tow",
        }
    }

    /// The variant name, as the generated Rust module spells it.
    pub fn variant(self) -> &'static str {
        match self {
            SwAccess::ReadWrite => "ReadWrite",
            SwAccess::ReadOnly => "ReadOnly",
            SwAccess::ReadClear => "ReadClear",
            SwAccess::ToggleOnWrite => "ToggleOnWrite",
        }
    }

    /// What the access means, in a few words.
    pub fn meaning(self) -> &'static str {
        match self {
            SwAccess::ReadWrite => "read and write",
            SwAccess::ReadOnly => "read only; writes are ignored",
            SwAccess::ReadClear => "read only; reading the register clears the field",
            SwAccess::ToggleOnWrite => "read; writing 1 to a bit toggles it",
        }
    }
}

/// How the hardware accesses a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HwAccess {
    /// `hro`: the hardware reads it.
    #[serde(rename = "hro")]
    ReadOnly,
    /// `hrw`: the hardware reads and updates it.
    #[serde(rename = "hrw")]
    ReadWrite,
    /// `hwo`: the hardware drives it.
    #[serde(rename = "hwo")]
    WriteOnly,
}

impl HwAccess {
    /// The short name hw/regs/kiln.toml uses (`hro`, `hrw`, `hwo`).
    pub fn as_str(self) -> &'static str {
        match self {
            HwAccess::ReadOnly => "hro",
            HwAccess::ReadWrite => "hrw",
            HwAccess::WriteOnly => "hwo",
        }
    }

    /// What the access means, in a few words.
    pub fn meaning(self) -> &'static str {
        match self {
            HwAccess::ReadOnly => "the hardware reads it",
            HwAccess::ReadWrite => "the hardware reads and updates it",
            HwAccess::WriteOnly => "the hardware drives it",
        }
    }
}

/// A bit field of a register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Field {
    /// UPPER_SNAKE name, unique within its register.
    pub name: String,
    /// Lowest bit.
    pub lsb: u32,
    /// Width in bits, 1 to 32; `lsb + width <= 32`.
    pub width: u32,
    /// Software access.
    pub sw: SwAccess,
    /// Hardware access.
    pub hw: HwAccess,
    /// Value after reset; fits in `width` bits.
    pub reset: u32,
    /// One-line description.
    pub desc: String,
}

impl Field {
    /// Highest bit.
    pub fn msb(&self) -> u32 {
        self.lsb + self.width - 1
    }

    /// The field's bits, in place in the register word.
    pub fn mask(&self) -> u32 {
        (u32::MAX >> (32 - self.width)) << self.lsb
    }

    /// The bit range as the TOML writes it: `7:0`, or `3` for one bit.
    pub fn bits(&self) -> String {
        if self.width == 1 {
            self.lsb.to_string()
        } else {
            format!("{}:{}", self.msb(), self.lsb)
        }
    }
}

/// A 32-bit control register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Register {
    /// UPPER_SNAKE name, unique in the map.
    pub name: String,
    /// Byte offset in the register window: 4-aligned, inside the window.
    pub offset: u32,
    /// One-line description.
    pub desc: String,
    /// Bit fields in declaration order; they do not overlap.
    pub fields: Vec<Field>,
}

impl Register {
    /// The register's value after reset, composed from its fields' resets.
    pub fn reset(&self) -> u32 {
        self.fields
            .iter()
            .fold(0, |word, f| word | (f.reset << f.lsb))
    }

    /// Looks a field up by name.
    pub fn field(&self, name: &str) -> Result<&Field, SpecError> {
        self.fields
            .iter()
            .find(|f| f.name == name)
            .ok_or_else(|| SpecError::Unknown {
                what: "field",
                name: format!("{}.{name}", self.name),
                known: self
                    .fields
                    .iter()
                    .map(|f| f.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

/// The accelerator's register map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegisterMap {
    /// lower_snake name of the accelerator: `kiln` gives the SystemVerilog
    /// package `kiln_reg_pkg` and the constant prefix `KILN_`.
    pub name: String,
    /// Register-map version; the VERSION register reads it.
    pub version: u32,
    /// Identity value; the MAGIC register reads it.
    pub magic: u32,
    /// Size of the AXI-Lite register window in bytes, a power of two.
    pub window_bytes: u32,
    /// Registers by ascending offset.
    pub registers: Vec<Register>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MapFile {
    name: String,
    version: u32,
    magic: u64,
    window_bytes: u64,
    #[serde(rename = "register")]
    registers: Vec<RegisterEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterEntry {
    name: String,
    offset: u64,
    desc: String,
    fields: Vec<FieldEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldEntry {
    name: String,
    bits: String,
    sw: SwAccess,
    hw: HwAccess,
    reset: u64,
    desc: String,
}

impl RegisterMap {
    /// The map compiled into this binary (hw/regs/kiln.toml).
    pub fn builtin() -> Result<Self, SpecError> {
        Self::parse(REGS_TOML)
    }

    /// Parses and checks a register-map file.
    pub fn parse(text: &str) -> Result<Self, SpecError> {
        let file: MapFile = parse_toml(REGS_FILE, text)?;
        let err = |message: String| invalid(REGS_FILE, message);
        let ok_name = file.name.starts_with(|c: char| c.is_ascii_lowercase())
            && file
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !ok_name {
            return Err(err(format!(
                "name `{}` must be lower_snake_case (it names the SystemVerilog package)",
                file.name
            )));
        }
        let window_bytes = u32::try_from(file.window_bytes)
            .ok()
            .filter(|w| w.is_power_of_two() && *w >= 4)
            .ok_or_else(|| {
                err(format!(
                    "window_bytes is {:#x}; it must be a power of two from 4 to 2^31",
                    file.window_bytes
                ))
            })?;
        let magic = u32::try_from(file.magic)
            .map_err(|_| err(format!("magic {:#x} does not fit in 32 bits", file.magic)))?;
        if file.registers.is_empty() {
            return Err(err("no [[register]] entries".into()));
        }
        let mut registers: Vec<Register> = Vec::new();
        for entry in file.registers {
            let register = register(entry, window_bytes)?;
            if let Some(other) = registers.iter().find(|r| r.name == register.name) {
                return Err(err(format!(
                    "register `{}` is declared twice (offsets {:#04x} and {:#04x})",
                    register.name, other.offset, register.offset
                )));
            }
            if let Some(other) = registers.iter().find(|r| r.offset == register.offset) {
                return Err(err(format!(
                    "register `{}`: offset {:#04x} is already taken by register `{}`",
                    register.name, register.offset, other.name
                )));
            }
            if let Some(prev) = registers.last().filter(|p| p.offset > register.offset) {
                return Err(err(format!(
                    "register `{}`: offset {:#04x} comes after register `{}` at {:#04x}; \
                     list registers by ascending offset",
                    register.name, register.offset, prev.name, prev.offset
                )));
            }
            registers.push(register);
        }
        let map = RegisterMap {
            name: file.name,
            version: file.version,
            magic,
            window_bytes,
            registers,
        };
        map.check_identity()?;
        map.check_generated_names()?;
        Ok(map)
    }

    /// Looks a register up by name.
    pub fn register(&self, name: &str) -> Result<&Register, SpecError> {
        self.registers
            .iter()
            .find(|r| r.name == name)
            .ok_or_else(|| SpecError::Unknown {
                what: "register",
                name: name.to_string(),
                known: self
                    .registers
                    .iter()
                    .map(|r| r.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// Width of a byte offset into the register window, in bits.
    pub fn offset_bits(&self) -> u32 {
        self.window_bytes.trailing_zeros()
    }

    /// The SystemVerilog constant prefix, `KILN` for the map named `kiln`.
    pub fn prefix(&self) -> String {
        self.name.to_ascii_uppercase()
    }

    /// MAGIC and VERSION must exist and reset to `magic` and `version`:
    /// they are what a driver checks before it trusts the rest of the map.
    fn check_identity(&self) -> Result<(), SpecError> {
        for (name, what, want) in [
            ("MAGIC", "magic", self.magic),
            ("VERSION", "version", self.version),
        ] {
            let register = self.register(name).map_err(|_| {
                invalid(
                    REGS_FILE,
                    format!("there is no `{name}` register; the driver's identity check reads it"),
                )
            })?;
            if register.reset() != want {
                return Err(invalid(
                    REGS_FILE,
                    format!(
                        "register `{name}`: reset is {:#x}, but the top-level {what} is {want:#x}",
                        register.reset()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Every name the renderers generate must be unique: register `A_B`
    /// with field `C` and register `A` with field `B_C` would both give
    /// `KILN_A_B_C_LSB`.
    fn check_generated_names(&self) -> Result<(), SpecError> {
        let mut seen: std::collections::BTreeMap<String, String> = Default::default();
        for register in &self.registers {
            let mut names = vec![
                (format!("{}_OFFSET", register.name), register.name.clone()),
                (format!("{}_RESET", register.name), register.name.clone()),
            ];
            for field in &register.fields {
                let owner = format!("{}.{}", register.name, field.name);
                for suffix in ["LSB", "WIDTH"] {
                    names.push((
                        format!("{}_{}_{suffix}", register.name, field.name),
                        owner.clone(),
                    ));
                }
            }
            for (name, owner) in names {
                if let Some(first) = seen.get(&name) {
                    return Err(invalid(
                        REGS_FILE,
                        format!(
                            "`{owner}` and `{first}` would both generate the constant `{}_{name}`; \
                             rename one",
                            self.prefix()
                        ),
                    ));
                }
                seen.insert(name, owner);
            }
        }
        Ok(())
    }
}

fn is_upper_snake(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_uppercase())
        && !name.ends_with('_')
        && !name.contains("__")
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// A description goes into `//` comments and doc comments: one line of
/// printable text.
fn check_desc(file: &str, owner: &str, desc: &str) -> Result<(), SpecError> {
    if desc.trim().is_empty() {
        return Err(invalid(file, format!("{owner}: desc is empty")));
    }
    if desc.chars().any(char::is_control) {
        return Err(invalid(
            file,
            format!("{owner}: desc must be one line without control characters"),
        ));
    }
    Ok(())
}

fn register(entry: RegisterEntry, window_bytes: u32) -> Result<Register, SpecError> {
    let name = entry.name;
    let err = |message: String| invalid(REGS_FILE, format!("register `{name}`: {message}"));
    if !is_upper_snake(&name) {
        return Err(err("the name must be UPPER_SNAKE_CASE".into()));
    }
    if RESERVED_NAMES.contains(&name.as_str()) {
        return Err(err(format!(
            "the name is reserved for the generated Rust module (reserved: {})",
            RESERVED_NAMES.join(", ")
        )));
    }
    if RUST_KEYWORDS.contains(&name.to_ascii_lowercase().as_str()) {
        return Err(err(
            "the lower-case name is a Rust keyword and cannot name the register's Rust module"
                .into(),
        ));
    }
    check_desc(REGS_FILE, &format!("register `{name}`"), &entry.desc)?;
    if !entry.offset.is_multiple_of(4) {
        return Err(err(format!(
            "offset {:#04x} is not 4-byte aligned",
            entry.offset
        )));
    }
    if entry.offset.saturating_add(4) > u64::from(window_bytes) {
        return Err(err(format!(
            "offset {:#04x} is outside the {window_bytes:#x}-byte register window",
            entry.offset
        )));
    }
    let offset = entry.offset as u32;
    if entry.fields.is_empty() {
        return Err(err("it has no fields".into()));
    }
    let mut fields: Vec<Field> = Vec::new();
    for f in entry.fields {
        let field = field(&name, f)?;
        for other in &fields {
            if other.name == field.name {
                return Err(err(format!("field `{}` is declared twice", field.name)));
            }
            if other.mask() & field.mask() != 0 {
                return Err(err(format!(
                    "field `{}` (bits {}) overlaps field `{}` (bits {})",
                    field.name,
                    field.bits(),
                    other.name,
                    other.bits()
                )));
            }
        }
        fields.push(field);
    }
    Ok(Register {
        name,
        offset,
        desc: entry.desc,
        fields,
    })
}

fn field(register: &str, entry: FieldEntry) -> Result<Field, SpecError> {
    field_from_parts(
        REGS_FILE,
        register,
        entry.name,
        &entry.bits,
        entry.sw,
        entry.hw,
        entry.reset,
        entry.desc,
    )
}

/// A field of `register` in description file `file`, checked: an
/// UPPER_SNAKE name, a one-line description, bits `msb:lsb` (or one bit)
/// inside 32, and a reset that fits. Engine MODE fields come through here
/// too.
#[allow(clippy::too_many_arguments)]
pub(crate) fn field_from_parts(
    file: &str,
    register: &str,
    name: String,
    bits: &str,
    sw: SwAccess,
    hw: HwAccess,
    reset: u64,
    desc: String,
) -> Result<Field, SpecError> {
    let owner = format!("register `{register}` field `{name}`");
    let err = |message: String| invalid(file, format!("{owner}: {message}"));
    if !is_upper_snake(&name) {
        return Err(err("the name must be UPPER_SNAKE_CASE".into()));
    }
    check_desc(file, &owner, &desc)?;
    let bit = |text: &str| -> Result<u32, SpecError> {
        text.trim()
            .parse::<u32>()
            .ok()
            .filter(|b| *b < 32)
            .ok_or_else(|| {
                err(format!(
                    "bits `{bits}`: `{text}` is not a bit number from 0 to 31"
                ))
            })
    };
    let (msb, lsb) = match bits.split_once(':') {
        Some((msb, lsb)) => (bit(msb)?, bit(lsb)?),
        None => {
            let b = bit(bits)?;
            (b, b)
        }
    };
    if msb < lsb {
        return Err(err(format!(
            "bits `{bits}`: write the high bit first (`{lsb}:{msb}`)"
        )));
    }
    let width = msb - lsb + 1;
    if reset >> width != 0 {
        return Err(err(format!(
            "reset {reset:#x} does not fit in {width} bit{}",
            if width == 1 { "" } else { "s" }
        )));
    }
    Ok(Field {
        name,
        lsb,
        width,
        sw,
        hw,
        reset: reset as u32,
        desc,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "name = \"kiln\"\nversion = 1\nmagic = 0x4B494C4E\nwindow_bytes = 0x100\n";
    const IDENTITY: &str = "
[[register]]
name = \"MAGIC\"
offset = 0x80
desc = \"Magic.\"
fields = [ { name = \"VALUE\", bits = \"31:0\", sw = \"ro\", hw = \"hwo\", reset = 0x4B494C4E, desc = \"Magic.\" } ]

[[register]]
name = \"VERSION\"
offset = 0x84
desc = \"Version.\"
fields = [ { name = \"VALUE\", bits = \"31:0\", sw = \"ro\", hw = \"hwo\", reset = 1, desc = \"Version.\" } ]
";

    fn ctrl(offset: &str, fields: &str) -> String {
        format!(
            "[[register]]\nname = \"CTRL\"\noffset = {offset}\ndesc = \"Control.\"\nfields = [\n{fields}]\n"
        )
    }

    fn parse_err(body: &str) -> String {
        RegisterMap::parse(&format!("{HEAD}{body}{IDENTITY}"))
            .unwrap_err()
            .to_string()
    }

    const START: &str = "{ name = \"START\", bits = \"0\", sw = \"rw\", hw = \"hrw\", reset = 0, desc = \"Go.\" },\n";

    #[test]
    fn builtin_map_parses_with_xrt_control_at_zero() {
        let map = RegisterMap::builtin().unwrap();
        assert_eq!(map.name, "kiln");
        assert_eq!(map.magic, 0x4B49_4C4E);
        assert_eq!(map.window_bytes, 0x100);
        assert_eq!(map.offset_bits(), 8);
        let ctrl = &map.registers[0];
        assert_eq!((ctrl.name.as_str(), ctrl.offset), ("CTRL", 0));
        // AP_IDLE resets to 1.
        assert_eq!(ctrl.reset(), 0b100);
        let array = map.register("ARRAY").unwrap();
        let cols = array.field("COLS").unwrap();
        assert_eq!((cols.lsb, cols.width, cols.mask()), (8, 8, 0xff00));
        assert_eq!(cols.bits(), "15:8");
        assert_eq!(map.register("MAGIC").unwrap().reset(), map.magic);
        assert_eq!(map.register("VERSION").unwrap().reset(), map.version);
        assert!(map.registers.windows(2).all(|w| w[0].offset < w[1].offset));
        let err = map.register("NOPE").unwrap_err().to_string();
        assert!(err.contains("CTRL"), "{err}");
    }

    #[test]
    fn a_minimal_map_parses() {
        let map = RegisterMap::parse(&format!("{HEAD}{}{IDENTITY}", ctrl("0x00", START))).unwrap();
        assert_eq!(map.registers.len(), 3);
        assert_eq!(map.registers[0].fields[0].bits(), "0");
    }

    #[test]
    fn bad_offsets_name_the_register() {
        let err = parse_err(&ctrl("0x02", START));
        assert!(
            err.contains("CTRL") && err.contains("not 4-byte aligned"),
            "{err}"
        );
        let err = parse_err(&ctrl("0x100", START));
        assert!(err.contains("CTRL") && err.contains("outside"), "{err}");
        let err = parse_err(&ctrl("0x90", START));
        assert!(err.contains("CTRL") && err.contains("ascending"), "{err}");
        let err = parse_err(&ctrl("0x80", START));
        assert!(
            err.contains("MAGIC") && err.contains("already taken"),
            "{err}"
        );
    }

    #[test]
    fn overlapping_fields_name_both() {
        let fields = format!(
            "{START}{{ name = \"MODE\", bits = \"3:0\", sw = \"rw\", hw = \"hro\", reset = 0, desc = \"Mode.\" }},\n"
        );
        let err = parse_err(&ctrl("0x00", &fields));
        assert!(
            err.contains("CTRL") && err.contains("`MODE` (bits 3:0) overlaps field `START`"),
            "{err}"
        );
        let err = parse_err(&ctrl("0x00", &format!("{START}{START}")));
        assert!(err.contains("`START` is declared twice"), "{err}");
    }

    #[test]
    fn a_reset_wider_than_its_field_names_the_field() {
        let fields = "{ name = \"MODE\", bits = \"2:1\", sw = \"rw\", hw = \"hro\", reset = 4, desc = \"Mode.\" },\n";
        let err = parse_err(&ctrl("0x00", fields));
        assert!(
            err.contains("register `CTRL` field `MODE`") && err.contains("does not fit in 2 bits"),
            "{err}"
        );
    }

    #[test]
    fn bad_bits_names_and_identity_are_refused() {
        let one = |bits: &str, name: &str| {
            ctrl(
                "0x00",
                &format!(
                    "{{ name = \"{name}\", bits = \"{bits}\", sw = \"rw\", hw = \"hro\", reset = 0, desc = \"X.\" }},\n"
                ),
            )
        };
        for (body, want) in [
            (one("32", "X"), "not a bit number"),
            (one("0:3", "X"), "high bit first"),
            (one("x", "X"), "not a bit number"),
            (one("0", "lower"), "UPPER_SNAKE"),
            (ctrl("0x00", ""), "no fields"),
            (
                ctrl("0x00", START).replace("\"CTRL\"", "\"MAGIC_VALUE\""),
                "reserved",
            ),
            (
                ctrl("0x00", START).replace("\"CTRL\"", "\"TYPE\""),
                "keyword",
            ),
            (
                ctrl("0x00", START).replace("Control.", "two\\nlines"),
                "one line",
            ),
            (ctrl("0x00", START).replace("desc", "dsc"), "unknown field"),
        ] {
            let err = parse_err(&body);
            assert!(err.contains(want), "`{err}` should mention `{want}`");
        }
        let wrong_magic = IDENTITY.replace("reset = 0x4B494C4E", "reset = 1");
        let err = RegisterMap::parse(&format!("{HEAD}{}{wrong_magic}", ctrl("0x00", START)))
            .unwrap_err()
            .to_string();
        assert!(err.contains("`MAGIC`") && err.contains("magic"), "{err}");
        let err = RegisterMap::parse(&format!("{HEAD}{}", ctrl("0x00", START)))
            .unwrap_err()
            .to_string();
        assert!(err.contains("no `MAGIC` register"), "{err}");
    }

    #[test]
    fn flattened_constant_names_must_not_collide() {
        let body = format!(
            "{}[[register]]\nname = \"CTRL_A\"\noffset = 0x04\ndesc = \"X.\"\nfields = [ {{ name = \"B\", bits = \"0\", sw = \"rw\", hw = \"hro\", reset = 0, desc = \"X.\" }} ]\n",
            ctrl(
                "0x00",
                "{ name = \"A_B\", bits = \"0\", sw = \"rw\", hw = \"hro\", reset = 0, desc = \"X.\" },\n"
            )
        );
        let err = parse_err(&body);
        assert!(err.contains("KILN_CTRL_A_B_LSB"), "{err}");
    }
}
