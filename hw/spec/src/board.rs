//! Board files: one per supported board, in boards/<name>.toml.

use serde::{Deserialize, Serialize};

use crate::{check_file_name, invalid, parse_toml, SpecError};

include!(concat!(env!("OUT_DIR"), "/boards.rs"));

/// FPGA family, as yosys `synth_xilinx -family` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// 7-series (Zynq-7000): DSP48E1, CARRY4.
    Xc7,
    /// UltraScale+ (Zynq UltraScale+ MPSoC): DSP48E2, CARRY8.
    Xcup,
}

impl Family {
    /// The `-family` argument of yosys `synth_xilinx`.
    pub fn yosys_name(self) -> &'static str {
        match self {
            Family::Xc7 => "xc7",
            Family::Xcup => "xcup",
        }
    }
}

/// Programmable-logic resources of a part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    /// Six-input look-up tables.
    pub lut: u64,
    /// Flip-flops.
    pub ff: u64,
    /// DSP slices (DSP48E1 on 7-series, DSP48E2 on UltraScale+).
    pub dsp: u64,
    /// 36 Kb block RAMs (UltraRAM not counted).
    pub bram36: u64,
}

/// The accelerator's port to DDR, as the simulator's memory model uses it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Memory {
    /// AXI data width of the port, in bytes.
    pub port_bytes: u32,
    /// Sustained bytes per fabric cycle, in each direction.
    pub bytes_per_cycle: f64,
    /// Fabric cycles from an accepted read address to its first data beat.
    pub read_latency_cycles: u32,
    /// Fabric cycles from the last beat of a write burst to its response.
    pub write_latency_cycles: u32,
}

/// Physical addresses on the board.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Addresses {
    /// Base of the accelerator's AXI-Lite register window.
    pub registers: u64,
    /// Start of the DDR the processor and the accelerator share.
    pub ddr_base: u64,
    /// Size of that DDR in bytes.
    pub ddr_bytes: u64,
}

/// One board kiln can target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Board {
    /// Short name, used on the command line (`--board pynq-z1`).
    pub name: String,
    /// One line for listings.
    pub summary: String,
    /// Full Xilinx part number; its prefix (e.g. `xc7z020`) selects it with `--part`.
    pub part: String,
    /// FPGA family for synthesis.
    pub family: Family,
    /// Clock the accelerator's fabric runs at on this board, in MHz.
    pub fabric_clock_mhz: f64,
    /// Rust target triple of the board's processor.
    pub rust_target: String,
    /// How kiln reaches the accelerator there: `devmem` (Zynq-7000) or `xrt` (Zynq UltraScale+).
    pub transport: String,
    /// The accelerator's memory port.
    pub memory: Memory,
    /// Physical addresses.
    pub addresses: Addresses,
    /// Programmable-logic resources of the part.
    pub resources: Resources,
}

impl Board {
    /// Every board compiled into this binary, sorted by name.
    pub fn all() -> Result<Vec<Board>, SpecError> {
        BOARD_FILES
            .iter()
            .map(|(file, text)| Self::parse(file, text))
            .collect()
    }

    /// Parses and checks the text of a board file. `file` is its path,
    /// which errors name and whose stem the board's `name` must be.
    pub fn parse(file: &str, text: &str) -> Result<Board, SpecError> {
        let board: Board = parse_toml(file, text)?;
        check_file_name(file, &board.name)?;
        if !board.fabric_clock_mhz.is_finite() || board.fabric_clock_mhz <= 0.0 {
            return Err(invalid(file, "fabric_clock_mhz must be positive"));
        }
        if !["devmem", "xrt"].contains(&board.transport.as_str()) {
            return Err(invalid(
                file,
                format!(
                    "transport `{}` is unknown; use devmem or xrt",
                    board.transport
                ),
            ));
        }
        let m = &board.memory;
        if m.port_bytes == 0
            || !m.port_bytes.is_power_of_two()
            || !m.bytes_per_cycle.is_finite()
            || m.bytes_per_cycle <= 0.0
        {
            return Err(invalid(
                file,
                "[memory] needs a power-of-two port_bytes and a positive bytes_per_cycle",
            ));
        }
        if board.addresses.ddr_bytes == 0 {
            return Err(invalid(file, "[addresses] ddr_bytes must be positive"));
        }
        Ok(board)
    }

    /// The board with this name.
    pub fn by_name(name: &str) -> Result<Board, SpecError> {
        let boards = Self::all()?;
        let known = names(&boards);
        boards
            .into_iter()
            .find(|b| b.name == name)
            .ok_or_else(|| SpecError::Unknown {
                what: "board",
                name: name.to_string(),
                known,
            })
    }

    /// The first board (by name) whose part starts with `part`, e.g. `xc7z020`.
    pub fn by_part(part: &str) -> Result<Board, SpecError> {
        let boards = Self::all()?;
        let known = boards
            .iter()
            .map(|b| b.part.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let wanted = part.to_ascii_lowercase();
        boards
            .into_iter()
            .find(|b| !wanted.is_empty() && b.part.starts_with(&wanted))
            .ok_or_else(|| SpecError::Unknown {
                what: "part",
                name: part.to_string(),
                known,
            })
    }
}

fn names(boards: &[Board]) -> String {
    boards
        .iter()
        .map(|b| b.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_four_boards_load_and_parts_resolve() {
        let names: Vec<_> = Board::all().unwrap().into_iter().map(|b| b.name).collect();
        assert_eq!(names, ["kv260", "pynq-z1", "pynq-z2", "zcu104"]);
        let z1 = Board::by_part("xc7z020").unwrap();
        assert_eq!(z1.resources.lut, 53_200);
        assert_eq!(z1.family, Family::Xc7);
        let err = Board::by_part("xc7a35t").unwrap_err().to_string();
        assert!(
            err.contains("xc7a35t") && err.contains("xc7z020clg400-1"),
            "{err}"
        );
    }
}
