//! A GEMM's weight codes, shared: the jobs of one model layer hold one copy
//! (an `Arc`), and what the golden model derives from them (their values
//! packed for the kernels, their row sums, their largest code) is made once,
//! the first time it is needed, not once per call.

use std::ops::{Deref, DerefMut};
use std::sync::{Arc, OnceLock};

use crate::kernel::{quads_available, Broadcast, Panels, QuadBroadcast, QuadPanels, LANES};

/// N x K weight codes, row-major, one code per byte.
#[derive(Clone, Default)]
pub struct WeightCodes {
    codes: Arc<Vec<u8>>,
    derived: Arc<Derived>,
}

#[derive(Default)]
struct Derived {
    /// The largest code (0 for none).
    max: OnceLock<u8>,
    /// For the codebook values it was made with.
    golden: OnceLock<GoldenWeights>,
}

/// The weights as the golden kernels take them, for one codebook.
#[derive(Debug)]
pub(super) struct GoldenWeights {
    /// The codebook's values, which fix everything below.
    values: Vec<i32>,
    n: usize,
    k: usize,
    /// Decoded values packed for one of [`crate::kernel`]'s kernels.
    pub packed: Packed,
    /// The decoded values as i16, row-major (for calls that broadcast the
    /// weights); empty for [`Packed::Wide`].
    pub values_i16: Vec<i16>,
    /// Wrapping sum of each row's values.
    pub row_sums: Vec<i32>,
    /// The values as the broadcast operand, made at first use.
    broadcast: OnceLock<Broadcasted>,
}

/// The weights as the kernels' broadcast operand, for calls whose packed
/// operand is the activations (channel-major calls).
#[derive(Debug)]
pub(super) enum Broadcasted {
    /// Every value an i8, on a CPU with the int8 kernel.
    Quads(QuadBroadcast),
    /// Every value an i16.
    Pairs(Broadcast),
    /// Some value past i16: term by term.
    Wide,
}

/// How the golden model multiplies a set of weights.
#[derive(Debug)]
pub(super) enum Packed {
    /// Every value an i8, 16 rows or more, on a CPU with the int8 kernel.
    Int8(QuadPanels),
    /// Every value an i16.
    Int16(Panels),
    /// Some value past i16: term by term.
    Wide,
}

impl WeightCodes {
    /// The largest code, found once.
    pub fn max_code(&self) -> u8 {
        *self
            .derived
            .max
            .get_or_init(|| self.codes.iter().copied().max().unwrap_or(0))
    }

    /// The golden model's form of the codes under the codebook `values`, N
    /// rows of K; made once per set of codes for the first codebook asked
    /// for (a run uses one), and made afresh for another.
    pub(super) fn golden(&self, values: &[i32], n: usize, k: usize) -> GoldenRef<'_> {
        let made = self
            .derived
            .golden
            .get_or_init(|| GoldenWeights::new(&self.codes, values, n, k));
        if made.values == values && made.n == n && made.k == k {
            GoldenRef::Shared(made)
        } else {
            GoldenRef::Own(Box::new(GoldenWeights::new(&self.codes, values, n, k)))
        }
    }
}

/// Either the shared golden form or one made for this call.
pub(super) enum GoldenRef<'a> {
    Shared(&'a GoldenWeights),
    Own(Box<GoldenWeights>),
}

impl Deref for GoldenRef<'_> {
    type Target = GoldenWeights;
    fn deref(&self) -> &GoldenWeights {
        match self {
            GoldenRef::Shared(g) => g,
            GoldenRef::Own(g) => g,
        }
    }
}

impl GoldenWeights {
    fn new(codes: &[u8], values: &[i32], n: usize, k: usize) -> Self {
        // A table of all 256 byte values: codes past the codebook were
        // refused by validation, and read 0 here.
        let mut table = [0i32; 256];
        for (slot, &v) in table.iter_mut().zip(values) {
            *slot = v;
        }
        let decoded: Vec<i32> = codes.iter().map(|&c| table[usize::from(c)]).collect();
        let row_sums = decoded
            .chunks_exact(k.max(1))
            .map(|row| row.iter().fold(0i32, |s, &v| s.wrapping_add(v)))
            .collect();
        let small: Option<Vec<i16>> = decoded.iter().map(|&v| i16::try_from(v).ok()).collect();
        let (packed, values_i16) = match small {
            Some(v) => {
                // Fewer rows than a panel's lanes take the i16 kernel the
                // other way round (see `raw_products_i16`).
                let bytes: Option<Vec<i8>> = (n >= LANES && quads_available())
                    .then(|| v.iter().map(|&x| i8::try_from(x).ok()).collect())
                    .flatten();
                let packed = match bytes {
                    Some(b) => Packed::Int8(QuadPanels::pack(&b, n, k)),
                    None => Packed::Int16(Panels::pack(&v, n, k)),
                };
                (packed, v)
            }
            None => (Packed::Wide, Vec::new()),
        };
        Self {
            values: values.to_vec(),
            n,
            k,
            packed,
            values_i16,
            row_sums,
            broadcast: OnceLock::new(),
        }
    }

    /// The weights as the broadcast operand, made once.
    pub fn broadcasted(&self) -> &Broadcasted {
        self.broadcast.get_or_init(|| {
            if matches!(self.packed, Packed::Wide) {
                return Broadcasted::Wide;
            }
            let bytes: Option<Vec<i8>> = quads_available()
                .then(|| {
                    self.values_i16
                        .iter()
                        .map(|&x| i8::try_from(x).ok())
                        .collect()
                })
                .flatten();
            match bytes {
                Some(b) => Broadcasted::Quads(QuadBroadcast::new(&b, self.n, self.k)),
                None => Broadcasted::Pairs(Broadcast::new(&self.values_i16, self.n, self.k)),
            }
        })
    }
}

impl Deref for WeightCodes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.codes
    }
}

impl DerefMut for WeightCodes {
    /// Codes changed in place lose what was derived from them.
    fn deref_mut(&mut self) -> &mut [u8] {
        self.derived = Arc::default();
        Arc::make_mut(&mut self.codes).as_mut_slice()
    }
}

impl From<Vec<u8>> for WeightCodes {
    fn from(codes: Vec<u8>) -> Self {
        Self {
            codes: Arc::new(codes),
            derived: Arc::default(),
        }
    }
}

impl PartialEq for WeightCodes {
    fn eq(&self, other: &Self) -> bool {
        self.codes == other.codes
    }
}

impl Eq for WeightCodes {}

impl std::fmt::Debug for WeightCodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.codes.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_codes_forget_what_was_derived() {
        let mut w = WeightCodes::from(vec![1, 5, 2]);
        assert_eq!(w.max_code(), 5);
        let shared = w.clone();
        w[1] = 9;
        assert_eq!(w.max_code(), 9);
        assert_eq!(shared.max_code(), 5);
        assert_eq!(&shared[..], &[1, 5, 2]);
    }

    #[test]
    fn another_codebook_gets_its_own_values() {
        let w = WeightCodes::from(vec![0, 1, 1, 0]);
        assert_eq!(w.golden(&[3, -2], 2, 2).row_sums, vec![1, 1]);
        assert_eq!(w.golden(&[300, 7], 2, 2).row_sums, vec![307, 307]);
        assert!(matches!(w.golden(&[70000, 7], 2, 2).packed, Packed::Wide));
        assert!(matches!(w.golden(&[300, 7], 2, 2).packed, Packed::Int16(_)));
    }
}
