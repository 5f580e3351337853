//! The GEMM engine's byte budgets (see `crate::budget`): its device
//! buffers exactly as its job lays them out, and what `kiln gemm` holds on
//! the host, from the shape alone.

use std::mem::size_of;

use kiln_driver::Job as _;
use kiln_spec::{Board, Design, GemmArray};

use super::job::GemmDescriptor;
use super::layout::{Strides, CHANNEL_RECORD_BYTES};
use super::{ChannelParams, OutputMode};
use crate::backend::expected_design;
use crate::budget::{
    allocate, check_device, check_strides, operand, overflow, product, region, register_dims,
    sum_u64, BackendMemory, Budget, BudgetError, HostParts, Side, I32,
};
use crate::formats::Codebook;

/// The device buffers of an M x N x K GEMM on `design` with `output`: A,
/// B, C and the channel parameters, as the device backend allocates them.
/// Errors when the design is not a GEMM design, a dimension does not fit
/// its register, a stride does not fit its register, a size overflows, or
/// the driver would refuse the descriptor.
pub fn gemm_bytes(
    design: &Design,
    m: usize,
    n: usize,
    k: usize,
    output: OutputMode,
) -> Result<Budget, BudgetError> {
    design.params::<GemmArray>()?;
    let call = format!(
        "a {m}x{n}x{k} (MxNxK) GEMM on {} with {} output",
        design.name,
        output_name(output)
    );
    let [m32, n32, k32] = register_dims([("M", m), ("N", n), ("K", k)])?;
    let bits = design.weight_bits()?;
    let strides = Strides::packed(n, k, bits, output)?;
    check_strides(&call, [strides.lda, strides.ldb, strides.ldc], "B")?;
    // The device backend's allocation order: A, B, C, channel parameters.
    let parts = vec![
        region(&call, "A", m, strides.lda)?,
        region(&call, "B", n, strides.ldb)?,
        region(&call, "C", m, strides.ldc)?,
        region(&call, "channel parameters", n, CHANNEL_RECORD_BYTES)?,
    ];
    let (buffers, total) = allocate(&call, &parts)?;
    let desc = GemmDescriptor {
        m: m32,
        n: n32,
        k: k32,
        a: operand(buffers[0], strides.lda),
        b: operand(buffers[1], strides.ldb),
        c: operand(buffers[2], strides.ldc),
        params: operand(buffers[3], 0),
        act_zero_point: 0,
        output,
    };
    desc.validate(&expected_design(design)?.identity)
        .map_err(|source| BudgetError::Descriptor {
            call: call.clone(),
            source,
        })?;
    Ok(Budget {
        call,
        side: Side::Device,
        parts,
        total,
        mapped: 0,
    })
}

/// [`gemm_bytes`], then [`check_device`] on `board`: the one call that
/// says whether a GEMM shape can run on the board at all.
pub fn check_gemm(
    design: &Design,
    board: &Board,
    m: usize,
    n: usize,
    k: usize,
    output: OutputMode,
) -> Result<Budget, BudgetError> {
    let budget = gemm_bytes(design, m, n, k, output)?;
    check_device(&budget, board)?;
    Ok(budget)
}

fn output_name(output: OutputMode) -> &'static str {
    match output {
        OutputMode::Int8 { .. } => "int8",
        OutputMode::Int32 => "int32",
    }
}

/// Host bytes of one random GEMM checked against the golden model (`kiln
/// gemm`, `kiln bench gemm`) on a backend of `memory`. Errors as
/// [`gemm_bytes`] does.
pub fn host_gemm_bytes(
    design: &Design,
    m: usize,
    n: usize,
    k: usize,
    output: OutputMode,
    memory: BackendMemory,
) -> Result<Budget, BudgetError> {
    let device = gemm_bytes(design, m, n, k, output)?;
    let (m, n, k) = (m as u64, n as u64, k as u64);
    let mut host = HostParts {
        call: &device.call,
        parts: Vec::new(),
    };
    let mk = product(host.call, "M x K", &[m, k])?;
    let nk = product(host.call, "N x K", &[n, k])?;
    let mn = product(host.call, "M x N", &[m, n])?;
    host.add_bytes(
        "A and B operands",
        mk.checked_add(nk)
            .ok_or_else(|| overflow(host.call, "A and B"))?,
    );
    host.add(
        "channel parameters",
        &[n, size_of::<ChannelParams>() as u64],
    )?;
    // golden_gemm widens A and the decoded B to i16 when every codebook
    // value fits (else i32), transposes B as i32 for short K (counted
    // always), and keeps two i32 per channel (sums, corrections).
    design.params::<GemmArray>()?;
    let codebook = Codebook::of_design(design)?;
    let fits_i16 = codebook.values().iter().all(|&v| i16::try_from(v).is_ok());
    let wide = if fits_i16 {
        size_of::<i16>()
    } else {
        size_of::<i32>()
    } as u64;
    let scratch = [
        product(host.call, "golden scratch", &[mk, wide])?,
        product(host.call, "golden scratch", &[nk, wide + I32])?,
        product(host.call, "golden scratch", &[n, 2 * I32])?,
    ];
    host.add_bytes(
        "golden model scratch",
        sum_u64(host.call, "golden model scratch", &scratch)?,
    );
    host.add("golden reference C", &[mn, I32])?;
    host.add("backend C", &[mn, I32])?;
    let mapped = host.device(&device, memory)?;
    host.finish(mapped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::budget::{bytes, check_host, HostMemory, Limit};
    use crate::engines::gemm::layout;

    fn design(name: &str) -> Design {
        Design::by_name(name).unwrap()
    }

    /// The device parts are the layout functions' sizes, so the packers and
    /// this budget cannot disagree.
    #[test]
    fn device_parts_are_the_layout_sizes() {
        let d = design("gemm-pot-8x8");
        let bits = d.weight_bits().unwrap();
        for (m, n, k, output) in [
            (3, 5, 13, OutputMode::Int8 { zero_point: 0 }),
            (17, 9, 33, OutputMode::Int32),
            (1, 1, 1, OutputMode::Int32),
        ] {
            let b = gemm_bytes(&d, m, n, k, output).unwrap();
            let s = Strides::packed(n, k, bits, output).unwrap();
            let expected = [
                layout::a_bytes(m, s.lda),
                layout::b_bytes(n, s.ldb),
                layout::c_bytes(m, s.ldc),
                layout::channel_bytes(n),
            ];
            let got: Vec<u64> = b.parts.iter().map(|p| p.bytes).collect();
            assert_eq!(got, expected.map(|e| e as u64));
            // Four buffers, each at least one page.
            let pages: u64 = expected
                .iter()
                .map(|&e| (e as u64).max(1).div_ceil(4096) * 4096)
                .sum();
            assert_eq!(b.total, pages);
        }
    }

    #[test]
    fn design_limits_and_overflow_are_typed() {
        let gemm = design("gemm-pot-8x8");
        let int8 = OutputMode::Int8 { zero_point: 0 };
        assert!(matches!(
            gemm_bytes(&gemm, 0, 1, 1, int8),
            Err(BudgetError::Dimension { dim: "M", value: 0 })
        ));
        assert!(matches!(
            gemm_bytes(&gemm, 1, 1, u32::MAX as usize + 1, int8),
            Err(BudgetError::Dimension { dim: "K", .. })
        ));
        // K = 2^32 - 1 rounds to an LDA of 2^32, one past the register.
        assert!(matches!(
            gemm_bytes(&gemm, 1, 1, u32::MAX as usize, int8),
            Err(BudgetError::Stride {
                register: "LDA",
                ..
            })
        ));
        // Every region fits u64 but A + B + C does not.
        let err = gemm_bytes(
            &gemm,
            u32::MAX as usize,
            1 << 30,
            (u32::MAX - 7) as usize,
            int8,
        )
        .unwrap_err();
        assert!(matches!(err, BudgetError::Overflow { .. }), "{err}");
        assert!(matches!(
            gemm_bytes(&design("bfp-mxint8"), 1, 1, 1, int8),
            Err(BudgetError::Spec(_))
        ));
    }

    #[test]
    fn device_check_names_both_figures() {
        let d = design("gemm-pot-8x8");
        let board = Board::by_name("pynq-z1").unwrap();
        let small = check_gemm(&d, &board, 64, 64, 64, OutputMode::Int32).unwrap();
        assert!(small.total <= board.addresses.ddr_bytes);
        let err = check_gemm(&d, &board, 100_000, 100_000, 100_000, OutputMode::Int32)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("a 100000x100000x100000 (MxNxK) GEMM on gemm-pot-8x8"),
            "{err}"
        );
        assert!(err.contains("A 10000000000 bytes (9.3 GiB)"), "{err}");
        assert!(
            err.ends_with("board pynq-z1 has 536870912 bytes (512 MiB) of DDR (0x20000000 bytes)"),
            "{err}"
        );
    }

    #[test]
    fn host_budgets_count_the_backends_memory() {
        let d = design("gemm-pot-8x8");
        let out = OutputMode::Int8 { zero_point: 0 };
        let golden = host_gemm_bytes(&d, 100, 200, 300, out, BackendMemory::Golden).unwrap();
        let device = host_gemm_bytes(&d, 100, 200, 300, out, BackendMemory::Device).unwrap();
        let ddr_bytes = 1 << 29;
        let simulated = BackendMemory::Simulated { ddr_bytes };
        let sim = host_gemm_bytes(&d, 100, 200, 300, out, simulated).unwrap();
        let dev = gemm_bytes(&d, 100, 200, 300, out).unwrap();
        let packed: u64 = dev.parts.iter().map(|p| p.bytes).sum();
        assert_eq!(device.total, golden.total + packed);
        assert_eq!((golden.mapped, device.mapped), (0, 0));
        assert_eq!(sim.total, device.total + dev.total);
        // The whole DDR image is mapped; the buffers' pages are resident.
        assert_eq!(sim.total + sim.mapped, device.total + ddr_bytes);
        // The operands alone: 100 x 300 activations and 200 x 300 codes.
        assert_eq!(golden.parts[0].bytes, 100 * 300 + 200 * 300);

        let limit = |available: u64, what: &str| Limit {
            available,
            what: what.into(),
        };
        let tight = HostMemory {
            resident: limit(golden.total - 1, "a test"),
            address_space: None,
        };
        let err = check_host(&golden, &tight).unwrap_err().to_string();
        assert!(
            err.contains(&format!("needs {} bytes", golden.total)),
            "{err}"
        );
        assert!(err.ends_with(&format!(
            "has {} available (a test)",
            bytes(golden.total - 1)
        )));
        // Resident memory enough, but not the address space for the image.
        let mapped_out = HostMemory {
            resident: limit(u64::MAX, "plenty"),
            address_space: Some(limit(sim.total + sim.mapped - 1, "a limit")),
        };
        check_host(&golden, &mapped_out).unwrap();
        let err = check_host(&sim, &mapped_out).unwrap_err().to_string();
        assert!(err.contains("for the simulated DDR image"), "{err}");
        assert!(err.ends_with("available (a limit)"), "{err}");
    }
}
