//! The PE library: each processing element kind and its weight codebook.

use serde::Deserialize;
use std::path::PathBuf;
use std::sync::Arc;

use crate::{invalid, parse_toml, SpecError, WEIGHT_BITS};

const LIBRARY_FILE: &str = "hw/ip/pe/data/codebooks.toml";
const LIBRARY_TOML: &str = include_str!("../../ip/pe/data/codebooks.toml");
const TEST_FILE: &str = "hw/ip/pe/dv/test_pes.toml";
const TEST_TOML: &str = include_str!("../../ip/pe/dv/test_pes.toml");

/// The ports every PE shares (see codebooks.toml).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortShape {
    /// Width of `act_i`, a two's-complement activation.
    pub act_bits: u32,
    /// Width of `prod_o`, the two's-complement product.
    pub product_bits: u32,
}

/// How a weight code maps to the integer the activation is multiplied by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Encoding {
    /// The code is a signed integer of the PE's weight width.
    TwosComplement,
    /// The top bit is the sign; the other bits index `magnitudes`.
    SignMagnitude { magnitudes: Vec<u32> },
    /// Code `c` stands for `values[c]`: every code listed.
    Table { values: Vec<i32> },
}

/// One PE kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeSpec {
    /// Name of the PE and of its SystemVerilog module.
    pub name: String,
    /// One line for listings.
    pub summary: String,
    /// Width of `wcode_i`.
    pub weight_bits: u32,
    /// Meaning of a weight code.
    pub encoding: Encoding,
    /// RTL sources, dependencies first: relative to the repository root
    /// for a built-in PE (see [`crate::rtl`]), absolute for a project's.
    pub rtl: Vec<PathBuf>,
    /// The PE whose golden model this PE must match: itself, except for a
    /// test-only PE that copies a library PE's codebook (test_pes.toml).
    pub golden: String,
    /// Built only for kiln's own tests; never listed to users.
    pub test_only: bool,
}

impl PeSpec {
    /// Number of distinct weight codes.
    pub fn code_count(&self) -> u32 {
        1 << self.weight_bits
    }

    /// The integer multiplier a weight code stands for.
    ///
    /// # Panics
    /// If `code` does not fit in `weight_bits` (a caller bug, not bad input).
    pub fn weight_value(&self, code: u32) -> i32 {
        assert!(code < self.code_count(), "weight code {code} out of range");
        let sign_bit = 1u32 << (self.weight_bits - 1);
        match &self.encoding {
            Encoding::TwosComplement => {
                if code & sign_bit != 0 {
                    code as i32 - self.code_count() as i32
                } else {
                    code as i32
                }
            }
            Encoding::SignMagnitude { magnitudes } => {
                let magnitude = magnitudes[(code & (sign_bit - 1)) as usize] as i32;
                if code & sign_bit != 0 {
                    -magnitude
                } else {
                    magnitude
                }
            }
            Encoding::Table { values } => values[code as usize],
        }
    }

    /// Largest |value| of any code.
    pub fn max_magnitude(&self) -> u32 {
        (0..self.code_count())
            .map(|c| self.weight_value(c).unsigned_abs())
            .max()
            .unwrap_or(0)
    }
}

/// Every PE kind kiln knows, with the port shape they share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeLibrary {
    pub port_shape: PortShape,
    /// Library PEs first, in file order, then test-only PEs.
    pub pes: Vec<PeSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LibraryFile {
    port_shape: PortShape,
    pe: Vec<LibraryEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LibraryEntry {
    pub name: String,
    pub summary: String,
    pub weight_bits: u32,
    pub encoding: String,
    #[serde(default)]
    pub magnitudes: Option<Vec<u32>>,
    #[serde(default)]
    pub values: Option<Vec<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TestFile {
    pe: Vec<TestEntry>,
}

/// A test-only PE: either `golden`, the library PE whose codebook it claims
/// (a deliberately wrong PE), or its own codebook (`weight_bits`,
/// `encoding`, `magnitudes`, as a library entry states them), which makes
/// it its own golden model.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TestEntry {
    name: String,
    summary: String,
    rtl: PathBuf,
    #[serde(default)]
    golden: Option<String>,
    #[serde(default)]
    weight_bits: Option<u32>,
    #[serde(default)]
    encoding: Option<String>,
    #[serde(default)]
    magnitudes: Option<Vec<u32>>,
}

impl PeLibrary {
    /// The library compiled into this binary, test-only PEs included;
    /// parsed once per process (designs and jobs ask for it often).
    pub fn builtin() -> Result<Arc<Self>, SpecError> {
        static BUILTIN: std::sync::OnceLock<Result<Arc<PeLibrary>, String>> =
            std::sync::OnceLock::new();
        BUILTIN
            .get_or_init(|| {
                Self::parse(LIBRARY_TOML, Some(TEST_TOML))
                    .map(Arc::new)
                    .map_err(|e| e.to_string())
            })
            .clone()
            .map_err(|message| SpecError::Invalid {
                file: LIBRARY_FILE.into(),
                message,
            })
    }

    /// Parses a library file and, optionally, a test-PE file.
    pub fn parse(library: &str, test_pes: Option<&str>) -> Result<Self, SpecError> {
        let file: LibraryFile = parse_toml(LIBRARY_FILE, library)?;
        let shape = file.port_shape;
        if !(2..=16).contains(&shape.act_bits) || !(2..=32).contains(&shape.product_bits) {
            return Err(invalid(
                LIBRARY_FILE,
                "port_shape: act_bits must be 2..=16 and product_bits 2..=32",
            ));
        }
        let mut pes = Vec::new();
        for entry in file.pe {
            let rtl = vec![PathBuf::from(format!("hw/ip/pe/rtl/{}.sv", entry.name))];
            let spec = library_entry(LIBRARY_FILE, entry, shape, rtl)?;
            if pes.iter().any(|p: &PeSpec| p.name == spec.name) {
                return Err(invalid(
                    LIBRARY_FILE,
                    format!("PE `{}` is declared twice", spec.name),
                ));
            }
            pes.push(spec);
        }
        if let Some(text) = test_pes {
            let file: TestFile = parse_toml(TEST_FILE, text)?;
            for entry in file.pe {
                let spec = test_entry(entry, &pes, shape)?;
                if pes.iter().any(|p| p.name == spec.name) {
                    return Err(invalid(
                        TEST_FILE,
                        format!("PE `{}` is declared twice", spec.name),
                    ));
                }
                pes.push(spec);
            }
        }
        Ok(Self {
            port_shape: shape,
            pes,
        })
    }

    /// The PEs users see: everything but test-only ones.
    pub fn library_pes(&self) -> impl Iterator<Item = &PeSpec> {
        self.pes.iter().filter(|p| !p.test_only)
    }

    /// This library with `pes` (a project's) added after its own. A name
    /// already taken, or more PEs than ARRAY.PE_KIND can number, is refused.
    pub fn with_pes(&self, file: &str, pes: Vec<PeSpec>) -> Result<Self, SpecError> {
        let mut library = self.clone();
        for pe in pes {
            if library.pes.iter().any(|p| p.name == pe.name) {
                return Err(invalid(
                    file,
                    format!(
                        "PE `{}` is declared twice (kiln's built-in library or this project already has it); rename one",
                        pe.name
                    ),
                ));
            }
            library.pes.push(pe);
        }
        if library.pes.len() > 256 {
            return Err(invalid(
                file,
                format!(
                    "{} PEs in all; ARRAY.PE_KIND numbers at most 256",
                    library.pes.len()
                ),
            ));
        }
        Ok(library)
    }

    /// Looks a PE up by name (test-only PEs included).
    pub fn get(&self, name: &str) -> Result<&PeSpec, SpecError> {
        self.pes
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| SpecError::Unknown {
                what: "PE",
                name: name.to_string(),
                known: self
                    .library_pes()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

fn check_name(file: &str, name: &str) -> Result<(), SpecError> {
    let ok = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(invalid(
            file,
            format!("PE name `{name}` must be lower_snake_case (it names a SystemVerilog module)"),
        ))
    }
}

/// Checks one PE's codebook (`entry`, read from `file`) against the shared
/// port shape and builds its spec with RTL sources `rtl`.
pub(crate) fn library_entry(
    file: &str,
    entry: LibraryEntry,
    shape: PortShape,
    rtl: Vec<PathBuf>,
) -> Result<PeSpec, SpecError> {
    check_name(file, &entry.name)?;
    let encoding = codebook(
        file,
        &entry.name,
        entry.weight_bits,
        &entry.encoding,
        entry.magnitudes,
        entry.values,
        shape,
    )?;
    Ok(PeSpec {
        rtl,
        golden: entry.name.clone(),
        name: entry.name,
        summary: entry.summary,
        weight_bits: entry.weight_bits,
        encoding,
        test_only: false,
    })
}

/// A test-only PE: a copy of its golden library PE's codebook, or its own.
fn test_entry(entry: TestEntry, pes: &[PeSpec], shape: PortShape) -> Result<PeSpec, SpecError> {
    let file = TEST_FILE;
    check_name(file, &entry.name)?;
    let name = entry.name;
    let own = entry.weight_bits.is_some() || entry.encoding.is_some() || entry.magnitudes.is_some();
    let (weight_bits, encoding, golden) = match (entry.golden, own) {
        (Some(golden), false) => {
            let golden = pes
                .iter()
                .find(|p| p.name == golden && !p.test_only)
                .ok_or_else(|| {
                    invalid(
                        file,
                        format!(
                            "test PE `{name}` names golden `{golden}`, which is not a library PE"
                        ),
                    )
                })?;
            (
                golden.weight_bits,
                golden.encoding.clone(),
                golden.name.clone(),
            )
        }
        (Some(_), true) => {
            return Err(invalid(
                file,
                format!(
                    "test PE `{name}` names a golden PE and states a codebook too; give one: \
                     golden, or weight_bits, encoding (and magnitudes)"
                ),
            ))
        }
        (None, _) => {
            let (Some(weight_bits), Some(encoding)) = (entry.weight_bits, entry.encoding) else {
                return Err(invalid(
                    file,
                    format!(
                        "test PE `{name}` needs golden (a library PE) or its own codebook: \
                         weight_bits and encoding (and magnitudes)"
                    ),
                ));
            };
            let encoding = codebook(
                file,
                &name,
                weight_bits,
                &encoding,
                entry.magnitudes,
                None,
                shape,
            )?;
            (weight_bits, encoding, name.clone())
        }
    };
    Ok(PeSpec {
        name,
        summary: entry.summary,
        weight_bits,
        encoding,
        rtl: vec![entry.rtl],
        golden,
        test_only: true,
    })
}

/// Checks a PE's codebook as `file` states it: the width, the encoding and
/// its magnitudes, and that the largest product fits the product port.
fn codebook(
    file: &str,
    name: &str,
    weight_bits: u32,
    encoding: &str,
    magnitudes: Option<Vec<u32>>,
    values: Option<Vec<i64>>,
    shape: PortShape,
) -> Result<Encoding, SpecError> {
    if !WEIGHT_BITS.contains(&weight_bits) {
        return Err(invalid(
            file,
            format!(
                "PE `{name}`: weight_bits is {weight_bits}; the engines carry weight codes of {} to {} bits",
                WEIGHT_BITS.start(),
                WEIGHT_BITS.end()
            ),
        ));
    }
    if values.is_some() && encoding != "table" {
        return Err(invalid(
            file,
            format!("PE `{name}`: `values` belongs to encoding = \"table\""),
        ));
    }
    let encoding = match (encoding, magnitudes) {
        ("table", None) => table_encoding(file, name, weight_bits, values)?,
        ("table", Some(_)) => {
            return Err(invalid(
                file,
                format!("PE `{name}`: a table lists `values`, not `magnitudes`"),
            ))
        }
        ("twos_complement", None) => Encoding::TwosComplement,
        ("sign_magnitude", Some(magnitudes)) => {
            let want = 1usize << (weight_bits - 1);
            if magnitudes.len() != want {
                return Err(invalid(
                    file,
                    format!(
                        "PE `{name}`: sign_magnitude with {weight_bits} weight bits needs {want} magnitudes, found {}",
                        magnitudes.len()
                    ),
                ));
            }
            Encoding::SignMagnitude { magnitudes }
        }
        ("twos_complement", Some(_)) => {
            return Err(invalid(
                file,
                format!("PE `{name}`: twos_complement takes no magnitudes"),
            ))
        }
        ("sign_magnitude", None) => {
            return Err(invalid(
                file,
                format!("PE `{name}`: sign_magnitude needs a magnitudes list"),
            ))
        }
        (other, _) => {
            return Err(invalid(
                file,
                format!(
                "PE `{name}`: encoding `{other}` is unknown; use twos_complement, sign_magnitude or table"
            ),
            ))
        }
    };
    // The largest product must fit the signed product port. The largest
    // magnitude is taken from the file's numbers, not from
    // `PeSpec::max_magnitude`: that goes through `weight_value`'s i32, and
    // a magnitude above i32::MAX (which this check refuses) would overflow
    // it before it could be refused.
    let largest = match &encoding {
        Encoding::TwosComplement => 1u64 << (weight_bits - 1),
        Encoding::SignMagnitude { magnitudes } => {
            magnitudes.iter().copied().max().map_or(0, u64::from)
        }
        Encoding::Table { values } => values
            .iter()
            .map(|v| u64::from(v.unsigned_abs()))
            .max()
            .unwrap_or(0),
    };
    let act_min = 1u64 << (shape.act_bits - 1);
    let product_limit = 1u64 << (shape.product_bits - 1);
    if act_min * largest > product_limit - 1 {
        return Err(invalid(
            file,
            format!(
                "PE `{name}`: a product of magnitude {} does not fit a {}-bit signed prod_o",
                act_min * largest,
                shape.product_bits
            ),
        ));
    }
    Ok(encoding)
}

/// A `table` codebook: exactly one value per code, each an i32.
fn table_encoding(
    file: &str,
    name: &str,
    bits: u32,
    values: Option<Vec<i64>>,
) -> Result<Encoding, SpecError> {
    let codes = 1usize << bits;
    let Some(values) = values else {
        return Err(invalid(
            file,
            format!("PE `{name}`: encoding = \"table\" needs `values`, one per code ({codes} for {bits} bits)"),
        ));
    };
    if values.len() != codes {
        let detail = if values.len() + 1 == codes {
            format!(
                "code {:#0w$b} has no value",
                codes - 1,
                w = bits as usize + 2
            )
        } else if values.len() < codes {
            format!(
                "codes {:#0w$b} to {:#0w$b} have no value",
                values.len(),
                codes - 1,
                w = bits as usize + 2
            )
        } else {
            format!("{} values are one per code too many", values.len() - codes)
        };
        return Err(invalid(
            file,
            format!(
                "PE `{name}`: a {bits}-bit code has {codes} values, the table lists {}: {detail}",
                values.len()
            ),
        ));
    }
    let mut table = Vec::with_capacity(codes);
    for (code, value) in values.into_iter().enumerate() {
        let value = i32::try_from(value).map_err(|_| {
            invalid(
                file,
                format!("PE `{name}`: the value of code {code} ({value}) does not fit 32 bits"),
            )
        })?;
        table.push(value);
    }
    Ok(Encoding::Table { values: table })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_library_parses_with_five_kinds() {
        let lib = PeLibrary::builtin().unwrap();
        let names: Vec<_> = lib.library_pes().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            ["mac_dsp", "mac_lut", "shift_pot", "shift_msq", "shift_apot"]
        );
        assert!(lib.get("shift_pot_faulty").unwrap().test_only);
        // Test PEs with their own codebooks are their own golden models.
        for (name, bits) in [("test_sign1", 1), ("test_pot3", 3), ("test_log5", 5)] {
            let pe = lib.get(name).unwrap();
            assert!(pe.test_only && pe.golden == name, "{name}");
            assert_eq!(pe.weight_bits, bits, "{name}");
            assert_eq!(pe.rtl, [PathBuf::from(format!("hw/ip/pe/dv/{name}.sv"))]);
        }
    }

    #[test]
    fn one_bit_codebooks() {
        let parse = |body: &str| {
            let text = format!(
                "[port_shape]\nact_bits = 8\nproduct_bits = 16\n[[pe]]\nname = \"a\"\nsummary = \"\"\nweight_bits = 1\n{body}"
            );
            PeLibrary::parse(&text, None).map(|lib| lib.pes[0].clone())
        };
        // Sign-magnitude: no index bits, one magnitude, {+m, -m}.
        let sign = parse("encoding = \"sign_magnitude\"\nmagnitudes = [64]\n").unwrap();
        assert_eq!((sign.weight_value(0), sign.weight_value(1)), (64, -64));
        assert_eq!(sign.max_magnitude(), 64);
        let err = parse("encoding = \"sign_magnitude\"\nmagnitudes = [1, 2]\n").unwrap_err();
        assert!(
            err.to_string().contains("needs 1 magnitudes, found 2"),
            "{err}"
        );
        // Two's complement: {0, -1}.
        let twos = parse("encoding = \"twos_complement\"\n").unwrap();
        assert_eq!((twos.weight_value(0), twos.weight_value(1)), (0, -1));
        let lib = PeLibrary::builtin().unwrap();
        let sign1 = lib.get("test_sign1").unwrap();
        assert_eq!((sign1.weight_value(0), sign1.weight_value(1)), (64, -64));
    }

    #[test]
    fn test_pes_take_a_golden_or_their_own_codebook_not_both() {
        let library = "[port_shape]\nact_bits = 8\nproduct_bits = 16\n[[pe]]\nname = \"p\"\nsummary = \"\"\nweight_bits = 4\nencoding = \"twos_complement\"\n";
        let test = |body: &str| {
            PeLibrary::parse(
                library,
                Some(&format!(
                    "[[pe]]\nname = \"t\"\nsummary = \"\"\nrtl = \"t.sv\"\n{body}"
                )),
            )
        };
        let own =
            test("weight_bits = 3\nencoding = \"sign_magnitude\"\nmagnitudes = [1, 2, 4, 8]\n")
                .unwrap();
        let t = own.get("t").unwrap();
        assert_eq!((t.golden.as_str(), t.weight_bits), ("t", 3));
        assert_eq!(t.weight_value(0b111), -8);
        let copy = test("golden = \"p\"\n").unwrap();
        let t = copy.get("t").unwrap();
        assert_eq!((t.golden.as_str(), t.weight_bits), ("p", 4));
        for (body, want) in [
            (
                "golden = \"p\"\nweight_bits = 4\n",
                "names a golden PE and states a codebook too",
            ),
            ("", "needs golden (a library PE) or its own codebook"),
            ("weight_bits = 3\n", "needs golden (a library PE) or its own codebook"),
            ("golden = \"nope\"\n", "names golden `nope`, which is not a library PE"),
            (
                "weight_bits = 3\nencoding = \"sign_magnitude\"\nmagnitudes = [1, 2]\n",
                "needs 4 magnitudes",
            ),
            (
                "weight_bits = 5\nencoding = \"sign_magnitude\"\nmagnitudes = [1, 2, 4, 8, 16, 32, 64, 128, 256, 1, 1, 1, 1, 1, 1, 1]\n",
                "does not fit",
            ),
            ("weight_bits = 9\nencoding = \"twos_complement\"\n", "the engines carry weight codes of 1 to 8 bits"),
        ] {
            let err = test(body).unwrap_err().to_string();
            assert!(err.contains(want), "`{err}` should mention `{want}`");
            assert!(err.starts_with(TEST_FILE), "{err}");
        }
    }

    #[test]
    fn weight_values_follow_the_encodings() {
        let lib = PeLibrary::builtin().unwrap();
        let dsp = lib.get("mac_dsp").unwrap();
        assert_eq!(dsp.weight_value(0x7f), 127);
        assert_eq!(dsp.weight_value(0x80), -128);
        assert_eq!(dsp.weight_value(0xff), -1);
        let lut = lib.get("mac_lut").unwrap();
        assert_eq!(lut.weight_value(0b0111), 7);
        assert_eq!(lut.weight_value(0b1000), -8);
        let pot = lib.get("shift_pot").unwrap();
        assert_eq!(pot.weight_value(0b0000), 1);
        assert_eq!(pot.weight_value(0b1111), -128);
        let apot = lib.get("shift_apot").unwrap();
        // bits 2..1 = 01 (x<<1), bit 0 (x<<3), sign: -(2 + 8).
        assert_eq!(apot.weight_value(0b1011), -10);
    }

    #[test]
    fn bad_libraries_are_refused_with_the_reason() {
        let shape = "[port_shape]\nact_bits = 8\nproduct_bits = 16\n";
        let cases = [
            (
                "[[pe]]\nname = \"a\"\nsummary = \"\"\nweight_bits = 4\nencoding = \"sign_magnitude\"\nmagnitudes = [1, 2]\n",
                "needs 8 magnitudes",
            ),
            (
                "[[pe]]\nname = \"Bad\"\nsummary = \"\"\nweight_bits = 4\nencoding = \"twos_complement\"\n",
                "lower_snake_case",
            ),
            (
                "[[pe]]\nname = \"a\"\nsummary = \"\"\nweight_bits = 4\nencoding = \"gray\"\n",
                "encoding `gray` is unknown",
            ),
            (
                "[[pe]]\nname = \"a\"\nsummary = \"\"\nweight_bits = 4\nencoding = \"sign_magnitude\"\nmagnitudes = [1, 2, 4, 8, 16, 32, 64, 512]\n",
                "does not fit",
            ),
            // Above i32::MAX: this used to overflow (a panic with overflow
            // checks) while the product was being checked.
            (
                "[[pe]]\nname = \"a\"\nsummary = \"\"\nweight_bits = 2\nencoding = \"sign_magnitude\"\nmagnitudes = [0, 2147483648]\n",
                "does not fit",
            ),
            (
                "[[pe]]\nname = \"a\"\nsumary = \"\"\nweight_bits = 4\nencoding = \"twos_complement\"\n",
                "unknown field",
            ),
            (
                "[[pe]]\nname = \"a\"\nsummary = \"\"\nweight_bits = 0\nencoding = \"twos_complement\"\n",
                "weight_bits is 0; the engines carry weight codes of 1 to 8 bits",
            ),
            (
                "[[pe]]\nname = \"a\"\nsummary = \"\"\nweight_bits = 9\nencoding = \"twos_complement\"\n",
                "weight_bits is 9; the engines carry weight codes of 1 to 8 bits",
            ),
        ];
        for (body, want) in cases {
            let err = PeLibrary::parse(&format!("{shape}{body}"), None)
                .unwrap_err()
                .to_string();
            assert!(err.contains(want), "`{err}` should mention `{want}`");
        }
    }
}
