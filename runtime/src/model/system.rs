//! The designs one model run uses together, and which of them takes each
//! layer.
//!
//! A run compares one or more *systems*. A system is one design, or
//! several designs of different engines beside each other (a GEMM design
//! with a depthwise-convolution design, say); each offloadable layer goes
//! to the design whose engine bids highest for it
//! ([`crate::engines::Engine::bid`]), the first listed on a tie.

use kiln_spec::Design;

use super::graph::Layer;
use crate::engines::{self, Bid};

/// Designs that run one model together.
#[derive(Debug, Clone, PartialEq)]
pub struct System {
    pub designs: Vec<Design>,
}

/// Why the designs given cannot form systems.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SystemError {
    #[error("no design given")]
    Empty,
    #[error("designs `{first}` and `{second}` are both {engine} designs; a system takes one design per engine (compare them as separate --design values)")]
    SameEngine {
        first: String,
        second: String,
        engine: String,
    },
    #[error(transparent)]
    Backend(Box<crate::backend::BackendError>),
}

// Boxed: a backend error is large, and run errors carry this one.
impl From<crate::backend::BackendError> for SystemError {
    fn from(e: crate::backend::BackendError) -> Self {
        SystemError::Backend(Box::new(e))
    }
}

impl System {
    /// One design alone.
    pub fn single(design: Design) -> Self {
        Self {
            designs: vec![design],
        }
    }

    /// Designs together, at most one per engine.
    pub fn new(designs: Vec<Design>) -> Result<Self, SystemError> {
        if designs.is_empty() {
            return Err(SystemError::Empty);
        }
        for (i, a) in designs.iter().enumerate() {
            if let Some(b) = designs[i + 1..]
                .iter()
                .find(|b| b.engine_name() == a.engine_name())
            {
                return Err(SystemError::SameEngine {
                    first: a.name.clone(),
                    second: b.name.clone(),
                    engine: a.engine_name().to_string(),
                });
            }
        }
        Ok(Self { designs })
    }

    /// The systems of a run's design list. A design of a general engine
    /// (one that takes every kind of layer) starts a system of its own, and
    /// each design of a specialised engine joins every such system:
    /// `gemm-pot-8x8, dwconv-pot-16` is one system, `gemm-pot-8x8,
    /// gemm-mac-dsp-8x8, dwconv-pot-16` two. Specialised designs alone form
    /// one system.
    pub fn from_designs(designs: Vec<Design>) -> Result<Vec<System>, SystemError> {
        let mut general = Vec::new();
        let mut special = Vec::new();
        for design in designs {
            if engines::of(&design)?.general() {
                general.push(design);
            } else {
                special.push(design);
            }
        }
        if general.is_empty() {
            return Ok(vec![System::new(special)?]);
        }
        general
            .into_iter()
            .map(|g| {
                let mut designs = vec![g];
                designs.extend(special.iter().cloned());
                System::new(designs)
            })
            .collect()
    }

    /// `gemm-pot-8x8+dwconv-pot-16`.
    pub fn name(&self) -> String {
        self.designs
            .iter()
            .map(|d| d.name.as_str())
            .collect::<Vec<_>>()
            .join("+")
    }

    /// For each layer, the index of the design that takes it, or `None`
    /// when none does (or the layer stays on the host anyway).
    pub fn assign(&self, layers: &[Layer]) -> Result<Vec<Option<usize>>, SystemError> {
        let engines = self
            .designs
            .iter()
            .map(engines::of)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(layers
            .iter()
            .map(|layer| {
                let site = layer.site.as_ref().ok()?;
                let mut best: Option<(usize, Bid)> = None;
                for (d, (design, engine)) in self.designs.iter().zip(&engines).enumerate() {
                    if let Some(bid) = engine.bid(design, site, layer.quantised) {
                        if best.is_none_or(|(_, b)| bid > b) {
                            best = Some((d, bid));
                        }
                    }
                }
                best.map(|(d, _)| d)
            })
            .collect())
    }
}
