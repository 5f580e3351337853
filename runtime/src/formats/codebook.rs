use kiln_spec::{PeLibrary, PeSpec, PortShape};

use super::FormatError;

/// A PE kind's weight codebook and the golden model of its product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Codebook {
    pe: String,
    weight_bits: u32,
    /// Integer multiplier of each code, indexed by code.
    values: Vec<i32>,
    shape: PortShape,
}

impl Codebook {
    /// The codebook a PE's RTL must implement (a test-only PE's golden PE).
    pub fn for_pe(library: &PeLibrary, spec: &PeSpec) -> Result<Self, FormatError> {
        let golden = library.get(&spec.golden)?;
        Ok(Self {
            pe: golden.name.clone(),
            weight_bits: golden.weight_bits,
            values: (0..golden.code_count())
                .map(|c| golden.weight_value(c))
                .collect(),
            shape: library.port_shape,
        })
    }

    /// The codebook of a PE in the built-in library, by name.
    pub fn named(name: &str) -> Result<Self, FormatError> {
        let library = PeLibrary::builtin()?;
        Self::for_pe(&library, library.get(name)?)
    }

    /// The codebook of a design's PE, from the library the design was
    /// checked against (a project's PEs included). Errors for a design
    /// without PEs.
    pub fn of_design(design: &kiln_spec::Design) -> Result<Self, FormatError> {
        let pe = design.pe().ok_or_else(|| {
            FormatError::Spec(kiln_spec::SpecError::Invalid {
                file: design.name.clone(),
                message: format!("a {} design has no PE codebook", design.engine.name),
            })
        })?;
        // The golden model asks once per engine call: remember the last few
        // per thread. The key holds the library's `Arc`, so its address
        // cannot be reused by another library while the entry lives.
        type Memo = Vec<(std::sync::Arc<kiln_spec::PeLibrary>, String, Codebook)>;
        thread_local! {
            static MEMO: std::cell::RefCell<Memo> = const { std::cell::RefCell::new(Vec::new()) };
        }
        let hit = MEMO.with_borrow(|memo| {
            memo.iter()
                .find(|(lib, name, _)| std::sync::Arc::ptr_eq(lib, &design.library) && name == pe)
                .map(|(_, _, cb)| cb.clone())
        });
        if let Some(cb) = hit {
            return Ok(cb);
        }
        let cb = Self::for_pe(&design.library, design.library.get(pe)?)?;
        MEMO.with_borrow_mut(|memo| {
            if memo.len() == 8 {
                memo.remove(0);
            }
            memo.push((design.library.clone(), pe.to_string(), cb.clone()));
        });
        Ok(cb)
    }

    /// The same codebook with other values (tests of arithmetic that only
    /// wide, made-up codebooks reach).
    #[cfg(test)]
    pub(crate) fn with_values(&self, values: Vec<i32>) -> Self {
        Self {
            values,
            ..self.clone()
        }
    }

    pub fn pe(&self) -> &str {
        &self.pe
    }

    pub fn weight_bits(&self) -> u32 {
        self.weight_bits
    }

    /// Number of codes (2^weight_bits).
    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Width of the activation port.
    pub fn act_bits(&self) -> u32 {
        self.shape.act_bits
    }

    /// Width of the product port.
    pub fn product_bits(&self) -> u32 {
        self.shape.product_bits
    }

    /// The integer a code multiplies the activation by.
    pub fn value(&self, code: u32) -> Result<i32, FormatError> {
        self.values
            .get(code as usize)
            .copied()
            .ok_or_else(|| FormatError::CodeOutOfRange {
                pe: self.pe.clone(),
                code,
                bits: self.weight_bits,
            })
    }

    /// Every code's value, indexed by code.
    pub fn values(&self) -> &[i32] {
        &self.values
    }

    /// Golden product of an int8 activation and a weight code: exactly what
    /// the PE's `prod_o` must hold, as a signed integer.
    pub fn product(&self, act: i8, code: u32) -> Result<i32, FormatError> {
        Ok(i32::from(act) * self.value(code)?)
    }

    /// Largest |value| of any code.
    pub fn max_magnitude(&self) -> u32 {
        self.values
            .iter()
            .map(|v| v.unsigned_abs())
            .max()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_worked_products() {
        let pot = Codebook::named("shift_pot").unwrap();
        // e = 7, positive: 3 << 7.
        assert_eq!(pot.product(3, 0b0111).unwrap(), 384);
        // sign set, e = 7, act = -128: -(-128 << 7).
        assert_eq!(pot.product(-128, 0b1111).unwrap(), 16384);
        // e = 0, sign set: -act.
        assert_eq!(pot.product(-5, 0b1000).unwrap(), 5);

        let msq = Codebook::named("shift_msq").unwrap();
        // bits 2..1 = 11 (x<<3), bit 0 (x<<1): 8x + 2x = 10x.
        assert_eq!(msq.product(7, 0b0111).unwrap(), 70);
        // bits 2..1 = 00, bit 0 clear: no term at all; the sign cannot make it non-zero.
        assert_eq!(msq.product(-128, 0b1000).unwrap(), 0);
        // bits 2..1 = 01 (x<<1) with sign: -2x.
        assert_eq!(msq.product(-3, 0b1010).unwrap(), 6);

        let apot = Codebook::named("shift_apot").unwrap();
        // bits 2..1 = 11 (x<<4), bit 0 (x<<3): 24x.
        assert_eq!(apot.product(-128, 0b0111).unwrap(), -3072);
        // bits 2..1 = 00, bit 0 (x<<3), sign: -8x.
        assert_eq!(apot.product(2, 0b1001).unwrap(), -16);

        let lut = Codebook::named("mac_lut").unwrap();
        assert_eq!(lut.product(-128, 0b1000).unwrap(), 1024);
        assert_eq!(lut.product(100, 0b0111).unwrap(), 700);

        let dsp = Codebook::named("mac_dsp").unwrap();
        assert_eq!(dsp.product(-128, 0x80).unwrap(), 16384);
        assert_eq!(dsp.product(127, 0x81).unwrap(), -16129);
    }

    #[test]
    fn codes_outside_the_width_are_refused() {
        let pot = Codebook::named("shift_pot").unwrap();
        let err = pot.product(1, 16).unwrap_err().to_string();
        assert!(err.contains("16") && err.contains("4-bit"), "{err}");
    }
}
