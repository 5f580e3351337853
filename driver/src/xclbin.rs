//! The part of the xclbin container ("axlf", magic `xclbin2\0`) that kiln
//! reads and writes.
//!
//! An xclbin is a fixed header followed by a table of section headers and
//! the sections themselves. kiln reads the xclbin's UUID (XRT opens kernels
//! by it), the EMBEDDED_METADATA section (the kernel.xml of the RTL kernel)
//! and the BITSTREAM section. It writes emulation xclbins: the kernel.xml of
//! kiln's register map and a BITSTREAM section that names the design the
//! emulation library (driver/xrt-emu) simulates instead of programming
//! fabric. docs/xrt.md describes how they are used.
//!
//! The layout is XRT's `struct axlf` (xclbin.h): all integers little-endian,
//! every structure naturally aligned, so the offsets below are fixed.

use std::fmt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The RTL kernel's name everywhere: kernel.xml, the Vivado packaging and
/// the name the XRT transport opens.
pub const KERNEL_NAME: &str = "kiln_kernel";

/// File magic of the xclbin2 format.
pub const MAGIC: &[u8; 8] = b"xclbin2\0";

/// What an emulation xclbin's BITSTREAM section starts with; the design name follows.
pub const EMULATION_BITSTREAM_PREFIX: &str = "kiln-emulation design=";

/// Platform name written into emulation xclbins.
pub const EMULATION_PLATFORM: &str = "kiln:xrt-emu:1.0";

/// Section kinds (`enum axlf_section_kind`) kiln uses.
pub mod kind {
    /// The fabric configuration; in an emulation xclbin, the design's name.
    pub const BITSTREAM: u32 = 0;
    /// The kernel metadata XML.
    pub const EMBEDDED_METADATA: u32 = 2;
}

/// `enum XCLBIN_MODE` values kiln uses.
pub mod mode {
    /// A bitstream for the whole fabric.
    pub const FLAT: u16 = 0;
    /// Hardware emulation: RTL simulated behind XRT's API.
    pub const HW_EMU: u16 = 4;
}

// Byte offsets in `struct axlf` and its parts (xclbin.h).
/// `m_signature_length` (i32): -1 for an unsigned xclbin.
const SIGNATURE_LENGTH: usize = 8;
/// `reserved[28]` then `m_keyBlock[256]`, both 0xFF when unused.
const RESERVED: std::ops::Range<usize> = 12..296;
/// `m_uniqueId` (u64).
const UNIQUE_ID: usize = 296;
/// `struct axlf_header m_header`, 152 bytes.
const HEADER: usize = 304;
const HEADER_LENGTH: usize = HEADER; // m_length (u64)
const HEADER_TIMESTAMP: usize = HEADER + 8; // m_timeStamp (u64)
const HEADER_VERSION_PATCH: usize = HEADER + 24; // u16
const HEADER_VERSION_MAJOR: usize = HEADER + 26; // u8
const HEADER_VERSION_MINOR: usize = HEADER + 27; // u8
const HEADER_MODE: usize = HEADER + 28; // m_mode (u16)
const HEADER_PLATFORM: usize = HEADER + 48; // m_platformVBNV[64]
const PLATFORM_BYTES: usize = 64;
const HEADER_UUID: usize = HEADER + 112; // uuid[16]
const HEADER_NUM_SECTIONS: usize = HEADER + 144; // m_numSections (u32)
/// First `struct axlf_section_header`; each is 40 bytes.
const SECTIONS: usize = HEADER + 152;
const SECTION_HEADER_BYTES: usize = 40;
const SECTION_NAME: usize = 4; // m_sectionName[16]
const SECTION_NAME_BYTES: usize = 16;
const SECTION_OFFSET: usize = 24; // m_sectionOffset (u64)
const SECTION_SIZE: usize = 32; // m_sectionSize (u64)
/// `sizeof(struct axlf)`: the header with room for one section header.
const AXLF_BYTES: usize = SECTIONS + SECTION_HEADER_BYTES;
/// XCLBIN_MAX_NUM_SECTION.
const MAX_SECTIONS: u32 = 0x10000;
/// Sections start on 8-byte boundaries.
const SECTION_ALIGN: usize = 8;

/// Why an xclbin could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum XclbinError {
    #[error("cannot read xclbin {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write xclbin {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{what} is not an xclbin: it starts with {found:?}, not \"xclbin2\\0\"")]
    NotXclbin { what: String, found: String },
    #[error("{what} is truncated: {needed} bytes are needed for {part}, the file has {len}")]
    Truncated {
        what: String,
        part: String,
        needed: u64,
        len: u64,
    },
    #[error("{what} is malformed: {reason}")]
    Malformed { what: String, reason: String },
    #[error("{what} has no {section} section")]
    MissingSection { what: String, section: &'static str },
    #[error("{what} is not a kiln emulation xclbin: its BITSTREAM section does not start with \"{EMULATION_BITSTREAM_PREFIX}\"")]
    NotEmulation { what: String },
    #[error(transparent)]
    Spec(#[from] kiln_spec::SpecError),
}

/// One section: its kind, its name and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// `enum axlf_section_kind`, see [`kind`].
    pub kind: u32,
    /// Up to 15 bytes of name (longer names are cut when written).
    pub name: String,
    pub data: Vec<u8>,
}

/// The parts of an xclbin kiln uses.
#[derive(Debug, Clone)]
pub struct Xclbin {
    /// The xclbin's UUID, by which XRT opens its kernels.
    pub uuid: [u8; 16],
    /// `enum XCLBIN_MODE`, see [`mode`].
    pub mode: u16,
    /// Platform (VBNV) name.
    pub platform: String,
    pub sections: Vec<Section>,
    /// What the xclbin was read from, for error messages.
    origin: String,
}

fn kind_name(kind: u32) -> &'static str {
    match kind {
        kind::BITSTREAM => "BITSTREAM",
        kind::EMBEDDED_METADATA => "EMBEDDED_METADATA",
        _ => "requested",
    }
}

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut b = [0; 4];
    b.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(b)
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut b = [0; 8];
    b.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(b)
}

/// A NUL-terminated fixed-size text field.
fn text_at(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

impl Xclbin {
    /// An xclbin of `sections`, with a UUID derived from its content (the
    /// same content always gets the same UUID).
    pub fn new(mode: u16, platform: &str, sections: Vec<Section>) -> Self {
        let mut hash = Sha256::new();
        hash.update(mode.to_le_bytes());
        hash.update((platform.len() as u64).to_le_bytes());
        hash.update(platform.as_bytes());
        for s in &sections {
            hash.update(s.kind.to_le_bytes());
            hash.update((s.name.len() as u64).to_le_bytes());
            hash.update(s.name.as_bytes());
            hash.update((s.data.len() as u64).to_le_bytes());
            hash.update(&s.data);
        }
        let digest = hash.finalize();
        let mut uuid = [0u8; 16];
        uuid.copy_from_slice(&digest[..16]);
        // An RFC 9562 version-8 (custom) UUID: version nibble 8, variant 0b10.
        uuid[6] = (uuid[6] & 0x0f) | 0x80;
        uuid[8] = (uuid[8] & 0x3f) | 0x80;
        Self {
            uuid,
            mode,
            platform: platform.to_string(),
            sections,
            origin: "the xclbin".to_string(),
        }
    }

    /// The emulation xclbin of `design`: the kernel.xml of kiln's register
    /// map and a BITSTREAM section naming the design.
    pub fn emulation(design: &str) -> Result<Self, XclbinError> {
        // Refuse a design that does not exist now rather than at load time.
        Self::emulation_of(&kiln_spec::Design::by_name(design)?)
    }

    /// [`Xclbin::emulation`] of a design already looked up (a project's
    /// included).
    pub fn emulation_of(design: &kiln_spec::Design) -> Result<Self, XclbinError> {
        let map = kiln_spec::RegisterMap::builtin()?;
        let kernel_xml = kiln_spec::regs::render_kernel_xml(&map, KERNEL_NAME);
        Ok(Self::new(
            mode::HW_EMU,
            EMULATION_PLATFORM,
            vec![
                Section {
                    kind: kind::BITSTREAM,
                    name: "kiln_design".to_string(),
                    data: format!("{EMULATION_BITSTREAM_PREFIX}{}\n", design.name).into_bytes(),
                },
                Section {
                    kind: kind::EMBEDDED_METADATA,
                    name: "kernel_xml".to_string(),
                    data: kernel_xml.into_bytes(),
                },
            ],
        ))
    }

    /// Parses an xclbin image; `what` names it in errors (a path, say).
    pub fn parse(bytes: &[u8], what: &str) -> Result<Self, XclbinError> {
        let what = what.to_string();
        let len = bytes.len() as u64;
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            let head = &bytes[..bytes.len().min(MAGIC.len())];
            return Err(XclbinError::NotXclbin {
                what,
                found: String::from_utf8_lossy(head).into_owned(),
            });
        }
        let truncated = |part: &str, needed: u64| XclbinError::Truncated {
            what: what.clone(),
            part: part.to_string(),
            needed,
            len,
        };
        if bytes.len() < SECTIONS {
            return Err(truncated("the header", SECTIONS as u64));
        }
        let total = u64_at(bytes, HEADER_LENGTH);
        if total > len {
            return Err(truncated("the length its header states", total));
        }
        let count = u32_at(bytes, HEADER_NUM_SECTIONS);
        if count > MAX_SECTIONS {
            return Err(XclbinError::Malformed {
                what,
                reason: format!("it claims {count} sections; at most {MAX_SECTIONS} are allowed"),
            });
        }
        let table_end = SECTIONS as u64 + u64::from(count) * SECTION_HEADER_BYTES as u64;
        if table_end > len {
            return Err(truncated(&format!("{count} section headers"), table_end));
        }
        let mut sections = Vec::with_capacity(count as usize);
        // Each section is copied out, so sections that overlap (many
        // headers naming the same bytes) would make a file of n bytes cost
        // up to n * n / 40 bytes of memory. Sections of a real xclbin are
        // disjoint, so their sizes add up to at most the file's length.
        let mut claimed = 0u64;
        for i in 0..count as usize {
            let h = SECTIONS + i * SECTION_HEADER_BYTES;
            let kind = u32_at(bytes, h);
            let name = text_at(&bytes[h + SECTION_NAME..h + SECTION_NAME + SECTION_NAME_BYTES]);
            let offset = u64_at(bytes, h + SECTION_OFFSET);
            let size = u64_at(bytes, h + SECTION_SIZE);
            let end = offset
                .checked_add(size)
                .ok_or_else(|| XclbinError::Malformed {
                    what: what.clone(),
                    reason: format!("section {i} ({name}) has offset {offset} and size {size}"),
                })?;
            if end > len {
                return Err(truncated(&format!("section {i} ({name})"), end));
            }
            claimed += size;
            if claimed > len {
                return Err(XclbinError::Malformed {
                    what,
                    reason: format!(
                        "its sections up to section {i} ({name}) hold {claimed} bytes together, \
                         more than the file's {len}: sections overlap"
                    ),
                });
            }
            sections.push(Section {
                kind,
                name,
                data: bytes[offset as usize..end as usize].to_vec(),
            });
        }
        let mut uuid = [0u8; 16];
        uuid.copy_from_slice(&bytes[HEADER_UUID..HEADER_UUID + 16]);
        Ok(Self {
            uuid,
            mode: u16_at(bytes, HEADER_MODE),
            platform: text_at(&bytes[HEADER_PLATFORM..HEADER_PLATFORM + PLATFORM_BYTES]),
            sections,
            origin: what,
        })
    }

    /// Reads and parses the xclbin at `path`.
    pub fn read(path: &Path) -> Result<Self, XclbinError> {
        let bytes = std::fs::read(path).map_err(|source| XclbinError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&bytes, &path.display().to_string())
    }

    /// The xclbin image: header, section headers, then each section on an
    /// 8-byte boundary. No timestamp is written, so equal content gives
    /// equal files.
    pub fn to_bytes(&self) -> Vec<u8> {
        let table_end = SECTIONS + self.sections.len() * SECTION_HEADER_BYTES;
        let mut out = vec![0u8; table_end.max(AXLF_BYTES)];
        out[..MAGIC.len()].copy_from_slice(MAGIC);
        out[SIGNATURE_LENGTH..SIGNATURE_LENGTH + 4].copy_from_slice(&(-1i32).to_le_bytes());
        out[RESERVED].fill(0xff);
        out[UNIQUE_ID..UNIQUE_ID + 8].copy_from_slice(&0u64.to_le_bytes());
        out[HEADER_TIMESTAMP..HEADER_TIMESTAMP + 8].copy_from_slice(&0u64.to_le_bytes());
        out[HEADER_VERSION_PATCH..HEADER_VERSION_PATCH + 2].copy_from_slice(&0u16.to_le_bytes());
        out[HEADER_VERSION_MAJOR] = 2;
        out[HEADER_VERSION_MINOR] = 0;
        out[HEADER_MODE..HEADER_MODE + 2].copy_from_slice(&self.mode.to_le_bytes());
        let platform = self.platform.as_bytes();
        let n = platform.len().min(PLATFORM_BYTES - 1);
        out[HEADER_PLATFORM..HEADER_PLATFORM + n].copy_from_slice(&platform[..n]);
        out[HEADER_UUID..HEADER_UUID + 16].copy_from_slice(&self.uuid);
        out[HEADER_NUM_SECTIONS..HEADER_NUM_SECTIONS + 4]
            .copy_from_slice(&(self.sections.len() as u32).to_le_bytes());
        for (i, s) in self.sections.iter().enumerate() {
            out.resize(out.len().next_multiple_of(SECTION_ALIGN), 0);
            let offset = out.len() as u64;
            out.extend_from_slice(&s.data);
            let h = SECTIONS + i * SECTION_HEADER_BYTES;
            out[h..h + 4].copy_from_slice(&s.kind.to_le_bytes());
            let name = s.name.as_bytes();
            let n = name.len().min(SECTION_NAME_BYTES - 1);
            out[h + SECTION_NAME..h + SECTION_NAME + n].copy_from_slice(&name[..n]);
            out[h + SECTION_OFFSET..h + SECTION_OFFSET + 8].copy_from_slice(&offset.to_le_bytes());
            out[h + SECTION_SIZE..h + SECTION_SIZE + 8]
                .copy_from_slice(&(s.data.len() as u64).to_le_bytes());
        }
        let total = out.len() as u64;
        out[HEADER_LENGTH..HEADER_LENGTH + 8].copy_from_slice(&total.to_le_bytes());
        out
    }

    /// Writes the xclbin to `path`.
    pub fn write(&self, path: &Path) -> Result<(), XclbinError> {
        std::fs::write(path, self.to_bytes()).map_err(|source| XclbinError::Write {
            path: path.to_path_buf(),
            source,
        })
    }

    /// The first section of `kind`, if any.
    pub fn section(&self, kind: u32) -> Option<&Section> {
        self.sections.iter().find(|s| s.kind == kind)
    }

    /// The first section of `kind`, or an error naming the xclbin.
    pub fn require(&self, kind: u32) -> Result<&Section, XclbinError> {
        self.section(kind)
            .ok_or_else(|| XclbinError::MissingSection {
                what: self.origin.clone(),
                section: kind_name(kind),
            })
    }

    /// The kernel metadata (EMBEDDED_METADATA) as text.
    pub fn kernel_xml(&self) -> Result<String, XclbinError> {
        let section = self.require(kind::EMBEDDED_METADATA)?;
        String::from_utf8(section.data.clone()).map_err(|_| XclbinError::Malformed {
            what: self.origin.clone(),
            reason: "its EMBEDDED_METADATA section is not UTF-8 text".to_string(),
        })
    }

    /// The BITSTREAM section's bytes.
    pub fn bitstream(&self) -> Result<&[u8], XclbinError> {
        Ok(&self.require(kind::BITSTREAM)?.data)
    }

    /// The design an emulation xclbin names in its BITSTREAM section.
    pub fn emulation_design(&self) -> Result<String, XclbinError> {
        let not_emulation = || XclbinError::NotEmulation {
            what: self.origin.clone(),
        };
        let text = std::str::from_utf8(self.bitstream()?).map_err(|_| not_emulation())?;
        let name = text
            .strip_prefix(EMULATION_BITSTREAM_PREFIX)
            .ok_or_else(not_emulation)?
            .trim();
        if name.is_empty() {
            return Err(not_emulation());
        }
        Ok(name.to_string())
    }

    /// The UUID in its usual text form.
    pub fn uuid_string(&self) -> String {
        Uuid(self.uuid).to_string()
    }
}

/// A UUID, displayed as 8-4-4-4-12 lower-case hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Uuid(pub [u8; 16]);

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_emulation_xclbin_round_trips() {
        let x = Xclbin::emulation("gemm-pot-8x8").unwrap();
        let bytes = x.to_bytes();
        let back = Xclbin::parse(&bytes, "test").unwrap();
        assert_eq!(back.uuid, x.uuid);
        assert_eq!(back.mode, mode::HW_EMU);
        assert_eq!(back.platform, EMULATION_PLATFORM);
        assert_eq!(back.sections, x.sections);
        assert_eq!(back.emulation_design().unwrap(), "gemm-pot-8x8");
        let xml = back.kernel_xml().unwrap();
        assert!(
            xml.contains(&format!("<kernel name=\"{KERNEL_NAME}\"")),
            "{xml}"
        );
        assert!(xml.contains("name=\"a\" addressQualifier=\"1\""), "{xml}");
    }

    #[test]
    fn the_layout_follows_struct_axlf() {
        let x = Xclbin::emulation("bfp-mxint8").unwrap();
        let bytes = x.to_bytes();
        assert_eq!(&bytes[..8], b"xclbin2\0");
        assert_eq!(u32_at(&bytes, 8), u32::MAX, "unsigned: signature length -1");
        // m_header.m_length is the file size; uuid at 416; two sections.
        assert_eq!(u64_at(&bytes, 304), bytes.len() as u64);
        assert_eq!(&bytes[416..432], &x.uuid);
        assert_eq!(u32_at(&bytes, 448), 2);
        // The first section header at 456: kind, name, offset, size.
        assert_eq!(u32_at(&bytes, 456), kind::BITSTREAM);
        assert_eq!(&bytes[460..471], b"kiln_design");
        let offset = u64_at(&bytes, 456 + 24) as usize;
        let size = u64_at(&bytes, 456 + 32) as usize;
        assert_eq!(offset % 8, 0);
        assert_eq!(offset, 456 + 2 * 40, "data follows the section table");
        assert_eq!(
            &bytes[offset..offset + size],
            b"kiln-emulation design=bfp-mxint8\n"
        );
        assert_eq!(u32_at(&bytes, 496), kind::EMBEDDED_METADATA);
        assert_eq!(u64_at(&bytes, 496 + 24) % 8, 0);
    }

    #[test]
    fn the_uuid_follows_the_content() {
        let a = Xclbin::emulation("gemm-pot-8x8").unwrap();
        let again = Xclbin::emulation("gemm-pot-8x8").unwrap();
        let b = Xclbin::emulation("gemm-msq-8x8").unwrap();
        assert_eq!(a.uuid, again.uuid);
        assert_eq!(a.to_bytes(), again.to_bytes());
        assert_ne!(a.uuid, b.uuid);
        let text = a.uuid_string();
        assert_eq!(text.len(), 36);
        assert_eq!(&text[14..15], "8", "version 8: {text}");
    }

    #[test]
    fn foreign_and_truncated_files_are_refused() {
        let err = Xclbin::parse(b"\x89PNG\r\n\x1a\n and more", "img.png").unwrap_err();
        assert!(matches!(err, XclbinError::NotXclbin { .. }), "{err:?}");
        assert!(
            err.to_string().contains("img.png is not an xclbin"),
            "{err}"
        );
        let err = Xclbin::parse(b"xcl", "short").unwrap_err();
        assert!(matches!(err, XclbinError::NotXclbin { .. }), "{err:?}");

        let bytes = Xclbin::emulation("gemm-pot-8x8").unwrap().to_bytes();
        for cut in [8, 100, SECTIONS - 1, SECTIONS + 10, bytes.len() - 1] {
            let err = Xclbin::parse(&bytes[..cut], "cut.xclbin").unwrap_err();
            assert!(
                matches!(err, XclbinError::Truncated { .. }),
                "cut at {cut}: {err:?}"
            );
            assert!(err.to_string().contains("cut.xclbin is truncated"), "{err}");
        }
        // A section that claims to run past the end of the file.
        let mut bad = bytes.clone();
        let h = SECTIONS + SECTION_HEADER_BYTES + SECTION_SIZE;
        bad[h..h + 8].copy_from_slice(&u64::MAX.to_le_bytes());
        let err = Xclbin::parse(&bad, "bad").unwrap_err();
        assert!(matches!(err, XclbinError::Malformed { .. }), "{err:?}");
    }

    /// Many section headers naming the same bytes: each section is copied,
    /// so this used to take count x size bytes (80 MB here, for a file of
    /// 80 kB) instead of being refused.
    #[test]
    fn overlapping_sections_are_refused() {
        let count = 1000;
        let sections = (0..count)
            .map(|i| Section {
                kind: kind::BITSTREAM,
                name: format!("s{i}"),
                data: vec![0xa5; 40],
            })
            .collect();
        let mut bytes = Xclbin::new(mode::HW_EMU, EMULATION_PLATFORM, sections).to_bytes();
        let len = bytes.len() as u64;
        for i in 0..count {
            let h = SECTIONS + i * SECTION_HEADER_BYTES;
            bytes[h + SECTION_OFFSET..h + SECTION_OFFSET + 8].copy_from_slice(&0u64.to_le_bytes());
            bytes[h + SECTION_SIZE..h + SECTION_SIZE + 8].copy_from_slice(&len.to_le_bytes());
        }
        let err = Xclbin::parse(&bytes, "overlap.xclbin").unwrap_err();
        assert!(matches!(err, XclbinError::Malformed { .. }), "{err:?}");
        assert!(err.to_string().contains("sections overlap"), "{err}");
        // Sections that share no byte but fill the file exactly still parse.
        let mut whole = Xclbin::emulation("gemm-pot-8x8").unwrap().to_bytes();
        let total = whole.len() as u64;
        whole[SECTIONS + SECTION_OFFSET..SECTIONS + SECTION_OFFSET + 8]
            .copy_from_slice(&0u64.to_le_bytes());
        let second = u64_at(&whole, SECTIONS + SECTION_HEADER_BYTES + SECTION_SIZE);
        whole[SECTIONS + SECTION_SIZE..SECTIONS + SECTION_SIZE + 8]
            .copy_from_slice(&(total - second).to_le_bytes());
        assert!(Xclbin::parse(&whole, "whole.xclbin").is_ok());
    }

    #[test]
    fn a_missing_section_or_design_is_named() {
        let full = Xclbin::emulation("gemm-pot-8x8").unwrap();
        let only_xml: Vec<Section> = full
            .sections
            .iter()
            .filter(|s| s.kind == kind::EMBEDDED_METADATA)
            .cloned()
            .collect();
        let bytes = Xclbin::new(mode::HW_EMU, EMULATION_PLATFORM, only_xml).to_bytes();
        let x = Xclbin::parse(&bytes, "no-bits.xclbin").unwrap();
        let err = x.emulation_design().unwrap_err();
        assert_eq!(err.to_string(), "no-bits.xclbin has no BITSTREAM section");
        let hardware = Xclbin::new(
            mode::FLAT,
            "xilinx_kv260",
            vec![Section {
                kind: kind::BITSTREAM,
                name: "bit".to_string(),
                data: vec![0xff; 64],
            }],
        );
        let err = hardware.emulation_design().unwrap_err();
        assert!(matches!(err, XclbinError::NotEmulation { .. }), "{err:?}");
        assert!(hardware.kernel_xml().is_err());
        let err = Xclbin::emulation("gemm-nope").unwrap_err();
        assert!(err.to_string().contains("gemm-nope"), "{err}");
    }

    #[test]
    fn reading_a_missing_file_names_it() {
        let err = Xclbin::read(Path::new("/nonexistent/k.xclbin")).unwrap_err();
        assert!(matches!(err, XclbinError::Read { .. }));
        assert!(err.to_string().contains("/nonexistent/k.xclbin"), "{err}");
    }
}
