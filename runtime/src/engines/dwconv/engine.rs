//! The dwconv engine in kiln's registry (`crate::engines::all`).

use kiln_driver::Job as _;
use kiln_spec::engines::DwconvArray;
use kiln_spec::{Board, Design};

use super::golden::random_problem;
use super::job::{signature, signature_shape, DwconvDescriptor, Shape};
use super::layout::Layout;
use super::lower::{depthwise_geometry, DwconvLowering};
use crate::backend::{expected_design, BackendError};
use crate::budget::{allocate, check_device, operand, region, Budget, BudgetError, Side};
use crate::engines::{Bid, Engine, Job, Signature};
use crate::formats::requant::OutputMode;
use crate::formats::Codebook;
use crate::model::lower::{LayerContext, Lowering};
use crate::model::site::Site;
use crate::rng::SplitMix64;

/// The depthwise-convolution engine (hw/ip/dwconv).
#[derive(Debug)]
pub struct DwconvEngine;

/// The registered instance.
pub static DWCONV: DwconvEngine = DwconvEngine;

fn array(design: &Design) -> Result<&DwconvArray, BackendError> {
    Ok(design.params::<DwconvArray>()?)
}

/// `[C, Ho, Wo, K, s]` of a depthwise site the engine takes.
fn shape(design: &Design, site: &Site) -> Option<Shape> {
    let a = array(design).ok()?;
    let (k, s) = depthwise_geometry(site, a.max_kernel as usize, a.max_width as usize)?;
    let Site::Conv(c) = site else { return None };
    Some([c.channels, c.out_spatial[0], c.out_spatial[1], k, s])
}

impl Engine for DwconvEngine {
    fn name(&self) -> &'static str {
        super::job::ENGINE
    }

    fn describe(&self, design: &Design) -> Result<String, BackendError> {
        let a = array(design)?;
        Ok(format!(
            "{} lanes of {} PEs, int8 activations, {}-bit weight codes, kernels up to {}x{}",
            a.lanes,
            a.pe,
            design.weight_bits()?,
            a.max_kernel,
            a.max_kernel
        ))
    }

    /// One PE per lane.
    fn peak_macs_per_cycle(&self, design: &Design) -> Result<f64, BackendError> {
        Ok(f64::from(array(design)?.lanes))
    }

    fn general(&self) -> bool {
        false
    }

    /// Depthwise convolutions it holds, above any general engine.
    fn bid(&self, design: &Design, site: &Site, quantised: bool) -> Option<Bid> {
        (!quantised && shape(design, site).is_some()).then_some(Bid::SPECIALIST)
    }

    /// One call per image.
    fn calls(&self, design: &Design, site: &Site) -> Vec<(Signature, u64)> {
        match (shape(design, site), site) {
            (Some(shape), Site::Conv(c)) => {
                vec![(signature(shape, OutputMode::Int32), c.images as u64)]
            }
            _ => Vec::new(),
        }
    }

    fn lower(
        &self,
        design: &Design,
        layer: &LayerContext<'_>,
    ) -> anyhow::Result<Box<dyn Lowering>> {
        let a = array(design)?;
        let geometry = depthwise_geometry(layer.site, a.max_kernel as usize, a.max_width as usize)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "{}: not a depthwise convolution {} holds",
                    layer.name,
                    design.name
                )
            })?;
        Ok(Box::new(DwconvLowering::new(
            layer,
            Codebook::of_design(design)?,
            geometry,
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
        let ([c, ho, wo, k, s], output) =
            signature_shape(signature).ok_or_else(|| signature.foreign_to(design))?;
        array(design)?;
        let codebook = Codebook::of_design(design)?;
        Ok(Box::new(random_problem(
            rng, &codebook, c, ho, wo, k, s, output,
        )))
    }

    /// The four regions as the device backend allocates them (input,
    /// weights, channel records, output), then the driver's own checks.
    fn check_fits(
        &self,
        design: &Design,
        board: &Board,
        signature: &Signature,
    ) -> Result<Budget, BudgetError> {
        let (shape, output) = signature_shape(signature)
            .ok_or_else(|| BudgetError::from(signature.foreign_to(design)))?;
        let a = array(design)?;
        let bits = design.weight_bits()?;
        let [c, ho, wo, k, s] = shape;
        let l = Layout::of_shape(shape, output, a.lanes as usize, bits);
        let call = format!("{} on {}", signature.label, design.name);
        let parts = vec![
            region(&call, "input", l.groups * l.in_rows, l.lda)?,
            region(&call, "weights", l.groups * l.taps, l.tap_words * 8)?,
            region(&call, "channel parameters", l.groups * l.lanes, 16)?,
            region(&call, "output", l.groups * ho, l.ldc)?,
        ];
        let (buffers, total) = allocate(&call, &parts)?;
        let dim = |x: usize| u32::try_from(x).unwrap_or(u32::MAX);
        let desc = DwconvDescriptor {
            channels: dim(c),
            out_rows: dim(ho),
            out_cols: dim(wo),
            kernel: dim(k),
            stride: dim(s),
            a: operand(buffers[0], l.lda),
            b: operand(buffers[1], 0),
            c: operand(buffers[3], l.ldc),
            params: operand(buffers[2], 0),
            output,
        };
        desc.validate(&expected_design(design)?.identity)
            .map_err(|source| BudgetError::Descriptor {
                call: call.clone(),
                source,
            })?;
        let budget = Budget {
            call,
            side: Side::Device,
            parts,
            total,
            mapped: 0,
        };
        check_device(&budget, board)?;
        Ok(budget)
    }
}
