//! A data set of model inputs (a .npy file, samples along axis 0), read one
//! sample at a time from the file, so that memory does not grow with the
//! number of samples; every value is checked to be finite when it is
//! opened.
//!
//! A NaN or an infinity in an input is refused with the file, the sample and
//! the element named: such a run would compare NaN with NaN and call it
//! agreement. `allow_nonfinite` lets it through for a user who wants to see
//! what the hardware does with it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::npy::{NpyError, NpyReader};

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
}

/// Model inputs from one file. Clones share the open file (a calibration
/// subset of the inputs costs nothing).
#[derive(Debug, Clone)]
pub struct DataSet {
    reader: Arc<NpyReader>,
    /// Samples used (`--limit`), at most the file's.
    samples: usize,
}

impl DataSet {
    /// Opens `path`; refuses non-finite values unless `allow_nonfinite`.
    pub fn open(path: &Path, allow_nonfinite: bool) -> Result<Self, DataError> {
        let reader = NpyReader::open(path)?;
        let set = Self {
            samples: reader.shape()[0],
            reader: Arc::new(reader),
        };
        if !allow_nonfinite {
            set.check_finite()?;
        }
        Ok(set)
    }

    /// One pass over the file, a sample at a time.
    fn check_finite(&self) -> Result<(), DataError> {
        for sample in 0..self.samples {
            let values = self.sample(sample)?;
            if let Some(element) = values.iter().position(|v| !v.is_finite()) {
                return Err(DataError::NonFinite {
                    path: self.path().to_owned(),
                    sample,
                    element,
                    value: values[element],
                });
            }
        }
        Ok(())
    }

    /// Only the first `n` samples (all of them if fewer).
    pub fn limit(mut self, n: usize) -> Self {
        self.samples = self.samples.min(n);
        self
    }

    pub fn path(&self) -> &Path {
        self.reader.path()
    }

    pub fn samples(&self) -> usize {
        self.samples
    }

    /// One sample's shape (the file's shape without axis 0).
    pub fn sample_shape(&self) -> &[usize] {
        &self.reader.shape()[1..]
    }

    /// Sample `i`'s values, C order, read from the file.
    pub fn sample(&self, i: usize) -> Result<Vec<f32>, DataError> {
        Ok(self.reader.read_f32(i)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::npy::write_f32;

    #[test]
    fn samples_come_from_the_file_and_a_nan_is_named() {
        let dir = std::env::temp_dir().join(format!("kiln-dataset-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("x.npy");
        let mut data: Vec<f32> = (0..24).map(|v| v as f32).collect();
        write_f32(&path, &[2, 3, 4], &data).unwrap();
        let set = DataSet::open(&path, false).unwrap();
        assert_eq!((set.samples(), set.sample_shape()), (2, &[3usize, 4][..]));
        assert_eq!(set.sample(1).unwrap(), data[12..].to_vec());
        assert!(set.sample(2).is_err(), "no third sample");
        assert_eq!(set.clone().limit(1).samples(), 1);

        data[12 + 7] = f32::NAN;
        write_f32(&path, &[2, 3, 4], &data).unwrap();
        let err = DataSet::open(&path, false).unwrap_err();
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
        let set = DataSet::open(&path, true).unwrap();
        assert!(set.sample(1).unwrap()[7].is_nan());

        // A file shorter than its header's shape is refused at open.
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 4]).unwrap();
        let err = DataSet::open(&path, true).unwrap_err();
        assert!(err.to_string().contains("needs 96"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
