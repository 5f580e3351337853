//! A GEMM whose activations arrive channel-major and whose outputs leave
//! channel-major: A as its transpose, K x M, and C as its transpose, N x
//! M. A 1x1 convolution on an NCHW tensor is such a GEMM: its input is
//! channels by positions and so is its output.
//!
//! The accelerator takes the call as the GEMM it is (`problem` transposes A
//! once, on first use, for the simulator, a board or a replay, and the
//! device image transposes C back). The golden model transposes nothing: it
//! broadcasts the weights and packs A's columns into the kernels' panels
//! straight from the K x M input ([`crate::kernel`]'s `pack_transposed`),
//! so the kernel's lanes run along M and each output channel's row of C is
//! one run of memory. The integers are the GEMM's in another order of terms
//! (every operation wraps mod 2^32), so the result is
//! [`golden_gemm`]'s transposed, bit for bit; a test holds the two equal on
//! the int8, i16 and wide paths.
//!
//! Why: on MobileNet-class models the 1x1 convolutions' two transposes
//! (the int8 input into M x K, the f32 output back into channels by
//! positions) cost about as much as their products.

use std::sync::OnceLock;

use kiln_driver::DeviceBuffer;
use kiln_spec::Design;

use super::codes::Broadcasted;
use super::job::{golden_output, signature, ENGINE};
use super::{
    check_len, golden_gemm, requantise, validate_weights, GemmError, GemmProblem, WeightCodes,
};
use crate::backend::BackendError;
use crate::engines::{DeviceImage, Job, Output, Signature};
use crate::formats::requant::{ChannelParams, OutputMode};
use crate::formats::Codebook;
use crate::kernel;
use crate::model::permute::permute;

/// C^T (N x M) = B (N x K codes) x A^T (K x M), per output channel as
/// [`golden_gemm`] defines C.
#[derive(Debug, Clone)]
pub struct ChannelMajorCall {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    /// A's transpose: K x M, row-major (one input channel per row).
    pub a_t: Vec<i8>,
    pub b: WeightCodes,
    pub channels: Vec<ChannelParams>,
    pub act_zero_point: i8,
    pub output: OutputMode,
    /// The call as a plain GEMM (A transposed), built at its first use.
    problem: OnceLock<GemmProblem>,
}

impl ChannelMajorCall {
    /// The call; errors unless the operands match M, N and K.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        m: usize,
        n: usize,
        k: usize,
        a_t: Vec<i8>,
        b: WeightCodes,
        channels: Vec<ChannelParams>,
        act_zero_point: i8,
        output: OutputMode,
    ) -> Result<Self, GemmError> {
        check_len("A^T (channel-major activations)", "K x M", a_t.len(), k, m)?;
        Ok(Self {
            m,
            n,
            k,
            a_t,
            b,
            channels,
            act_zero_point,
            output,
            problem: OnceLock::new(),
        })
    }

    /// The call as a plain GEMM: A = the transpose of `a_t`.
    pub fn problem(&self) -> &GemmProblem {
        self.problem.get_or_init(|| GemmProblem {
            m: self.m,
            n: self.n,
            k: self.k,
            a: permute(&self.a_t, &[self.k, self.m], &[1, 0]),
            b: self.b.clone(),
            channels: self.channels.clone(),
            act_zero_point: self.act_zero_point,
            output: self.output,
        })
    }

    /// The accelerator's outputs, transposed: N x M.
    pub fn golden(&self, codebook: &Codebook) -> Result<Vec<i32>, GemmError> {
        let (m, n, k) = (self.m, self.n, self.k);
        validate_weights(m, n, k, &self.b, &self.channels, codebook)?;
        let w = self.b.golden(codebook.values(), n, k);
        let mut raw = vec![0i32; n * m];
        match w.broadcasted() {
            Broadcasted::Quads(weights) => {
                let acts = kernel::QuadPanels::pack_transposed(&self.a_t, k, m);
                kernel::quad_products(weights, &acts, &mut raw);
            }
            Broadcasted::Pairs(weights) => {
                let acts = kernel::Panels::pack_transposed(&self.a_t, k, m);
                kernel::products(weights, &acts, &mut raw);
            }
            // Codebooks past i16 are a project's own and rare: the GEMM's
            // golden model, transposed.
            Broadcasted::Wide => {
                let c = golden_gemm(codebook, self.problem())?;
                return Ok(permute(&c, &[m, n], &[1, 0]));
            }
        }
        Ok(self.finish(raw, &w.row_sums))
    }

    /// Raw products (N x M) into outputs, a channel's row at a time, as
    /// [`super::finish`] does them by columns.
    fn finish(&self, mut raw: Vec<i32>, w_sums: &[i32]) -> Vec<i32> {
        let za = i32::from(self.act_zero_point);
        let rows = raw.chunks_exact_mut(self.m.max(1));
        for ((row, ch), &sum) in rows.zip(&self.channels).zip(w_sums) {
            let offset = ch.bias.wrapping_sub(za.wrapping_mul(sum));
            match self.output {
                OutputMode::Int32 => row.iter_mut().for_each(|y| *y = y.wrapping_add(offset)),
                OutputMode::Int8 { zero_point } => row
                    .iter_mut()
                    .for_each(|y| *y = requantise(y.wrapping_add(offset), ch, zero_point)),
            }
        }
        raw
    }
}

impl Job for ChannelMajorCall {
    fn engine(&self) -> &'static str {
        ENGINE
    }

    /// The GEMM's: the accelerator runs exactly that GEMM.
    fn signature(&self) -> Signature {
        signature(self.m, self.k, self.n, self.output)
    }

    fn golden(&self, design: &Design) -> Result<Output, BackendError> {
        golden_output(design, |codebook| ChannelMajorCall::golden(self, codebook))
    }

    fn to_device(&self, design: &Design) -> Result<Box<dyn DeviceImage + '_>, BackendError> {
        Ok(Box::new(TransposedOutput {
            gemm: self.problem().to_device(design)?,
            m: self.m,
            n: self.n,
        }))
    }

    fn clone_box(&self) -> Box<dyn Job> {
        Box::new(self.clone())
    }
}

/// The GEMM's device image, with C read back transposed (N x M).
struct TransposedOutput<'a> {
    gemm: Box<dyn DeviceImage + 'a>,
    m: usize,
    n: usize,
}

impl DeviceImage for TransposedOutput<'_> {
    fn inputs(&self) -> &[Vec<u8>] {
        self.gemm.inputs()
    }

    fn output_bytes(&self) -> usize {
        self.gemm.output_bytes()
    }

    fn ideal_cycles(&self) -> f64 {
        self.gemm.ideal_cycles()
    }

    fn descriptor(
        &self,
        inputs: &[DeviceBuffer],
        output: DeviceBuffer,
    ) -> Result<Box<dyn kiln_driver::Job + '_>, BackendError> {
        self.gemm.descriptor(inputs, output)
    }

    fn decode(&self, output: &[u8]) -> Result<Output, BackendError> {
        Ok(match self.gemm.decode(output)? {
            Output::Int(c) => Output::Int(permute(&c, &[self.m, self.n], &[1, 0])),
            other => other,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engines::gemm::random_problem;
    use crate::rng::SplitMix64;

    /// The channel-major golden model is the GEMM's golden model
    /// transposed, bit for bit: on the int8 kernel (mac_dsp), the i16
    /// kernel (PoT's +-128, APoT) and a made-up codebook past i16, in both
    /// output modes, over partial panels and K not a multiple of 4.
    #[test]
    fn outputs_are_the_gemms_transposed() {
        let mut rng = SplitMix64::new(53);
        for codebook in crate::engines::gemm::test_codebooks() {
            for (m, n, k) in [(1, 1, 1), (49, 24, 7), (16, 5, 32), (200, 33, 96)] {
                for output in [OutputMode::Int32, OutputMode::Int8 { zero_point: 4 }] {
                    let p = random_problem(&mut rng, &codebook, m, n, k, output);
                    let want = permute(&golden_gemm(&codebook, &p).unwrap(), &[m, n], &[1, 0]);
                    let call = ChannelMajorCall::new(
                        m,
                        n,
                        k,
                        permute(&p.a, &[m, k], &[1, 0]),
                        p.b.clone(),
                        p.channels.clone(),
                        p.act_zero_point,
                        output,
                    )
                    .unwrap();
                    let got = call.golden(&codebook).unwrap();
                    assert_eq!(got, want, "{} {m}x{n}x{k} {output:?}", codebook.pe());
                    assert_eq!(call.problem(), &p, "the GEMM it stands for");
                }
            }
        }
    }

    #[test]
    fn a_of_the_wrong_length_is_refused() {
        let err = ChannelMajorCall::new(
            4,
            2,
            3,
            vec![0; 11],
            vec![0; 6].into(),
            Vec::new(),
            0,
            OutputMode::Int32,
        )
        .unwrap_err();
        assert!(err.to_string().contains("K x M"), "{err}");
    }
}
