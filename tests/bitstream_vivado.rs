//! `kiln bitstream vivado` output, checked with the tools that run here
//! (Vivado does not): for every listed design on every board,
//!
//! - the kernel wrapper lints clean with Verilator `-Wall`, as Verilog-2001,
//!   with the design's RTL and `kiln_kernel` as top;
//! - every Tcl file is complete Tcl and runs to its end in tclsh with a stub
//!   for each Vivado command it may use (any other command is an error); the
//!   stubs record the calls, and the record is checked: part, PS IP, PL
//!   clock, register address and range, GP and HP ports, clock, reset and
//!   interrupt nets, the order validate -> wrapper -> implementation, the
//!   files copied out and the manifest command printed;
//! - kernel.xml parses, its arguments sit at the register map's offsets and
//!   its VLNV is the one the packaging Tcl gives the IP;
//! - every kernel port the Tcl or kernel.xml names exists on the wrapper.
//!
//! The last tests break each artifact on purpose and show each check fails.
//! `KILN_VIVADO_KEEP=1` keeps the scratch folders for inspection.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use kiln::bitstream::vivado::{vivado_project, VivadoError};
use kiln_spec::regs::GeneratedFile;
use kiln_spec::{Board, Design, Family, RegisterMap};

/// What the stubbed `version -short` answers.
const STUB_VIVADO: &str = "2024.2";
/// What the stubbed `get_board_parts` answers when board files "exist".
const STUB_BOARD_PART: &str = "vendor.example:some-board:part0:1.0";
/// Part names as Vivado lists them (one with capitals, as Vivado spells it).
const STUB_PARTS: &str = "xc7z020clg400-1 xck26-sfvc784-2LV-c xczu7ev-ffvc1156-2-e";

type Check = Result<(), String>;

macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

// ------------------------------------------------------------ scaffolding

/// A fresh folder for one case, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("kiln-vivado-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // Tcl's `file normalize` resolves symlinks such as macOS's /tmp.
        Scratch(std::fs::canonicalize(&dir).unwrap())
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // KILN_VIVADO_KEEP=1 keeps the folders (generated files, call logs).
        if std::env::var_os("KILN_VIVADO_KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn write_files(dir: &Path, files: &[GeneratedFile]) {
    for file in files {
        let path = dir.join(&file.path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, &file.text).unwrap();
    }
}

fn text<'a>(files: &'a [GeneratedFile], path: &str) -> &'a str {
    &files
        .iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| panic!("{path} is not generated"))
        .text
}

fn cases() -> Vec<(Design, Board)> {
    let boards = Board::all().unwrap();
    let mut cases = Vec::new();
    for design in Design::listed().unwrap() {
        for board in &boards {
            cases.push((design.clone(), board.clone()));
        }
    }
    cases
}

fn repo_root() -> PathBuf {
    std::fs::canonicalize(kiln_spec::repo_root()).unwrap()
}

/// The wrapper's ports, from its declarations (one per line).
fn wrapper_ports(wrapper: &str) -> BTreeSet<String> {
    wrapper
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("input ") || l.starts_with("output "))
        .filter_map(|l| l.split_whitespace().last())
        .map(|name| name.trim_end_matches(',').to_string())
        .collect()
}

/// A pin name (`ap_clk`) must be a port; an interface (`s_axi_control`)
/// must prefix some ports.
fn has_port(ports: &BTreeSet<String>, name: &str, interface: bool) -> bool {
    if interface {
        ports.iter().any(|p| p.starts_with(&format!("{name}_")))
    } else {
        ports.contains(name)
    }
}

// ------------------------------------------------------------ lint

/// `verilator --lint-only -Wall` on the design's RTL, its PE binding and the
/// wrapper (as Verilog-2001), with the waivers of `make lint-rtl`.
fn lint(out: &Path, design: &Design) -> Check {
    let root = repo_root();
    let mut cmd = Command::new("verilator");
    cmd.current_dir(&root)
        .args(["--lint-only", "-Wall", "+1364-2001ext+v"])
        .arg("hw/lint/waivers.vlt");
    for dir in design.include_dirs() {
        cmd.arg(format!("-I{}", dir.display()));
    }
    for source in design.rtl_sources().unwrap() {
        cmd.arg(&source);
    }
    for (name, _) in design.generated_sources().unwrap() {
        cmd.arg(out.join("rtl").join(name));
    }
    cmd.arg(out.join("kiln_kernel.v"))
        .args(["--top-module", "kiln_kernel"]);
    let output = cmd
        .output()
        .map_err(|e| format!("cannot run verilator ({e}); `make setup` installs it"))?;
    ensure!(
        output.status.success(),
        "verilator on {}:\n{}",
        design.name,
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}

// ------------------------------------------------------------ Tcl

/// Stubs of every Vivado command the generated scripts may use. Each
/// records its call as one tab-separated line; `set_property` records one
/// `property OBJECT NAME VALUE` line per property. Any other command is
/// unknown to tclsh, so the script fails.
const HARNESS: &str = r#"
lassign $argv stub_log_path stub_script stub_board_part stub_clock
set stub_log [open $stub_log_path w]
set stub_proj_dir ""
set stub_proj_name ""
set stub_bd ""
set stub_top ""
proc record {args} { puts $::stub_log [join $args "\t"] }
proc touch {path text} {
    file mkdir [file dirname $path]
    set f [open $path w]; puts -nonewline $f $text; close $f
}

proc version {args} { return VIVADO }
proc get_parts {args} { return {PARTS} }
proc get_board_parts {args} { record get_board_parts {*}$args; return $::stub_board_part }
proc create_project {args} {
    record create_project {*}$args
    set positional {}
    for {set i 0} {$i < [llength $args]} {incr i} {
        set a [lindex $args $i]
        if {$a eq "-part"} { incr i; continue }
        if {[string match -* $a]} { continue }
        lappend positional $a
    }
    lassign $positional ::stub_proj_name ::stub_proj_dir
    file mkdir $::stub_proj_dir
}
proc current_project {args} { return stub_project }
proc current_fileset {args} { return sources_1 }
proc close_project {args} { record close_project {*}$args }
proc set_property {args} {
    if {[lindex $args 0] eq "-dict"} {
        foreach {k v} [lindex $args 1] { record property [lindex $args 2] $k $v }
    } else {
        lassign $args k v object
        if {$k eq "top"} { set ::stub_top $v }
        record property $object $k $v
    }
}
proc get_property {name object} {
    record get_property $name $object
    switch -glob -- $name {
        DIRECTORY { return [file join $::stub_proj_dir $::stub_proj_name.runs impl_1] }
        PROGRESS { return 100% }
        STATUS { return {write_bitstream Complete!} }
        CONFIG.*ACT* { return $::stub_clock }
        default { error "stub: no value for property $name" }
    }
}
proc add_files {args} {
    set files [lindex $args end]
    foreach f $files {
        if {![file exists $f]} { error "stub: add_files of a missing file $f" }
    }
    record add_files {*}$files
}
proc update_compile_order {args} { record update_compile_order {*}$args }
proc get_files {args} { record get_files {*}$args; return [lindex $args end] }
proc create_bd_design {name} { record create_bd_design $name; set ::stub_bd $name }
proc create_bd_cell {args} { record create_bd_cell {*}$args; return [lindex $args end] }
proc apply_bd_automation {args} {
    set rule [lindex $args [expr {[lsearch -exact $args -rule] + 1}]]
    set config [lindex $args [expr {[lsearch -exact $args -config] + 1}]]
    record apply_bd_automation $rule [dict get $config apply_board_preset] [lindex $args end]
}
proc get_bd_cells {args} { return [lindex $args end] }
proc get_bd_pins {args} { record get_bd_pins {*}$args; return [lindex $args end] }
proc get_bd_intf_pins {args} { record get_bd_intf_pins {*}$args; return [lindex $args end] }
proc get_bd_addr_spaces {args} { record get_bd_addr_spaces {*}$args; return [lindex $args end] }
proc get_bd_addr_segs {args} { record get_bd_addr_segs {*}$args; return "[lindex $args end]/reg0" }
proc connect_bd_net {args} { record connect_bd_net {*}$args }
proc connect_bd_intf_net {args} { record connect_bd_intf_net {*}$args }
proc assign_bd_address {args} { record assign_bd_address {*}$args }
proc validate_bd_design {args} { record validate_bd_design {*}$args }
proc save_bd_design {args} { record save_bd_design {*}$args }
proc make_wrapper {args} {
    record make_wrapper {*}$args
    set path [file join $::stub_proj_dir $::stub_proj_name.gen sources_1 bd $::stub_bd hdl ${::stub_bd}_wrapper.v]
    touch $path "module ${::stub_bd}_wrapper; endmodule\n"
    return $path
}
proc get_runs {args} { return [lindex $args end] }
proc launch_runs {args} {
    record launch_runs {*}$args
    touch [file join $::stub_proj_dir $::stub_proj_name.runs impl_1 $::stub_top.bit] "stub bitstream"
    touch [file join $::stub_proj_dir $::stub_proj_name.gen sources_1 bd $::stub_bd hw_handoff $::stub_bd.hwh] "stub handoff"
}
proc wait_on_run {args} { record wait_on_run {*}$args }
proc package_xo {args} { record package_xo {*}$args }
namespace eval ipx {}
proc ipx::package_project {args} { record ipx::package_project {*}$args }
proc ipx::current_core {args} { return stub_core }
proc ipx::associate_bus_interfaces {args} { record ipx::associate_bus_interfaces {*}$args }
proc ipx::create_xgui_files {args} { record ipx::create_xgui_files {*}$args }
proc ipx::update_checksums {args} { record ipx::update_checksums {*}$args }
proc ipx::save_core {args} { record ipx::save_core {*}$args }

set f [open $stub_script]; set stub_text [read $f]; close $f
if {![info complete $stub_text]} {
    puts stderr "stub: $stub_script is not complete Tcl"
    exit 3
}
source $stub_script
close $stub_log
"#;

/// The calls a script made and what it printed.
#[derive(Debug)]
struct Trace {
    calls: Vec<Vec<String>>,
    stdout: String,
}

impl Trace {
    fn all<'a>(&'a self, cmd: &str) -> impl Iterator<Item = &'a Vec<String>> + 'a {
        let cmd = cmd.to_string();
        self.calls.iter().filter(move |c| c[0] == cmd)
    }

    fn one(&self, cmd: &str) -> Result<&Vec<String>, String> {
        let calls: Vec<_> = self.all(cmd).collect();
        ensure!(calls.len() == 1, "{cmd} called {} times", calls.len());
        Ok(calls[0])
    }

    fn index(&self, cmd: &str) -> Result<usize, String> {
        self.calls
            .iter()
            .position(|c| c[0] == cmd)
            .ok_or_else(|| format!("{cmd} is never called"))
    }

    fn last_index(&self, cmd: &str) -> Result<usize, String> {
        self.calls
            .iter()
            .rposition(|c| c[0] == cmd)
            .ok_or_else(|| format!("{cmd} is never called"))
    }

    /// The last value set for `name` on `object`.
    fn property(&self, object: &str, name: &str) -> Option<&str> {
        self.all("property")
            .filter(|c| c[1] == object && c[2] == name)
            .last()
            .map(|c| c[3].as_str())
    }

    /// The pins (or interface pins) each connect call joins.
    fn nets(&self, cmd: &str) -> Vec<Vec<&str>> {
        self.all(cmd)
            .map(|c| c[1..].iter().map(String::as_str).collect())
            .collect()
    }

    /// Every `cell/pin` (or interface pin) the script looked up.
    fn pins(&self, cmd: &str) -> Vec<&str> {
        self.all(cmd)
            .filter_map(|c| c.last())
            .map(String::as_str)
            .collect()
    }
}

/// The value after `flag` in a recorded call.
fn opt<'a>(call: &'a [String], flag: &str) -> Result<&'a str, String> {
    call.iter()
        .position(|a| a == flag)
        .and_then(|i| call.get(i + 1))
        .map(String::as_str)
        .ok_or_else(|| format!("{} has no {flag}: {call:?}", call[0]))
}

fn hex(value: &str) -> Result<u64, String> {
    let digits = value.trim_start_matches("0x").trim_start_matches("0X");
    u64::from_str_radix(digits, 16).map_err(|e| format!("{value}: {e}"))
}

/// Runs `script` in tclsh under the stubs.
fn run_tcl(out: &Path, script: &str, board_part: &str, clock_mhz: f64) -> Result<Trace, String> {
    let harness = HARNESS
        .replace("VIVADO", STUB_VIVADO)
        .replace("PARTS", STUB_PARTS);
    let harness_path = out.join("stub_harness.tcl");
    let log = out.join(format!("{script}.calls"));
    std::fs::write(&harness_path, harness).unwrap();
    let output = Command::new("tclsh")
        .arg(&harness_path)
        .arg(&log)
        .arg(out.join(script))
        .arg(board_part)
        .arg(clock_mhz.to_string())
        // The kiln tree the scripts read must be the generation-time default.
        .env_remove("KILN_ROOT")
        .current_dir(out)
        .output()
        .map_err(|e| format!("cannot run tclsh ({e}); install it with `apt-get install tcl`"))?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    ensure!(
        output.status.success(),
        "tclsh {script} failed:\n{}{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    let calls = std::fs::read_to_string(&log)
        .map_err(|e| format!("{}: {e}", log.display()))?
        .lines()
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect();
    Ok(Trace { calls, stdout })
}

/// What the test expects of each PS, stated here independently of the
/// generator.
struct PsFacts {
    vlnv: &'static str,
    cell: &'static str,
    clock: &'static str,
    reset: &'static str,
    gp: &'static str,
    gp_clock: &'static str,
    hp: &'static str,
    hp_clock: &'static str,
    irq: &'static str,
    freq: &'static str,
    hp_width: &'static str,
    rule: &'static str,
}

fn ps_facts(family: Family) -> PsFacts {
    match family {
        Family::Xc7 => PsFacts {
            vlnv: "xilinx.com:ip:processing_system7",
            cell: "processing_system7_0",
            clock: "FCLK_CLK0",
            reset: "FCLK_RESET0_N",
            gp: "M_AXI_GP0",
            gp_clock: "M_AXI_GP0_ACLK",
            hp: "S_AXI_HP0",
            hp_clock: "S_AXI_HP0_ACLK",
            irq: "IRQ_F2P",
            freq: "CONFIG.PCW_FPGA0_PERIPHERAL_FREQMHZ",
            hp_width: "CONFIG.PCW_S_AXI_HP0_DATA_WIDTH",
            rule: "xilinx.com:bd_rule:processing_system7",
        },
        Family::Xcup => PsFacts {
            vlnv: "xilinx.com:ip:zynq_ultra_ps_e",
            cell: "zynq_ultra_ps_e_0",
            clock: "pl_clk0",
            reset: "pl_resetn0",
            gp: "M_AXI_HPM0_FPD",
            gp_clock: "maxihpm0_fpd_aclk",
            hp: "S_AXI_HP0_FPD",
            hp_clock: "saxihp0_fpd_aclk",
            irq: "pl_ps_irq0",
            freq: "CONFIG.PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ",
            hp_width: "CONFIG.PSU__SAXIGP2__DATA_WIDTH",
            rule: "xilinx.com:bd_rule:zynq_ultra_ps_e",
        },
    }
}

/// The part as the stubbed Vivado spells it.
fn vendor_part(board: &Board) -> String {
    STUB_PARTS
        .split_whitespace()
        .find(|p| p.eq_ignore_ascii_case(&board.part))
        .unwrap_or_else(|| panic!("no stub part for {}", board.part))
        .to_string()
}

/// The RTL the scripts must add, in order.
fn expected_sources(out: &Path, design: &Design) -> Vec<PathBuf> {
    // The project reads the built-in RTL where kiln writes it out.
    let root = std::fs::canonicalize(kiln_spec::rtl::builtin_root().unwrap()).unwrap();
    let mut files: Vec<PathBuf> = kiln_spec::shell::HEADERS
        .iter()
        .map(|h| root.join(h))
        .collect();
    files.extend(design.rtl_sources().unwrap().iter().map(|p| root.join(p)));
    for (name, _) in design.generated_sources().unwrap() {
        files.push(out.join("rtl").join(name));
    }
    files.push(out.join("kiln_kernel.v"));
    files
}

fn check_sources(trace: &Trace, out: &Path, design: &Design) -> Check {
    // The first add_files is the RTL; the build adds the block-design wrapper later.
    let first = trace
        .all("add_files")
        .next()
        .ok_or("add_files is never called")?;
    let added: Vec<PathBuf> = first[1..]
        .iter()
        .map(|p| std::fs::canonicalize(p).map_err(|e| format!("{p}: {e}")))
        .collect::<Result<_, _>>()?;
    ensure!(
        added == expected_sources(out, design),
        "add_files {added:?}, expected {:?}",
        expected_sources(out, design)
    );
    Ok(())
}

/// Is `to` reachable from `from` over interface nets, passing through at
/// most one SmartConnect (from its S00_AXI to its M00_AXI)?
fn reaches(edges: &[Vec<&str>], smartconnects: &BTreeSet<&str>, from: &str, to: &str) -> bool {
    let joined = |pin: &str| -> Vec<String> {
        edges
            .iter()
            .filter(|e| e.contains(&pin))
            .flat_map(|e| e.iter().filter(|p| **p != pin).map(|p| p.to_string()))
            .collect()
    };
    joined(from).iter().any(|next| {
        next == to
            || next.strip_suffix("/S00_AXI").is_some_and(|cell| {
                smartconnects.contains(cell)
                    && joined(&format!("{cell}/M00_AXI")).iter().any(|p| p == to)
            })
    })
}

/// Everything the block-design script must do for this design and board.
fn check_build(
    trace: &Trace,
    out: &Path,
    design: &Design,
    board: &Board,
    wrapper: &str,
    with_board_files: bool,
) -> Check {
    let ps = ps_facts(board.family);
    let kernel = "kiln_kernel_0";
    let ports = wrapper_ports(wrapper);

    let project = trace.one("create_project")?;
    ensure!(
        opt(project, "-part")? == vendor_part(board),
        "create_project {project:?} for {}",
        board.part
    );
    check_sources(trace, out, design)?;

    // Board presets when the board files are there, a warning otherwise.
    let board_part = trace.property("stub_project", "board_part");
    let automation: Vec<_> = trace.all("apply_bd_automation").collect();
    if with_board_files {
        ensure!(
            board_part == Some(STUB_BOARD_PART),
            "board_part {board_part:?}"
        );
        ensure!(
            automation.len() == 1 && automation[0][1..] == [ps.rule, "1", ps.cell],
            "automation {automation:?}"
        );
    } else {
        ensure!(board_part.is_none(), "board_part set to {board_part:?}");
        ensure!(
            trace.stdout.contains("WARNING: kiln: no board files"),
            "{}",
            trace.stdout
        );
        match board.family {
            Family::Xc7 => ensure!(
                automation.len() == 1 && automation[0][1..] == [ps.rule, "0", ps.cell],
                "automation {automation:?}"
            ),
            Family::Xcup => ensure!(automation.is_empty(), "automation {automation:?}"),
        }
    }

    // The PS and the kernel.
    let cells: Vec<_> = trace.all("create_bd_cell").collect();
    ensure!(
        cells
            .iter()
            .any(|c| opt(c, "-vlnv") == Ok(ps.vlnv) && c.last().unwrap() == ps.cell),
        "no {} cell named {}: {cells:?}",
        ps.vlnv,
        ps.cell
    );
    ensure!(
        cells.iter().any(|c| opt(c, "-type") == Ok("module")
            && opt(c, "-reference") == Ok("kiln_kernel")
            && c.last().unwrap() == kernel),
        "no module reference to kiln_kernel: {cells:?}"
    );
    let freq = trace
        .property(ps.cell, ps.freq)
        .ok_or(format!("{} is not set", ps.freq))?;
    ensure!(
        freq.parse::<f64>() == Ok(board.fabric_clock_mhz),
        "{} = {freq}, board clock {}",
        ps.freq,
        board.fabric_clock_mhz
    );
    ensure!(
        trace.property(ps.cell, ps.hp_width) == Some("64"),
        "{} is {:?}",
        ps.hp_width,
        trace.property(ps.cell, ps.hp_width)
    );

    // Interconnects: one SmartConnect per path, one slave and one master each.
    let smartconnects: BTreeSet<&str> = cells
        .iter()
        .filter(|c| opt(c, "-vlnv") == Ok("xilinx.com:ip:smartconnect"))
        .map(|c| c.last().unwrap().as_str())
        .collect();
    for sc in &smartconnects {
        for (k, v) in [("CONFIG.NUM_SI", "1"), ("CONFIG.NUM_MI", "1")] {
            ensure!(trace.property(sc, k) == Some(v), "{sc} {k}");
        }
    }
    let intf = trace.nets("connect_bd_intf_net");
    let gp = format!("{}/{}", ps.cell, ps.gp);
    let hp = format!("{}/{}", ps.cell, ps.hp);
    let control = format!("{kernel}/s_axi_control");
    let memory = format!("{kernel}/m_axi_gmem");
    ensure!(
        reaches(&intf, &smartconnects, &gp, &control),
        "{gp} does not reach {control}: {intf:?}"
    );
    ensure!(
        reaches(&intf, &smartconnects, &memory, &hp),
        "{memory} does not reach {hp}: {intf:?}"
    );

    // Clock, reset and interrupt nets.
    let nets = trace.nets("connect_bd_net");
    let net_of = |pin: &str| {
        nets.iter()
            .find(|n| n.contains(&pin))
            .cloned()
            .unwrap_or_default()
    };
    let clock = net_of(&format!("{}/{}", ps.cell, ps.clock));
    let mut clocked = vec![
        format!("{kernel}/ap_clk"),
        format!("{}/{}", ps.cell, ps.gp_clock),
        format!("{}/{}", ps.cell, ps.hp_clock),
    ];
    clocked.extend(smartconnects.iter().map(|sc| format!("{sc}/aclk")));
    for pin in &clocked {
        ensure!(
            clock.contains(&pin.as_str()),
            "{pin} is not on PL clock 0: {clock:?}"
        );
    }
    let reset = net_of(&format!("{kernel}/ap_rst_n"));
    ensure!(
        reset.iter().any(|p| p.ends_with("/peripheral_aresetn")),
        "ap_rst_n is on {reset:?}"
    );
    let ps_reset = net_of(&format!("{}/{}", ps.cell, ps.reset));
    ensure!(
        ps_reset.iter().any(|p| p.ends_with("/ext_reset_in")),
        "the PS reset is on {ps_reset:?}"
    );
    for sc in &smartconnects {
        let pin = format!("{sc}/aresetn");
        ensure!(
            net_of(&pin)
                .iter()
                .any(|p| p.ends_with("/interconnect_aresetn")),
            "{pin} is not reset"
        );
    }
    let interrupt = net_of(&format!("{kernel}/interrupt"));
    let irq = format!("{}/{}", ps.cell, ps.irq);
    ensure!(
        interrupt.contains(&irq.as_str()),
        "interrupt is on {interrupt:?}"
    );

    // The register window.
    let map = RegisterMap::builtin().unwrap();
    let assign: Vec<_> = trace
        .all("assign_bd_address")
        .filter(|c| c.len() > 1)
        .collect();
    ensure!(
        assign.len() == 1,
        "explicit assign_bd_address calls: {assign:?}"
    );
    let assign = assign[0];
    ensure!(
        hex(opt(assign, "-offset")?)? == board.addresses.registers,
        "register offset {assign:?}"
    );
    let range = hex(opt(assign, "-range")?)?;
    ensure!(
        range >= 4096 && range >= u64::from(map.window_bytes) && range.is_power_of_two(),
        "register range {range:#x}"
    );
    ensure!(
        opt(assign, "-target_address_space")? == format!("{}/Data", ps.cell),
        "address space {assign:?}"
    );
    ensure!(
        assign.contains(&format!("{control}/reg0")),
        "assigned segment {assign:?}"
    );
    ensure!(
        trace.all("assign_bd_address").any(|c| c.len() == 1),
        "the DDR segments are never assigned"
    );

    // Order: everything connected and assigned, then validate, wrapper, runs.
    let validate = trace.index("validate_bd_design")?;
    for cmd in ["connect_bd_net", "connect_bd_intf_net", "assign_bd_address"] {
        ensure!(
            trace.last_index(cmd)? < validate,
            "{cmd} after validate_bd_design"
        );
    }
    let wrapper_call = trace.index("make_wrapper")?;
    let launch = trace.one("launch_runs")?;
    ensure!(
        validate < wrapper_call && wrapper_call < trace.index("launch_runs")?,
        "validate, make_wrapper and launch_runs out of order"
    );
    ensure!(
        launch.contains(&"impl_1".to_string()) && opt(launch, "-to_step")? == "write_bitstream",
        "launch_runs {launch:?}"
    );
    ensure!(
        trace.index("launch_runs")? < trace.index("wait_on_run")?,
        "wait_on_run before launch_runs"
    );
    ensure!(
        trace.property("sources_1", "top") == Some("kiln_bd_wrapper"),
        "top is {:?}",
        trace.property("sources_1", "top")
    );

    // Every kernel pin the script names is a wrapper port.
    for (cmd, interface) in [("get_bd_pins", false), ("get_bd_intf_pins", true)] {
        for pin in trace.pins(cmd) {
            if let Some(port) = pin.strip_prefix(&format!("{kernel}/")) {
                ensure!(
                    has_port(&ports, port, interface),
                    "{pin} is not a port of kiln_kernel"
                );
            }
        }
    }

    // Files copied out and the manifest command.
    let bit = out.join(format!("{}-{}.bit", design.name, board.name));
    ensure!(
        std::fs::read_to_string(&bit).ok().as_deref() == Some("stub bitstream"),
        "{} was not copied out",
        bit.display()
    );
    let hwh = bit.with_extension("hwh");
    let want_hwh = board.transport == "devmem";
    ensure!(
        hwh.exists() == want_hwh,
        "{} exists: {}, wanted: {want_hwh}",
        hwh.display(),
        hwh.exists()
    );
    let manifest = format!(
        "kiln bitstream manifest --design {} --board {} --file {} --tool vivado={STUB_VIVADO}",
        design.name,
        board.name,
        bit.display()
    );
    ensure!(
        trace.stdout.lines().any(|l| l.trim() == manifest),
        "no `{manifest}` in:\n{}",
        trace.stdout
    );
    Ok(())
}

/// kernel.xml: parses, lists the register map's arguments at their offsets
/// on ports the wrapper has; returns the kernel's VLNV.
fn check_kernel_xml(xml: &str, wrapper: &str) -> Result<String, String> {
    let ports = wrapper_ports(wrapper);
    let doc = roxmltree::Document::parse(xml).map_err(|e| format!("kernel.xml: {e}"))?;
    let kernel = doc
        .descendants()
        .find(|n| n.has_tag_name("kernel"))
        .ok_or("no <kernel>")?;
    ensure!(
        kernel.attribute("name") == Some("kiln_kernel"),
        "kernel name"
    );
    ensure!(
        kernel.attribute("hwControlProtocol") == Some("ap_ctrl_hs"),
        "control protocol"
    );
    let declared: BTreeMap<&str, &str> = kernel
        .descendants()
        .filter(|n| n.has_tag_name("port"))
        .map(|n| {
            (
                n.attribute("name").unwrap_or(""),
                n.attribute("mode").unwrap_or(""),
            )
        })
        .collect();
    ensure!(
        declared.get("s_axi_control") == Some(&"slave")
            && declared.get("m_axi_gmem") == Some(&"master"),
        "ports {declared:?}"
    );
    for name in declared.keys() {
        ensure!(
            has_port(&ports, name, true),
            "kernel.xml port {name} is not on the wrapper"
        );
    }
    let args: Vec<_> = kernel
        .descendants()
        .filter(|n| n.has_tag_name("arg"))
        .collect();
    let expected = RegisterMap::builtin().unwrap().kernel_args();
    ensure!(
        args.len() == expected.len(),
        "{} args, map has {}",
        args.len(),
        expected.len()
    );
    for (node, want) in args.iter().zip(&expected) {
        let attr = |k: &str| node.attribute(k).unwrap_or("");
        ensure!(
            attr("name") == want.name,
            "arg {} is {}",
            want.name,
            attr("name")
        );
        ensure!(
            hex(attr("offset"))? == u64::from(want.offset),
            "{} offset {}",
            want.name,
            attr("offset")
        );
        ensure!(
            hex(attr("size"))? == u64::from(want.size),
            "{} size",
            want.name
        );
        ensure!(
            attr("id").parse::<u32>() == Ok(want.index),
            "{} id",
            want.name
        );
        let port = if want.pointer {
            "m_axi_gmem"
        } else {
            "s_axi_control"
        };
        ensure!(
            attr("port") == port,
            "{} on port {}",
            want.name,
            attr("port")
        );
        ensure!(
            declared.contains_key(attr("port")),
            "{} on an undeclared port",
            want.name
        );
    }
    Ok(kernel.attribute("vlnv").unwrap_or("").to_string())
}

/// The packaging script: same part and sources, the IP's VLNV is kernel.xml's,
/// every interface it names is on the wrapper, and package_xo gets kernel.xml.
fn check_package(
    trace: &Trace,
    out: &Path,
    design: &Design,
    board: &Board,
    wrapper: &str,
    vlnv: &str,
) -> Check {
    let ports = wrapper_ports(wrapper);
    ensure!(
        opt(trace.one("create_project")?, "-part")? == vendor_part(board),
        "packaging part"
    );
    check_sources(trace, out, design)?;
    ensure!(
        trace.property("sources_1", "top") == Some("kiln_kernel"),
        "packaging top"
    );
    let package = trace.one("ipx::package_project")?;
    let version = trace.property("stub_core", "version").unwrap_or("1.0");
    let ip_vlnv = format!(
        "{}:{}:kiln_kernel:{version}",
        opt(package, "-vendor")?,
        opt(package, "-library")?
    );
    ensure!(ip_vlnv == vlnv, "IP {ip_vlnv}, kernel.xml {vlnv}");
    for call in trace.all("ipx::associate_bus_interfaces") {
        if let Ok(busif) = opt(call, "-busif") {
            ensure!(
                has_port(&ports, busif, true),
                "bus interface {busif} is not on the wrapper"
            );
        }
        for flag in ["-clock", "-reset"] {
            if let Ok(pin) = opt(call, flag) {
                ensure!(ports.contains(pin), "{flag} {pin} is not a port");
            }
        }
    }
    for busif in ["s_axi_control", "m_axi_gmem"] {
        ensure!(
            trace
                .all("ipx::associate_bus_interfaces")
                .any(|c| opt(c, "-busif") == Ok(busif) && opt(c, "-clock") == Ok("ap_clk")),
            "{busif} is not associated with ap_clk"
        );
    }
    for (k, v) in [("sdx_kernel", "true"), ("sdx_kernel_type", "rtl")] {
        ensure!(trace.property("stub_core", k) == Some(v), "{k}");
    }
    let xo = trace.one("package_xo")?;
    ensure!(opt(xo, "-kernel_name")? == "kiln_kernel", "kernel name");
    ensure!(
        opt(xo, "-ip_directory")? == opt(package, "-root_dir")?,
        "ip directory"
    );
    ensure!(
        Path::new(opt(xo, "-kernel_xml")?) == out.join("kernel.xml"),
        "kernel_xml {:?}",
        opt(xo, "-kernel_xml")
    );
    ensure!(
        Path::new(opt(xo, "-xo_path")?) == out.join("kiln_kernel.xo"),
        "xo path"
    );
    ensure!(
        trace.index("ipx::save_core")? < trace.index("package_xo")?,
        "package_xo before save_core"
    );
    Ok(())
}

// ------------------------------------------------------------ tests

#[test]
fn every_design_on_every_board_lints_and_its_tcl_runs_under_stubs() {
    let cases = cases();
    assert!(cases.len() >= 8 * 4, "{} cases", cases.len());
    // Two workers: the machine has two cores and Verilator dominates.
    let chunks: Vec<Vec<(Design, Board)>> = (0..2)
        .map(|w| cases.iter().skip(w).step_by(2).cloned().collect())
        .collect();
    let failures: Vec<String> = std::thread::scope(|scope| {
        let workers: Vec<_> = chunks
            .iter()
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .filter_map(|(d, b)| check_case(d, b).err())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn check_case(design: &Design, board: &Board) -> Check {
    let label = format!("{} on {}", design.name, board.name);
    let in_case = |e: String| format!("{label}: {e}");
    let files = vivado_project(design, board).map_err(|e| in_case(e.to_string()))?;
    let wrapper = text(&files, "kiln_kernel.v");
    for with_board_files in [true, false] {
        let scratch = Scratch::new(&format!(
            "{}-{}-{with_board_files}",
            design.name, board.name
        ));
        let out = &scratch.0;
        write_files(out, &files);
        if with_board_files {
            lint(out, design).map_err(in_case)?;
        }
        let board_part = if with_board_files {
            STUB_BOARD_PART
        } else {
            ""
        };
        let trace = run_tcl(
            out,
            "build_bitstream.tcl",
            board_part,
            board.fabric_clock_mhz,
        )
        .map_err(in_case)?;
        check_build(&trace, out, design, board, wrapper, with_board_files).map_err(in_case)?;
        let xrt = board.transport == "xrt";
        let has_xml = files.iter().any(|f| f.path == "kernel.xml");
        ensure!(has_xml == xrt, "{label}: kernel.xml written: {has_xml}");
        if xrt {
            let vlnv = check_kernel_xml(text(&files, "kernel.xml"), wrapper).map_err(in_case)?;
            let trace = run_tcl(
                out,
                "package_kernel.tcl",
                board_part,
                board.fabric_clock_mhz,
            )
            .map_err(in_case)?;
            check_package(&trace, out, design, board, wrapper, &vlnv).map_err(in_case)?;
        }
    }
    Ok(())
}

#[test]
fn the_readme_gives_the_commands_in_order() {
    let design = Design::by_name("gemm-pot-8x8").unwrap();
    let z1 = Board::by_name("pynq-z1").unwrap();
    let files = vivado_project(&design, &z1).unwrap();
    let readme = text(&files, "README.md");
    let vivado = readme
        .find("vivado -mode batch -source build_bitstream.tcl")
        .unwrap();
    let manifest = readme
        .find("kiln bitstream manifest --design gemm-pot-8x8 --board pynq-z1")
        .unwrap();
    let deploy = readme.find("make deploy BOARD=pynq-z1").unwrap();
    assert!(vivado < manifest && manifest < deploy, "{readme}");

    let kv260 = Board::by_name("kv260").unwrap();
    let files = vivado_project(&design, &kv260).unwrap();
    let readme = text(&files, "README.md");
    let package = readme
        .find("vivado -mode batch -source package_kernel.tcl")
        .unwrap();
    let link = readme.find("v++ -l -t hw --platform").unwrap();
    let manifest = readme
        .find("--file bitstreams/gemm-pot-8x8-kv260.xclbin")
        .unwrap();
    let deploy = readme.find("make deploy BOARD=kv260").unwrap();
    assert!(
        package < link && link < manifest && manifest < deploy,
        "{readme}"
    );
}

// ------------------------------------------------------------ the checks fail

fn broken_case(name: &str) -> (Scratch, Vec<GeneratedFile>, Design, Board) {
    let design = Design::by_name("gemm-pot-8x8").unwrap();
    let board = Board::by_name("kv260").unwrap();
    let files = vivado_project(&design, &board).unwrap();
    let scratch = Scratch::new(name);
    write_files(&scratch.0, &files);
    (scratch, files, design, board)
}

#[test]
fn lint_fails_on_a_wrapper_with_a_wrong_address_width() {
    let (scratch, files, design, _) = broken_case("lint");
    lint(&scratch.0, &design).unwrap();
    let wrapper = text(&files, "kiln_kernel.v");
    let broken = wrapper.replacen(
        "[7:0]   s_axi_control_awaddr",
        "[11:0]  s_axi_control_awaddr",
        1,
    );
    assert_ne!(broken, wrapper, "the awaddr declaration moved");
    std::fs::write(scratch.0.join("kiln_kernel.v"), broken).unwrap();
    let err = lint(&scratch.0, &design).unwrap_err();
    assert!(err.contains("WIDTH"), "{err}");
}

#[test]
fn tcl_checks_fail_on_incomplete_scripts_unknown_commands_and_missing_ports() {
    let (scratch, files, design, board) = broken_case("tcl");
    let out = &scratch.0;
    let script = text(&files, "build_bitstream.tcl");
    let wrapper = text(&files, "kiln_kernel.v");
    let run = |text: &str| {
        std::fs::write(out.join("build_bitstream.tcl"), text).unwrap();
        run_tcl(
            out,
            "build_bitstream.tcl",
            STUB_BOARD_PART,
            board.fabric_clock_mhz,
        )
    };
    let trace = run(script).unwrap();
    check_build(&trace, out, &design, &board, wrapper, true).unwrap();

    // An unbalanced brace.
    let cut = &script[..script.rfind('}').unwrap()];
    let err = run(cut).unwrap_err();
    assert!(err.contains("not complete Tcl"), "{err}");

    // A Vivado command the stubs do not know.
    let err = run(&script.replace("validate_bd_design", "validate_bd_design_typo")).unwrap_err();
    assert!(err.contains("validate_bd_design_typo"), "{err}");

    // A kernel pin that is not on the wrapper.
    let trace = run(&script.replace("kiln_kernel_0/ap_clk", "kiln_kernel_0/aclk")).unwrap();
    let err = check_build(&trace, out, &design, &board, wrapper, true).unwrap_err();
    assert!(err.contains("aclk"), "{err}");

    // The register window at the wrong address.
    let trace = run(&script.replace(
        "set kiln_regs_base 0xA0000000",
        "set kiln_regs_base 0xB0000000",
    ))
    .unwrap();
    let err = check_build(&trace, out, &design, &board, wrapper, true).unwrap_err();
    assert!(err.contains("register offset"), "{err}");

    // The memory master on the wrong PS port.
    let trace = run(&script.replace("S_AXI_HP0_FPD]", "S_AXI_HP1_FPD]")).unwrap();
    let err = check_build(&trace, out, &design, &board, wrapper, true).unwrap_err();
    assert!(err.contains("does not reach"), "{err}");
}

#[test]
fn kernel_xml_and_packaging_checks_fail_on_mismatches() {
    let (scratch, files, design, board) = broken_case("xml");
    let out = &scratch.0;
    let xml = text(&files, "kernel.xml");
    let wrapper = text(&files, "kiln_kernel.v");
    let vlnv = check_kernel_xml(xml, wrapper).unwrap();
    assert_eq!(vlnv, "kiln:kernel:kiln_kernel:1.0");

    // Argument `m` (0x30) moved onto `n` (0x34).
    let moved = xml.replace("offset=\"0x30\"", "offset=\"0x34\"");
    assert_ne!(moved, xml);
    let err = check_kernel_xml(&moved, wrapper).unwrap_err();
    assert!(err.contains("offset"), "{err}");
    let err = check_kernel_xml(&xml.replace("</root>", ""), wrapper).unwrap_err();
    assert!(err.contains("kernel.xml"), "{err}");
    let err = check_kernel_xml(xml, &wrapper.replace("m_axi_gmem_", "m_axi_mem_")).unwrap_err();
    assert!(err.contains("m_axi_gmem"), "{err}");

    let script = text(&files, "package_kernel.tcl");
    std::fs::write(
        out.join("package_kernel.tcl"),
        script.replace("-vendor kiln", "-vendor xilinx.com"),
    )
    .unwrap();
    let trace = run_tcl(
        out,
        "package_kernel.tcl",
        STUB_BOARD_PART,
        board.fabric_clock_mhz,
    )
    .unwrap();
    let err = check_package(&trace, out, &design, &board, wrapper, &vlnv).unwrap_err();
    assert!(err.contains("xilinx.com:kernel:kiln_kernel"), "{err}");
}

#[test]
fn a_board_that_cannot_be_built_is_an_error_not_a_script() {
    let design = Design::by_name("bfp-mxint4").unwrap();
    let mut board = Board::by_name("zcu104").unwrap();
    board.addresses.registers = 0xA000_0100;
    assert!(matches!(
        vivado_project(&design, &board),
        Err(VivadoError::Misaligned { .. })
    ));
}
