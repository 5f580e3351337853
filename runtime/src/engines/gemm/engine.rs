//! The GEMM engine in kiln's registry (`crate::engines::all`).

use kiln_spec::{Board, Design, GemmArray};

use super::job::{signature, signature_shape};
use super::lower::GemmArithmetic;
use super::{budget, random_problem, OutputMode};
use crate::backend::BackendError;
use crate::budget::{Budget, BudgetError};
use crate::engines::{Bid, Engine, Job, Signature};
use crate::formats::Codebook;
use crate::model::lower::{LayerContext, Lowering};
use crate::model::matrix::MatrixLowering;
use crate::model::site::Site;
use crate::rng::SplitMix64;

/// The quantised GEMM engine (hw/ip/gemm).
#[derive(Debug)]
pub struct GemmEngine;

/// The registered instance.
pub static GEMM: GemmEngine = GemmEngine;

impl Engine for GemmEngine {
    fn name(&self) -> &'static str {
        super::job::ENGINE
    }

    fn describe(&self, design: &Design) -> Result<String, BackendError> {
        let a = design.params::<GemmArray>()?;
        let bits = design.weight_bits()?;
        let container = super::layout::container_bits(bits)?;
        let stored = if container == bits {
            String::new()
        } else {
            format!(" (stored in {container}-bit containers)")
        };
        Ok(format!(
            "{}x{} {} PEs, int8 activations, {bits}-bit weight codes{stored}",
            a.rows, a.cols, a.pe
        ))
    }

    fn peak_macs_per_cycle(&self, design: &Design) -> Result<f64, BackendError> {
        Ok(f64::from(design.params::<GemmArray>()?.pes()))
    }

    fn general(&self) -> bool {
        true
    }

    /// Every EinSum, Conv and ConvTranspose, as GEMMs.
    fn bid(&self, _design: &Design, _site: &Site, _quantised: bool) -> Option<Bid> {
        Some(Bid::GENERAL)
    }

    /// One int32 GEMM per batch matrix or group.
    fn calls(&self, _design: &Design, site: &Site) -> Vec<(Signature, u64)> {
        let [m, k, n] = site.shape();
        vec![(signature(m, k, n, OutputMode::Int32), site.calls() as u64)]
    }

    fn lower(
        &self,
        design: &Design,
        layer: &LayerContext<'_>,
    ) -> anyhow::Result<Box<dyn Lowering>> {
        design.params::<GemmArray>()?;
        let codebook = Codebook::of_design(design)?;
        Ok(Box::new(MatrixLowering::new(
            layer,
            Box::new(GemmArithmetic { codebook }),
        )?))
    }

    fn needs_calibration(&self) -> bool {
        true
    }

    fn synthetic(
        &self,
        design: &Design,
        signature: &Signature,
        rng: &mut SplitMix64,
    ) -> Result<Box<dyn Job>, BackendError> {
        let (m, k, n, output) =
            signature_shape(signature).ok_or_else(|| signature.foreign_to(design))?;
        design.params::<GemmArray>()?;
        let codebook = Codebook::of_design(design)?;
        Ok(Box::new(random_problem(rng, &codebook, m, n, k, output)))
    }

    fn check_fits(
        &self,
        design: &Design,
        board: &Board,
        signature: &Signature,
    ) -> Result<Budget, BudgetError> {
        let (m, k, n, output) = signature_shape(signature)
            .ok_or_else(|| BudgetError::from(signature.foreign_to(design)))?;
        budget::check_gemm(design, board, m, n, k, output)
    }
}
