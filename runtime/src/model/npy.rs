//! NumPy `.npy` arrays (format 1.0 to 3.0, little-endian, C order): the
//! data sets `kiln run` reads. Floats come back as f32, integers as i64.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum NpyError {
    #[error("cannot read {path}: {cause}")]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{path} is not a .npy file: {reason}")]
    Format { path: PathBuf, reason: String },
}

/// An array read from a .npy file.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyArray<T> {
    pub shape: Vec<usize>,
    pub data: Vec<T>,
}

impl<T: Clone> NpyArray<T> {
    /// Only the first `n` entries along axis 0 (all of them if fewer).
    pub fn first(&self, n: usize) -> Self {
        let mut shape = self.shape.clone();
        let Some(rows) = shape.first_mut() else {
            return self.clone();
        };
        let per: usize = self.shape[1..].iter().product();
        *rows = n.min(*rows);
        Self {
            data: self.data[..*rows * per].to_vec(),
            shape,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dtype {
    F32,
    F64,
    I64,
    I32,
    I8,
    U8,
}

impl Dtype {
    fn parse(descr: &str) -> Option<Self> {
        Some(match descr {
            "<f4" => Dtype::F32,
            "<f8" => Dtype::F64,
            "<i8" => Dtype::I64,
            "<i4" => Dtype::I32,
            "|i1" => Dtype::I8,
            "|u1" => Dtype::U8,
            _ => return None,
        })
    }

    fn size(self) -> usize {
        match self {
            Dtype::F32 | Dtype::I32 => 4,
            Dtype::F64 | Dtype::I64 => 8,
            Dtype::I8 | Dtype::U8 => 1,
        }
    }

    /// Element `i` of `raw` as f64 (exact for every supported integer that
    /// fits 53 bits).
    fn get(self, raw: &[u8], i: usize) -> f64 {
        let b = &raw[i * self.size()..(i + 1) * self.size()];
        match self {
            Dtype::F32 => f64::from(f32::from_le_bytes(b.try_into().expect("4 bytes"))),
            Dtype::F64 => f64::from_le_bytes(b.try_into().expect("8 bytes")),
            Dtype::I64 => i64::from_le_bytes(b.try_into().expect("8 bytes")) as f64,
            Dtype::I32 => f64::from(i32::from_le_bytes(b.try_into().expect("4 bytes"))),
            Dtype::I8 => f64::from(b[0] as i8),
            Dtype::U8 => f64::from(b[0]),
        }
    }
}

fn format_error(path: &Path, reason: impl Into<String>) -> NpyError {
    NpyError::Format {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

/// Reads the header and the raw data.
fn read_raw(path: &Path) -> Result<(Dtype, Vec<usize>, Vec<u8>), NpyError> {
    let bytes = std::fs::read(path).map_err(|cause| NpyError::Read {
        path: path.to_owned(),
        cause,
    })?;
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(format_error(path, "no \\x93NUMPY magic"));
    }
    let (header_len, start) = match bytes[6] {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return Err(format_error(path, format!("unknown format version {v}"))),
    };
    let header = bytes
        .get(start..start + header_len)
        .and_then(|h| std::str::from_utf8(h).ok())
        .ok_or_else(|| format_error(path, "truncated header"))?;
    let field = |key: &str| -> Option<&str> {
        let at = header.find(&format!("'{key}'"))? + key.len() + 2;
        Some(
            header[at..]
                .trim_start()
                .trim_start_matches(':')
                .trim_start(),
        )
    };
    let descr = field("descr")
        .and_then(|s| s.strip_prefix('\''))
        .and_then(|s| s.split('\'').next())
        .ok_or_else(|| format_error(path, "no descr in the header"))?;
    let dtype = Dtype::parse(descr).ok_or_else(|| {
        format_error(
            path,
            format!("dtype {descr} is not supported (use float32, float64, int64, int32, int8 or uint8, little-endian)"),
        )
    })?;
    if field("fortran_order").is_some_and(|s| s.starts_with("True")) {
        return Err(format_error(
            path,
            "Fortran order is not supported; save a C-ordered array",
        ));
    }
    let shape_text = field("shape")
        .and_then(|s| s.strip_prefix('('))
        .and_then(|s| s.split(')').next())
        .ok_or_else(|| format_error(path, "no shape in the header"))?;
    let shape = shape_text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| format_error(path, format!("bad shape ({shape_text})")))?;
    let data = bytes[start + header_len..].to_vec();
    let expected = shape.iter().product::<usize>() * dtype.size();
    if data.len() != expected {
        return Err(format_error(
            path,
            format!(
                "holds {} data bytes; shape {shape:?} needs {expected}",
                data.len()
            ),
        ));
    }
    Ok((dtype, shape, data))
}

/// Reads any supported dtype as f32.
pub fn read_f32(path: &Path) -> Result<NpyArray<f32>, NpyError> {
    let (dtype, shape, raw) = read_raw(path)?;
    let len = shape.iter().product();
    Ok(NpyArray {
        data: (0..len).map(|i| dtype.get(&raw, i) as f32).collect(),
        shape,
    })
}

/// Reads an integer array as i64 (labels).
pub fn read_i64(path: &Path) -> Result<NpyArray<i64>, NpyError> {
    let (dtype, shape, raw) = read_raw(path)?;
    if matches!(dtype, Dtype::F32 | Dtype::F64) {
        return Err(format_error(path, "labels must be integers"));
    }
    let len = shape.iter().product();
    Ok(NpyArray {
        data: (0..len).map(|i| dtype.get(&raw, i) as i64).collect(),
        shape,
    })
}

/// Writes a float32 array (for tests and tools).
pub fn write_f32(path: &Path, shape: &[usize], data: &[f32]) -> std::io::Result<()> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape_text = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape_text}, }}");
    // Pad so that the data starts on a 64-byte boundary, newline last.
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header.as_bytes());
    for v in data {
        out.extend(v.to_le_bytes());
    }
    std::fs::write(path, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let dir = std::env::temp_dir().join(format!("kiln-npy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("a.npy");
        write_f32(&p, &[2, 3], &[1.0, -2.5, 3.0, 4.0, 5.0, 6.5]).unwrap();
        let a = read_f32(&p).unwrap();
        assert_eq!(a.shape, vec![2, 3]);
        let head = a.first(1);
        assert_eq!((head.shape, head.data), (vec![1, 3], vec![1.0, -2.5, 3.0]));
        assert_eq!(a.first(9), a);
        assert_eq!(a.data[1], -2.5);
        assert!(read_i64(&p).is_err(), "floats are not labels");
        let bad = dir.join("bad.npy");
        std::fs::write(&bad, b"not numpy at all").unwrap();
        assert!(read_f32(&bad).unwrap_err().to_string().contains("magic"));
        let mut truncated = std::fs::read(&p).unwrap();
        truncated.truncate(truncated.len() - 3);
        std::fs::write(&bad, truncated).unwrap();
        assert!(read_f32(&bad).unwrap_err().to_string().contains("needs 24"));
        std::fs::remove_dir_all(&dir).ok();
    }
}
