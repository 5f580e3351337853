//! A data set of model inputs (a .npy file, samples along axis 0), read one
//! sample at a time, with every value checked to be finite when opened.
//!
//! A NaN or an infinity in an input is refused with the file, the sample and
//! the element named: such a run would compare NaN with NaN and call it
//! agreement. `allow_nonfinite` lets it through for a user who wants to see
//! what the hardware does with it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::npy::{read_f32, NpyArray, NpyError};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    #[error(transparent)]
    Npy(#[from] NpyError),
    #[error("{path}: sample {sample}, element {element} is {value}; inputs must be finite (pass --allow-nonfinite to run it anyway)")]
    NonFinite {
        path: PathBuf,
        sample: usize,
        element: usize,
        value: f32,
    },
    #[error("{path} holds a scalar; give samples along axis 0")]
    Scalar { path: PathBuf },
}

/// Model inputs from one file.
/// Clones share the values (a calibration subset of the inputs costs no
/// copy).
#[derive(Debug, Clone)]
pub struct DataSet {
    path: PathBuf,
    array: Arc<NpyArray<f32>>,
    /// Samples used (`--limit`), at most the file's.
    samples: usize,
}

impl DataSet {
    /// Opens `path`; refuses non-finite values unless `allow_nonfinite`.
    pub fn open(path: &Path, allow_nonfinite: bool) -> Result<Self, DataError> {
        let array = read_f32(path)?;
        Self::from_array(path, array, allow_nonfinite)
    }

    /// A data set of an array already read (`path` names it in errors).
    pub fn from_array(
        path: &Path,
        array: NpyArray<f32>,
        allow_nonfinite: bool,
    ) -> Result<Self, DataError> {
        let Some(&samples) = array.shape.first() else {
            return Err(DataError::Scalar {
                path: path.to_owned(),
            });
        };
        let set = Self {
            path: path.to_owned(),
            array: Arc::new(array),
            samples,
        };
        if !allow_nonfinite {
            set.check_finite()?;
        }
        Ok(set)
    }

    fn check_finite(&self) -> Result<(), DataError> {
        let per = self.sample_len();
        match self.array.data.iter().position(|v| !v.is_finite()) {
            None => Ok(()),
            Some(at) => Err(DataError::NonFinite {
                path: self.path.clone(),
                sample: at / per.max(1),
                element: at % per.max(1),
                value: self.array.data[at],
            }),
        }
    }

    /// Only the first `n` samples (all of them if fewer).
    pub fn limit(mut self, n: usize) -> Self {
        self.samples = self.samples.min(n);
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn samples(&self) -> usize {
        self.samples
    }

    /// One sample's shape (the file's shape without axis 0).
    pub fn sample_shape(&self) -> &[usize] {
        &self.array.shape[1..]
    }

    fn sample_len(&self) -> usize {
        self.sample_shape().iter().product()
    }

    /// Sample `i`'s values, C order.
    pub fn sample(&self, i: usize) -> &[f32] {
        let per = self.sample_len();
        &self.array.data[i * per..(i + 1) * per]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nan_is_named_by_file_sample_and_element() {
        let mut data = vec![0.5f32; 2 * 3 * 4];
        data[12 + 7] = f32::NAN;
        let array = NpyArray {
            shape: vec![2, 3, 4],
            data,
        };
        let err = DataSet::from_array(Path::new("x.npy"), array.clone(), false).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::NonFinite {
                    sample: 1,
                    element: 7,
                    ..
                }
            ),
            "{err}"
        );
        let text = err.to_string();
        assert!(
            text.contains("x.npy") && text.contains("sample 1, element 7"),
            "{text}"
        );
        let set = DataSet::from_array(Path::new("x.npy"), array, true).unwrap();
        assert!(set.sample(1)[7].is_nan());
        assert_eq!(set.clone().limit(1).samples(), 1);
        assert_eq!(set.sample_shape(), &[3, 4]);
    }
}
