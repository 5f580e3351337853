//! A BFP MatMul as a job: its device layout (row records, docs/bfp.md),
//! the driver descriptor that checks it against the opened accelerator and
//! programs the argument registers, and its golden outputs.

use kiln_driver::{
    check_dimensions, check_operands, round8, DescriptorError, DesignIdentity, DeviceBuffer,
    Operand, RunArgs,
};
use kiln_spec::{BfpEngine, Design};

use super::{golden_matmul, layout, BfpError, BfpFormat, BfpMatrix, ElementKind};
use crate::backend::{Backend, BackendError};
use crate::engines::{DeviceImage, Job, JobRun, Output, Signature};

/// The engine's name, as hw/engines.toml has it.
pub const ENGINE: &str = "bfp";

/// A BFP MatMul on quantised operands: C (M x N, f32) = A x W^T.
#[derive(Debug, Clone, PartialEq)]
pub struct MatmulProblem {
    /// M x K activations in mxint8.
    pub a: BfpMatrix,
    /// N x K weights (one row per output) in the design's weight format.
    pub w: BfpMatrix,
}

/// The weight format of a BFP design: its element format and block size.
pub fn weight_format(design: &Design) -> Result<BfpFormat, BackendError> {
    let engine = design.params::<BfpEngine>()?;
    Ok(BfpFormat::named(&engine.format, engine.block as usize)?)
}

/// The signature of a MatMul of M x K by N x K.
pub fn signature(m: usize, k: usize, n: usize) -> Signature {
    Signature {
        engine: ENGINE,
        key: vec![m as u64, k as u64, n as u64],
        label: format!("MatMul {m}x{k}x{n}"),
        macs: (m as u64) * (k as u64) * (n as u64),
    }
}

/// (M, K, N) of a MatMul signature.
pub fn signature_shape(s: &Signature) -> Option<(usize, usize, usize)> {
    match s.key[..] {
        [m, k, n] if s.engine == ENGINE => Some((m as usize, k as usize, n as usize)),
        _ => None,
    }
}

/// Cycles a BFP design needs for an M x N x K MatMul if its lanes never
/// waited: every weight element beat is multiplied against `lanes` rows, so
/// each tile of `lanes` rows takes one cycle per weight element beat.
pub fn ideal_cycles(design: &Design, m: usize, n: usize, k: usize) -> Result<f64, BackendError> {
    let engine = design.params::<BfpEngine>()?;
    let format = weight_format(design)?;
    let beats_per_row = (format.padded_k(k) * format.element.bits()).div_ceil(64);
    let tiles = m.div_ceil(engine.lanes as usize);
    Ok((tiles * n * beats_per_row) as f64)
}

impl MatmulProblem {
    /// Checks that the operands are in `design`'s formats and agree on K.
    pub fn check(&self, design: &Design) -> Result<(), BackendError> {
        check_formats(self.a.format(), self.a.k(), &self.w, design)
    }
}

/// Checks that A (in `a_format`, with `a_k` columns) and W are in `design`'s
/// formats and agree on K.
pub(crate) fn check_formats(
    a_format: BfpFormat,
    a_k: usize,
    w: &BfpMatrix,
    design: &Design,
) -> Result<(), BackendError> {
    let weights = weight_format(design)?;
    let activations = BfpFormat::new(ElementKind::Int8, weights.block)?;
    for (operand, format, wanted) in [("A", a_format, activations), ("W", w.format(), weights)] {
        if format != wanted {
            return Err(BackendError::OperandFormat {
                operand,
                found: describe(format),
                design: design.name.clone(),
                wanted: describe(wanted),
            });
        }
    }
    if w.k() != a_k {
        return Err(BfpError::KMismatch { a: a_k, w: w.k() }.into());
    }
    Ok(())
}

fn describe(format: BfpFormat) -> String {
    format!("{} in blocks of {}", format.name(), format.block)
}

impl Job for MatmulProblem {
    fn engine(&self) -> &'static str {
        ENGINE
    }

    fn signature(&self) -> Signature {
        signature(self.a.rows(), self.a.k(), self.w.rows())
    }

    fn golden(&self, design: &Design) -> Result<Output, BackendError> {
        self.check(design)?;
        Ok(Output::Float(golden_matmul(&self.a, &self.w)?))
    }

    fn to_device(&self, design: &Design) -> Result<Box<dyn DeviceImage + '_>, BackendError> {
        self.check(design)?;
        let (m, n, k) = (self.a.rows(), self.w.rows(), self.a.k());
        let strides = layout::packed_strides(self.w.format(), k, n);
        Ok(Box::new(MatmulImage {
            m,
            n,
            k,
            inputs: vec![
                layout::pack(&self.a, strides.lda)?,
                layout::pack(&self.w, strides.ldb)?,
            ],
            c_bytes: layout::c_bytes(m, strides.ldc),
            strides: [strides.lda, strides.ldb, strides.ldc],
            ideal_cycles: ideal_cycles(design, m, n, k)?,
        }))
    }

    fn clone_box(&self) -> Box<dyn Job> {
        Box::new(self.clone())
    }
}

/// A MatMul in device layout: A and W in, C out.
struct MatmulImage {
    m: usize,
    n: usize,
    k: usize,
    inputs: Vec<Vec<u8>>,
    c_bytes: usize,
    strides: [usize; 3],
    ideal_cycles: f64,
}

impl DeviceImage for MatmulImage {
    fn inputs(&self) -> &[Vec<u8>] {
        &self.inputs
    }

    fn output_bytes(&self) -> usize {
        self.c_bytes
    }

    fn ideal_cycles(&self) -> f64 {
        self.ideal_cycles
    }

    fn descriptor(
        &self,
        inputs: &[DeviceBuffer],
        output: DeviceBuffer,
    ) -> Result<Box<dyn kiln_driver::Job + '_>, BackendError> {
        let [a, w] = inputs else {
            return Err(BackendError::Buffers {
                what: "BFP MatMul",
                wanted: 2,
                got: inputs.len(),
            });
        };
        let operand = |buffer: DeviceBuffer, stride: usize| Operand {
            buffer,
            offset: 0,
            stride: stride as u64,
        };
        let dim = |x: usize| u32::try_from(x).unwrap_or(u32::MAX);
        let [lda, ldb, ldc] = self.strides;
        Ok(Box::new(MatmulDescriptor {
            m: dim(self.m),
            n: dim(self.n),
            k: dim(self.k),
            a: operand(*a, lda),
            w: operand(*w, ldb),
            c: operand(output, ldc),
        }))
    }

    fn decode(&self, output: &[u8]) -> Result<Output, BackendError> {
        Ok(Output::Float(layout::unpack_c(
            output,
            self.m,
            self.n,
            self.strides[2],
        )?))
    }
}

/// C (M x N, f32) = A (M x K, mxint8 blocks) x W^T (N x K, blocks of the
/// design's weight format), per docs/bfp.md: the driver's view of one
/// MatMul. K is padded with zero elements to whole blocks inside the row
/// records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatmulDescriptor {
    pub m: u32,
    pub n: u32,
    pub k: u32,
    /// Activations: M row records of mxint8 blocks.
    pub a: Operand,
    /// Weights: N row records in the design's weight format.
    pub w: Operand,
    /// Output: M rows of N little-endian f32.
    pub c: Operand,
}

/// Bytes of one BFP row record of `k` elements of `bits` bits in blocks of
/// `block` (docs/bfp.md): per group of up to eight blocks, one 8-byte beat
/// of exponents, then the blocks' elements. Always a multiple of 8.
pub fn row_record_bytes(k: u64, block: u64, bits: u64) -> u64 {
    let blocks = k.div_ceil(block);
    8 * blocks.div_ceil(8) + blocks * block * bits / 8
}

impl kiln_driver::Job for MatmulDescriptor {
    fn what(&self) -> &'static str {
        "BFP MatMul"
    }

    fn engine_kind(&self) -> u32 {
        kiln_spec::engines::desc(ENGINE).map_or(u32::MAX, |d| d.kind)
    }

    /// Shapes, K against the design (BLOCK and K_DEPTH), alignment, strides
    /// and buffer bounds.
    fn validate(&self, identity: &DesignIdentity) -> Result<(), DescriptorError> {
        check_dimensions([self.m, self.n, self.k])?;
        let block = u64::from(identity.block.max(1));
        let padded = u64::from(self.k).div_ceil(block) * block;
        if padded > u64::from(identity.k_depth) {
            return Err(DescriptorError::Limit {
                name: "K",
                value: u64::from(self.k),
                rule: format!(
                    "{padded} once padded to whole blocks of {block}; this design holds at most \
                     {} (its k_depth)",
                    identity.k_depth
                ),
            });
        }
        let (m, n, k) = (u64::from(self.m), u64::from(self.n), u64::from(self.k));
        let a_row = row_record_bytes(k, block, 8);
        let w_row = row_record_bytes(k, block, u64::from(identity.weight_bits));
        check_operands(&[
            ("A", &self.a, m, a_row, a_row),
            ("W", &self.w, n, w_row, w_row),
            ("C", &self.c, m, round8(4 * n), 4 * n),
        ])
    }

    fn args(&self) -> RunArgs {
        RunArgs {
            operands: [
                ("A", self.a.address(), self.a.stride),
                ("W", self.w.address(), self.w.stride),
                ("C", self.c.address(), self.c.stride),
            ],
            params: 0,
            mnk: [self.m, self.n, self.k],
            mode: 0,
        }
    }
}

/// Outputs of one MatMul, M x N row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct MatmulRun {
    pub output: Vec<f32>,
    /// Hardware counters, from backends that have them.
    pub counters: Option<kiln_driver::Counters>,
}

/// BFP MatMuls on any backend, typed: `backend.matmul(&problem)`.
pub trait RunMatmul {
    fn matmul(&mut self, problem: &MatmulProblem) -> Result<MatmulRun, BackendError>;
}

impl<B: Backend + ?Sized> RunMatmul for B {
    fn matmul(&mut self, problem: &MatmulProblem) -> Result<MatmulRun, BackendError> {
        let JobRun { output, counters } = self.run(problem)?;
        Ok(MatmulRun {
            output: output.into_float("BFP MatMul")?,
            counters,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_driver::Job as _;

    fn identity() -> DesignIdentity {
        // K = 40 in blocks of 16: 3 blocks, one exponent beat; mxint4
        // weights: 8 + 3 * 8 = 32 bytes a row; mxint8: 8 + 3 * 16 = 56.
        DesignIdentity {
            id: 0,
            engine: 1,
            block: 16,
            rows: 2,
            cols: 2,
            pe_kind: 0,
            weight_bits: 4,
            k_depth: 128,
            m_tiles: 1,
            n_tiles: 1,
        }
    }

    fn good() -> MatmulDescriptor {
        let op = |stride, len| Operand {
            buffer: DeviceBuffer {
                phys: 0x10_0000,
                len,
            },
            offset: 0,
            stride,
        };
        MatmulDescriptor {
            m: 2,
            n: 3,
            k: 40,
            a: op(56, 112),
            w: op(32, 96),
            c: op(16, 32),
        }
    }

    #[test]
    fn row_records_have_the_documented_size() {
        assert_eq!(row_record_bytes(40, 16, 4), 32);
        assert_eq!(row_record_bytes(40, 16, 8), 56);
        // Nine blocks of 32 int8: two exponent beats.
        assert_eq!(row_record_bytes(9 * 32, 32, 8), 16 + 9 * 32);
        assert_eq!(row_record_bytes(1, 64, 4), 8 + 32);
    }

    #[test]
    fn a_packed_matmul_passes_and_each_fault_is_named() {
        let g = identity();
        good().validate(&g).unwrap();
        let mut bad = good();
        bad.k = 129;
        let err = bad.validate(&g).unwrap_err();
        assert!(matches!(
            err,
            DescriptorError::Limit {
                name: "K",
                value: 129,
                ..
            }
        ));
        assert!(err.to_string().contains("144 once padded"), "{err}");
        let mut bad = good();
        bad.w.stride = 24;
        assert!(matches!(
            bad.validate(&g),
            Err(DescriptorError::StrideTooShort { operand: "W", .. })
        ));
        let mut bad = good();
        bad.c.buffer.len = 31;
        assert!(matches!(
            bad.validate(&g),
            Err(DescriptorError::OutOfBuffer { operand: "C", .. })
        ));
        let mut bad = good();
        bad.n = 0;
        assert_eq!(
            bad.validate(&g),
            Err(DescriptorError::ZeroDimension { name: "N" })
        );
    }
}
