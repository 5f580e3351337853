//! LLM workloads as the MatMuls one generated token needs, for projecting
//! a BFP design's time per token from simulated cycles.
//!
//! At decode time (one new token, M = 1) every weight matrix of the model
//! is multiplied by one activation row, so the token's MatMul time is the
//! sum over the distinct weight shapes of (cycles for that shape) x (how
//! many layers use it). Attention over the KV cache and the element-wise
//! work are left out: they are not MatMuls with stored weights.

use serde::Serialize;

/// One weight shape of the model: y (1 x N) = x (1 x K) W^T.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct WeightMatmul {
    pub name: &'static str,
    /// Input features.
    pub k: usize,
    /// Output features (rows of W).
    pub n: usize,
    /// Times this shape runs per token (once per layer that has it).
    pub per_token: usize,
}

/// A published per-token figure to compare against.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Reference {
    pub system: &'static str,
    pub board: &'static str,
    pub seconds_per_token: f64,
}

/// A model's decode-time MatMuls.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Workload {
    pub name: &'static str,
    pub summary: &'static str,
    pub matmuls: Vec<WeightMatmul>,
    /// Weights that are stored but not multiplied per token (the token
    /// embedding table), as (rows, K), for the DDR footprint.
    pub stored_only: Vec<(&'static str, usize, usize)>,
    pub reference: Option<Reference>,
}

/// Why a workload is unknown.
#[derive(Debug, thiserror::Error)]
#[error("no workload named `{0}`; known: tinyllama")]
pub struct UnknownWorkload(pub String);

impl Workload {
    /// The workload with this name.
    pub fn by_name(name: &str) -> Result<Self, UnknownWorkload> {
        match name {
            "tinyllama" => Ok(Self::tinyllama()),
            _ => Err(UnknownWorkload(name.to_string())),
        }
    }

    /// TinyLlama-1.1B: hidden 2048, FFN 5632, 22 layers, 32 query heads and
    /// 4 key-value heads of 64 (grouped-query attention: k and v project to
    /// 256), vocabulary 32,000.
    pub fn tinyllama() -> Self {
        const LAYERS: usize = 22;
        let layer = |name, k, n| WeightMatmul {
            name,
            k,
            n,
            per_token: LAYERS,
        };
        Self {
            name: "tinyllama",
            summary: "TinyLlama-1.1B decode (M = 1): 22 layers of q, k, v, o, gate, up, down, then the output head",
            matmuls: vec![
                layer("q_proj", 2048, 2048),
                layer("k_proj", 2048, 256),
                layer("v_proj", 2048, 256),
                layer("o_proj", 2048, 2048),
                layer("gate_proj", 2048, 5632),
                layer("up_proj", 2048, 5632),
                layer("down_proj", 5632, 2048),
                WeightMatmul {
                    name: "lm_head",
                    k: 2048,
                    n: 32000,
                    per_token: 1,
                },
            ],
            stored_only: vec![("embed_tokens", 32000, 2048)],
            reference: Some(Reference {
                system: "SECDA-LLM",
                board: "pynq-z1",
                seconds_per_token: 1.7,
            }),
        }
    }

    /// Weights multiplied per token.
    pub fn matmul_weights(&self) -> usize {
        self.matmuls.iter().map(|m| m.k * m.n * m.per_token).sum()
    }

    /// Multiply-accumulates per token at M = 1.
    pub fn macs_per_token(&self) -> usize {
        self.matmul_weights()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tinyllama_has_about_1_1_billion_weights() {
        let w = Workload::tinyllama();
        let stored: usize = w.stored_only.iter().map(|(_, r, k)| r * k).sum();
        // 22 x (2 x 2048^2 + 2 x 2048 x 256 + 3 x 2048 x 5632) + 2 x 32000 x 2048
        assert_eq!(w.matmul_weights(), 22 * 44_040_192 + 65_536_000);
        // TinyLlama's published 1,100,048,384 parameters are these plus
        // 92,160 RMSNorm weights (2 per layer and a final one, 2048 each).
        assert_eq!(w.matmul_weights() + stored + 45 * 2048, 1_100_048_384);
        assert!(Workload::by_name("llama-70b").is_err());
    }
}
