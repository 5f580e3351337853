//! The output folder's README.md: what is there and the commands, in order.

use std::fmt::Write as _;

use super::{Project, Ps, KERNEL};

pub(super) fn render(project: &Project<'_>) -> String {
    let design = &project.design.name;
    let board = &project.board.name;
    let bit = project.bit_name();
    let ps = Ps::of(project.board.family);
    let mut s = String::new();
    let _ = writeln!(s, "<!-- {} -->", project.note);
    let _ = writeln!(s, "# Vivado build of `{design}` for `{board}`\n");
    let _ = writeln!(
        s,
        "Part `{part}`, PL clock {clock} MHz, registers at {base:#010x} on `{gp}`, DDR through \
         `{hp}`, interrupt on `{irq}`. The Tcl reads the RTL from the kiln tree at \
         `{root}`; if the tree has moved, set `KILN_ROOT` first. See docs/bitstreams.md in \
         the kiln tree for what these steps have and have not been tried on.\n",
        part = project.board.part,
        clock = super::mhz(project.board.fabric_clock_mhz),
        base = project.board.addresses.registers,
        gp = ps.gp,
        hp = ps.hp,
        irq = ps.irq,
        root = project.root,
    );
    s.push_str("| file | what |\n|---|---|\n");
    let _ = writeln!(
        s,
        "| `{KERNEL}.v` | the kernel: `{top}` with Vivado/Vitis port names |",
        top = project.design.top_module()
    );
    for (name, _) in project.design.generated_sources().unwrap_or_default() {
        let what = if name.starts_with(kiln_spec::shell::CORE_BINDING) {
            format!("binds the shell to `{}`", project.design.core_module())
        } else {
            "the PE binding of this design".to_string()
        };
        let _ = writeln!(s, "| `rtl/{name}` | {what} |");
    }
    s.push_str("| `build_bitstream.tcl` | project, block design, bitstream |\n");
    if project.xrt() {
        s.push_str(
            "| `kernel.xml` | the register map as XRT kernel arguments |\n\
             | `package_kernel.tcl` | packages the kernel as a Vitis `.xo` |\n",
        );
    }
    s.push('\n');
    let root = &project.root;
    if project.xrt() {
        let xclbin = format!("{design}-{board}.xclbin");
        let _ = write!(
            s,
            "## The xclbin that `kiln --backend xrt` loads\n\n\
             In this folder, with Vivado and Vitis on the PATH and `PLATFORM` the\n\
             `.xpfm` of a {board} Vitis platform, package and link the kernel; then,\n\
             in the kiln tree, record the xclbin beside its manifest in bitstreams/ and\n\
             pack the board's deployment:\n\n\
             ```sh\n\
             vivado -mode batch -source package_kernel.tcl\n\
             v++ -l -t hw --platform \"$PLATFORM\" -o kiln.xclbin {KERNEL}.xo\n\
             cp kiln.xclbin {root}/bitstreams/{xclbin}\n\
             cd {root}\n\
             kiln bitstream manifest --design {design} --board {board} --file bitstreams/{xclbin} --tool vivado=<version>\n\
             make deploy BOARD={board} DESIGN={design}\n\
             ```\n\n\
             `<version>` is the version `vivado -version` reports (for example `2024.2`).\n\n\
             ## A plain bitstream of the same kernel\n\n\
             ```sh\n\
             vivado -mode batch -source build_bitstream.tcl\n\
             ```\n\n\
             It writes `{bit}` here and prints the `kiln bitstream manifest` command\n\
             for it.\n"
        );
    } else {
        let hwh = bit.replace(".bit", ".hwh");
        let _ = write!(
            s,
            "## Steps\n\n\
             In this folder, with Vivado on the PATH, build the bitstream. It writes\n\
             `{bit}` and `{hwh}` here and, last, prints the\n\
             `kiln bitstream manifest` command for them with the Vivado version filled\n\
             in. Then, in the kiln tree, record the bitstream beside its manifest in\n\
             bitstreams/ and pack the board's deployment:\n\n\
             ```sh\n\
             vivado -mode batch -source build_bitstream.tcl\n\
             cp {bit} {hwh} {root}/bitstreams/\n\
             cd {root}\n\
             kiln bitstream manifest --design {design} --board {board} --file bitstreams/{bit} --tool vivado=<version>\n\
             make deploy BOARD={board} DESIGN={design}\n\
             ```\n\n\
             `make deploy` packs the manifest and the `.bit`; copy `{hwh}` to the\n\
             board beside the `.bit` as well (PYNQ finds it by the bitstream's name).\n"
        );
    }
    s
}
