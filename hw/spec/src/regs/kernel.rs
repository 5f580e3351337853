//! The register map seen as an XRT RTL kernel: its arguments and the
//! kernel.xml that packages it.
//!
//! Every register from 0x10 whose fields are all software read-write is a
//! kernel argument. A `<X>_ADDR_LO` register followed four bytes later by
//! `<X>_ADDR_HI` is one 64-bit device pointer (XRT `global` argument, on the
//! kernel's AXI4 master); any other argument is a 32-bit scalar. The XRT
//! transport, the emulation library and the Vivado packaging all take the
//! argument list from here (the driver through the generated regs.rs).

use std::fmt::Write as _;

use super::{RegisterMap, SwAccess};

/// Byte offset of the first argument register in the XRT convention.
pub const FIRST_ARG_OFFSET: u32 = 0x10;
/// The AXI4-Lite control port of an XRT RTL kernel.
pub const CONTROL_PORT: &str = "s_axi_control";
/// The kernel's one AXI4 memory master.
pub const MEMORY_PORT: &str = "m_axi_gmem";
/// Data width of the memory master in bits.
pub const MEMORY_PORT_BITS: u32 = 64;

/// One kernel argument.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KernelArg {
    /// Argument index (`xrtRunSetArg`'s `index`), in offset order.
    pub index: u32,
    /// lower_snake name: `a` for A_ADDR_LO/HI, `m` for M.
    pub name: String,
    /// Byte offset of the (low) register.
    pub offset: u32,
    /// Size in bytes: 8 for a pointer, 4 for a scalar.
    pub size: u32,
    /// A device pointer (XRT `global`, address qualifier 1).
    pub pointer: bool,
}

impl RegisterMap {
    /// The kernel arguments, in index (and offset) order.
    pub fn kernel_args(&self) -> Vec<KernelArg> {
        let writable = |r: &super::Register| {
            r.offset >= FIRST_ARG_OFFSET && r.fields.iter().all(|f| f.sw == SwAccess::ReadWrite)
        };
        let mut args = Vec::new();
        let mut regs = self.registers.iter().filter(|r| writable(r)).peekable();
        while let Some(reg) = regs.next() {
            let pointer_name = reg.name.strip_suffix("_ADDR_LO").filter(|base| {
                regs.peek().is_some_and(|hi| {
                    hi.offset == reg.offset + 4 && hi.name == format!("{base}_ADDR_HI")
                })
            });
            let (name, size, pointer) = match pointer_name {
                Some(base) => {
                    regs.next();
                    (base.to_ascii_lowercase(), 8, true)
                }
                None => (reg.name.to_ascii_lowercase(), 4, false),
            };
            args.push(KernelArg {
                index: args.len() as u32,
                name,
                offset: reg.offset,
                size,
                pointer,
            });
        }
        args
    }
}

/// The kernel.xml that `package_xo` takes to package the RTL kernel
/// `kernel` (Vitis RTL-kernel XML, version 1.6): the control port, the
/// memory master and every argument with its offset, size and port.
pub fn render_kernel_xml(map: &RegisterMap, kernel: &str) -> String {
    let mut s = String::new();
    s.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        s,
        "<!-- {} kernel `{kernel}`, register-map version {}: generated from {} by `kiln bitstream vivado`. -->",
        map.name,
        map.version,
        super::REGS_FILE
    );
    s.push_str("<root versionMajor=\"1\" versionMinor=\"6\">\n");
    let _ = writeln!(
        s,
        "  <kernel name=\"{kernel}\" language=\"ip_c\" vlnv=\"kiln:kernel:{kernel}:1.0\" \
         attributes=\"\" preferredWorkGroupSizeMultiple=\"0\" workGroupSize=\"1\" \
         interrupt=\"true\" hwControlProtocol=\"ap_ctrl_hs\">"
    );
    s.push_str("    <ports>\n");
    let _ = writeln!(
        s,
        "      <port name=\"{CONTROL_PORT}\" mode=\"slave\" range=\"{:#x}\" dataWidth=\"32\" portType=\"addressable\" base=\"0x0\"/>",
        map.window_bytes
    );
    let _ = writeln!(
        s,
        "      <port name=\"{MEMORY_PORT}\" mode=\"master\" range=\"0xFFFFFFFFFFFFFFFF\" dataWidth=\"{MEMORY_PORT_BITS}\" portType=\"addressable\" base=\"0x0\"/>"
    );
    s.push_str("    </ports>\n    <args>\n");
    for arg in map.kernel_args() {
        let (qualifier, port, ty) = if arg.pointer {
            (1, MEMORY_PORT, "void*")
        } else {
            (0, CONTROL_PORT, "uint")
        };
        let _ = writeln!(
            s,
            "      <arg name=\"{}\" addressQualifier=\"{qualifier}\" id=\"{}\" port=\"{port}\" size=\"{:#x}\" offset=\"{:#x}\" type=\"{ty}\" hostOffset=\"0x0\" hostSize=\"{:#x}\"/>",
            arg.name, arg.index, arg.size, arg.offset, arg.size
        );
    }
    s.push_str("    </args>\n  </kernel>\n</root>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_pairs_become_pointers_and_the_rest_scalars() {
        let map = RegisterMap::builtin().unwrap();
        let args = map.kernel_args();
        let names: Vec<&str> = args.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(
            names,
            ["a", "b", "c", "p", "m", "n", "k", "lda", "ldb", "ldc", "mode"]
        );
        assert!(args[..4].iter().all(|a| a.pointer && a.size == 8));
        assert!(args[4..].iter().all(|a| !a.pointer && a.size == 4));
        for (i, a) in args.iter().enumerate() {
            assert_eq!(a.index as usize, i);
            let reg = map.registers.iter().find(|r| r.offset == a.offset).unwrap();
            assert!(reg.name.to_ascii_lowercase().starts_with(&a.name));
        }
    }

    #[test]
    fn kernel_xml_lists_every_argument_at_its_offset() {
        let map = RegisterMap::builtin().unwrap();
        let xml = render_kernel_xml(&map, "kiln_kernel");
        assert!(xml.contains("<kernel name=\"kiln_kernel\""));
        for a in map.kernel_args() {
            let needle = format!("name=\"{}\" addressQualifier", a.name);
            let line = xml.lines().find(|l| l.contains(&needle)).unwrap();
            assert!(
                line.contains(&format!("offset=\"{:#x}\"", a.offset)),
                "{line}"
            );
        }
    }
}
