//! Byte budgets: what one GEMM or BFP MatMul needs of the board's DDR and
//! of this machine's memory, computed from its shape before anything is
//! allocated. A call that cannot fit is refused with both figures, instead
//! of growing until the kernel kills it or an allocation aborts.
//!
//! This module holds what every engine's budget shares; each engine's own
//! budget is in its folder (`engines/<engine>/budget.rs`).
//!
//! **Device side** (each engine's `*_bytes`, [`check_device`]): the
//! buffers exactly as [`crate::backend::DeviceBackend`] lays out the
//! engine's job: the job's own stride functions, a region of `rows *
//! stride` bytes per operand (in checked u64), allocated in the backend's
//! order, each in whole pages ([`kiln_driver::transport::allocation_bytes`],
//! what every transport takes). The descriptor the backend would submit is
//! then put through the driver's own validation, so the design's limits
//! (K depth, register widths, strides, bounds) are the driver's, checked
//! before any allocation rather than after.
//!
//! **Host side** (each engine's `host_*_bytes`, [`check_host`]): an upper
//! bound of what the
//! host allocates for the call: operands, the golden model's scratch and
//! results, the checks' own vectors, the packed copies for a device and,
//! for the simulator, the simulated DDR the buffers occupy. Every vector is
//! counted as if all were live at once, except the golden model's scratch,
//! counted once because its runs follow one another. [`HostMemory::read`]
//! says how much this process may still allocate.
//!
//! Every size is computed in checked u64 arithmetic: an overflow is
//! [`BudgetError::Overflow`], never a wrapped, smaller number.

use std::fmt;
use std::io;
use std::mem::size_of;
use std::path::{Path, PathBuf};

use kiln_driver::transport::{allocation_bytes, ALLOC_ALIGN};
use kiln_driver::{DescriptorError, DeviceBuffer, Operand};
use kiln_spec::{Board, SpecError};

use crate::backend::BackendError;
use crate::engines::gemm::GemmError;
use crate::formats::FormatError;

/// Which memory a [`Budget`] is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The board's DDR, where the accelerator reads and writes.
    Device,
    /// This machine's memory, where kiln runs.
    Host,
}

/// One named share of a budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub name: &'static str,
    pub bytes: u64,
}

/// The bytes one call needs of one memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Budget {
    /// The call, for messages: `a 256x256x256 (MxNxK) GEMM on gemm-pot-8x8
    /// with int8 output`.
    pub call: String,
    pub side: Side,
    /// Device: one part per buffer, its exact size. Host: one per group of
    /// allocations.
    pub parts: Vec<Part>,
    /// Device: the parts each rounded up to whole allocation pages, summed
    /// (what the transports take). Host: the parts summed.
    pub total: u64,
    /// Host: address space mapped beyond `total` whose pages are never
    /// touched, so cost no memory but count against an address-space limit
    /// (the rest of the simulator's DDR image). 0 otherwise.
    pub mapped: u64,
}

impl fmt::Display for Budget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let side = match self.side {
            Side::Device => "device",
            Side::Host => "host",
        };
        write!(
            f,
            "{} needs {} of {side} memory (",
            self.call,
            bytes(self.total)
        )?;
        for (i, part) in self.parts.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            write!(f, "{sep}{} {}", part.name, bytes(part.bytes))?;
        }
        if self.side == Side::Device {
            write!(
                f,
                "; each buffer takes whole {} pages",
                human_bytes(ALLOC_ALIGN)
            )?;
        }
        write!(f, ")")?;
        if self.mapped > 0 {
            write!(
                f,
                " and maps {} more address space for the simulated DDR image",
                bytes(self.mapped)
            )?;
        }
        Ok(())
    }
}

/// Where a backend keeps its device buffers, for the host side of a budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendMemory {
    /// The golden model: no device buffers, only host vectors.
    Golden,
    /// A board's DDR (devmem, xrt): the host holds the packed copies it
    /// writes and the C it reads back.
    Device,
    /// The simulator: as [`BackendMemory::Device`], and the simulated DDR
    /// is host memory too. Its image of the board's `ddr_bytes` is mapped
    /// whole when the simulator opens; its pages become resident as the
    /// buffers are written.
    Simulated { ddr_bytes: u64 },
}

/// One limit on what this process may still allocate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    pub available: u64,
    /// What sets it: `MemAvailable in /proc/meminfo`, a memory cgroup's
    /// limit, or the address-space limit.
    pub what: String,
}

/// How much this process may still allocate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostMemory {
    /// Memory that may still become resident: the least of MemAvailable
    /// and the headroom of every memory cgroup the process is in.
    pub resident: Limit,
    /// Address space that may still be mapped, when RLIMIT_AS is set.
    pub address_space: Option<Limit>,
}

/// Why a call's sizes are refused, or could not be worked out.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BudgetError {
    #[error(
        "{dim} is {value}; the accelerator's {dim} register holds 1 to {}",
        u32::MAX
    )]
    Dimension { dim: &'static str, value: u64 },
    /// Only on a host whose usize is narrower than 64 bits: the layout
    /// functions compute a row's bytes in usize.
    #[error(
        "{dim} is {value}; on this {}-bit host a row's bytes are computed in usize, which holds \
         dimensions up to {max}",
        usize::BITS
    )]
    HostWord {
        dim: &'static str,
        value: u64,
        max: u64,
    },
    #[error("{call}: {what} overflows 64-bit arithmetic; no memory holds it")]
    Overflow { call: String, what: String },
    #[error(
        "{call}: the row stride of {operand} is {stride} bytes, but the {register} register \
         holds at most {} (4 GiB - 1)",
        u32::MAX
    )]
    Stride {
        call: String,
        operand: &'static str,
        register: &'static str,
        stride: u64,
    },
    #[error(
        "{call}: K is {k}, {padded} once padded to whole blocks; design `{design}` holds K up \
         to {k_depth} (its k_depth)"
    )]
    KTooLong {
        call: String,
        design: String,
        k: usize,
        padded: usize,
        k_depth: u32,
    },
    #[error("{call}: the driver refuses it: {source}")]
    Descriptor {
        call: String,
        #[source]
        source: DescriptorError,
    },
    #[error(
        "{budget}; board {board} has {} of DDR ({ddr_bytes:#x} bytes)",
        bytes(*ddr_bytes)
    )]
    Device {
        budget: Box<Budget>,
        board: String,
        ddr_bytes: u64,
    },
    #[error("{budget}; this machine has {} available ({})", bytes(limit.available), limit.what)]
    Host { budget: Box<Budget>, limit: Limit },
    #[error("cannot tell how much memory this machine has: {reason}")]
    HostUnknown { reason: String },
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error(transparent)]
    Gemm(#[from] GemmError),
    #[error(transparent)]
    Format(#[from] FormatError),
    #[error(transparent)]
    Backend(#[from] Box<BackendError>),
}

impl From<BackendError> for BudgetError {
    fn from(e: BackendError) -> Self {
        BudgetError::Backend(Box::new(e))
    }
}

/// `536870912 bytes (512 MiB)`: exact, then readable (below 1 KiB the
/// exact figure is the readable one).
pub fn bytes(n: u64) -> String {
    if n < 1024 {
        return format!("{n} bytes");
    }
    format!("{n} bytes ({})", human_bytes(n))
}

/// `n` in binary units with one decimal (`23.3 GiB`), none when whole
/// (`512 MiB`).
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let (mut value, mut unit) = (n as f64, "B");
    for u in UNITS {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = u;
    }
    if value.fract() == 0.0 {
        format!("{value:.0} {unit}")
    } else {
        format!("{value:.1} {unit}")
    }
}

/// `a * b * ...` in u64, or [`BudgetError::Overflow`] naming `what`.
pub(crate) fn product(call: &str, what: &str, factors: &[u64]) -> Result<u64, BudgetError> {
    factors
        .iter()
        .try_fold(1u64, |acc, &f| acc.checked_mul(f))
        .ok_or_else(|| overflow(call, what))
}

pub(crate) fn overflow(call: &str, what: &str) -> BudgetError {
    BudgetError::Overflow {
        call: call.to_string(),
        what: what.to_string(),
    }
}

pub(crate) fn sum_parts(call: &str, parts: &[Part]) -> Result<u64, BudgetError> {
    parts
        .iter()
        .try_fold(0u64, |acc, p| acc.checked_add(p.bytes))
        .ok_or_else(|| overflow(call, "the total"))
}

/// Checks M, N and K against the 32-bit registers (and, on a 32-bit host,
/// against the usize the layout functions compute rows in) and returns
/// them as register values.
pub(crate) fn register_dims(dims: [(&'static str, usize); 3]) -> Result<[u32; 3], BudgetError> {
    // Every row function multiplies a dimension by at most 8 (bits per
    // code, or 4 bytes per f32 plus alignment): below this, none overflows.
    let usize_max = (usize::MAX / 8) as u64;
    let mut out = [0u32; 3];
    for (slot, (dim, value)) in out.iter_mut().zip(dims) {
        let value64 = value as u64;
        let Some(reg) = u32::try_from(value).ok().filter(|&v| v > 0) else {
            return Err(BudgetError::Dimension {
                dim,
                value: value64,
            });
        };
        if value64 > usize_max {
            return Err(BudgetError::HostWord {
                dim,
                value: value64,
                max: usize_max,
            });
        }
        *slot = reg;
    }
    Ok(out)
}

/// The 32-bit stride registers (LDA, LDB, LDC) must hold each stride: the
/// driver refuses a wider one only when it writes them.
pub(crate) fn check_strides(
    call: &str,
    [lda, ldb, ldc]: [usize; 3],
    b_name: &'static str,
) -> Result<(), BudgetError> {
    for (operand, register, stride) in [("A", "LDA", lda), (b_name, "LDB", ldb), ("C", "LDC", ldc)]
    {
        let stride = stride as u64;
        if stride > u64::from(u32::MAX) {
            return Err(BudgetError::Stride {
                call: call.to_string(),
                operand,
                register,
                stride,
            });
        }
    }
    Ok(())
}

/// `rows * stride`, the size of every operand region in both layouts.
pub(crate) fn region(
    call: &str,
    name: &'static str,
    rows: usize,
    stride: usize,
) -> Result<Part, BudgetError> {
    Ok(Part {
        name,
        bytes: product(call, name, &[rows as u64, stride as u64])?,
    })
}

/// The buffers of `parts` as the device backend allocates them, one after
/// another from address 0 (a transport's allocator is a bump pointer from
/// its region's start), and the bytes they take in all.
pub(crate) fn allocate(
    call: &str,
    parts: &[Part],
) -> Result<(Vec<DeviceBuffer>, u64), BudgetError> {
    let mut at = 0u64;
    let mut buffers = Vec::with_capacity(parts.len());
    for part in parts {
        let taken = allocation_bytes(part.bytes).ok_or_else(|| overflow(call, part.name))?;
        buffers.push(DeviceBuffer {
            phys: at,
            len: part.bytes.max(1),
        });
        at = at
            .checked_add(taken)
            .ok_or_else(|| overflow(call, "the total"))?;
    }
    Ok((buffers, at))
}

pub(crate) fn operand(buffer: DeviceBuffer, stride: usize) -> Operand {
    Operand {
        buffer,
        offset: 0,
        stride: stride as u64,
    }
}

/// Refuses a device budget larger than `board`'s DDR.
pub fn check_device(budget: &Budget, board: &Board) -> Result<(), BudgetError> {
    let ddr_bytes = board.addresses.ddr_bytes;
    if budget.total > ddr_bytes {
        return Err(BudgetError::Device {
            budget: Box::new(budget.clone()),
            board: board.name.clone(),
            ddr_bytes,
        });
    }
    Ok(())
}

/// Host parts, summed with overflow checks as they are added.
pub(crate) struct HostParts<'a> {
    pub(crate) call: &'a str,
    pub(crate) parts: Vec<Part>,
}

impl HostParts<'_> {
    pub(crate) fn add(&mut self, name: &'static str, factors: &[u64]) -> Result<(), BudgetError> {
        let bytes = product(self.call, name, factors)?;
        self.add_bytes(name, bytes);
        Ok(())
    }

    pub(crate) fn add_bytes(&mut self, name: &'static str, bytes: u64) {
        self.parts.push(Part { name, bytes });
    }

    /// What a device backend adds: its packed copies and read-back C (the
    /// device parts themselves) and, simulated, the DDR pages they occupy;
    /// returns the address space the rest of the DDR image maps.
    pub(crate) fn device(
        &mut self,
        device: &Budget,
        memory: BackendMemory,
    ) -> Result<u64, BudgetError> {
        if memory == BackendMemory::Golden {
            return Ok(0);
        }
        self.add_bytes(
            "packed operands and read-back C",
            sum_parts(self.call, &device.parts)?,
        );
        match memory {
            BackendMemory::Simulated { ddr_bytes } => {
                self.add_bytes("simulated DDR pages", device.total);
                Ok(ddr_bytes.saturating_sub(device.total))
            }
            _ => Ok(0),
        }
    }

    pub(crate) fn finish(self, mapped: u64) -> Result<Budget, BudgetError> {
        Ok(Budget {
            total: sum_parts(self.call, &self.parts)?,
            call: self.call.to_string(),
            side: Side::Host,
            parts: self.parts,
            mapped,
        })
    }
}

pub(crate) const I32: u64 = size_of::<i32>() as u64;
pub(crate) const F32: u64 = size_of::<f32>() as u64;
pub(crate) const F64: u64 = size_of::<f64>() as u64;

pub(crate) fn sum_u64(call: &str, what: &str, values: &[u64]) -> Result<u64, BudgetError> {
    values
        .iter()
        .try_fold(0u64, |acc, &v| acc.checked_add(v))
        .ok_or_else(|| overflow(call, what))
}

/// Refuses a host budget larger than `memory` allows: its total against
/// the memory that may become resident, and with what it only maps
/// against the address space left.
pub fn check_host(budget: &Budget, memory: &HostMemory) -> Result<(), BudgetError> {
    let refuse = |limit: &Limit| BudgetError::Host {
        budget: Box::new(budget.clone()),
        limit: limit.clone(),
    };
    if budget.total > memory.resident.available {
        return Err(refuse(&memory.resident));
    }
    if let Some(space) = &memory.address_space {
        let mapped = budget
            .total
            .checked_add(budget.mapped)
            .ok_or_else(|| overflow(&budget.call, "the address space"))?;
        if mapped > space.available {
            return Err(refuse(space));
        }
    }
    Ok(())
}

impl HostMemory {
    /// What this process may still allocate: resident, the least of
    /// MemAvailable (/proc/meminfo) and the headroom of every memory cgroup
    /// it is in (v1 and v2, up to the root); mapped, its address-space
    /// limit less its current size. Errors when /proc/meminfo cannot be read or has no
    /// MemAvailable: without it there is no figure to trust. The other
    /// limits count only where they exist.
    pub fn read() -> Result<Self, BudgetError> {
        Self::read_with(&|path| std::fs::read_to_string(path))
    }

    /// [`HostMemory::read`] over any file reader (tests give it a fake
    /// /proc and /sys).
    fn read_with(read: &dyn Fn(&Path) -> io::Result<String>) -> Result<Self, BudgetError> {
        let meminfo = read(Path::new("/proc/meminfo")).map_err(|e| BudgetError::HostUnknown {
            reason: format!("reading /proc/meminfo: {e}"),
        })?;
        let available =
            kib_field(&meminfo, "MemAvailable:").ok_or_else(|| BudgetError::HostUnknown {
                reason: "/proc/meminfo has no MemAvailable line".into(),
            })?;
        let mut resident = Limit {
            available,
            what: "MemAvailable in /proc/meminfo".into(),
        };
        if let Ok(cgroups) = read(Path::new("/proc/self/cgroup")) {
            for (dir, limit_file, usage_file) in cgroup_dirs(&cgroups) {
                let value = |file: &str| {
                    read(&dir.join(file))
                        .ok()
                        .and_then(|t| t.trim().parse::<u64>().ok())
                };
                // memory.max reads `max` when unlimited: no number, no limit.
                if let (Some(limit), Some(usage)) = (value(limit_file), value(usage_file)) {
                    if limit.saturating_sub(usage) < resident.available {
                        resident = Limit {
                            available: limit.saturating_sub(usage),
                            what: format!(
                                "the memory cgroup limit {} less its usage",
                                dir.join(limit_file).display()
                            ),
                        };
                    }
                }
            }
        }
        let mut address_space = None;
        if let (Ok(limits), Ok(status)) = (
            read(Path::new("/proc/self/limits")),
            read(Path::new("/proc/self/status")),
        ) {
            if let (Some(limit), Some(size)) =
                (address_space_limit(&limits), kib_field(&status, "VmSize:"))
            {
                address_space = Some(Limit {
                    available: limit.saturating_sub(size),
                    what: format!(
                        "the address-space limit (RLIMIT_AS) of {} less this process's {}",
                        human_bytes(limit),
                        human_bytes(size)
                    ),
                });
            }
        }
        Ok(HostMemory {
            resident,
            address_space,
        })
    }
}

/// `Name:   1234 kB` from /proc/meminfo or /proc/self/status, in bytes.
fn kib_field(text: &str, name: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(name))?;
    let mut words = line[name.len()..].split_whitespace();
    let value: u64 = words.next()?.parse().ok()?;
    match words.next() {
        Some("kB") => value.checked_mul(1024),
        None => Some(value),
        Some(_) => None,
    }
}

/// The soft `Max address space` of /proc/self/limits; `None` when unlimited.
fn address_space_limit(limits: &str) -> Option<u64> {
    const NAME: &str = "Max address space";
    let line = limits.lines().find(|l| l.starts_with(NAME))?;
    line[NAME.len()..].split_whitespace().next()?.parse().ok()
}

/// The memory-cgroup directories this process is in, from /proc/self/cgroup,
/// innermost first, each with its limit and usage files: v2 (`0::/path`,
/// memory.max and memory.current under /sys/fs/cgroup) and v1 (a `memory`
/// controller line, memory.limit_in_bytes and memory.usage_in_bytes under
/// /sys/fs/cgroup/memory). Every ancestor limits too.
fn cgroup_dirs(text: &str) -> Vec<(PathBuf, &'static str, &'static str)> {
    let mut dirs = Vec::new();
    for line in text.lines() {
        let mut fields = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) =
            (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let (base, limit, usage) = if controllers.is_empty() {
            ("/sys/fs/cgroup", "memory.max", "memory.current")
        } else if controllers.split(',').any(|c| c == "memory") {
            (
                "/sys/fs/cgroup/memory",
                "memory.limit_in_bytes",
                "memory.usage_in_bytes",
            )
        } else {
            continue;
        };
        let mut dir = Some(Path::new(path));
        while let Some(d) = dir {
            let relative = d.strip_prefix("/").unwrap_or(d);
            dirs.push((Path::new(base).join(relative), limit, usage));
            dir = d.parent();
        }
    }
    dirs
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn human_units() {
        assert_eq!(human_bytes(1000), "1000 B");
        assert_eq!(human_bytes(0x2000_0000), "512 MiB");
        assert_eq!(human_bytes(10_000_000_000), "9.3 GiB");
        assert_eq!(human_bytes(u64::MAX), "16 EiB");
    }

    fn fake(files: &[(&str, &str)]) -> impl Fn(&Path) -> io::Result<String> {
        let files: HashMap<PathBuf, String> = files
            .iter()
            .map(|(p, t)| (PathBuf::from(p), t.to_string()))
            .collect();
        move |p| {
            files
                .get(p)
                .cloned()
                .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
        }
    }

    #[test]
    fn host_memory_takes_the_tightest_limit() {
        let meminfo = "MemTotal: 8000 kB\nMemAvailable:    4000 kB\n";
        let only = HostMemory::read_with(&fake(&[("/proc/meminfo", meminfo)])).unwrap();
        assert_eq!(only.resident.available, 4000 * 1024);
        assert_eq!(only.resident.what, "MemAvailable in /proc/meminfo");
        assert_eq!(only.address_space, None);

        // A v2 cgroup whose parent is the tighter, then an address-space limit.
        let files = [
            ("/proc/meminfo", meminfo),
            ("/proc/self/cgroup", "0::/a/b\n"),
            ("/sys/fs/cgroup/a/b/memory.max", "max\n"),
            ("/sys/fs/cgroup/a/b/memory.current", "100\n"),
            ("/sys/fs/cgroup/a/memory.max", "3000000\n"),
            ("/sys/fs/cgroup/a/memory.current", "1000000\n"),
        ];
        let cg = HostMemory::read_with(&fake(&files)).unwrap();
        assert_eq!(cg.resident.available, 2_000_000);
        assert!(
            cg.resident.what.contains("/sys/fs/cgroup/a/memory.max"),
            "{}",
            cg.resident.what
        );

        let limits = "Limit  Soft Limit  Hard Limit  Units\n\
                      Max address space         1048576         unlimited            bytes\n";
        let mut more = files.to_vec();
        more.push(("/proc/self/limits", limits));
        more.push(("/proc/self/status", "Name: kiln\nVmSize:  512 kB\n"));
        let rl = HostMemory::read_with(&fake(&more)).unwrap();
        assert_eq!(rl.resident, cg.resident);
        let space = rl.address_space.unwrap();
        assert_eq!(space.available, 1_048_576 - 512 * 1024);
        assert!(space.what.contains("RLIMIT_AS"), "{}", space.what);

        // A v1 memory controller line.
        let v1 = [
            ("/proc/meminfo", meminfo),
            ("/proc/self/cgroup", "4:memory:/job\n1:cpu:/\n"),
            ("/sys/fs/cgroup/memory/job/memory.limit_in_bytes", "1000\n"),
            ("/sys/fs/cgroup/memory/job/memory.usage_in_bytes", "400\n"),
        ];
        assert_eq!(
            HostMemory::read_with(&fake(&v1))
                .unwrap()
                .resident
                .available,
            600
        );

        let err = HostMemory::read_with(&fake(&[])).unwrap_err().to_string();
        assert!(
            err.starts_with("cannot tell how much memory this machine has: reading /proc/meminfo"),
            "{err}"
        );
        let err = HostMemory::read_with(&fake(&[("/proc/meminfo", "MemTotal: 1 kB\n")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("no MemAvailable"), "{err}");
    }
}
