//! A depthwise convolution as a job: its device layout (`layout`), the
//! driver descriptor that checks it against the opened accelerator and
//! programs the argument registers, and its golden outputs.

use kiln_driver::{
    check_operands, fits, DescriptorError, DesignIdentity, DeviceBuffer, Operand, RunArgs,
};
use kiln_spec::engines::DwconvArray;
use kiln_spec::Design;

use super::golden::{golden_dwconv, DwconvProblem};
use super::layout::{self, Layout};
use super::mode;
use crate::backend::{Backend, BackendError};
use crate::engines::{DeviceImage, Job, JobRun, Output, Signature};
use crate::formats::requant::OutputMode;
use crate::formats::Codebook;

/// The engine's name, as hw/engines.toml has it.
pub const ENGINE: &str = "dwconv";

/// A call's shape: `[C, Ho, Wo, K, s]`.
pub type Shape = [usize; 5];

/// The signature of a depthwise convolution of `shape` writing `output`.
pub fn signature(shape: Shape, output: OutputMode) -> Signature {
    let [c, ho, wo, k, s] = shape;
    let int8 = matches!(output, OutputMode::Int8 { .. });
    let mut key: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
    key.push(u64::from(int8));
    Signature {
        engine: ENGINE,
        key,
        label: format!(
            "DWConv {k}x{k}/{s} {c}ch {ho}x{wo} ({} out)",
            if int8 { "int8" } else { "int32" }
        ),
        macs: shape[..4].iter().map(|&d| d as u64).product::<u64>() * k as u64,
    }
}

/// The shape and output of a dwconv signature.
pub fn signature_shape(s: &Signature) -> Option<(Shape, OutputMode)> {
    match s.key[..] {
        [c, ho, wo, k, st, int8] if s.engine == ENGINE => Some((
            [c, ho, wo, k, st].map(|d| d as usize),
            if int8 == 1 {
                OutputMode::Int8 { zero_point: 0 }
            } else {
                OutputMode::Int32
            },
        )),
        _ => None,
    }
}

fn engine_error(e: impl std::error::Error + Send + Sync + 'static) -> BackendError {
    BackendError::Engine(Box::new(e))
}

impl Job for DwconvProblem {
    fn engine(&self) -> &'static str {
        ENGINE
    }

    fn signature(&self) -> Signature {
        signature(
            [
                self.channels,
                self.out_rows,
                self.out_cols,
                self.kernel,
                self.stride,
            ],
            self.output,
        )
    }

    fn golden(&self, design: &Design) -> Result<Output, BackendError> {
        design.params::<DwconvArray>()?;
        let codebook = Codebook::of_design(design)?;
        Ok(Output::Int(
            golden_dwconv(&codebook, self).map_err(engine_error)?,
        ))
    }

    fn to_device(&self, design: &Design) -> Result<Box<dyn DeviceImage + '_>, BackendError> {
        let array = design.params::<DwconvArray>()?;
        let codebook = Codebook::of_design(design)?;
        self.validate(&codebook).map_err(engine_error)?;
        let bits = codebook.weight_bits();
        let layout = Layout::of(self, array.lanes as usize, bits);
        let inputs = vec![
            layout::pack_input(self, &layout),
            layout::pack_weights(self, &layout, bits),
            layout::pack_params(self, &layout),
        ];
        Ok(Box::new(DwconvImage {
            problem: self,
            layout,
            inputs,
        }))
    }

    fn clone_box(&self) -> Box<dyn Job> {
        Box::new(self.clone())
    }
}

/// A depthwise convolution in device layout: input, weights and channel
/// records in, the output planes out.
struct DwconvImage<'a> {
    problem: &'a DwconvProblem,
    layout: Layout,
    inputs: Vec<Vec<u8>>,
}

impl DeviceImage for DwconvImage<'_> {
    fn inputs(&self) -> &[Vec<u8>] {
        &self.inputs
    }

    fn output_bytes(&self) -> usize {
        self.layout.output_bytes()
    }

    /// One tap per cycle for every pixel of every group.
    fn ideal_cycles(&self) -> f64 {
        let l = &self.layout;
        (l.groups * l.out_rows * l.out_cols * l.taps) as f64
    }

    fn descriptor(
        &self,
        inputs: &[DeviceBuffer],
        output: DeviceBuffer,
    ) -> Result<Box<dyn kiln_driver::Job + '_>, BackendError> {
        let [a, b, params] = inputs else {
            return Err(BackendError::Buffers {
                what: "depthwise convolution",
                wanted: 3,
                got: inputs.len(),
            });
        };
        let p = self.problem;
        let operand = |buffer: DeviceBuffer, stride: usize| Operand {
            buffer,
            offset: 0,
            stride: stride as u64,
        };
        let dim = |x: usize| u32::try_from(x).unwrap_or(u32::MAX);
        Ok(Box::new(DwconvDescriptor {
            channels: dim(p.channels),
            out_rows: dim(p.out_rows),
            out_cols: dim(p.out_cols),
            kernel: dim(p.kernel),
            stride: dim(p.stride),
            a: operand(*a, self.layout.lda),
            b: operand(*b, 0),
            c: operand(output, self.layout.ldc),
            params: operand(*params, 0),
            output: p.output,
        }))
    }

    fn decode(&self, output: &[u8]) -> Result<Output, BackendError> {
        if output.len() < self.layout.output_bytes() {
            return Err(BackendError::Buffers {
                what: "depthwise convolution output",
                wanted: self.layout.output_bytes(),
                got: output.len(),
            });
        }
        Ok(Output::Int(layout::unpack_output(
            output,
            self.problem,
            &self.layout,
        )))
    }
}

/// The driver's view of one depthwise convolution
/// (hw/ip/dwconv/doc/registers.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DwconvDescriptor {
    /// C.
    pub channels: u32,
    /// Ho.
    pub out_rows: u32,
    /// Wo.
    pub out_cols: u32,
    /// K.
    pub kernel: u32,
    /// s.
    pub stride: u32,
    /// The input planes; `stride` is LDA.
    pub a: Operand,
    /// The tap records (the stride is ignored).
    pub b: Operand,
    /// The output planes; `stride` is LDC.
    pub c: Operand,
    /// The channel records (the stride is ignored).
    pub params: Operand,
    pub output: OutputMode,
}

impl kiln_driver::Job for DwconvDescriptor {
    fn what(&self) -> &'static str {
        "depthwise convolution"
    }

    fn engine_kind(&self) -> u32 {
        kiln_spec::engines::desc(ENGINE).map_or(u32::MAX, |d| d.kind)
    }

    /// The shape against the design (lanes, largest kernel, longest row:
    /// ARRAY.ROWS, ARRAY.COLS, BUFFERS.K_DEPTH), then every operand's
    /// alignment, stride and bounds.
    fn validate(&self, identity: &DesignIdentity) -> Result<(), DescriptorError> {
        for (name, value) in [
            ("C (channels)", self.channels),
            ("Ho (output rows)", self.out_rows),
            ("Wo (output columns)", self.out_cols),
        ] {
            if value == 0 {
                return Err(DescriptorError::Limit {
                    name,
                    value: 0,
                    rule: "it must be at least 1".into(),
                });
            }
        }
        let limit = |name, value: u32, rule: String| {
            Err(DescriptorError::Limit {
                name,
                value: u64::from(value),
                rule,
            })
        };
        if !(1..=identity.cols).contains(&self.kernel) {
            return limit(
                "K (kernel)",
                self.kernel,
                format!(
                    "this design takes kernels of 1 to {} (its max_kernel)",
                    identity.cols
                ),
            );
        }
        if !(1..=self.kernel).contains(&self.stride) {
            return limit(
                "s (stride)",
                self.stride,
                format!("the engine takes strides of 1 to K = {}", self.kernel),
            );
        }
        let lanes = u64::from(identity.rows);
        let (c, ho, wo) = (
            u64::from(self.channels),
            u64::from(self.out_rows),
            u64::from(self.out_cols),
        );
        let (k, s) = (u64::from(self.kernel), u64::from(self.stride));
        let in_cols = (wo - 1) * s + k;
        if in_cols > u64::from(identity.k_depth) {
            return Err(DescriptorError::Limit {
                name: "Wp (padded input width)",
                value: in_cols,
                rule: format!(
                    "this design's line buffer holds rows of at most {} pixels (its max_width)",
                    identity.k_depth
                ),
            });
        }
        let groups = c.div_ceil(lanes.max(1));
        let in_rows = (ho - 1) * s + k;
        let e = self.output.element_bytes() as u64;
        let tap_words = (lanes * u64::from(identity.weight_bits)).div_ceil(64);
        let a_row = in_cols * lanes;
        let c_row = wo * lanes * e;
        check_operands(&[
            ("input", &self.a, groups * in_rows, a_row, a_row),
            ("output", &self.c, groups * ho, c_row, c_row),
        ])?;
        for (name, op, bytes) in [
            ("weights", &self.b, groups * k * k * tap_words * 8),
            ("channel parameters", &self.params, groups * lanes * 16),
        ] {
            if !op.address().is_multiple_of(8) {
                return Err(DescriptorError::Unaligned {
                    operand: name,
                    address: op.address(),
                });
            }
            fits(name, op, bytes)?;
        }
        Ok(())
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
        word = mode::KERNEL.set(word, self.kernel);
        word = mode::STRIDE.set(word, self.stride);
        word = mode::OUT_ZP.set(word, u32::from(out_zp as u8));
        RunArgs {
            operands: [
                ("input", self.a.address(), self.a.stride),
                ("weights", self.b.address(), 0),
                ("output", self.c.address(), self.c.stride),
            ],
            params: self.params.address(),
            mnk: [self.out_rows, self.channels, self.out_cols],
            mode: word,
        }
    }
}

/// Depthwise convolutions on any backend, typed: `backend.dwconv(&problem)`.
pub trait RunDwconv {
    fn dwconv(&mut self, problem: &DwconvProblem) -> Result<JobRun, BackendError>;
}

impl<B: Backend + ?Sized> RunDwconv for B {
    fn dwconv(&mut self, problem: &DwconvProblem) -> Result<JobRun, BackendError> {
        self.run(problem)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_driver::Job as _;

    fn identity() -> DesignIdentity {
        DesignIdentity {
            id: 0,
            engine: 2,
            block: 0,
            rows: 16,
            cols: 5,
            pe_kind: 0,
            weight_bits: 4,
            k_depth: 128,
            m_tiles: 1,
            n_tiles: 1,
        }
    }

    fn good() -> DwconvDescriptor {
        // 20 channels: 2 groups; 4x4 outputs of a 3x3/1 kernel: 6x6 input.
        let op = |stride, len| Operand {
            buffer: DeviceBuffer {
                phys: 0x10_0000,
                len,
            },
            offset: 0,
            stride,
        };
        DwconvDescriptor {
            channels: 20,
            out_rows: 4,
            out_cols: 4,
            kernel: 3,
            stride: 1,
            a: op(6 * 16, 2 * 6 * 6 * 16),
            b: op(0, 2 * 9 * 8),
            c: op(4 * 16 * 4, 2 * 4 * 4 * 16 * 4),
            params: op(0, 2 * 16 * 16),
            output: OutputMode::Int32,
        }
    }

    #[test]
    fn a_packed_descriptor_passes_and_each_fault_is_named() {
        let id = identity();
        good().validate(&id).unwrap();
        let check = |d: DwconvDescriptor| d.validate(&id).unwrap_err().to_string();
        assert!(check(DwconvDescriptor {
            kernel: 7,
            ..good()
        })
        .contains("kernels of 1 to 5"));
        assert!(check(DwconvDescriptor {
            stride: 4,
            ..good()
        })
        .contains("strides of 1 to K = 3"));
        assert!(check(DwconvDescriptor {
            channels: 0,
            ..good()
        })
        .contains("at least 1"));
        let mut d = good();
        d.out_cols = 127;
        assert!(check(d).contains("at most 128 pixels"));
        let mut d = good();
        d.a.buffer.len -= 1;
        assert!(check(d).contains("operand input"));
        let mut d = good();
        d.b.buffer.len -= 8;
        assert!(check(d).contains("operand weights"));
        let mut d = good();
        d.c.stride -= 8;
        assert!(check(d).contains("shorter than its 256 bytes"));
    }

    #[test]
    fn mode_and_arguments_follow_the_register_page() {
        let mut d = good();
        d.kernel = 5;
        d.stride = 2;
        d.output = OutputMode::Int8 { zero_point: -2 };
        let args = d.args();
        assert_eq!(mode::KERNEL.get(args.mode), 5);
        assert_eq!(mode::STRIDE.get(args.mode), 2);
        assert_eq!(mode::OUT_INT32.get(args.mode), 0);
        assert_eq!(mode::OUT_ZP.get(args.mode), 0xFE);
        assert_eq!(args.mnk, [4, 20, 4]);
    }

    #[test]
    fn signatures_round_trip() {
        let s = signature([32, 14, 14, 3, 1], OutputMode::Int32);
        assert_eq!(s.label, "DWConv 3x3/1 32ch 14x14 (int32 out)");
        assert_eq!(s.macs, 32 * 14 * 14 * 9);
        assert_eq!(
            signature_shape(&s),
            Some(([32, 14, 14, 3, 1], OutputMode::Int32))
        );
    }
}
