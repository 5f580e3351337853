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

/// Reads a whole .npy file.
fn read_bytes(path: &Path) -> Result<Vec<u8>, NpyError> {
    std::fs::read(path).map_err(|cause| NpyError::Read {
        path: path.to_owned(),
        cause,
    })
}

/// Parses the header: the dtype, the shape and the offset of the data.
fn parse_header(bytes: &[u8], path: &Path) -> Result<(Dtype, Vec<usize>, usize), NpyError> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(format_error(path, "no \\x93NUMPY magic"));
    }
    let (header_len, start): (usize, usize) = match bytes[6] {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return Err(format_error(path, format!("unknown format version {v}"))),
    };
    // Checked: on the 32-bit boards a version-2 length near u32::MAX
    // would wrap.
    let header = start
        .checked_add(header_len)
        .and_then(|end| bytes.get(start..end))
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
    Ok((dtype, shape, start + header_len))
}

/// Parses the header and checks that the data is exactly what the shape
/// needs. The size is computed with checked arithmetic: a header can claim
/// any shape, and a product that wrapped around could match a short file
/// and give an array whose shape promises more data than it holds.
fn parse_raw<'a>(bytes: &'a [u8], path: &Path) -> Result<(Dtype, Vec<usize>, &'a [u8]), NpyError> {
    let (dtype, shape, start) = parse_header(bytes, path)?;
    let data = &bytes[start..];
    let expected = shape
        .iter()
        .try_fold(dtype.size(), |n, &d| n.checked_mul(d))
        .ok_or_else(|| {
            format_error(
                path,
                format!("shape {shape:?} has more elements than any file can hold"),
            )
        })?;
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

/// Parses the bytes of a .npy file, any supported dtype, as f32; `path`
/// names the file in errors.
pub fn parse_f32(bytes: &[u8], path: &Path) -> Result<NpyArray<f32>, NpyError> {
    let (dtype, shape, raw) = parse_raw(bytes, path)?;
    let len = raw.len() / dtype.size();
    Ok(NpyArray {
        data: (0..len).map(|i| dtype.get(raw, i) as f32).collect(),
        shape,
    })
}

/// Parses the bytes of a .npy file holding integers as i64 (labels);
/// `path` names the file in errors.
pub fn parse_i64(bytes: &[u8], path: &Path) -> Result<NpyArray<i64>, NpyError> {
    let (dtype, shape, raw) = parse_raw(bytes, path)?;
    if matches!(dtype, Dtype::F32 | Dtype::F64) {
        return Err(format_error(path, "labels must be integers"));
    }
    let len = raw.len() / dtype.size();
    Ok(NpyArray {
        data: (0..len).map(|i| dtype.get(raw, i) as i64).collect(),
        shape,
    })
}

/// Reads any supported dtype as f32.
pub fn read_f32(path: &Path) -> Result<NpyArray<f32>, NpyError> {
    parse_f32(&read_bytes(path)?, path)
}

/// Reads an integer array as i64 (labels).
pub fn read_i64(path: &Path) -> Result<NpyArray<i64>, NpyError> {
    parse_i64(&read_bytes(path)?, path)
}

/// A .npy file read one entry along axis 0 at a time: only the header is
/// held, so a data set of any size costs one sample of memory.
#[derive(Debug)]
pub struct NpyReader {
    path: PathBuf,
    file: std::fs::File,
    dtype: Dtype,
    shape: Vec<usize>,
    data_start: u64,
    /// Bytes of one entry along axis 0.
    entry_bytes: usize,
}

impl NpyReader {
    /// Opens `path` and checks its header and its length against the shape.
    pub fn open(path: &Path) -> Result<Self, NpyError> {
        use std::io::Read;
        let read_error = |cause| NpyError::Read {
            path: path.to_owned(),
            cause,
        };
        let mut file = std::fs::File::open(path).map_err(read_error)?;
        // The header length sits in the first 12 bytes; read exactly the
        // header, however long it claims to be, but no further.
        let mut prefix = Vec::with_capacity(12);
        (&mut file)
            .take(12)
            .read_to_end(&mut prefix)
            .map_err(read_error)?;
        let header_len = match prefix.get(6) {
            Some(1) if prefix.len() >= 10 => {
                u64::from(u16::from_le_bytes([prefix[8], prefix[9]])) + 10
            }
            Some(2 | 3) if prefix.len() >= 12 => {
                u64::from(u32::from_le_bytes([
                    prefix[8], prefix[9], prefix[10], prefix[11],
                ])) + 12
            }
            _ => prefix.len() as u64,
        };
        let file_len = file.metadata().map_err(read_error)?.len();
        let mut head = prefix;
        if header_len > head.len() as u64 {
            if header_len > file_len {
                return Err(format_error(path, "truncated header"));
            }
            (&mut file)
                .take(header_len - head.len() as u64)
                .read_to_end(&mut head)
                .map_err(read_error)?;
        }
        let (dtype, shape, start) = parse_header(&head, path)?;
        let Some((&entries, rest)) = shape.split_first() else {
            return Err(format_error(
                path,
                "holds a scalar; give entries along axis 0",
            ));
        };
        let entry_bytes = rest
            .iter()
            .try_fold(dtype.size(), |n, &d| n.checked_mul(d))
            .ok_or_else(|| format_error(path, format!("shape {shape:?} is too large")))?;
        let expected = (entry_bytes as u64)
            .checked_mul(entries as u64)
            .and_then(|n| n.checked_add(start as u64))
            .ok_or_else(|| format_error(path, format!("shape {shape:?} is too large")))?;
        if file_len != expected {
            return Err(format_error(
                path,
                format!(
                    "holds {} data bytes; shape {shape:?} needs {}",
                    file_len.saturating_sub(start as u64),
                    expected - start as u64
                ),
            ));
        }
        Ok(Self {
            path: path.to_owned(),
            file,
            dtype,
            shape,
            data_start: start as u64,
            entry_bytes,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The whole array's shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Entry `i` along axis 0, any supported dtype, as f32. Reads at an
    /// offset without moving a shared cursor, so clones of a data set can
    /// read it at once.
    pub fn read_f32(&self, i: usize) -> Result<Vec<f32>, NpyError> {
        use std::os::unix::fs::FileExt;
        if i >= self.shape[0] {
            return Err(format_error(
                &self.path,
                format!("has {} entries; entry {i} does not exist", self.shape[0]),
            ));
        }
        let read_error = |cause| NpyError::Read {
            path: self.path.clone(),
            cause,
        };
        let offset = self.data_start + i as u64 * self.entry_bytes as u64;
        let mut raw = vec![0u8; self.entry_bytes];
        self.file
            .read_exact_at(&mut raw, offset)
            .map_err(read_error)?;
        let len = raw.len() / self.dtype.size();
        Ok((0..len).map(|k| self.dtype.get(&raw, k) as f32).collect())
    }
}

/// Writes a float32 array (for tests and tools).
pub fn write_f32(path: &Path, shape: &[usize], data: &[f32]) -> std::io::Result<()> {
    let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    write_array(path, "<f4", shape, &bytes)
}

/// Writes an int64 array (labels, for tests and tools).
pub fn write_i64(path: &Path, shape: &[usize], data: &[i64]) -> std::io::Result<()> {
    let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    write_array(path, "<i8", shape, &bytes)
}

/// A version-1 .npy file of `descr` elements, C order.
fn write_array(path: &Path, descr: &str, shape: &[usize], data: &[u8]) -> std::io::Result<()> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape_text = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_text}, }}");
    // Pad so that the data starts on a 64-byte boundary, newline last.
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header.as_bytes());
    out.extend(data);
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

    /// A version-1 .npy image with this header text and data.
    fn image(header: &str, data: &[u8]) -> Vec<u8> {
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend((header.len() as u16).to_le_bytes());
        out.extend(header.as_bytes());
        out.extend(data);
        out
    }

    /// A shape whose byte size wraps around usize (2^62 x 4 float32 is
    /// 2^66 bytes, 0 once wrapped) used to be accepted for an empty data
    /// part, giving an array whose shape promised 2^64 elements it did not
    /// have.
    #[test]
    fn a_shape_too_large_to_exist_is_refused() {
        let p = Path::new("huge.npy");
        let header =
            "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }";
        let err = parse_f32(&image(header, &[]), p).unwrap_err();
        assert!(err.to_string().contains("more elements"), "{err}");
        let header =
            "{'descr': '|u1', 'fortran_order': False, 'shape': (0, 18446744073709551615), }";
        let empty = parse_i64(&image(header, &[]), p).unwrap();
        assert!(empty.data.is_empty());
    }

    /// A version-2 header length near u32::MAX must give an error, not an
    /// out-of-bounds slice.
    #[test]
    fn a_header_longer_than_the_file_is_refused() {
        let mut bytes = b"\x93NUMPY\x02\x00".to_vec();
        bytes.extend(u32::MAX.to_le_bytes());
        bytes.extend(b"{'descr': '<f4'}");
        let err = parse_f32(&bytes, Path::new("v2.npy")).unwrap_err();
        assert!(err.to_string().contains("truncated header"), "{err}");
    }
}
