//! The matrix products of the plain-Rust model, shared by training ([`crate::dense_step`]) and
//! inference ([`crate::infer`]), with the element-wise functions they apply.
//!
//! Why our own products: the app's layers are small (60 images of 784 pixels through 64 units)
//! and their inputs mostly zero (a digit's background, ReLU's dead units). Each product here sums
//! only the weight rows of an input's nonzeros, exactly, 32 to 64 columns at a time in SIMD
//! registers: wasm SIMD (128-bit) in the browser, natively AVX2 + FMA when the CPU has them
//! (checked at run time), and plain loops the compiler vectorises otherwise.
//!
//! Shapes: every matrix is a row-major `&[f32]`; `m` rows of the left operand (the batch), `k`
//! inner, `n` columns of the result.

/// e^x for x in [-30, 30] (callers clamp): 2^(x log2 e) as an exponent in the float's bits times
/// a degree-6 polynomial of 2^f on [-1/2, 1/2], relative error below 2e-7. Branch-free, so a
/// loop of it vectorises; the library `exp` is a scalar call per element (4.7M per 60 chains).
#[inline(always)]
pub(crate) fn exp_approx(x: f32) -> f32 {
    // x = i ln2 + f, with ln2 in two parts (Cody & Waite) so that f keeps full precision
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let i = (x * std::f32::consts::LOG2_E + 0.5).floor();
    let f = x - i * LN2_HI - i * LN2_LO; // |f| <= ln2 / 2
    let p = 1.0
        + f * (1.0
            + f * (0.5
                + f * (1.0 / 6.0 + f * (1.0 / 24.0 + f * (1.0 / 120.0 + f * (1.0 / 720.0))))));
    f32::from_bits(((i as i32 + 127) as u32) << 23) * p
}

/// The logistic function as [`crate::model::sigmoid`] computes it (clamped at ±30).
pub(crate) fn sigmoid_in_place(v: &mut [f32]) {
    for x in v {
        *x = 1.0 / (1.0 + exp_approx(-x.clamp(-30.0, 30.0)));
    }
}

/// max(v, 0) for each v: a comparison, not f32::max (a call per element in wasm). NaN stays NaN,
/// as in burn, so that a broken weight shows in the loss rather than as a dead unit.
pub(crate) fn relu_in_place(v: &mut [f32]) {
    v.iter_mut()
        .for_each(|v| *v = if *v <= 0.0 { 0.0 } else { *v });
}

/// Buffers the matrix products reuse.
#[derive(Default)]
pub(crate) struct Scratch {
    /// Nonzero entries of the left operand (values and where they are), by row or by column.
    vals: Vec<f32>,
    idx: Vec<usize>,
    /// By column: column i's entries are `start[i]..start[i + 1]` of the `col_*` buffers.
    start: Vec<usize>,
    col_vals: Vec<f32>,
    col_idx: Vec<usize>,
    /// Where each row's nonzeros end in `vals`, and each column's next free slot.
    ends: Vec<usize>,
    next: Vec<usize>,
}

/// The nonzero entries of `row` into the front of `vals` and `idx` (which must hold row.len()
/// entries from `at`); returns where they end. Branch-free: on digits, whose zeros follow no
/// pattern a branch predictor can learn, branches cost more than the copies.
fn gather_row(row: &[f32], vals: &mut [f32], idx: &mut [usize], at: usize) -> usize {
    let (vals, idx) = (&mut vals[at..at + row.len()], &mut idx[at..at + row.len()]);
    let mut c = 0;
    for (i, &v) in row.iter().enumerate() {
        vals[c] = v;
        idx[c] = i;
        c += (v != 0.0) as usize;
    }
    at + c
}

/// c [m, n] = a [m, k] b [k, n] (+ bias), all row-major, overwriting c. Each row of c sums
/// only the rows of b where that row of a is not zero: a digit's background and ReLU's dead
/// units cost nothing.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
pub(crate) fn gemm_nn(
    a: &[f32],
    m: usize,
    k: usize,
    b: &[f32],
    n: usize,
    bias: Option<&[f32]>,
    c: &mut [f32],
    s: &mut Scratch,
) {
    debug_assert!(a.len() == m * k && b.len() == k * n && c.len() == m * n);
    s.vals.resize(k, 0.0);
    s.idx.resize(k, 0);
    for (row, out) in a.chunks_exact(k).zip(c.chunks_exact_mut(n)) {
        match bias {
            Some(bias) => out.copy_from_slice(bias),
            None => out.fill(0.0),
        }
        let nnz = gather_row(row, &mut s.vals, &mut s.idx, 0);
        axpy_sum(&s.vals[..nnz], &s.idx[..nnz], b, n, out);
    }
}

/// c [m, n] = a [m, k] w [k, n] + bias: a layer's forward pass, for [`crate::infer`].
pub(crate) fn affine(
    a: &[f32],
    m: usize,
    k: usize,
    w: &[f32],
    n: usize,
    bias: &[f32],
    c: &mut [f32],
) {
    gemm_nn(a, m, k, w, n, Some(bias), c, &mut Scratch::default());
}

/// c [k, n] = a^T b for a [m, k] and b [m, n], row-major, overwriting c: a weight's gradient,
/// inputs^T x output gradients. Row i of c sums only the rows of b where column i of a is not
/// zero (found in one pass over a, then sorted by column).
#[inline(never)]
pub(crate) fn gemm_tn(
    a: &[f32],
    m: usize,
    k: usize,
    b: &[f32],
    n: usize,
    c: &mut [f32],
    s: &mut Scratch,
) {
    debug_assert!(a.len() == m * k && b.len() == m * n && c.len() == k * n);
    // every row's nonzeros, one after another (the column of each in `idx`)
    s.vals.resize(m * k, 0.0);
    s.idx.resize(m * k, 0);
    s.ends.clear();
    let mut at = 0;
    for row in a.chunks_exact(k) {
        at = gather_row(row, &mut s.vals, &mut s.idx, at);
        s.ends.push(at);
    }
    // counting sort by column; rows stay ascending within a column
    s.start.clear();
    s.start.resize(k + 1, 0);
    for &i in &s.idx[..at] {
        s.start[i + 1] += 1;
    }
    for i in 0..k {
        s.start[i + 1] += s.start[i];
    }
    s.col_vals.resize(at, 0.0);
    s.col_idx.resize(at, 0);
    s.next.clear();
    s.next.extend_from_slice(&s.start[..k]);
    let mut from = 0;
    for (r, &end) in s.ends.iter().enumerate() {
        for (&i, &v) in s.idx[from..end].iter().zip(&s.vals[from..end]) {
            s.col_vals[s.next[i]] = v;
            s.col_idx[s.next[i]] = r;
            s.next[i] += 1;
        }
        from = end;
    }
    for (i, out) in c.chunks_exact_mut(n).enumerate() {
        out.fill(0.0);
        let range = s.start[i]..s.start[i + 1];
        axpy_sum(&s.col_vals[range.clone()], &s.col_idx[range], b, n, out);
    }
}

/// c [m, k] = d [m, n] w^T for w [k, n], row-major, where `keep` [m, k] is not zero (a ReLU's
/// output: where it was positive); 0 elsewhere.
/// The gradient of a layer's input (w its weight, d its output's gradient) with the ReLU's mask
/// of that input applied: the masked entries are never computed.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
pub(crate) fn gemm_nt_masked(
    d: &[f32],
    m: usize,
    n: usize,
    w: &[f32],
    k: usize,
    keep: Option<&[f32]>,
    c: &mut [f32],
    s: &mut Scratch,
) {
    debug_assert!(d.len() == m * n && w.len() == k * n && c.len() == m * k);
    s.vals.resize(k, 0.0);
    s.idx.resize(k, 0);
    for (r, (drow, out)) in d.chunks_exact(n).zip(c.chunks_exact_mut(k)).enumerate() {
        out.fill(0.0);
        let active = match keep {
            Some(keep) => gather_row(&keep[r * k..(r + 1) * k], &mut s.vals, &mut s.idx, 0),
            None => {
                s.idx.iter_mut().enumerate().for_each(|(i, x)| *x = i);
                k
            }
        };
        dots(drow, w, &s.idx[..active], out);
    }
}

/// out[i] = d . w[i] (rows of length d.len()) for each i in `rows`, four at a time.
fn dots(d: &[f32], w: &[f32], rows: &[usize], out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if has_fma() {
        // SAFETY: the CPU has AVX2 and FMA (checked just above)
        return unsafe { dots_fma(d, w, rows, out) };
    }
    dots_body::<false>(d, w, rows, out)
}

/// [`dots`] compiled for AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn dots_fma(d: &[f32], w: &[f32], rows: &[usize], out: &mut [f32]) {
    dots_body::<true>(d, w, rows, out)
}

#[inline(always)]
fn dots_body<const FMA: bool>(d: &[f32], w: &[f32], rows: &[usize], out: &mut [f32]) {
    let n = d.len();
    let mut groups = rows.chunks_exact(4);
    for g in &mut groups {
        let four = dot4::<FMA>(d, w, n, [g[0], g[1], g[2], g[3]]);
        for (&i, v) in g.iter().zip(four) {
            out[i] = v;
        }
    }
    for &i in groups.remainder() {
        out[i] = d
            .iter()
            .zip(&w[i * n..(i + 1) * n])
            .map(|(a, b)| a * b)
            .sum();
    }
}

/// out[j] += sum over t of vals[t] * b[idx[t] * stride + j], for j < out.len(): blocks of
/// columns held in registers across the sum, the rest plainly.
#[inline(never)]
fn axpy_sum(vals: &[f32], idx: &[usize], b: &[f32], stride: usize, out: &mut [f32]) {
    // the wasm kernel checks only the last index against b: every caller passes them ascending
    assert!(idx.windows(2).all(|p| p[0] < p[1]), "indices ascend");
    #[cfg(target_arch = "x86_64")]
    if has_fma() {
        // SAFETY: the CPU has AVX2 and FMA (checked just above)
        return unsafe { axpy_sum_fma(vals, idx, b, stride, out) };
    }
    axpy_body::<32, false>(vals, idx, b, stride, out)
}

/// Natively on x86-64, the CPU's AVX2 and FMA when it has them (checked once, then cached by
/// std): eight-lane fused multiply-adds. The wasm engine and other CPUs use the plain kernels.
#[cfg(target_arch = "x86_64")]
fn has_fma() -> bool {
    std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
}

/// [`axpy_sum`] compiled for AVX2 and FMA, in blocks of 64 columns (eight 8-lane accumulators,
/// enough to hide the FMA's latency).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn axpy_sum_fma(vals: &[f32], idx: &[usize], b: &[f32], stride: usize, out: &mut [f32]) {
    axpy_body::<64, true>(vals, idx, b, stride, out)
}

#[inline(always)]
fn axpy_body<const WIDE: usize, const FMA: bool>(
    vals: &[f32],
    idx: &[usize],
    b: &[f32],
    stride: usize,
    out: &mut [f32],
) {
    let w = out.len();
    let mut j = 0;
    while j + WIDE <= w {
        block::<WIDE, FMA>(vals, idx, b, stride, j, &mut out[j..j + WIDE]);
        j += WIDE;
    }
    while j + 8 <= w {
        narrow::<8, FMA>(vals, idx, b, stride, j, &mut out[j..j + 8]);
        j += 8;
    }
    if j + 4 <= w {
        narrow::<4, FMA>(vals, idx, b, stride, j, &mut out[j..j + 4]);
        j += 4;
    }
    if j < w {
        for (&v, &i) in vals.iter().zip(idx) {
            for (o, x) in out[j..].iter_mut().zip(&b[i * stride + j..i * stride + w]) {
                *o += v * x;
            }
        }
    }
}

/// W (8 or 4) columns of [`axpy_sum`], what is left of a row after the wide blocks (a layer of
/// 60 or 20 units): the terms go to four interleaved sums, so that four multiply-add chains are in
/// flight rather than one, each waiting on the last.
#[inline(always)]
fn narrow<const W: usize, const FMA: bool>(
    vals: &[f32],
    idx: &[usize],
    b: &[f32],
    stride: usize,
    col: usize,
    out: &mut [f32],
) {
    let mut acc = [[0.0f32; W]; 4];
    acc[0].copy_from_slice(out);
    let add = |acc: &mut [f32; W], v: f32, i: usize| {
        let row: &[f32; W] = b[i * stride + col..i * stride + col + W]
            .try_into()
            .expect("W values");
        for c in 0..W {
            acc[c] = if FMA {
                v.mul_add(row[c], acc[c])
            } else {
                acc[c] + v * row[c]
            };
        }
    };
    let (v4, i4) = (vals.chunks_exact(4), idx.chunks_exact(4));
    let (v_rest, i_rest) = (v4.remainder(), i4.remainder());
    for (v, i) in v4.zip(i4) {
        for u in 0..4 {
            add(&mut acc[u], v[u], i[u]);
        }
    }
    for (&v, &i) in v_rest.iter().zip(i_rest) {
        add(&mut acc[0], v, i);
    }
    for (c, o) in out.iter_mut().enumerate() {
        *o = (acc[0][c] + acc[1][c]) + (acc[2][c] + acc[3][c]);
    }
}

/// W columns of [`axpy_sum`]: plain loops over fixed sizes, which the compiler vectorises
/// (with fused multiply-adds if FMA).
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
#[inline(always)]
fn block<const W: usize, const FMA: bool>(
    vals: &[f32],
    idx: &[usize],
    b: &[f32],
    stride: usize,
    col: usize,
    out: &mut [f32],
) {
    let mut acc: [f32; W] = out.try_into().expect("W outputs");
    for (&v, &i) in vals.iter().zip(idx) {
        let row: &[f32; W] = b[i * stride + col..i * stride + col + W]
            .try_into()
            .expect("W values");
        for c in 0..W {
            acc[c] = if FMA {
                v.mul_add(row[c], acc[c])
            } else {
                acc[c] + v * row[c]
            };
        }
    }
    out.copy_from_slice(&acc);
}

/// The same in wasm SIMD: W / 4 four-lane accumulators in registers, one broadcast and W / 4
/// loads per term. Written out because the compiler kept the accumulators in memory.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn block<const W: usize, const _FMA: bool>(
    vals: &[f32],
    idx: &[usize],
    b: &[f32],
    stride: usize,
    col: usize,
    out: &mut [f32],
) {
    use core::arch::wasm32::*;
    const { assert!(W <= 32 && W.is_multiple_of(4), "eight 4-lane accumulators") };
    // the loads below stay inside b: `idx` ascends (axpy_sum checks), so its last is the largest
    assert!(out.len() == W && idx.len() == vals.len());
    assert!(idx.last().is_none_or(|&i| i * stride + col + W <= b.len()));
    // SAFETY: in bounds by the asserts above; wasm loads and stores need no alignment.
    unsafe {
        let mut acc = [f32x4_splat(0.0); 8];
        for (q, a) in acc.iter_mut().enumerate().take(W / 4) {
            *a = v128_load(out.as_ptr().add(4 * q) as *const v128);
        }
        for (&v, &i) in vals.iter().zip(idx) {
            let x = f32x4_splat(v);
            let p = b.as_ptr().add(i * stride + col);
            for (q, a) in acc.iter_mut().enumerate().take(W / 4) {
                *a = f32x4_add(*a, f32x4_mul(x, v128_load(p.add(4 * q) as *const v128)));
            }
        }
        for (q, a) in acc.iter().enumerate().take(W / 4) {
            v128_store(out.as_mut_ptr().add(4 * q) as *mut v128, *a);
        }
    }
}

/// Four dot products of `a` with rows `rows` of w (row length `stride` = a.len()).
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
#[inline(always)]
fn dot4<const FMA: bool>(a: &[f32], w: &[f32], stride: usize, rows: [usize; 4]) -> [f32; 4] {
    // 16 lanes per row: with AVX2 two 8-lane chains each, eight in all, which hides the FMA's
    // latency
    const L: usize = 16;
    let n = a.len();
    let r: [&[f32]; 4] = rows.map(|i| &w[i * stride..i * stride + n]);
    let mut acc = [[0.0f32; L]; 4];
    let full = n - n % L;
    for o in (0..full).step_by(L) {
        let x: &[f32; L] = a[o..o + L].try_into().expect("L values");
        for (u, acc) in acc.iter_mut().enumerate() {
            let y: &[f32; L] = r[u][o..o + L].try_into().expect("L values");
            for l in 0..L {
                acc[l] = if FMA {
                    x[l].mul_add(y[l], acc[l])
                } else {
                    acc[l] + x[l] * y[l]
                };
            }
        }
    }
    let mut out = acc.map(|v| v.iter().sum::<f32>());
    for (u, out) in out.iter_mut().enumerate() {
        for o in full..n {
            *out += a[o] * r[u][o];
        }
    }
    out
}

/// The same in wasm SIMD: four accumulators, one load of `a` and four of w per four terms.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn dot4<const _FMA: bool>(a: &[f32], w: &[f32], stride: usize, rows: [usize; 4]) -> [f32; 4] {
    use core::arch::wasm32::*;
    let n = a.len();
    assert!(rows.iter().all(|&i| i * stride + n <= w.len()));
    let full = n - n % 4;
    let mut out = [0.0f32; 4];
    // SAFETY: in bounds by the assert above; wasm loads need no alignment.
    unsafe {
        let p = rows.map(|i| w.as_ptr().add(i * stride));
        let mut acc = [f32x4_splat(0.0); 4];
        for o in (0..full).step_by(4) {
            let x = v128_load(a.as_ptr().add(o) as *const v128);
            for (u, acc) in acc.iter_mut().enumerate() {
                *acc = f32x4_add(*acc, f32x4_mul(x, v128_load(p[u].add(o) as *const v128)));
            }
        }
        for (u, acc) in acc.iter().enumerate() {
            out[u] = f32x4_extract_lane::<0>(*acc)
                + f32x4_extract_lane::<1>(*acc)
                + f32x4_extract_lane::<2>(*acc)
                + f32x4_extract_lane::<3>(*acc);
            for (o, &av) in a.iter().enumerate().skip(full) {
                out[u] += av * *p[u].add(o);
            }
        }
    }
    out
}

/// Tests: `a` equals the reference `b` within `rel` of b's largest magnitude, element by element
/// (the kernels' and the training step's checks against their references).
#[cfg(test)]
pub(crate) fn assert_close_rel(a: &[f32], b: &[f32], rel: f32, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    let scale = b.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= rel * scale,
            "{what}[{i}]: {x} against the reference {y} (scale {scale})"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    use crate::kernels::assert_close_rel as close;

    #[test]
    fn products_match_a_triple_loop() {
        let mut rng = Rng::new(1);
        let mut scratch = Scratch::default();
        for (m, k, n) in [
            (7, 13, 19),
            (8, 16, 24),
            (4, 5, 8),
            (1, 3, 9),
            (64, 784, 12),
            (5, 9, 77),
        ] {
            let mut rand = |len: usize| -> Vec<f32> {
                (0..len)
                    .map(|_| {
                        let u = rng.uniform() as f32;
                        if u < 0.4 {
                            0.0
                        } else {
                            u - 0.7
                        }
                    })
                    .collect()
            };
            let (a, b, bias) = (rand(m * k), rand(k * n), rand(n));
            let mut c = vec![f32::NAN; m * n];
            gemm_nn(&a, m, k, &b, n, Some(&bias), &mut c, &mut scratch);
            let mut want = vec![0.0f32; m * n];
            for r in 0..m {
                for j in 0..n {
                    want[r * n + j] =
                        bias[j] + (0..k).map(|t| a[r * k + t] * b[t * n + j]).sum::<f32>();
                }
            }
            close(&c, &want, 1e-5, "a b + bias");
            // a^T b2 for b2 [m, n]
            let b2 = rand(m * n);
            let mut c2 = vec![f32::NAN; k * n];
            gemm_tn(&a, m, k, &b2, n, &mut c2, &mut scratch);
            let mut want2 = vec![0.0f32; k * n];
            for i in 0..k {
                for j in 0..n {
                    want2[i * n + j] = (0..m).map(|r| a[r * k + i] * b2[r * n + j]).sum::<f32>();
                }
            }
            close(&c2, &want2, 1e-5, "a^T b");
            // b2 w^T for w = b [k, n], kept where `a` is not zero
            let mut c3 = vec![f32::NAN; m * k];
            gemm_nt_masked(&b2, m, n, &b, k, Some(&a), &mut c3, &mut scratch);
            let mut want3 = vec![0.0f32; m * k];
            for r in 0..m {
                for i in 0..k {
                    if a[r * k + i] != 0.0 {
                        want3[r * k + i] =
                            (0..n).map(|j| b2[r * n + j] * b[i * n + j]).sum::<f32>();
                    }
                }
            }
            close(&c3, &want3, 1e-5, "b2 w^T, masked");
        }
    }

    /// Both kernels of each product (plain and, natively, fused multiply-add) against plain sums,
    /// whichever one this CPU dispatches to.
    #[test]
    fn plain_and_fused_kernels_agree() {
        let mut rng = Rng::new(9);
        let (k, n) = (37, 93);
        let b: Vec<f32> = (0..k * n).map(|_| rng.uniform() as f32 - 0.5).collect();
        let vals: Vec<f32> = (0..5).map(|_| rng.uniform() as f32).collect();
        let idx = [1, 4, 9, 20, 36];
        let want: Vec<f32> = (0..n)
            .map(|j| vals.iter().zip(idx).map(|(v, i)| v * b[i * n + j]).sum())
            .collect();
        let d: Vec<f32> = (0..n).map(|_| rng.uniform() as f32).collect();
        let rows = [0, 3, 5, 8, 13, 36];
        let want_dots: Vec<f32> = (0..k)
            .map(|i| {
                if rows.contains(&i) {
                    d.iter().zip(&b[i * n..]).map(|(x, y)| x * y).sum()
                } else {
                    0.0
                }
            })
            .collect();
        let check = |out: &[f32], dots: &[f32], what: &str| {
            close(out, &want, 1e-5, what);
            close(dots, &want_dots, 1e-5, what);
        };
        let (mut out, mut dots) = (vec![0.0; n], vec![0.0; k]);
        axpy_body::<32, false>(&vals, &idx, &b, n, &mut out);
        dots_body::<false>(&d, &b, &rows, &mut dots);
        check(&out, &dots, "plain");
        #[cfg(target_arch = "x86_64")]
        if has_fma() {
            let (mut out, mut dots) = (vec![0.0; n], vec![0.0; k]);
            // SAFETY: the CPU has AVX2 and FMA
            unsafe {
                axpy_sum_fma(&vals, &idx, &b, n, &mut out);
                dots_fma(&d, &b, &rows, &mut dots);
            }
            check(&out, &dots, "fused");
        }
    }

    #[test]
    fn exp_approx_matches_exp() {
        for i in -3000..=3000 {
            let x = i as f32 / 100.0;
            let rel = (exp_approx(x) - x.exp()).abs() / x.exp();
            assert!(rel < 3e-7, "exp({x}): relative error {rel}");
        }
    }
}
