//! The Vivado Tcl: `build_bitstream.tcl` (block design to bitstream) and
//! `package_kernel.tcl` (the RTL kernel as a Vitis .xo).
//!
//! Command and property names follow public Vivado scripts (PYNQ overlays,
//! Xilinx's Vitis tutorials, board bring-up scripts); docs/bitstreams.md
//! says which ones no Vivado run here has confirmed.

use std::fmt::Write as _;

use kiln_spec::regs::{CONTROL_PORT, MEMORY_PORT};

use super::{
    board_part_pattern, mhz, Project, Ps, Source, VivadoError, BLOCK_DESIGN, KERNEL, KERNEL_CELL,
};

/// The reset block and the two interconnects in the block design.
const RESET_CELL: &str = "kiln_reset";
const CONTROL_SC: &str = "kiln_ctrl_sc";
const MEMORY_SC: &str = "kiln_mem_sc";

/// Comment lines from `text`, each prefixed `# `.
fn comment(s: &mut String, text: &str) {
    for line in text.lines() {
        if line.is_empty() {
            s.push_str("#\n");
        } else {
            let _ = writeln!(s, "# {line}");
        }
    }
}

/// The `include_dirs` line: the shell includes its generated port list.
fn include_dirs(project: &Project<'_>) -> String {
    let dirs: Vec<String> = project
        .design
        .include_dirs()
        .iter()
        .map(|d| format!("[file join $kiln_root {{{}}}]", d.display()))
        .collect();
    format!(
        "set_property include_dirs [list {}] [current_fileset]\n",
        dirs.join(" ")
    )
}

/// What both scripts start with: where the kiln tree and the output folder
/// are, the RTL list and its check, and the part.
fn preamble(s: &mut String, project: &Project<'_>) -> Result<(), VivadoError> {
    let _ = write!(
        s,
        "\n# The RTL is read from the kiln tree, not copied. If the tree has moved, set\n\
         # KILN_ROOT in the environment (or kiln_root before sourcing this file).\n\
         if {{![info exists kiln_root]}} {{\n\
         \x20   if {{[info exists ::env(KILN_ROOT)]}} {{\n\
         \x20       set kiln_root $::env(KILN_ROOT)\n\
         \x20   }} else {{\n\
         \x20       set kiln_root {{{root}}}\n\
         \x20   }}\n\
         }}\n\
         set kiln_out [file dirname [file normalize [info script]]]\n\
         set kiln_design {{{design}}}\n\
         set kiln_board {{{board}}}\n\n\
         set kiln_sources [list \\\n",
        root = project.root,
        design = project.design.name,
        board = project.board.name,
    );
    for source in project.sources()? {
        let (base, path) = match &source {
            Source::Tree(path) => ("$kiln_root", path),
            Source::Out(path) => ("$kiln_out", path),
        };
        let _ = writeln!(s, "    [file join {base} {{{path}}}] \\");
    }
    let part = &project.board.part;
    let _ = write!(
        s,
        "]\n\
         foreach kiln_file $kiln_sources {{\n\
         \x20   if {{![file exists $kiln_file]}} {{\n\
         \x20       error \"kiln: $kiln_file is missing; set kiln_root (or KILN_ROOT) to the kiln tree\"\n\
         \x20   }}\n\
         }}\n\n\
         # Vivado spells some part names with capitals (xck26-sfvc784-2LV-c).\n\
         set kiln_part [lsearch -inline -exact -nocase [get_parts -quiet] {{{part}}}]\n\
         if {{$kiln_part eq \"\"}} {{\n\
         \x20   error \"kiln: part {part} is not installed in this Vivado\"\n\
         }}\n",
    );
    Ok(())
}

/// `build_bitstream.tcl` for the project's design and board.
pub(super) fn build_bitstream(project: &Project<'_>) -> Result<String, VivadoError> {
    let board = project.board;
    let family = board.family;
    let ps = Ps::of(family);
    let clock = mhz(board.fabric_clock_mhz);
    let devmem = !project.xrt();
    let mut s = String::new();
    let _ = writeln!(s, "# {}", project.note);
    comment(
        &mut s,
        &format!(
            "\n\
             Builds {bit} for {board_name} ({part}): a Vivado project whose block design\n\
             holds the {ip} PS and {KERNEL} (a module reference to {KERNEL}.v) with\n\
             - PL clock 0 at {clock} MHz for the kernel, its interconnects and the PS ports;\n\
             - a proc_sys_reset on PL reset 0;\n\
             - the registers ({CONTROL_PORT}) on {gp} through an AXI SmartConnect, at\n\
             \x20 {base:#010x}, {range:#x} bytes;\n\
             - the kernel's memory master ({MEMORY_PORT}) on {hp} (64-bit) through\n\
             \x20 another SmartConnect, reaching DDR;\n\
             - the kernel's interrupt on {irq}.\n\
             It then synthesises, implements and writes the bitstream, copies it{hwh}\n\
             here, and prints the `kiln bitstream manifest` command that records it.\n\
             \n\
             \x20 vivado -mode batch -source build_bitstream.tcl\n\
             \n\
             kiln_jobs (default 2) sets the parallel jobs of the implementation run.",
            bit = project.bit_name(),
            board_name = board.name,
            part = board.part,
            ip = ps.ip,
            gp = ps.gp,
            hp = ps.hp,
            irq = ps.irq,
            base = board.addresses.registers,
            range = project.regs_range,
            hwh = if devmem {
                " (and the .hwh PYNQ reads)"
            } else {
                ""
            },
        ),
    );
    preamble(&mut s, project)?;
    let name = |cell: &str, pin: &str| format!("{cell}/{pin}");
    let pin = |cell: &str, pin: &str| format!("[get_bd_pins {}]", name(cell, pin));
    let intf = |cell: &str, pin: &str| format!("[get_bd_intf_pins {}]", name(cell, pin));

    let _ = write!(
        s,
        "\n\
         if {{![info exists kiln_jobs]}} {{\n\
         \x20   set kiln_jobs 2\n\
         }}\n\
         set kiln_proj_dir [file join $kiln_out vivado]\n\
         set kiln_clock_mhz {clock}\n\
         set kiln_regs_base {base:#010X}\n\
         set kiln_regs_range {range:#X}\n\
         set kiln_bit [file join $kiln_out {{{bit}}}]\n\
         puts \"kiln: building $kiln_design for $kiln_board ($kiln_part) with Vivado [version -short]\"\n\n\
         # ---- Project and sources\n\
         create_project -force kiln $kiln_proj_dir -part $kiln_part\n",
        base = board.addresses.registers,
        range = project.regs_range,
        bit = project.bit_name(),
    );
    match board_part_pattern(board) {
        Some(pattern) => {
            let _ = write!(
                s,
                "# The board's presets (DDR, MIO, clocks) come from its board files when\n\
                 # they are installed; without them the PS gets kiln's settings alone.\n\
                 set kiln_board_part [lindex [get_board_parts -quiet -latest_file_version {{{pattern}}}] 0]\n\
                 if {{$kiln_board_part ne \"\"}} {{\n\
                 \x20   set_property board_part $kiln_board_part [current_project]\n\
                 }} else {{\n\
                 \x20   puts \"WARNING: kiln: no board files match {pattern}; the PS is configured without the board's presets\"\n\
                 }}\n"
            );
        }
        None => s.push_str("set kiln_board_part {}\n"),
    }
    let _ = write!(
        s,
        "set_property target_language Verilog [current_project]\n\
         add_files -norecurse $kiln_sources\n\
         {includes}update_compile_order -fileset sources_1\n\n\
         # ---- Block design\n\
         create_bd_design {BLOCK_DESIGN}\n\
         set kiln_ps [create_bd_cell -type ip -vlnv xilinx.com:ip:{ip} {cell}]\n",
        ip = ps.ip,
        cell = ps.cell,
        includes = include_dirs(project),
    );
    match family {
        kiln_spec::Family::Xc7 => {
            let _ = write!(
                s,
                "# DDR and fixed I/O become ports of the block design either way.\n\
                 set kiln_preset [expr {{$kiln_board_part ne \"\" ? 1 : 0}}]\n\
                 apply_bd_automation -rule {rule} -config [list make_external {{FIXED_IO, DDR}} apply_board_preset $kiln_preset Master Disable Slave Disable] $kiln_ps\n",
                rule = ps.rule,
            );
        }
        kiln_spec::Family::Xcup => {
            let _ = write!(
                s,
                "if {{$kiln_board_part ne \"\"}} {{\n\
                 \x20   apply_bd_automation -rule {rule} -config {{apply_board_preset 1}} $kiln_ps\n\
                 }}\n",
                rule = ps.rule,
            );
        }
    }
    s.push_str("set_property -dict [list \\\n");
    for (property, value) in ps.config(family, &clock) {
        let _ = writeln!(s, "    {property} {{{value}}} \\");
    }
    s.push_str("] $kiln_ps\n\n");
    let _ = write!(
        s,
        "set kiln_kernel [create_bd_cell -type module -reference {KERNEL} {KERNEL_CELL}]\n\
         create_bd_cell -type ip -vlnv xilinx.com:ip:proc_sys_reset {RESET_CELL}\n\
         create_bd_cell -type ip -vlnv xilinx.com:ip:smartconnect {CONTROL_SC}\n\
         set_property -dict [list CONFIG.NUM_SI {{1}} CONFIG.NUM_MI {{1}}] [get_bd_cells {CONTROL_SC}]\n\
         create_bd_cell -type ip -vlnv xilinx.com:ip:smartconnect {MEMORY_SC}\n\
         set_property -dict [list CONFIG.NUM_SI {{1}} CONFIG.NUM_MI {{1}}] [get_bd_cells {MEMORY_SC}]\n\n\
         # One clock, PL clock 0, for everything kiln adds and the PS ports it uses.\n\
         connect_bd_net {clk} \\\n\
         \x20   {gp_clk} \\\n\
         \x20   {hp_clk} \\\n\
         \x20   {sync_clk} \\\n\
         \x20   {ctrl_clk} \\\n\
         \x20   {mem_clk} \\\n\
         \x20   {ap_clk}\n\
         connect_bd_net {ps_reset} {ext_reset}\n\
         connect_bd_net {ic_reset} {ctrl_reset} {mem_reset}\n\
         connect_bd_net {periph_reset} {ap_rst_n}\n\
         connect_bd_net {interrupt} {irq}\n\
         connect_bd_intf_net {gp} {ctrl_in}\n\
         connect_bd_intf_net {ctrl_out} {control}\n\
         connect_bd_intf_net {memory} {mem_in}\n\
         connect_bd_intf_net {mem_out} {hp}\n\n",
        clk = pin(ps.cell, ps.clock),
        gp_clk = pin(ps.cell, ps.gp_clock),
        hp_clk = pin(ps.cell, ps.hp_clock),
        sync_clk = pin(RESET_CELL, "slowest_sync_clk"),
        ctrl_clk = pin(CONTROL_SC, "aclk"),
        mem_clk = pin(MEMORY_SC, "aclk"),
        ap_clk = pin(KERNEL_CELL, "ap_clk"),
        ps_reset = pin(ps.cell, ps.reset),
        ext_reset = pin(RESET_CELL, "ext_reset_in"),
        ic_reset = pin(RESET_CELL, "interconnect_aresetn"),
        ctrl_reset = pin(CONTROL_SC, "aresetn"),
        mem_reset = pin(MEMORY_SC, "aresetn"),
        periph_reset = pin(RESET_CELL, "peripheral_aresetn"),
        ap_rst_n = pin(KERNEL_CELL, "ap_rst_n"),
        interrupt = pin(KERNEL_CELL, "interrupt"),
        irq = pin(ps.cell, ps.irq),
        gp = intf(ps.cell, ps.gp),
        ctrl_in = intf(CONTROL_SC, "S00_AXI"),
        ctrl_out = intf(CONTROL_SC, "M00_AXI"),
        control = intf(KERNEL_CELL, CONTROL_PORT),
        memory = intf(KERNEL_CELL, MEMORY_PORT),
        mem_in = intf(MEMORY_SC, "S00_AXI"),
        mem_out = intf(MEMORY_SC, "M00_AXI"),
        hp = intf(ps.cell, ps.hp),
    );
    let _ = write!(
        s,
        "# The registers where kiln's board file says they are; the kernel's view\n\
         # of DDR through the HP port where Vivado puts it.\n\
         set kiln_regs_seg [get_bd_addr_segs -of_objects {control}]\n\
         if {{[llength $kiln_regs_seg] != 1}} {{\n\
         \x20   error \"kiln: expected one address segment on {control_name}, found '$kiln_regs_seg'\"\n\
         }}\n\
         assign_bd_address -offset $kiln_regs_base -range $kiln_regs_range -target_address_space [get_bd_addr_spaces {data}] $kiln_regs_seg -force\n\
         assign_bd_address\n\
         validate_bd_design\n\
         save_bd_design\n\n\
         set kiln_actual_mhz [get_property {actual} $kiln_ps]\n\
         if {{![string is double -strict $kiln_actual_mhz] || abs($kiln_actual_mhz - $kiln_clock_mhz) > 0.01 * $kiln_clock_mhz}} {{\n\
         \x20   puts \"WARNING: kiln: PL clock 0 runs at $kiln_actual_mhz MHz, not the board file's $kiln_clock_mhz MHz\"\n\
         }}\n\n\
         # ---- Synthesis, implementation, bitstream\n\
         add_files -norecurse [make_wrapper -files [get_files {BLOCK_DESIGN}.bd] -top]\n\
         set_property top {BLOCK_DESIGN}_wrapper [current_fileset]\n\
         update_compile_order -fileset sources_1\n\
         launch_runs impl_1 -to_step write_bitstream -jobs $kiln_jobs\n\
         wait_on_run impl_1\n\
         if {{[get_property PROGRESS [get_runs impl_1]] ne \"100%\"}} {{\n\
         \x20   error \"kiln: impl_1 did not finish: [get_property STATUS [get_runs impl_1]]\"\n\
         }}\n\
         file copy -force [file join [get_property DIRECTORY [get_runs impl_1]] {BLOCK_DESIGN}_wrapper.bit] $kiln_bit\n",
        control = intf(KERNEL_CELL, CONTROL_PORT),
        control_name = name(KERNEL_CELL, CONTROL_PORT),
        data = name(ps.cell, "Data"),
        actual = ps.actual_clock_property,
    );
    if devmem {
        let _ = write!(
            s,
            "# PYNQ's Overlay finds the hardware handoff by the bitstream's name.\n\
             set kiln_hwh [glob -nocomplain -directory $kiln_proj_dir */sources_1/bd/{BLOCK_DESIGN}/hw_handoff/{BLOCK_DESIGN}.hwh]\n\
             if {{[llength $kiln_hwh] == 0}} {{\n\
             \x20   error \"kiln: no {BLOCK_DESIGN}.hwh under $kiln_proj_dir\"\n\
             }}\n\
             file copy -force [lindex $kiln_hwh 0] [file rootname $kiln_bit].hwh\n"
        );
    }
    s.push_str(
        "puts \"kiln: wrote $kiln_bit\"\n\
         puts \"kiln: record it with\"\n\
         puts \"  kiln bitstream manifest --design $kiln_design --board $kiln_board --file $kiln_bit --tool vivado=[version -short]\"\n\
         puts \"kiln: for make deploy, run it on a copy in the kiln tree's bitstreams/ (README.md here)\"\n",
    );
    Ok(s)
}

/// `package_kernel.tcl`: the Vitis RTL-kernel packaging of `kiln_kernel`.
pub(super) fn package_kernel(project: &Project<'_>) -> Result<String, VivadoError> {
    let mut s = String::new();
    let _ = writeln!(s, "# {}", project.note);
    comment(
        &mut s,
        &format!(
            "\n\
             Packages {KERNEL} as a Vitis RTL kernel, {KERNEL}.xo, with kernel.xml (the\n\
             register map as XRT kernel arguments). Then link it against a {board}\n\
             Vitis platform:\n\
             \n\
             \x20 vivado -mode batch -source package_kernel.tcl\n\
             \x20 v++ -l -t hw --platform <platform>.xpfm -o kiln.xclbin {KERNEL}.xo",
            board = project.board.name,
        ),
    );
    preamble(&mut s, project)?;
    let _ = write!(
        s,
        "\n\
         set kiln_pack_dir [file join $kiln_out kernel_pack]\n\
         set kiln_ip_dir [file join $kiln_out kernel_ip]\n\
         set kiln_xo [file join $kiln_out {KERNEL}.xo]\n\
         set kiln_kernel_xml [file join $kiln_out kernel.xml]\n\
         puts \"kiln: packaging {KERNEL} ($kiln_design) with Vivado [version -short]\"\n\n\
         create_project -force {KERNEL}_pack $kiln_pack_dir -part $kiln_part\n\
         add_files -norecurse $kiln_sources\n\
         {includes}set_property top {KERNEL} [current_fileset]\n\
         update_compile_order -fileset sources_1\n\n\
         # Vendor, library, name and version make the VLNV kernel.xml names.\n\
         ipx::package_project -root_dir $kiln_ip_dir -vendor kiln -library kernel -taxonomy /KernelIP -import_files -set_current true\n\
         set kiln_core [ipx::current_core]\n\
         set_property version 1.0 $kiln_core\n\
         ipx::associate_bus_interfaces -busif {CONTROL_PORT} -clock ap_clk $kiln_core\n\
         ipx::associate_bus_interfaces -busif {MEMORY_PORT} -clock ap_clk $kiln_core\n\
         ipx::associate_bus_interfaces -clock ap_clk -reset ap_rst_n $kiln_core\n\
         set_property sdx_kernel true $kiln_core\n\
         set_property sdx_kernel_type rtl $kiln_core\n\
         ipx::create_xgui_files $kiln_core\n\
         ipx::update_checksums $kiln_core\n\
         ipx::save_core $kiln_core\n\
         close_project\n\n\
         package_xo -force -xo_path $kiln_xo -kernel_name {KERNEL} -ip_directory $kiln_ip_dir -kernel_xml $kiln_kernel_xml\n\
         puts \"kiln: wrote $kiln_xo; link it with\"\n\
         puts \"  v++ -l -t hw --platform <platform>.xpfm -o [file join $kiln_out kiln.xclbin] $kiln_xo\"\n",
        includes = include_dirs(project),
    );
    Ok(s)
}
