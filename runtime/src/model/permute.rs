//! Axis permutation of a flat row-major tensor: the EinSum lowering moves
//! its operands into `[batch, M, K]` order and its result back.
//!
//! Written here rather than taken from ndarray because ndarray's
//! `as_standard_layout` walks a transposed view one element at a time; the
//! transformer's activations are whole-matrix transposes on every call, and
//! a tiled copy does them at memory speed. Axes of length one are dropped
//! and axes that stay neighbours are merged first, so that what reaches the
//! copy is either a run of contiguous rows or a strided 2-D transpose.

/// `x` (of `shape`) with its axes reordered by `perm`, flattened: element
/// `[i_0, .., i_r]` of the result is `x` at index `i_j` on axis `perm[j]`.
pub fn permute<T: Copy + Default>(x: &[T], shape: &[usize], perm: &[usize]) -> Vec<T> {
    let (dims, steps) = simplify(shape, perm);
    let mut out = vec![T::default(); x.len()];
    if x.is_empty() {
        return out;
    }
    let rank = dims.len();
    if rank <= 1 {
        out.copy_from_slice(x);
        return out;
    }
    // The output's last axis is contiguous in `x`: whole rows move.
    if steps[rank - 1] == 1 {
        let row = dims[rank - 1];
        for_each_base(&dims[..rank - 1], &steps[..rank - 1], |i, base| {
            out[i * row..(i + 1) * row].copy_from_slice(&x[base..base + row]);
        });
        return out;
    }
    // The output's last two axes are (rows, cols); each outer index is one
    // strided 2-D block, copied tile by tile.
    let (rows, cols) = (dims[rank - 2], dims[rank - 1]);
    let (row_step, col_step) = (steps[rank - 2], steps[rank - 1]);
    let block = rows * cols;
    for_each_base(&dims[..rank - 2], &steps[..rank - 2], |i, base| {
        copy_tiled(
            x,
            base,
            row_step,
            col_step,
            rows,
            cols,
            &mut out[i * block..(i + 1) * block],
        );
    });
    out
}

/// `Some((batch, rows, cols))` when permuting `x` (of `shape`) by `perm`
/// transposes matrices: `x` is `batch` matrices of `cols` x `rows` and the
/// result the same matrices as `rows` x `cols` (axes of length one aside).
/// `None` for any other permutation, a plain copy among them.
pub fn batched_transpose(shape: &[usize], perm: &[usize]) -> Option<(usize, usize, usize)> {
    match simplify(shape, perm) {
        (dims, steps) if dims.len() == 2 && steps == [1, dims[0]] => Some((1, dims[0], dims[1])),
        (dims, steps) if dims.len() == 3 && steps == [dims[1] * dims[2], 1, dims[1]] => {
            Some((dims[0], dims[1], dims[2]))
        }
        _ => None,
    }
}

/// Output dimensions and their input strides after dropping unit axes and
/// merging output neighbours that are input neighbours in the same order.
fn simplify(shape: &[usize], perm: &[usize]) -> (Vec<usize>, Vec<usize>) {
    let mut strides = vec![1usize; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        strides[d] = strides[d + 1] * shape[d + 1];
    }
    let mut dims: Vec<usize> = Vec::with_capacity(perm.len());
    let mut steps: Vec<usize> = Vec::with_capacity(perm.len());
    for &p in perm {
        let (dim, step) = (shape[p], strides[p]);
        if dim == 1 {
            continue;
        }
        match (dims.last_mut(), steps.last_mut()) {
            // The previous output axis steps over exactly this one.
            (Some(d), Some(s)) if *s == step * dim => {
                *d *= dim;
                *s = step;
            }
            _ => {
                dims.push(dim);
                steps.push(step);
            }
        }
    }
    (dims, steps)
}

/// Calls `f(i, base)` for every index of the (row-major) outer axes `dims`
/// in order: `i` counts them, `base` is the input offset they point at.
fn for_each_base(dims: &[usize], steps: &[usize], mut f: impl FnMut(usize, usize)) {
    let total: usize = dims.iter().product();
    let mut index = vec![0usize; dims.len()];
    let mut base = 0usize;
    for i in 0..total {
        f(i, base);
        for d in (0..dims.len()).rev() {
            index[d] += 1;
            base += steps[d];
            if index[d] < dims[d] {
                break;
            }
            base -= steps[d] * dims[d];
            index[d] = 0;
        }
    }
}

/// `out[r * cols + c] = x[base + r * row_step + c * col_step]`, in square
/// tiles so that reads and writes both stay within a few cache lines.
fn copy_tiled<T: Copy>(
    x: &[T],
    base: usize,
    row_step: usize,
    col_step: usize,
    rows: usize,
    cols: usize,
    out: &mut [T],
) {
    const TILE: usize = 16;
    // Every read is checked once here, so the loop below does without a
    // check per element (which kept it from unrolling).
    assert!(
        rows > 0 && cols > 0 && base + (rows - 1) * row_step + (cols - 1) * col_step < x.len(),
        "permute: a {rows}x{cols} block from {base} runs past the input"
    );
    assert_eq!(out.len(), rows * cols, "permute: output block size");
    for r0 in (0..rows).step_by(TILE) {
        let r1 = (r0 + TILE).min(rows);
        for c0 in (0..cols).step_by(TILE) {
            let c1 = (c0 + TILE).min(cols);
            for r in r0..r1 {
                let from = base + r * row_step;
                for (c, slot) in (c0..c1).zip(&mut out[r * cols + c0..r * cols + c1]) {
                    // SAFETY: r < rows and c < cols: within the bound
                    // asserted above.
                    *slot = unsafe { *x.get_unchecked(from + c * col_step) };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The definition, one element at a time.
    fn by_definition(x: &[u32], shape: &[usize], perm: &[usize]) -> Vec<u32> {
        let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
        (0..x.len())
            .map(|flat| {
                let mut rest = flat;
                let mut out_index = vec![0; perm.len()];
                for d in (0..perm.len()).rev() {
                    out_index[d] = rest % out_shape[d];
                    rest /= out_shape[d];
                }
                let mut at = 0;
                for (axis, &len) in shape.iter().enumerate() {
                    let j = perm.iter().position(|&p| p == axis).unwrap();
                    at = at * len + out_index[j];
                }
                x[at]
            })
            .collect()
    }

    fn shape_and_perm() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
        prop::collection::vec(1usize..20, 1..5).prop_flat_map(|shape| {
            let rank = shape.len();
            (
                Just(shape),
                Just((0..rank).collect::<Vec<_>>()).prop_shuffle(),
            )
        })
    }

    proptest! {
        #[test]
        fn agrees_with_the_definition((shape, perm) in shape_and_perm()) {
            let len: usize = shape.iter().product();
            let x: Vec<u32> = (0..len as u32).collect();
            prop_assert_eq!(permute(&x, &shape, &perm), by_definition(&x, &shape, &perm));
        }
    }

    #[test]
    fn the_transformer_cases_agree_with_the_definition() {
        for (shape, perm) in [
            (vec![1, 192, 256], vec![2, 1, 0]),
            (vec![256, 1, 6, 32], vec![2, 0, 3, 1]),
            (vec![256, 1, 6, 32], vec![2, 3, 0, 1]),
            (vec![6, 256, 32], vec![1, 0, 2]),
            (vec![768, 192], vec![1, 0]),
        ] {
            let len: usize = shape.iter().product();
            let x: Vec<u32> = (0..len as u32).collect();
            assert_eq!(permute(&x, &shape, &perm), by_definition(&x, &shape, &perm));
        }
    }

    /// What `batched_transpose` calls a transpose is one, by the
    /// definition; copies and other orders are not.
    #[test]
    fn batched_transposes_are_found() {
        for (shape, perm, want) in [
            (vec![1, 24, 56, 56], vec![0, 2, 3, 1], Some((1, 3136, 24))),
            (vec![3136, 144], vec![1, 0], Some((1, 144, 3136))),
            (vec![6, 32, 256], vec![0, 2, 1], Some((6, 256, 32))),
            (vec![1, 6, 32, 256], vec![1, 3, 0, 2], Some((6, 256, 32))),
            (vec![4, 5], vec![0, 1], None),
            (vec![2, 3, 4], vec![2, 1, 0], None),
            (vec![7, 1], vec![1, 0], None),
        ] {
            assert_eq!(
                batched_transpose(&shape, &perm),
                want,
                "{shape:?} by {perm:?}"
            );
            if let Some((batch, rows, cols)) = want {
                let len: usize = shape.iter().product();
                let x: Vec<u32> = (0..len as u32).collect();
                let by_def = by_definition(&x, &shape, &perm);
                for (b, i, j) in (0..batch)
                    .flat_map(|b| (0..rows).flat_map(move |i| (0..cols).map(move |j| (b, i, j))))
                {
                    let base = b * rows * cols;
                    assert_eq!(by_def[base + i * cols + j], x[base + j * rows + i]);
                }
            }
        }
    }

    #[test]
    fn empty_and_identity() {
        assert!(permute::<u8>(&[], &[0, 3], &[1, 0]).is_empty());
        assert_eq!(permute(&[1u8, 2, 3], &[3], &[0]), vec![1, 2, 3]);
    }
}
