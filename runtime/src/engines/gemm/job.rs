//! A GEMM as a job: its device layout (docs/gemm-layouts.md), the driver
//! descriptor that checks it against the opened accelerator and programs
//! the argument registers, and its golden outputs.

use kiln_driver::{
    check_dimensions, check_operands, fits, round8, DescriptorError, DesignIdentity, DeviceBuffer,
    Operand, RunArgs,
};
use kiln_spec::{Design, GemmArray};

use super::layout::{self, Strides};
use super::mode;
use super::{golden_gemm, GemmError, GemmProblem, OutputMode};
use crate::backend::{Backend, BackendError};
use crate::engines::{DeviceImage, Job, JobRun, Output, Signature};
use crate::formats::Codebook;

/// The engine's name, as hw/engines.toml has it.
pub const ENGINE: &str = "gemm";

/// The signature of a GEMM of M x K by K x N writing int8 or int32.
pub fn signature(m: usize, k: usize, n: usize, output: OutputMode) -> Signature {
    let int8 = matches!(output, OutputMode::Int8 { .. });
    Signature {
        engine: ENGINE,
        key: vec![m as u64, k as u64, n as u64, u64::from(int8)],
        label: format!(
            "GEMM {m}x{k}x{n} ({} out)",
            if int8 { "int8" } else { "int32" }
        ),
        macs: (m as u64) * (k as u64) * (n as u64),
    }
}

/// (M, K, N, output) of a GEMM signature.
pub fn signature_shape(s: &Signature) -> Option<(usize, usize, usize, OutputMode)> {
    match s.key[..] {
        [m, k, n, int8] if s.engine == ENGINE => Some((
            m as usize,
            k as usize,
            n as usize,
            if int8 == 1 {
                OutputMode::Int8 { zero_point: 0 }
            } else {
                OutputMode::Int32
            },
        )),
        _ => None,
    }
}

/// A GEMM job's golden outputs on `design` (which must be a GEMM design):
/// `golden` under the design's codebook. Every GEMM job (plain, depthwise,
/// channel-major) computes them so.
pub(super) fn golden_output(
    design: &Design,
    golden: impl FnOnce(&Codebook) -> Result<Vec<i32>, GemmError>,
) -> Result<Output, BackendError> {
    design.params::<GemmArray>()?;
    let codebook = Codebook::of_design(design)?;
    Ok(Output::Int(golden(&codebook)?))
}

impl Job for GemmProblem {
    fn engine(&self) -> &'static str {
        ENGINE
    }

    fn signature(&self) -> Signature {
        signature(self.m, self.k, self.n, self.output)
    }

    fn golden(&self, design: &Design) -> Result<Output, BackendError> {
        golden_output(design, |codebook| golden_gemm(codebook, self))
    }

    fn to_device(&self, design: &Design) -> Result<Box<dyn DeviceImage + '_>, BackendError> {
        let array = design.params::<GemmArray>()?;
        let codebook = Codebook::of_design(design)?;
        self.validate(&codebook)?;
        let bits = codebook.weight_bits();
        let strides = Strides::packed(self.n, self.k, bits, self.output)?;
        let inputs = vec![
            layout::pack_a(self, strides.lda)?,
            layout::pack_b(self, bits, strides.ldb)?,
            layout::pack_channels(&self.channels),
        ];
        Ok(Box::new(GemmImage {
            problem: self,
            strides,
            inputs,
            ideal_cycles: (self.m * self.n * self.k) as f64 / f64::from(array.pes()),
        }))
    }

    fn clone_box(&self) -> Box<dyn Job> {
        Box::new(self.clone())
    }
}

/// A GEMM in device layout: A, B and the channel records in, C out.
struct GemmImage<'a> {
    problem: &'a GemmProblem,
    strides: Strides,
    inputs: Vec<Vec<u8>>,
    ideal_cycles: f64,
}

impl DeviceImage for GemmImage<'_> {
    fn inputs(&self) -> &[Vec<u8>] {
        &self.inputs
    }

    fn output_bytes(&self) -> usize {
        layout::c_bytes(self.problem.m, self.strides.ldc)
    }

    fn ideal_cycles(&self) -> f64 {
        self.ideal_cycles
    }

    fn descriptor(
        &self,
        inputs: &[DeviceBuffer],
        output: DeviceBuffer,
    ) -> Result<Box<dyn kiln_driver::Job + '_>, BackendError> {
        let p = self.problem;
        let operand = |buffer: DeviceBuffer, stride: usize| Operand {
            buffer,
            offset: 0,
            stride: stride as u64,
        };
        let [a, b, params] = inputs else {
            return Err(BackendError::Buffers {
                what: "GEMM",
                wanted: 3,
                got: inputs.len(),
            });
        };
        Ok(Box::new(GemmDescriptor {
            m: p.m as u32,
            n: p.n as u32,
            k: p.k as u32,
            a: operand(*a, self.strides.lda),
            b: operand(*b, self.strides.ldb),
            c: operand(output, self.strides.ldc),
            params: operand(*params, 0),
            act_zero_point: p.act_zero_point,
            output: p.output,
        }))
    }

    fn decode(&self, output: &[u8]) -> Result<Output, BackendError> {
        let p = self.problem;
        Ok(Output::Int(layout::unpack_c(
            output,
            p.m,
            p.n,
            self.strides.ldc,
            p.output,
        )?))
    }
}

/// C (M x N) = A (M x K, int8) x B (N x K, weight codes), per
/// docs/gemm-layouts.md: the driver's view of one GEMM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GemmDescriptor {
    pub m: u32,
    pub n: u32,
    pub k: u32,
    /// Activations, one byte per element.
    pub a: Operand,
    /// Weight codes, each in the container of the design's code width.
    pub b: Operand,
    /// Output.
    pub c: Operand,
    /// N channel records of 16 bytes (the stride is ignored).
    pub params: Operand,
    pub act_zero_point: i8,
    pub output: OutputMode,
}

impl GemmDescriptor {
    /// Bytes one row of B occupies with `weight_bits`-bit codes, each in
    /// its container (`kiln_spec::code_container_bits`: a 3-bit code takes
    /// 4 bits, a 5- to 7-bit code a byte). `None` for a width the GEMM
    /// engine does not carry (outside 1..=8).
    pub fn b_row_bytes(&self, weight_bits: u32) -> Option<u64> {
        let container = kiln_spec::code_container_bits(weight_bits)?;
        Some((u64::from(self.k) * u64::from(container)).div_ceil(8))
    }
}

impl kiln_driver::Job for GemmDescriptor {
    fn what(&self) -> &'static str {
        "GEMM"
    }

    fn engine_kind(&self) -> u32 {
        kiln_spec::engines::desc(ENGINE).map_or(u32::MAX, |d| d.kind)
    }

    /// Shapes, alignment, strides and buffer bounds for the design's weight
    /// code width (its rows of B are rows of code containers).
    fn validate(&self, identity: &DesignIdentity) -> Result<(), DescriptorError> {
        check_dimensions([self.m, self.n, self.k])?;
        let weight_bits = identity.weight_bits;
        let (m, n, k) = (u64::from(self.m), u64::from(self.n), u64::from(self.k));
        let e = self.output.element_bytes() as u64;
        let b_row = self
            .b_row_bytes(weight_bits)
            .ok_or_else(|| DescriptorError::Limit {
                name: "ARRAY.WEIGHT_BITS",
                value: u64::from(weight_bits),
                rule: "the GEMM engine carries weight codes of 1 to 8 bits".into(),
            })?;
        check_operands(&[
            ("A", &self.a, m, round8(k), k),
            ("B", &self.b, n, round8(b_row), b_row),
            ("C", &self.c, m, round8(n * e), n * e),
        ])?;
        if !self.params.address().is_multiple_of(8) {
            return Err(DescriptorError::Unaligned {
                operand: "params",
                address: self.params.address(),
            });
        }
        fits("params", &self.params, n * 16)
    }

    fn args(&self) -> RunArgs {
        let mut word = 0;
        let out_zp = match self.output {
            OutputMode::Int8 { zero_point } => zero_point,
            OutputMode::Int32 => {
                word = mode::OUT_INT32.set(word, 1);
                0
            }
        };
        word = mode::ACT_ZP.set(word, u32::from(self.act_zero_point as u8));
        word = mode::OUT_ZP.set(word, u32::from(out_zp as u8));
        RunArgs {
            operands: [
                ("A", self.a.address(), self.a.stride),
                ("B", self.b.address(), self.b.stride),
                ("C", self.c.address(), self.c.stride),
            ],
            params: self.params.address(),
            mnk: [self.m, self.n, self.k],
            mode: word,
        }
    }
}

/// Outputs of one GEMM, M x N row-major (int8 values sign-extended).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GemmRun {
    pub output: Vec<i32>,
    /// Hardware counters, from backends that have them.
    pub counters: Option<kiln_driver::Counters>,
}

/// GEMMs on any backend, typed: `backend.gemm(&problem)`.
pub trait RunGemm {
    fn gemm(&mut self, problem: &GemmProblem) -> Result<GemmRun, BackendError>;
}

impl<B: Backend + ?Sized> RunGemm for B {
    fn gemm(&mut self, problem: &GemmProblem) -> Result<GemmRun, BackendError> {
        let JobRun { output, counters } = self.run(problem)?;
        Ok(GemmRun {
            output: output.into_int("GEMM")?,
            counters,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_driver::Job as _;

    fn buffer(len: u64) -> DeviceBuffer {
        DeviceBuffer {
            phys: 0x10_0000,
            len,
        }
    }

    fn identity(weight_bits: u32) -> DesignIdentity {
        DesignIdentity {
            id: 0,
            engine: 0,
            block: 0,
            rows: 8,
            cols: 8,
            pe_kind: 0,
            weight_bits,
            k_depth: 256,
            m_tiles: 4,
            n_tiles: 4,
        }
    }

    fn good() -> GemmDescriptor {
        let op = |stride, len| Operand {
            buffer: buffer(len),
            offset: 0,
            stride,
        };
        GemmDescriptor {
            m: 3,
            n: 5,
            k: 13,
            a: op(16, 48),
            b: op(8, 40),
            c: op(8, 24),
            params: op(0, 80),
            act_zero_point: 0,
            output: OutputMode::Int8 { zero_point: 0 },
        }
    }

    #[test]
    fn a_packed_descriptor_passes_and_each_fault_is_named() {
        good().validate(&identity(4)).unwrap();
        let check = |d: GemmDescriptor| d.validate(&identity(4));
        let mut d = good();
        d.k = 0;
        assert_eq!(check(d), Err(DescriptorError::ZeroDimension { name: "K" }));
        let mut d = good();
        d.a.offset = 4;
        assert!(matches!(
            check(d),
            Err(DescriptorError::Unaligned { operand: "A", .. })
        ));
        let mut d = good();
        d.c.stride = 12;
        assert!(matches!(
            check(d),
            Err(DescriptorError::StrideUnaligned { operand: "C", .. })
        ));
        let mut d = good();
        d.output = OutputMode::Int32;
        assert!(matches!(
            check(d),
            Err(DescriptorError::StrideTooShort { operand: "C", .. })
        ));
        let mut d = good();
        d.params.buffer.len = 79;
        assert!(matches!(
            check(d),
            Err(DescriptorError::OutOfBuffer {
                operand: "params",
                ..
            })
        ));
        // 8-bit codes need twice the row of B.
        assert!(matches!(
            good().validate(&identity(8)),
            Err(DescriptorError::StrideTooShort { operand: "B", .. })
        ));
    }

    /// B's rows are rows of containers: K = 13 codes of 3 bits take 7
    /// bytes (4-bit containers), of 5 to 8 bits 13 bytes, of 1 bit 2.
    #[test]
    fn the_row_of_b_is_counted_in_code_containers() {
        let d = good();
        let rows: Vec<_> = (0..=9).map(|bits| d.b_row_bytes(bits)).collect();
        assert_eq!(
            rows,
            [
                None,
                Some(2),
                Some(4),
                Some(7),
                Some(7),
                Some(13),
                Some(13),
                Some(13),
                Some(13),
                None
            ]
        );
        // The 8-byte stride of `good` holds 13 codes of up to 4 bits.
        for bits in 1..=4 {
            d.validate(&identity(bits)).unwrap();
        }
        for bits in 5..=8 {
            assert_eq!(
                d.validate(&identity(bits)),
                Err(DescriptorError::StrideTooShort {
                    operand: "B",
                    stride: 8,
                    row: 13
                }),
                "{bits}-bit codes"
            );
        }
        let err = d.validate(&identity(9)).unwrap_err();
        assert!(
            err.to_string().contains(
                "ARRAY.WEIGHT_BITS is 9; the GEMM engine carries weight codes of 1 to 8 bits"
            ),
            "{err}"
        );
    }

    #[test]
    fn mode_carries_the_output_and_both_zero_points() {
        let mut d = good();
        d.act_zero_point = -3;
        d.output = OutputMode::Int8 { zero_point: 5 };
        let word = d.args().mode;
        assert_eq!(mode::OUT_INT32.get(word), 0);
        assert_eq!(mode::ACT_ZP.get(word), 0xFD);
        assert_eq!(mode::OUT_ZP.get(word), 5);
        d.output = OutputMode::Int32;
        assert_eq!(mode::OUT_INT32.get(d.args().mode), 1);
    }

    #[test]
    fn signatures_round_trip() {
        let s = signature(12, 27, 16, OutputMode::Int32);
        assert_eq!(s.label, "GEMM 12x27x16 (int32 out)");
        assert_eq!(s.macs, 12 * 27 * 16);
        assert_eq!(signature_shape(&s), Some((12, 27, 16, OutputMode::Int32)));
    }
}
