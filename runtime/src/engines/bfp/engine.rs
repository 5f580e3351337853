//! The BFP MatMul engine in kiln's registry (`crate::engines::all`).

use kiln_spec::{BfpEngine, Board, Design};

use super::budget;
use super::job::{signature, signature_shape, weight_format, MatmulProblem};
use super::lower::BfpArithmetic;
use super::{BfpFormat, BfpMatrix, ElementKind};
use crate::backend::BackendError;
use crate::budget::{Budget, BudgetError};
use crate::engines::{Bid, Engine, Job, Signature};
use crate::model::lower::{LayerContext, Lowering};
use crate::model::matrix::MatrixLowering;
use crate::model::site::Site;
use crate::rng::SplitMix64;

/// The block-floating-point MatMul engine (hw/ip/bfp).
#[derive(Debug)]
pub struct BfpMatmulEngine;

/// The registered instance.
pub static BFP: BfpMatmulEngine = BfpMatmulEngine;

impl Engine for BfpMatmulEngine {
    fn name(&self) -> &'static str {
        super::job::ENGINE
    }

    fn describe(&self, design: &Design) -> Result<String, BackendError> {
        let b = design.params::<BfpEngine>()?;
        Ok(format!(
            "{} lanes, mxint8 activations, {} weights, blocks of {}",
            b.lanes, b.format, b.block
        ))
    }

    /// Every lane's multipliers: one 64-bit weight beat per cycle.
    fn peak_macs_per_cycle(&self, design: &Design) -> Result<f64, BackendError> {
        let b = design.params::<BfpEngine>()?;
        Ok(f64::from(b.lanes * b.elements_per_beat()))
    }

    fn general(&self) -> bool {
        true
    }

    /// Every EinSum, Conv and ConvTranspose, as MatMuls.
    fn bid(&self, _design: &Design, _site: &Site, _quantised: bool) -> Option<Bid> {
        Some(Bid::GENERAL)
    }

    /// One MatMul per batch matrix or group.
    fn calls(&self, _design: &Design, site: &Site) -> Vec<(Signature, u64)> {
        let [m, k, n] = site.shape();
        vec![(signature(m, k, n), site.calls() as u64)]
    }

    fn lower(
        &self,
        design: &Design,
        layer: &LayerContext<'_>,
    ) -> anyhow::Result<Box<dyn Lowering>> {
        Ok(Box::new(MatrixLowering::new(
            layer,
            Box::new(BfpArithmetic {
                weights: weight_format(design)?,
            }),
        )?))
    }

    fn needs_calibration(&self) -> bool {
        false
    }

    fn synthetic(
        &self,
        design: &Design,
        signature: &Signature,
        rng: &mut SplitMix64,
    ) -> Result<Box<dyn Job>, BackendError> {
        let (m, k, n) = signature_shape(signature).ok_or_else(|| signature.foreign_to(design))?;
        let mut values = |len: usize| -> Vec<f32> {
            (0..len)
                .map(|_| (rng.below(1 << 16) as f32 / 32768.0) - 1.0)
                .collect()
        };
        let w_format = weight_format(design)?;
        let a_format = BfpFormat::new(ElementKind::Int8, w_format.block)?;
        let a = BfpMatrix::quantise(a_format, m, k, &values(m * k))?;
        let w = BfpMatrix::quantise(w_format, n, k, &values(n * k))?;
        Ok(Box::new(MatmulProblem { a, w }))
    }

    fn check_fits(
        &self,
        design: &Design,
        board: &Board,
        signature: &Signature,
    ) -> Result<Budget, BudgetError> {
        let (m, k, n) = signature_shape(signature)
            .ok_or_else(|| BudgetError::from(signature.foreign_to(design)))?;
        budget::check_matmul(design, board, m, k, n)
    }
}
