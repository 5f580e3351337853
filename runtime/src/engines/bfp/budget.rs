//! The BFP engine's byte budgets (see `crate::budget`): its device
//! buffers exactly as its job lays them out, and what `kiln matmul` and
//! `kiln bench bfp-error` hold on the host, from the shape alone.

use std::mem::size_of;

use kiln_driver::Job as _;
use kiln_spec::{BfpEngine, Board, Design};

use super::ggml::{Q4_0_BYTES, Q8_0_BYTES, QK};
use super::job::{weight_format, MatmulDescriptor};
use super::layout::packed_strides;
use super::BLOCK_SIZES;
use crate::backend::expected_design;
use crate::budget::{
    allocate, check_device, check_strides, operand, overflow, product, region, register_dims,
    BackendMemory, Budget, BudgetError, HostParts, Side, F32, F64,
};

/// The device buffers of a BFP MatMul of M x K activations by N x K
/// weights on `design`: A, W and C. Errors as [`gemm_bytes`] does, and
/// when K, padded to whole blocks, is longer than the design holds.
pub fn matmul_bytes(design: &Design, m: usize, k: usize, n: usize) -> Result<Budget, BudgetError> {
    let engine = design.params::<BfpEngine>()?;
    let call = format!("a {m}x{n}x{k} (MxNxK) BFP MatMul on {}", design.name);
    let [m32, n32, k32] = register_dims([("M", m), ("N", n), ("K", k)])?;
    let format = weight_format(design)?;
    // Before any size: a K the engine cannot hold is the error to report,
    // whatever the rest of the shape.
    let padded = format.padded_k(k);
    if padded > engine.k_depth as usize {
        return Err(BudgetError::KTooLong {
            call,
            design: design.name.clone(),
            k,
            padded,
            k_depth: engine.k_depth,
        });
    }
    let strides = packed_strides(format, k, n);
    check_strides(&call, [strides.lda, strides.ldb, strides.ldc], "W")?;
    let parts = vec![
        region(&call, "A", m, strides.lda)?,
        region(&call, "W", n, strides.ldb)?,
        region(&call, "C", m, strides.ldc)?,
    ];
    let (buffers, total) = allocate(&call, &parts)?;
    let desc = MatmulDescriptor {
        m: m32,
        n: n32,
        k: k32,
        a: operand(buffers[0], strides.lda),
        w: operand(buffers[1], strides.ldb),
        c: operand(buffers[2], strides.ldc),
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

/// [`matmul_bytes`], then [`check_device`] on `board`.
pub fn check_matmul(
    design: &Design,
    board: &Board,
    m: usize,
    k: usize,
    n: usize,
) -> Result<Budget, BudgetError> {
    let budget = matmul_bytes(design, m, k, n)?;
    check_device(&budget, board)?;
    Ok(budget)
}

/// Host bytes of one BFP MatMul from random f32 data checked against the
/// golden model and f64 (`kiln matmul`) on a backend of `memory`. Errors
/// as [`matmul_bytes`] does.
pub fn host_matmul_bytes(
    design: &Design,
    m: usize,
    k: usize,
    n: usize,
    memory: BackendMemory,
) -> Result<Budget, BudgetError> {
    let device = matmul_bytes(design, m, k, n)?;
    let format = weight_format(design)?;
    // K fits the design's k_depth here, so these do not overflow.
    let (padded, blocks) = (format.padded_k(k) as u64, format.blocks(k) as u64);
    let (m, n, k) = (m as u64, n as u64, k as u64);
    let mut host = HostParts {
        call: &device.call,
        parts: Vec::new(),
    };
    let rows = m
        .checked_add(n)
        .ok_or_else(|| overflow(host.call, "M + N"))?;
    let mn = product(host.call, "M x N", &[m, n])?;
    host.add("f32 operands", &[rows, k, F32])?;
    // Elements padded to whole blocks, one exponent byte per block.
    host.add("quantised operands", &[rows, padded + blocks])?;
    host.add("golden reference C", &[mn, F32])?;
    host.add("backend C", &[mn, F32])?;
    host.add("f64 reference", &[mn, F64])?;
    // The bound keeps |x| and u(x) as f64 per element, and the exponents.
    host.add("error-bound rows", &[rows, 2 * F64 * k + blocks])?;
    let mapped = host.device(&device, memory)?;
    host.finish(mapped)
}

/// Host bytes of `kiln bench bfp-error`: the MatMul study of an M x K by N
/// x K product (every weight format and block) and the conversion study of
/// `ggml_blocks` llama.cpp blocks.
pub fn host_bfp_study_bytes(
    m: u64,
    k: u64,
    n: u64,
    ggml_blocks: u64,
) -> Result<Budget, BudgetError> {
    let call =
        format!("the BFP error study of M={m} K={k} N={n} with {ggml_blocks} llama.cpp blocks");
    let mut host = HostParts {
        call: &call,
        parts: Vec::new(),
    };
    let rows = m.checked_add(n).ok_or_else(|| overflow(&call, "M + N"))?;
    let mn = product(&call, "M x N", &[m, n])?;
    // The largest quantised rows over the blocks studied: padded to the
    // largest block, one exponent per block of the smallest.
    let largest = *BLOCK_SIZES.iter().max().unwrap_or(&64) as u64;
    let smallest = *BLOCK_SIZES.iter().min().unwrap_or(&16) as u64;
    let padded = k
        .checked_next_multiple_of(largest)
        .ok_or_else(|| overflow(&call, "padded K"))?;
    host.add("f32 operands", &[rows, k, F32])?;
    host.add("f64 reference", &[mn, F64])?;
    host.add(
        "per-tensor int8 codes (i64)",
        &[rows, k, size_of::<i64>() as u64],
    )?;
    let per_row = padded
        .checked_add(k.div_ceil(smallest))
        .ok_or_else(|| overflow(&call, "a quantised row"))?;
    host.add("quantised operands", &[rows, per_row])?;
    host.add("one scheme's C", &[mn, F32])?;
    let qk = QK as u64;
    // Source, two dequantised ggml copies, the converted and the directly
    // quantised matrix dequantised: five f32 per element.
    host.add("conversion f32 data", &[ggml_blocks, qk, 5 * F32])?;
    // Q8_0 and Q4_0 blocks; three BFP matrices of one byte per element and
    // one exponent per block of 32.
    host.add(
        "conversion blocks",
        &[ggml_blocks, (Q8_0_BYTES + Q4_0_BYTES) as u64 + 3 * (qk + 1)],
    )?;
    host.finish(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engines::bfp::layout as bfp_layout;

    fn design(name: &str) -> Design {
        Design::by_name(name).unwrap()
    }

    #[test]
    fn device_parts_are_the_layout_sizes() {
        let d = design("bfp-mxint4");
        let format = weight_format(&d).unwrap();
        let (m, k, n) = (3, 100, 7);
        let b = matmul_bytes(&d, m, k, n).unwrap();
        let s = bfp_layout::packed_strides(format, k, n);
        let got: Vec<u64> = b.parts.iter().map(|p| p.bytes).collect();
        assert_eq!(
            got,
            [m * s.lda, n * s.ldb, bfp_layout::c_bytes(m, s.ldc)].map(|e| e as u64)
        );
    }

    #[test]
    fn k_past_the_design_and_another_engine_are_typed() {
        let bfp = design("bfp-mxint8");
        let k_depth = bfp.params::<BfpEngine>().unwrap().k_depth as usize;
        assert!(matches!(
            matmul_bytes(&bfp, 1, k_depth + 1, 1),
            Err(BudgetError::KTooLong { .. })
        ));
        assert!(matches!(
            matmul_bytes(&design("gemm-pot-8x8"), 1, 16, 1),
            Err(BudgetError::Spec(_))
        ));
    }

    #[test]
    fn host_budgets_count_the_study_and_the_simulator() {
        let bfp = design("bfp-mxint8");
        let simulated = BackendMemory::Simulated { ddr_bytes: 1 << 29 };
        assert!(host_matmul_bytes(&bfp, 4, 64, 8, simulated).is_ok());
        assert!(
            host_bfp_study_bytes(4096, 65536, 4096, 1 << 20)
                .unwrap()
                .total
                > 1 << 32
        );
    }
}
