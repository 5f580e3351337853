//! Generated from hw/regs/kiln.toml by `kiln regs generate` (`make regs`); do not edit by hand.
//! `make test` fails when this file is stale.
//!
//! The control registers of kiln, register-map version 2: byte offsets in the
//! AXI-Lite register window, reset values and bit fields. docs/registers.md
//! describes the same map.

/// Register-map version: the value the [`VERSION`] register reads.
pub const REG_VERSION: u32 = 2;
/// Identity: the value the [`MAGIC`] register reads.
pub const MAGIC_VALUE: u32 = 0x4B49_4C4E;
/// Size of the register window in bytes.
pub const WINDOW_BYTES: u32 = 0x100;

/// Software access of a field.
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

/// Run control and status, XRT ap_ctrl_hs convention.
///
/// Offset `0x00`, reset `0x0000_0004`; fields in [`ctrl`](mod@ctrl).
pub const CTRL: Register = Register {
    name: "CTRL",
    offset: 0x00,
    reset: 0x0000_0004,
    fields: &[
        ctrl::AP_START.field(),
        ctrl::AP_DONE,
        ctrl::AP_IDLE,
        ctrl::AP_READY,
        ctrl::AUTO_RESTART.field(),
    ],
};

/// Fields of `CTRL`.
pub mod ctrl {
    use super::{Field, RwField, SwAccess};

    /// Write 1 to start a run with the argument registers; hardware clears it when the run is accepted.
    ///
    /// Bit 0, software `rw`, hardware `hrw`, reset `0x0`.
    pub const AP_START: RwField = RwField::new("AP_START", 0, 1, SwAccess::ReadWrite);

    /// Set when a run has finished and every output write is acknowledged; cleared when CTRL is read.
    ///
    /// Bit 1, software `rc`, hardware `hrw`, reset `0x0`.
    pub const AP_DONE: Field = Field {
        name: "AP_DONE",
        lsb: 1,
        width: 1,
        sw: SwAccess::ReadClear,
    };

    /// 1 while no run is in progress.
    ///
    /// Bit 2, software `ro`, hardware `hwo`, reset `0x1`.
    pub const AP_IDLE: Field = Field {
        name: "AP_IDLE",
        lsb: 2,
        width: 1,
        sw: SwAccess::ReadOnly,
    };

    /// Set with AP_DONE: the argument registers may be rewritten; cleared when CTRL is read.
    ///
    /// Bit 3, software `rc`, hardware `hrw`, reset `0x0`.
    pub const AP_READY: Field = Field {
        name: "AP_READY",
        lsb: 3,
        width: 1,
        sw: SwAccess::ReadClear,
    };

    /// Start the next run with the same arguments as soon as one finishes.
    ///
    /// Bit 7, software `rw`, hardware `hro`, reset `0x0`.
    pub const AUTO_RESTART: RwField = RwField::new("AUTO_RESTART", 7, 1, SwAccess::ReadWrite);
}

/// Global interrupt enable.
///
/// Offset `0x04`, reset `0x0000_0000`; fields in [`gie`](mod@gie).
pub const GIE: Register = Register {
    name: "GIE",
    offset: 0x04,
    reset: 0x0000_0000,
    fields: &[gie::ENABLE.field()],
};

/// Fields of `GIE`.
pub mod gie {
    use super::{RwField, SwAccess};

    /// Drive the interrupt line when an enabled ISR bit is set.
    ///
    /// Bit 0, software `rw`, hardware `hro`, reset `0x0`.
    pub const ENABLE: RwField = RwField::new("ENABLE", 0, 1, SwAccess::ReadWrite);
}

/// Interrupt enable per source.
///
/// Offset `0x08`, reset `0x0000_0000`; fields in [`ier`](mod@ier).
pub const IER: Register = Register {
    name: "IER",
    offset: 0x08,
    reset: 0x0000_0000,
    fields: &[ier::DONE.field(), ier::READY.field()],
};

/// Fields of `IER`.
pub mod ier {
    use super::{RwField, SwAccess};

    /// Interrupt on ap_done.
    ///
    /// Bit 0, software `rw`, hardware `hro`, reset `0x0`.
    pub const DONE: RwField = RwField::new("DONE", 0, 1, SwAccess::ReadWrite);

    /// Interrupt on ap_ready.
    ///
    /// Bit 1, software `rw`, hardware `hro`, reset `0x0`.
    pub const READY: RwField = RwField::new("READY", 1, 1, SwAccess::ReadWrite);
}

/// Interrupt status; writing 1 to a bit toggles it (XRT's TOW convention).
///
/// Offset `0x0C`, reset `0x0000_0000`; fields in [`isr`](mod@isr).
pub const ISR: Register = Register {
    name: "ISR",
    offset: 0x0C,
    reset: 0x0000_0000,
    fields: &[isr::DONE.field(), isr::READY.field()],
};

/// Fields of `ISR`.
pub mod isr {
    use super::{RwField, SwAccess};

    /// A run finished.
    ///
    /// Bit 0, software `tow`, hardware `hrw`, reset `0x0`.
    pub const DONE: RwField = RwField::new("DONE", 0, 1, SwAccess::ToggleOnWrite);

    /// The accelerator accepted new arguments.
    ///
    /// Bit 1, software `tow`, hardware `hrw`, reset `0x0`.
    pub const READY: RwField = RwField::new("READY", 1, 1, SwAccess::ToggleOnWrite);
}

/// Operand A (activations): device address, low word. 8-byte aligned. What it holds is the engine's (hw/ip/\<engine\>/doc/registers.md).
///
/// Offset `0x10`, reset `0x0000_0000`; fields in [`a_addr_lo`](mod@a_addr_lo).
pub const A_ADDR_LO: Register = Register {
    name: "A_ADDR_LO",
    offset: 0x10,
    reset: 0x0000_0000,
    fields: &[a_addr_lo::VALUE.field()],
};

/// Fields of `A_ADDR_LO`.
pub mod a_addr_lo {
    use super::{RwField, SwAccess};

    /// Address bits 31:0.
    ///
    /// Bits 31:0, software `rw`, hardware `hro`, reset `0x0`.
    pub const VALUE: RwField = RwField::new("VALUE", 0, 32, SwAccess::ReadWrite);
}

/// Operand A: device address, high word.
///
/// Offset `0x14`, reset `0x0000_0000`; fields in [`a_addr_hi`](mod@a_addr_hi).
pub const A_ADDR_HI: Register = Register {
    name: "A_ADDR_HI",
    offset: 0x14,
    reset: 0x0000_0000,
    fields: &[a_addr_hi::VALUE.field()],
};

/// Fields of `A_ADDR_HI`.
pub mod a_addr_hi {
    use super::{RwField, SwAccess};

    /// Address bits 63:32.
    ///
    /// Bits 31:0, software `rw`, hardware `hro`, reset `0x0`.
    pub const VALUE: RwField = RwField::new("VALUE", 0, 32, SwAccess::ReadWrite);
}

/// Operand B (weights): device address, low word. 8-byte aligned. What it holds is the engine's.
///
/// Offset `0x18`, reset `0x0000_0000`; fields in [`b_addr_lo`](mod@b_addr_lo).
pub const B_ADDR_LO: Register = Register {
    name: "B_ADDR_LO",
    offset: 0x18,
    reset: 0x0000_0000,
    fields: &[b_addr_lo::VALUE.field()],
};

/// Fields of `B_ADDR_LO`.
pub mod b_addr_lo {
    use super::{RwField, SwAccess};

    /// Address bits 31:0.
    ///
    /// Bits 31:0, software `rw`, hardware `hro`, reset `0x0`.
    pub const VALUE: RwField = RwField::new("VALUE", 0, 32, SwAccess::ReadWrite);
}

/// Operand B: device address, high word.
///
/// Offset `0x1C`, reset `0x0000_0000`; fields in [`b_addr_hi`](mod@b_addr_hi).
pub const B_ADDR_HI: Register = Register {
    name: "B_ADDR_HI",
    offset: 0x1C,
    reset: 0x0000_0000,
    fields: &[b_addr_hi::VALUE.field()],
};

/// Fields of `B_ADDR_HI`.
pub mod b_addr_hi {
    use super::{RwField, SwAccess};

    /// Address bits 63:32.
    ///
    /// Bits 31:0, software `rw`, hardware `hro`, reset `0x0`.
    pub const VALUE: RwField = RwField::new("VALUE", 0, 32, SwAccess::ReadWrite);
}

/// Output C: device address, low word. 8-byte aligned. What it holds is the engine's.
///
/// Offset `0x20`, reset `0x0000_0000`; fields in [`c_addr_lo`](mod@c_addr_lo).
pub const C_ADDR_LO: Register = Register {
    name: "C_ADDR_LO",
    offset: 0x20,
    reset: 0x0000_0000,
    fields: &[c_addr_lo::VALUE.field()],
};

/// Fields of `C_ADDR_LO`.
pub mod c_addr_lo {
    use super::{RwField, SwAccess};

    /// Address bits 31:0.
    ///
    /// Bits 31:0, software `rw`, hardware `hro`, reset `0x0`.
    pub const VALUE: RwField = RwField::new("VALUE", 0, 32, SwAccess::ReadWrite);
}

/// Output C: device address, high word.
///
/// Offset `0x24`, reset `0x0000_0000`; fields in [`c_addr_hi`](mod@c_addr_hi).
pub const C_ADDR_HI: Register = Register {
    name: "C_ADDR_HI",
    offset: 0x24,
    reset: 0x0000_0000,
    fields: &[c_addr_hi::VALUE.field()],
};

/// Fields of `C_ADDR_HI`.
pub mod c_addr_hi {
    use super::{RwField, SwAccess};

    /// Address bits 63:32.
    ///
    /// Bits 31:0, software `rw`, hardware `hro`, reset `0x0`.
    pub const VALUE: RwField = RwField::new("VALUE", 0, 32, SwAccess::ReadWrite);
}

/// Operand P (per-channel parameters, for engines that take them): device address, low word. 8-byte aligned.
///
/// Offset `0x28`, reset `0x0000_0000`; fields in [`p_addr_lo`](mod@p_addr_lo).
pub const P_ADDR_LO: Register = Register {
    name: "P_ADDR_LO",
    offset: 0x28,
    reset: 0x0000_0000,
    fields: &[p_addr_lo::VALUE.field()],
};

/// Fields of `P_ADDR_LO`.
pub mod p_addr_lo {
    use super::{RwField, SwAccess};

    /// Address bits 31:0.
    ///
    /// Bits 31:0, software `rw`, hardware `hro`, reset `0x0`.
    pub const VALUE: RwField = RwField::new("VALUE", 0, 32, SwAccess::ReadWrite);
}

/// Operand P: device address, high word.
///
/// Offset `0x2C`, reset `0x0000_0000`; fields in [`p_addr_hi`](mod@p_addr_hi).
pub const P_ADDR_HI: Register = Register {
    name: "P_ADDR_HI",
    offset: 0x2C,
    reset: 0x0000_0000,
    fields: &[p_addr_hi::VALUE.field()],
};

/// Fields of `P_ADDR_HI`.
pub mod p_addr_hi {
    use super::{RwField, SwAccess};

    /// Address bits 63:32.
    ///
    /// Bits 31:0, software `rw`, hardware `hro`, reset `0x0`.
    pub const VALUE: RwField = RwField::new("VALUE", 0, 32, SwAccess::ReadWrite);
}

/// First dimension of the run (GEMM and BFP: rows of A and C).
///
/// Offset `0x30`, reset `0x0000_0000`; fields in [`m`](mod@m).
pub const M: Register = Register {
    name: "M",
    offset: 0x30,
    reset: 0x0000_0000,
    fields: &[m::VALUE.field()],
};

/// Fields of `M`.
pub mod m {
    use super::{RwField, SwAccess};

    /// M, at least 1.
    ///
    /// Bits 31:0, software `rw`, hardware `hro`, reset `0x0`.
    pub const VALUE: RwField = RwField::new("VALUE", 0, 32, SwAccess::ReadWrite);
}

/// Second dimension of the run (GEMM and BFP: output channels, columns of C).
///
/// Offset `0x34`, reset `0x0000_0000`; fields in [`n`](mod@n).
pub const N: Register = Register {
    name: "N",
    offset: 0x34,
    reset: 0x0000_0000,
    fields: &[n::VALUE.field()],
};

/// Fields of `N`.
pub mod n {
    use super::{RwField, SwAccess};

    /// N, at least 1.
    ///
    /// Bits 31:0, software `rw`, hardware `hro`, reset `0x0`.
    pub const VALUE: RwField = RwField::new("VALUE", 0, 32, SwAccess::ReadWrite);
}

/// Third dimension of the run (GEMM and BFP: the reduction length).
///
/// Offset `0x38`, reset `0x0000_0000`; fields in [`k`](mod@k).
pub const K: Register = Register {
    name: "K",
    offset: 0x38,
    reset: 0x0000_0000,
    fields: &[k::VALUE.field()],
};

/// Fields of `K`.
pub mod k {
    use super::{RwField, SwAccess};

    /// K, at least 1.
    ///
    /// Bits 31:0, software `rw`, hardware `hro`, reset `0x0`.
    pub const VALUE: RwField = RwField::new("VALUE", 0, 32, SwAccess::ReadWrite);
}

/// Row stride of A in bytes.
///
/// Offset `0x3C`, reset `0x0000_0000`; fields in [`lda`](mod@lda).
pub const LDA: Register = Register {
    name: "LDA",
    offset: 0x3C,
    reset: 0x0000_0000,
    fields: &[lda::VALUE.field()],
};

/// Fields of `LDA`.
pub mod lda {
    use super::{RwField, SwAccess};

    /// A multiple of 8, at least one row of A as the engine lays it out.
    ///
    /// Bits 31:0, software `rw`, hardware `hro`, reset `0x0`.
    pub const VALUE: RwField = RwField::new("VALUE", 0, 32, SwAccess::ReadWrite);
}

/// Row stride of B in bytes (for engines that use it).
///
/// Offset `0x40`, reset `0x0000_0000`; fields in [`ldb`](mod@ldb).
pub const LDB: Register = Register {
    name: "LDB",
    offset: 0x40,
    reset: 0x0000_0000,
    fields: &[ldb::VALUE.field()],
};

/// Fields of `LDB`.
pub mod ldb {
    use super::{RwField, SwAccess};

    /// A multiple of 8, at least one row of B as the engine lays it out.
    ///
    /// Bits 31:0, software `rw`, hardware `hro`, reset `0x0`.
    pub const VALUE: RwField = RwField::new("VALUE", 0, 32, SwAccess::ReadWrite);
}

/// Row stride of C in bytes.
///
/// Offset `0x44`, reset `0x0000_0000`; fields in [`ldc`](mod@ldc).
pub const LDC: Register = Register {
    name: "LDC",
    offset: 0x44,
    reset: 0x0000_0000,
    fields: &[ldc::VALUE.field()],
};

/// Fields of `LDC`.
pub mod ldc {
    use super::{RwField, SwAccess};

    /// A multiple of 8, at least one row of C.
    ///
    /// Bits 31:0, software `rw`, hardware `hro`, reset `0x0`.
    pub const VALUE: RwField = RwField::new("VALUE", 0, 32, SwAccess::ReadWrite);
}

/// Run options, defined per engine: each engine's fields are in hw/ip/\<engine\>/engine.toml (and its doc/registers.md).
///
/// Offset `0x48`, reset `0x0000_0000`; fields in [`mode`](mod@mode).
pub const MODE: Register = Register {
    name: "MODE",
    offset: 0x48,
    reset: 0x0000_0000,
    fields: &[mode::VALUE.field()],
};

/// Fields of `MODE`.
pub mod mode {
    use super::{RwField, SwAccess};

    /// The engine's MODE word.
    ///
    /// Bits 31:0, software `rw`, hardware `hro`, reset `0x0`.
    pub const VALUE: RwField = RwField::new("VALUE", 0, 32, SwAccess::ReadWrite);
}

/// Identity: reads 0x4B494C4E ("KILN").
///
/// Offset `0x80`, reset `0x4B49_4C4E`; fields in [`magic`](mod@magic).
pub const MAGIC: Register = Register {
    name: "MAGIC",
    offset: 0x80,
    reset: 0x4B49_4C4E,
    fields: &[magic::VALUE],
};

/// Fields of `MAGIC`.
pub mod magic {
    use super::{Field, SwAccess};

    /// Magic number.
    ///
    /// Bits 31:0, software `ro`, hardware `hwo`, reset `0x4b494c4e`.
    pub const VALUE: Field = Field {
        name: "VALUE",
        lsb: 0,
        width: 32,
        sw: SwAccess::ReadOnly,
    };
}

/// Identity: register-map version this hardware implements.
///
/// Offset `0x84`, reset `0x0000_0002`; fields in [`version`](mod@version).
pub const VERSION: Register = Register {
    name: "VERSION",
    offset: 0x84,
    reset: 0x0000_0002,
    fields: &[version::VALUE],
};

/// Fields of `VERSION`.
pub mod version {
    use super::{Field, SwAccess};

    /// Register-map version.
    ///
    /// Bits 31:0, software `ro`, hardware `hwo`, reset `0x2`.
    pub const VALUE: Field = Field {
        name: "VALUE",
        lsb: 0,
        width: 32,
        sw: SwAccess::ReadOnly,
    };
}

/// Identity: 32-bit FNV-1a hash of the design name (hw/designs/\<name\>.toml).
///
/// Offset `0x88`, reset `0x0000_0000`; fields in [`design_id`](mod@design_id).
pub const DESIGN_ID: Register = Register {
    name: "DESIGN_ID",
    offset: 0x88,
    reset: 0x0000_0000,
    fields: &[design_id::VALUE],
};

/// Fields of `DESIGN_ID`.
pub mod design_id {
    use super::{Field, SwAccess};

    /// Design id.
    ///
    /// Bits 31:0, software `ro`, hardware `hwo`, reset `0x0`.
    pub const VALUE: Field = Field {
        name: "VALUE",
        lsb: 0,
        width: 32,
        sw: SwAccess::ReadOnly,
    };
}

/// Identity: PE array geometry and PE kind.
///
/// Offset `0x8C`, reset `0x0000_0000`; fields in [`array`](mod@array).
pub const ARRAY: Register = Register {
    name: "ARRAY",
    offset: 0x8C,
    reset: 0x0000_0000,
    fields: &[array::ROWS, array::COLS, array::PE_KIND, array::WEIGHT_BITS],
};

/// Fields of `ARRAY`.
pub mod array {
    use super::{Field, SwAccess};

    /// Output rows computed at once (GEMM: PE rows; BFP, dwconv: lanes).
    ///
    /// Bits 7:0, software `ro`, hardware `hwo`, reset `0x0`.
    pub const ROWS: Field = Field {
        name: "ROWS",
        lsb: 0,
        width: 8,
        sw: SwAccess::ReadOnly,
    };

    /// GEMM: PE columns. BFP: output columns collected per write (n_tile). Other engines: their doc/registers.md.
    ///
    /// Bits 15:8, software `ro`, hardware `hwo`, reset `0x0`.
    pub const COLS: Field = Field {
        name: "COLS",
        lsb: 8,
        width: 8,
        sw: SwAccess::ReadOnly,
    };

    /// PE kind, an index into the PE library (hw/ip/pe/data/codebooks.toml); 0 for an engine without PEs.
    ///
    /// Bits 23:16, software `ro`, hardware `hwo`, reset `0x0`.
    pub const PE_KIND: Field = Field {
        name: "PE_KIND",
        lsb: 16,
        width: 8,
        sw: SwAccess::ReadOnly,
    };

    /// Bits per weight code (engines with PEs) or weight element (BFP: 8 mxint8, 4 mxint4).
    ///
    /// Bits 31:24, software `ro`, hardware `hwo`, reset `0x0`.
    pub const WEIGHT_BITS: Field = Field {
        name: "WEIGHT_BITS",
        lsb: 24,
        width: 8,
        sw: SwAccess::ReadOnly,
    };
}

/// Identity: on-chip buffer geometry.
///
/// Offset `0x90`, reset `0x0000_0000`; fields in [`buffers`](mod@buffers).
pub const BUFFERS: Register = Register {
    name: "BUFFERS",
    offset: 0x90,
    reset: 0x0000_0000,
    fields: &[buffers::K_DEPTH, buffers::M_TILES, buffers::N_TILES],
};

/// Fields of `BUFFERS`.
pub mod buffers {
    use super::{Field, SwAccess};

    /// GEMM: K elements held per buffer half. BFP: the longest K. Other engines: their buffer limit (doc/registers.md).
    ///
    /// Bits 15:0, software `ro`, hardware `hwo`, reset `0x0`.
    pub const K_DEPTH: Field = Field {
        name: "K_DEPTH",
        lsb: 0,
        width: 16,
        sw: SwAccess::ReadOnly,
    };

    /// GEMM: array-row tiles per output block. Other engines: 1.
    ///
    /// Bits 23:16, software `ro`, hardware `hwo`, reset `0x0`.
    pub const M_TILES: Field = Field {
        name: "M_TILES",
        lsb: 16,
        width: 8,
        sw: SwAccess::ReadOnly,
    };

    /// GEMM: array-column tiles per output block. Other engines: 1.
    ///
    /// Bits 31:24, software `ro`, hardware `hwo`, reset `0x0`.
    pub const N_TILES: Field = Field {
        name: "N_TILES",
        lsb: 24,
        width: 8,
        sw: SwAccess::ReadOnly,
    };
}

/// Identity: which engine the design instantiates.
///
/// Offset `0x94`, reset `0x0000_0000`; fields in [`engine`](mod@engine).
pub const ENGINE: Register = Register {
    name: "ENGINE",
    offset: 0x94,
    reset: 0x0000_0000,
    fields: &[engine::KIND, engine::BLOCK],
};

/// Fields of `ENGINE`.
pub mod engine {
    use super::{Field, SwAccess};

    /// The engine's kind code (hw/engines.toml).
    ///
    /// Bits 3:0, software `ro`, hardware `hwo`, reset `0x0`.
    pub const KIND: Field = Field {
        name: "KIND",
        lsb: 0,
        width: 4,
        sw: SwAccess::ReadOnly,
    };

    /// BFP: elements per block sharing one exponent. Other engines: 0.
    ///
    /// Bits 15:8, software `ro`, hardware `hwo`, reset `0x0`.
    pub const BLOCK: Field = Field {
        name: "BLOCK",
        lsb: 8,
        width: 8,
        sw: SwAccess::ReadOnly,
    };
}

/// Counter: cycles from start to done, low word.
///
/// Offset `0xA0`, reset `0x0000_0000`; fields in [`cycles_lo`](mod@cycles_lo).
pub const CYCLES_LO: Register = Register {
    name: "CYCLES_LO",
    offset: 0xA0,
    reset: 0x0000_0000,
    fields: &[cycles_lo::VALUE],
};

/// Fields of `CYCLES_LO`.
pub mod cycles_lo {
    use super::{Field, SwAccess};

    /// Bits 31:0.
    ///
    /// Bits 31:0, software `ro`, hardware `hwo`, reset `0x0`.
    pub const VALUE: Field = Field {
        name: "VALUE",
        lsb: 0,
        width: 32,
        sw: SwAccess::ReadOnly,
    };
}

/// Counter: cycles from start to done, high word.
///
/// Offset `0xA4`, reset `0x0000_0000`; fields in [`cycles_hi`](mod@cycles_hi).
pub const CYCLES_HI: Register = Register {
    name: "CYCLES_HI",
    offset: 0xA4,
    reset: 0x0000_0000,
    fields: &[cycles_hi::VALUE],
};

/// Fields of `CYCLES_HI`.
pub mod cycles_hi {
    use super::{Field, SwAccess};

    /// Bits 63:32.
    ///
    /// Bits 31:0, software `ro`, hardware `hwo`, reset `0x0`.
    pub const VALUE: Field = Field {
        name: "VALUE",
        lsb: 0,
        width: 32,
        sw: SwAccess::ReadOnly,
    };
}

/// Counter: cycles the compute engine issued a step (GEMM: a PE-array step; BFP: a weight beat into the lanes), low word.
///
/// Offset `0xA8`, reset `0x0000_0000`; fields in [`busy_lo`](mod@busy_lo).
pub const BUSY_LO: Register = Register {
    name: "BUSY_LO",
    offset: 0xA8,
    reset: 0x0000_0000,
    fields: &[busy_lo::VALUE],
};

/// Fields of `BUSY_LO`.
pub mod busy_lo {
    use super::{Field, SwAccess};

    /// Bits 31:0.
    ///
    /// Bits 31:0, software `ro`, hardware `hwo`, reset `0x0`.
    pub const VALUE: Field = Field {
        name: "VALUE",
        lsb: 0,
        width: 32,
        sw: SwAccess::ReadOnly,
    };
}

/// Counter: cycles the PE array issued a step, high word.
///
/// Offset `0xAC`, reset `0x0000_0000`; fields in [`busy_hi`](mod@busy_hi).
pub const BUSY_HI: Register = Register {
    name: "BUSY_HI",
    offset: 0xAC,
    reset: 0x0000_0000,
    fields: &[busy_hi::VALUE],
};

/// Fields of `BUSY_HI`.
pub mod busy_hi {
    use super::{Field, SwAccess};

    /// Bits 63:32.
    ///
    /// Bits 31:0, software `ro`, hardware `hwo`, reset `0x0`.
    pub const VALUE: Field = Field {
        name: "VALUE",
        lsb: 0,
        width: 32,
        sw: SwAccess::ReadOnly,
    };
}

/// Counter: cycles the PE array waited for operands from memory or for the output path, low word.
///
/// Offset `0xB0`, reset `0x0000_0000`; fields in [`stall_lo`](mod@stall_lo).
pub const STALL_LO: Register = Register {
    name: "STALL_LO",
    offset: 0xB0,
    reset: 0x0000_0000,
    fields: &[stall_lo::VALUE],
};

/// Fields of `STALL_LO`.
pub mod stall_lo {
    use super::{Field, SwAccess};

    /// Bits 31:0.
    ///
    /// Bits 31:0, software `ro`, hardware `hwo`, reset `0x0`.
    pub const VALUE: Field = Field {
        name: "VALUE",
        lsb: 0,
        width: 32,
        sw: SwAccess::ReadOnly,
    };
}

/// Counter: memory-stall cycles, high word.
///
/// Offset `0xB4`, reset `0x0000_0000`; fields in [`stall_hi`](mod@stall_hi).
pub const STALL_HI: Register = Register {
    name: "STALL_HI",
    offset: 0xB4,
    reset: 0x0000_0000,
    fields: &[stall_hi::VALUE],
};

/// Fields of `STALL_HI`.
pub mod stall_hi {
    use super::{Field, SwAccess};

    /// Bits 63:32.
    ///
    /// Bits 31:0, software `ro`, hardware `hwo`, reset `0x0`.
    pub const VALUE: Field = Field {
        name: "VALUE",
        lsb: 0,
        width: 32,
        sw: SwAccess::ReadOnly,
    };
}

/// Counter: useful multiply-accumulates (M x N x K when a run completes), low word.
///
/// Offset `0xB8`, reset `0x0000_0000`; fields in [`macs_lo`](mod@macs_lo).
pub const MACS_LO: Register = Register {
    name: "MACS_LO",
    offset: 0xB8,
    reset: 0x0000_0000,
    fields: &[macs_lo::VALUE],
};

/// Fields of `MACS_LO`.
pub mod macs_lo {
    use super::{Field, SwAccess};

    /// Bits 31:0.
    ///
    /// Bits 31:0, software `ro`, hardware `hwo`, reset `0x0`.
    pub const VALUE: Field = Field {
        name: "VALUE",
        lsb: 0,
        width: 32,
        sw: SwAccess::ReadOnly,
    };
}

/// Counter: useful multiply-accumulates, high word.
///
/// Offset `0xBC`, reset `0x0000_0000`; fields in [`macs_hi`](mod@macs_hi).
pub const MACS_HI: Register = Register {
    name: "MACS_HI",
    offset: 0xBC,
    reset: 0x0000_0000,
    fields: &[macs_hi::VALUE],
};

/// Fields of `MACS_HI`.
pub mod macs_hi {
    use super::{Field, SwAccess};

    /// Bits 63:32.
    ///
    /// Bits 31:0, software `ro`, hardware `hwo`, reset `0x0`.
    pub const VALUE: Field = Field {
        name: "VALUE",
        lsb: 0,
        width: 32,
        sw: SwAccess::ReadOnly,
    };
}

/// Counter: bytes read over the memory port, low word.
///
/// Offset `0xC0`, reset `0x0000_0000`; fields in [`rd_bytes_lo`](mod@rd_bytes_lo).
pub const RD_BYTES_LO: Register = Register {
    name: "RD_BYTES_LO",
    offset: 0xC0,
    reset: 0x0000_0000,
    fields: &[rd_bytes_lo::VALUE],
};

/// Fields of `RD_BYTES_LO`.
pub mod rd_bytes_lo {
    use super::{Field, SwAccess};

    /// Bits 31:0.
    ///
    /// Bits 31:0, software `ro`, hardware `hwo`, reset `0x0`.
    pub const VALUE: Field = Field {
        name: "VALUE",
        lsb: 0,
        width: 32,
        sw: SwAccess::ReadOnly,
    };
}

/// Counter: bytes read, high word.
///
/// Offset `0xC4`, reset `0x0000_0000`; fields in [`rd_bytes_hi`](mod@rd_bytes_hi).
pub const RD_BYTES_HI: Register = Register {
    name: "RD_BYTES_HI",
    offset: 0xC4,
    reset: 0x0000_0000,
    fields: &[rd_bytes_hi::VALUE],
};

/// Fields of `RD_BYTES_HI`.
pub mod rd_bytes_hi {
    use super::{Field, SwAccess};

    /// Bits 63:32.
    ///
    /// Bits 31:0, software `ro`, hardware `hwo`, reset `0x0`.
    pub const VALUE: Field = Field {
        name: "VALUE",
        lsb: 0,
        width: 32,
        sw: SwAccess::ReadOnly,
    };
}

/// Counter: bytes written over the memory port (strobed bytes only), low word.
///
/// Offset `0xC8`, reset `0x0000_0000`; fields in [`wr_bytes_lo`](mod@wr_bytes_lo).
pub const WR_BYTES_LO: Register = Register {
    name: "WR_BYTES_LO",
    offset: 0xC8,
    reset: 0x0000_0000,
    fields: &[wr_bytes_lo::VALUE],
};

/// Fields of `WR_BYTES_LO`.
pub mod wr_bytes_lo {
    use super::{Field, SwAccess};

    /// Bits 31:0.
    ///
    /// Bits 31:0, software `ro`, hardware `hwo`, reset `0x0`.
    pub const VALUE: Field = Field {
        name: "VALUE",
        lsb: 0,
        width: 32,
        sw: SwAccess::ReadOnly,
    };
}

/// Counter: bytes written, high word.
///
/// Offset `0xCC`, reset `0x0000_0000`; fields in [`wr_bytes_hi`](mod@wr_bytes_hi).
pub const WR_BYTES_HI: Register = Register {
    name: "WR_BYTES_HI",
    offset: 0xCC,
    reset: 0x0000_0000,
    fields: &[wr_bytes_hi::VALUE],
};

/// Fields of `WR_BYTES_HI`.
pub mod wr_bytes_hi {
    use super::{Field, SwAccess};

    /// Bits 63:32.
    ///
    /// Bits 31:0, software `ro`, hardware `hwo`, reset `0x0`.
    pub const VALUE: Field = Field {
        name: "VALUE",
        lsb: 0,
        width: 32,
        sw: SwAccess::ReadOnly,
    };
}

/// Debug: state of the three engines, for watchdog and timeout reports.
///
/// Offset `0xD0`, reset `0x0000_0000`; fields in [`state`](mod@state).
pub const STATE: Register = Register {
    name: "STATE",
    offset: 0xD0,
    reset: 0x0000_0000,
    fields: &[
        state::LOADER,
        state::COMPUTE,
        state::DRAIN,
        state::RD_OUTSTANDING,
        state::WR_OUTSTANDING,
        state::BUS_ERROR,
    ],
};

/// Fields of `STATE`.
pub mod state {
    use super::{Field, SwAccess};

    /// Loader state (0 idle).
    ///
    /// Bits 3:0, software `ro`, hardware `hwo`, reset `0x0`.
    pub const LOADER: Field = Field {
        name: "LOADER",
        lsb: 0,
        width: 4,
        sw: SwAccess::ReadOnly,
    };

    /// Compute state (0 idle).
    ///
    /// Bits 7:4, software `ro`, hardware `hwo`, reset `0x0`.
    pub const COMPUTE: Field = Field {
        name: "COMPUTE",
        lsb: 4,
        width: 4,
        sw: SwAccess::ReadOnly,
    };

    /// Drain state (0 idle).
    ///
    /// Bits 11:8, software `ro`, hardware `hwo`, reset `0x0`.
    pub const DRAIN: Field = Field {
        name: "DRAIN",
        lsb: 8,
        width: 4,
        sw: SwAccess::ReadOnly,
    };

    /// Read bursts in flight.
    ///
    /// Bits 19:12, software `ro`, hardware `hwo`, reset `0x0`.
    pub const RD_OUTSTANDING: Field = Field {
        name: "RD_OUTSTANDING",
        lsb: 12,
        width: 8,
        sw: SwAccess::ReadOnly,
    };

    /// Write bursts awaiting a response.
    ///
    /// Bits 27:20, software `ro`, hardware `hwo`, reset `0x0`.
    pub const WR_OUTSTANDING: Field = Field {
        name: "WR_OUTSTANDING",
        lsb: 20,
        width: 8,
        sw: SwAccess::ReadOnly,
    };

    /// A read or write response was SLVERR or DECERR during this run.
    ///
    /// Bit 31, software `ro`, hardware `hwo`, reset `0x0`.
    pub const BUS_ERROR: Field = Field {
        name: "BUS_ERROR",
        lsb: 31,
        width: 1,
        sw: SwAccess::ReadOnly,
    };
}

/// Debug: operand tiles loaded in this run.
///
/// Offset `0xD4`, reset `0x0000_0000`; fields in [`jobs_loaded`](mod@jobs_loaded).
pub const JOBS_LOADED: Register = Register {
    name: "JOBS_LOADED",
    offset: 0xD4,
    reset: 0x0000_0000,
    fields: &[jobs_loaded::VALUE],
};

/// Fields of `JOBS_LOADED`.
pub mod jobs_loaded {
    use super::{Field, SwAccess};

    /// Count.
    ///
    /// Bits 31:0, software `ro`, hardware `hwo`, reset `0x0`.
    pub const VALUE: Field = Field {
        name: "VALUE",
        lsb: 0,
        width: 32,
        sw: SwAccess::ReadOnly,
    };
}

/// Debug: operand tiles consumed by the PE array in this run.
///
/// Offset `0xD8`, reset `0x0000_0000`; fields in [`jobs_computed`](mod@jobs_computed).
pub const JOBS_COMPUTED: Register = Register {
    name: "JOBS_COMPUTED",
    offset: 0xD8,
    reset: 0x0000_0000,
    fields: &[jobs_computed::VALUE],
};

/// Fields of `JOBS_COMPUTED`.
pub mod jobs_computed {
    use super::{Field, SwAccess};

    /// Count.
    ///
    /// Bits 31:0, software `ro`, hardware `hwo`, reset `0x0`.
    pub const VALUE: Field = Field {
        name: "VALUE",
        lsb: 0,
        width: 32,
        sw: SwAccess::ReadOnly,
    };
}

/// Debug: output blocks written in this run.
///
/// Offset `0xDC`, reset `0x0000_0000`; fields in [`blocks_drained`](mod@blocks_drained).
pub const BLOCKS_DRAINED: Register = Register {
    name: "BLOCKS_DRAINED",
    offset: 0xDC,
    reset: 0x0000_0000,
    fields: &[blocks_drained::VALUE],
};

/// Fields of `BLOCKS_DRAINED`.
pub mod blocks_drained {
    use super::{Field, SwAccess};

    /// Count.
    ///
    /// Bits 31:0, software `ro`, hardware `hwo`, reset `0x0`.
    pub const VALUE: Field = Field {
        name: "VALUE",
        lsb: 0,
        width: 32,
        sw: SwAccess::ReadOnly,
    };
}

/// The registers as XRT kernel arguments (kernel.xml), by argument index:
/// `_ADDR_LO`/`_ADDR_HI` pairs are 64-bit device pointers.
pub const KERNEL_ARGS: &[KernelArg] = &[
    KernelArg {
        name: "a",
        offset: 0x10,
        pointer: true,
    },
    KernelArg {
        name: "b",
        offset: 0x18,
        pointer: true,
    },
    KernelArg {
        name: "c",
        offset: 0x20,
        pointer: true,
    },
    KernelArg {
        name: "p",
        offset: 0x28,
        pointer: true,
    },
    KernelArg {
        name: "m",
        offset: 0x30,
        pointer: false,
    },
    KernelArg {
        name: "n",
        offset: 0x34,
        pointer: false,
    },
    KernelArg {
        name: "k",
        offset: 0x38,
        pointer: false,
    },
    KernelArg {
        name: "lda",
        offset: 0x3C,
        pointer: false,
    },
    KernelArg {
        name: "ldb",
        offset: 0x40,
        pointer: false,
    },
    KernelArg {
        name: "ldc",
        offset: 0x44,
        pointer: false,
    },
    KernelArg {
        name: "mode",
        offset: 0x48,
        pointer: false,
    },
];

/// Every register, by ascending offset.
pub const ALL: &[Register] = &[
    CTRL,
    GIE,
    IER,
    ISR,
    A_ADDR_LO,
    A_ADDR_HI,
    B_ADDR_LO,
    B_ADDR_HI,
    C_ADDR_LO,
    C_ADDR_HI,
    P_ADDR_LO,
    P_ADDR_HI,
    M,
    N,
    K,
    LDA,
    LDB,
    LDC,
    MODE,
    MAGIC,
    VERSION,
    DESIGN_ID,
    ARRAY,
    BUFFERS,
    ENGINE,
    CYCLES_LO,
    CYCLES_HI,
    BUSY_LO,
    BUSY_HI,
    STALL_LO,
    STALL_HI,
    MACS_LO,
    MACS_HI,
    RD_BYTES_LO,
    RD_BYTES_HI,
    WR_BYTES_LO,
    WR_BYTES_HI,
    STATE,
    JOBS_LOADED,
    JOBS_COMPUTED,
    BLOCKS_DRAINED,
];
