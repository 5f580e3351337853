//! Every parser kiln has, under mutated input: npy, ONNX (through tract),
//! design, board, PE library, register map, bitstream manifest, xclbin and
//! the ggml blocks.
//!
//! Each parser gets valid seed files, and proptest mutates them with one
//! strategy shared by all ([`case`]): up to four edits out of bit flips,
//! truncation, insertion (random bytes or a token that means something to
//! one of the formats), duplication of a range and splicing in a range of
//! another seed. At least [`MIN_CASES`] cases run per parser (more with
//! `PROPTEST_CASES`; `PROPTEST_RNG_SEED` replays a run), failures are not
//! persisted (nothing is written into the tree), and each case must:
//!
//! - return a value or a typed error, never panic (a panic is caught and
//!   reported with the case);
//! - answer within [`CASE_LIMIT`]: each case runs on a worker thread, so a
//!   hang is reported instead of hanging the test;
//! - allocate at most `per_byte * input length + constant` bytes at its
//!   peak, measured by the counting global allocator below (live bytes of
//!   the worker thread while it parses). Each parser states its bound and
//!   why next to its test;
//! - when it returns a value, keep the invariants the value promises
//!   (checked per parser: an npy array holds as many elements as its shape
//!   says, an xclbin's sections fit its file, and so on).
//!
//! Text parsers get the mutated bytes as lossy UTF-8, so an edit that breaks
//! an encoding still reaches the TOML parser (as U+FFFD), not only edits
//! that happen to keep valid UTF-8.
//!
//! The seeds must parse, and both parsed values and typed errors must occur
//! among the mutated cases (otherwise the mutations tested nothing or only
//! the first line of the parser). `harness_*` tests prove that a panic, a
//! hang, an allocation over the bound and a broken invariant each fail the
//! harness.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use kiln::bitstream::manifest::Manifest;
use kiln::engines::bfp::{ggml, BfpError, BfpMatrix};
use kiln::model::{load::load_onnx_bytes, npy};
use kiln_driver::xclbin::Xclbin;
use kiln_spec::{Board, Design, PeLibrary, RegisterMap};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{select, Index};
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};

/// Cases per parser, at least.
const MIN_CASES: u32 = 10_000;

/// Longest one case may take. A case takes microseconds to milliseconds
/// (tract on the digits CNN is the slowest); seconds mean a hang or a blowup.
const CASE_LIMIT: Duration = Duration::from_secs(5);

// ---------------------------------------------------------------------------
// Counting allocator: live bytes per thread, and their peak while tracking.

struct Counting;

thread_local! {
    static TRACKING: Cell<bool> = const { Cell::new(false) };
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
    /// The largest request refused (see [`REFUSE_ABOVE`]).
    static REFUSED: Cell<usize> = const { Cell::new(0) };
}

/// While tracking, a single request above this is refused (the allocator
/// returns null) and counted as that much allocated: far over every bound,
/// so the case fails, without the machine swapping or the kernel killing
/// the tests. A caller that cannot cope with null aborts the test binary
/// with "memory allocation of N bytes failed", also a failure.
const REFUSE_ABOVE: usize = 1 << 30;

/// Whether this request must be refused, recording it if so.
fn refuse(size: usize) -> bool {
    size > REFUSE_ABOVE && TRACKING.try_with(Cell::get).unwrap_or(false) && {
        REFUSED.set(REFUSED.get().max(size));
        true
    }
}

/// Records `delta` bytes allocated (or freed) by this thread. The cells are
/// const-initialised and need no destructor, so this never allocates.
fn note(delta: isize) {
    let _ = TRACKING.try_with(|tracking| {
        if tracking.get() {
            let live = LIVE.get() + delta;
            LIVE.set(live);
            if live > PEAK.get() {
                PEAK.set(live);
            }
        }
    });
}

// SAFETY: every call is passed straight to the system allocator; the
// bookkeeping only touches thread-local cells.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if refuse(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: same contract as ours.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            note(layout.size() as isize);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if refuse(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: same contract as ours.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            note(layout.size() as isize);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) };
        note(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if refuse(new_size) {
            return std::ptr::null_mut();
        }
        // SAFETY: same contract as ours.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            note(new_size as isize - layout.size() as isize);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` and returns its result with the peak of the bytes this thread
/// allocated and had not yet freed while it ran (or the largest request
/// refused, if larger).
fn measured<R>(f: impl FnOnce() -> R) -> (R, usize) {
    LIVE.set(0);
    PEAK.set(0);
    REFUSED.set(0);
    TRACKING.set(true);
    let r = f();
    TRACKING.set(false);
    (r, (PEAK.get().max(0) as usize).max(REFUSED.get()))
}

// ---------------------------------------------------------------------------
// Mutations.

/// A valid input file and the name it goes by.
#[derive(Debug, Clone)]
struct Seed {
    name: String,
    bytes: Vec<u8>,
}

impl Seed {
    fn new(name: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Self {
        Self {
            name: name.into(),
            bytes: bytes.into(),
        }
    }

    /// A file of the source tree, by its path from the repository root.
    fn file(path: &str) -> Self {
        let bytes = std::fs::read(repo().join(path))
            .unwrap_or_else(|e| panic!("cannot read seed {path}: {e}"));
        Self::new(path, bytes)
    }
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Tokens an insertion may use instead of random bytes: numbers at the
/// edges of integer types, TOML syntax, and binary lengths (all ones, zero,
/// a ten-byte protobuf varint) for the binary formats.
const TOKENS: &[&[u8]] = &[
    b"0",
    b"-1",
    b"4294967295",
    b"4294967296",
    b"9223372036854775807",
    b"18446744073709551615",
    b"1e400",
    b"nan",
    b"inf",
    b"0x",
    b"\"",
    b"'",
    b"[",
    b"]",
    b"[[",
    b"{",
    b"}",
    b",",
    b"=",
    b"\n",
    b"#",
    b"true",
    b"\xff\xff\xff\xff",
    b"\xff\xff\xff\xff\xff\xff\xff\x7f",
    b"\x00\x00\x00\x00",
    b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01",
];

/// One edit of an input. Positions are [`Index`]es, so that they apply to
/// whatever length the previous edits left.
#[derive(Debug, Clone)]
enum Mutation {
    /// Flips one bit.
    FlipBit { at: Index, bit: u8 },
    /// Cuts the input at `at` (possibly to nothing, possibly not at all).
    Truncate { at: Index },
    /// Inserts bytes at `at`.
    Insert { at: Index, bytes: Vec<u8> },
    /// Copies up to `len` bytes from `from` and inserts them at `to`.
    Duplicate { from: Index, len: usize, to: Index },
    /// Overwrites the input from `at` with up to `len` bytes of a seed (any
    /// seed, this one included) from `from`, growing it if needed.
    Splice {
        seed: Index,
        from: Index,
        len: usize,
        at: Index,
    },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let bytes = prop_oneof![
        vec(any::<u8>(), 1..=16),
        select(TOKENS).prop_map(<[u8]>::to_vec),
    ];
    prop_oneof![
        4 => (any::<Index>(), any::<u8>()).prop_map(|(at, bit)| Mutation::FlipBit { at, bit }),
        1 => any::<Index>().prop_map(|at| Mutation::Truncate { at }),
        2 => (any::<Index>(), bytes).prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        1 => (any::<Index>(), 1..=256usize, any::<Index>())
            .prop_map(|(from, len, to)| Mutation::Duplicate { from, len, to }),
        1 => (any::<Index>(), any::<Index>(), 1..=256usize, any::<Index>())
            .prop_map(|(seed, from, len, at)| Mutation::Splice { seed, from, len, at }),
    ]
}

/// A seed (picked by index) and the edits made to it.
#[derive(Debug, Clone)]
struct Case {
    seed: Index,
    mutations: Vec<Mutation>,
}

/// The mutation strategy every parser's test uses.
fn case() -> impl Strategy<Value = Case> {
    (any::<Index>(), vec(mutation(), 1..=4)).prop_map(|(seed, mutations)| Case { seed, mutations })
}

fn apply(input: &mut Vec<u8>, m: &Mutation, seeds: &[Seed]) {
    match m {
        Mutation::FlipBit { at, bit } => {
            if !input.is_empty() {
                let i = at.index(input.len());
                input[i] ^= 1 << (bit % 8);
            }
        }
        Mutation::Truncate { at } => input.truncate(at.index(input.len() + 1)),
        Mutation::Insert { at, bytes } => {
            let i = at.index(input.len() + 1);
            input.splice(i..i, bytes.iter().copied());
        }
        Mutation::Duplicate { from, len, to } => {
            if !input.is_empty() {
                let a = from.index(input.len());
                let chunk = input[a..(a + len).min(input.len())].to_vec();
                let b = to.index(input.len() + 1);
                input.splice(b..b, chunk);
            }
        }
        Mutation::Splice {
            seed,
            from,
            len,
            at,
        } => {
            let other = &seeds[seed.index(seeds.len())].bytes;
            if !other.is_empty() {
                let a = from.index(other.len());
                let chunk = &other[a..(a + len).min(other.len())];
                let b = at.index(input.len() + 1);
                let end = (b + chunk.len()).min(input.len());
                input.splice(b..end, chunk.iter().copied());
            }
        }
    }
}

impl Case {
    /// The seed this case edits and the edited bytes.
    fn input<'a>(&self, seeds: &'a [Seed]) -> (&'a Seed, Vec<u8>) {
        let seed = &seeds[self.seed.index(seeds.len())];
        let mut bytes = seed.bytes.clone();
        for m in &self.mutations {
            apply(&mut bytes, m, seeds);
        }
        (seed, bytes)
    }
}

// ---------------------------------------------------------------------------
// The harness: one worker thread per parser runs the cases.

/// What a parser made of an input.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    /// A value that keeps its invariants.
    Parsed,
    /// A typed error.
    Refused,
    /// A value that breaks an invariant the parser promises.
    Broken(String),
}

/// A parser under test: the seed's name (a path, say) and the bytes.
type ParseFn = dyn Fn(&str, &[u8]) -> Verdict + Send + Sync;

/// `Parsed` or `Refused` by the result; the error's message is rendered, as
/// a user would see it, inside the measurement.
fn verdict<T, E: std::fmt::Display>(r: Result<T, E>) -> Verdict {
    match r {
        Ok(_) => Verdict::Parsed,
        Err(e) => {
            std::hint::black_box(e.to_string());
            Verdict::Refused
        }
    }
}

/// What one case did.
struct Outcome {
    /// The verdict, or the panic's message.
    verdict: Result<Verdict, String>,
    peak: usize,
    took: Duration,
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(a panic without a message)".to_string()
    }
}

/// A thread that parses the inputs it is sent. The stack is the size of a
/// main thread's (8 MiB), where the CLI parses its files.
struct Worker {
    jobs: mpsc::Sender<(String, Vec<u8>)>,
    outcomes: mpsc::Receiver<Outcome>,
}

impl Worker {
    fn spawn(name: &str, parse: Arc<ParseFn>) -> Self {
        let (jobs, inbox) = mpsc::channel::<(String, Vec<u8>)>();
        let (outbox, outcomes) = mpsc::channel();
        std::thread::Builder::new()
            .name(format!("parse {name}"))
            .stack_size(8 << 20)
            .spawn(move || {
                for (seed, input) in inbox {
                    let start = Instant::now();
                    let (verdict, peak) = measured(|| {
                        catch_unwind(AssertUnwindSafe(|| parse(&seed, &input)))
                            .map_err(|p| panic_message(&*p))
                    });
                    let took = start.elapsed();
                    if outbox
                        .send(Outcome {
                            verdict,
                            peak,
                            took,
                        })
                        .is_err()
                    {
                        break;
                    }
                }
            })
            .expect("a worker thread");
        Self { jobs, outcomes }
    }
}

/// A parser, its seeds and its allocation bound.
struct Target {
    name: &'static str,
    seeds: Vec<Seed>,
    /// Bytes of peak allocation allowed per input byte...
    per_byte: usize,
    /// ...plus these.
    constant: usize,
    parse: Arc<ParseFn>,
}

/// What the mutated cases of one parser gave.
#[derive(Debug, Default)]
struct Stats {
    cases: u32,
    parsed: u32,
    refused: u32,
    largest_peak: usize,
    slowest: Duration,
}

struct Harness<'a> {
    target: &'a Target,
    worker: RefCell<Worker>,
}

impl<'a> Harness<'a> {
    fn new(target: &'a Target) -> Self {
        Self {
            target,
            worker: RefCell::new(Worker::spawn(target.name, target.parse.clone())),
        }
    }

    /// Parses one input on the worker and checks panic, time, allocation
    /// and invariants. A worker that does not answer in time is abandoned
    /// (its thread is stuck) and replaced.
    fn run(&self, seed: &str, input: &[u8]) -> Result<(Verdict, Outcome), String> {
        let t = self.target;
        let sent = self
            .worker
            .borrow()
            .jobs
            .send((seed.to_string(), input.to_vec()));
        let answer = sent
            .ok()
            .and_then(|()| self.worker.borrow().outcomes.recv_timeout(CASE_LIMIT).ok());
        let Some(outcome) = answer else {
            self.worker.replace(Worker::spawn(t.name, t.parse.clone()));
            return Err(format!("no answer within {CASE_LIMIT:?} (a hang?)"));
        };
        let bound = t.per_byte * input.len() + t.constant;
        let verdict = match &outcome.verdict {
            Err(panic) => return Err(format!("panicked: {panic}")),
            Ok(Verdict::Broken(why)) => return Err(format!("returned a broken value: {why}")),
            Ok(v) => v.clone(),
        };
        if outcome.peak > bound {
            return Err(format!(
                "allocated {} bytes at the peak for {} input bytes; the bound is {} per byte + {} = {bound}",
                outcome.peak,
                input.len(),
                t.per_byte,
                t.constant
            ));
        }
        if outcome.took > CASE_LIMIT {
            return Err(format!("took {:?}", outcome.took));
        }
        Ok((verdict, outcome))
    }
}

/// A short, printable view of an input for a failure message.
fn excerpt(bytes: &[u8]) -> String {
    let shown = &bytes[..bytes.len().min(600)];
    let more = if bytes.len() > shown.len() {
        format!(" ... ({} bytes in all)", bytes.len())
    } else {
        String::new()
    };
    format!("b\"{}\"{more}", shown.escape_ascii())
}

/// Runs `cases` mutated cases of `target` (after checking its seeds) and
/// returns their statistics, or the failure with the case (shrunk when
/// `shrink`).
fn fuzz_cases(target: &Target, cases: u32, shrink: bool) -> Result<Stats, String> {
    let harness = Harness::new(target);
    for seed in &target.seeds {
        match harness.run(&seed.name, &seed.bytes) {
            Ok((Verdict::Parsed, _)) => {}
            Ok((v, _)) => return Err(format!("seed {} does not parse: {v:?}", seed.name)),
            Err(why) => return Err(format!("seed {}: {why}", seed.name)),
        }
    }
    let config = Config {
        cases,
        failure_persistence: None,
        // A hanging case costs CASE_LIMIT per shrinking step.
        max_shrink_time: 60_000,
        max_shrink_iters: if shrink { u32::MAX } else { 0 },
        ..Config::default()
    };
    let stats = RefCell::new(Stats::default());
    let mut runner = TestRunner::new(config);
    let result = runner.run(&case(), |case| {
        let (seed, input) = case.input(&target.seeds);
        let (verdict, outcome) = harness.run(&seed.name, &input).map_err(|why| {
            TestCaseError::fail(format!(
                "{} on seed {} mutated to {}: {why}",
                target.name,
                seed.name,
                excerpt(&input)
            ))
        })?;
        let mut s = stats.borrow_mut();
        s.cases += 1;
        match verdict {
            Verdict::Parsed => s.parsed += 1,
            _ => s.refused += 1,
        }
        s.largest_peak = s.largest_peak.max(outcome.peak);
        s.slowest = s.slowest.max(outcome.took);
        Ok(())
    });
    match result {
        Ok(()) => Ok(stats.into_inner()),
        Err(TestError::Fail(why, case)) => Err(format!("{why}\nminimal case: {case:?}")),
        Err(TestError::Abort(why)) => Err(format!("proptest aborted: {why}")),
    }
}

/// The test of one parser: [`MIN_CASES`] cases or more, no failure, and
/// both values and errors among them.
fn fuzz(target: Target) {
    let cases = Config::default().cases.max(MIN_CASES);
    let start = Instant::now();
    let stats = fuzz_cases(&target, cases, true).unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "{}: {} cases ({} parsed, {} refused) in {:.1?}; peak allocation {} bytes, slowest case {:.1?}",
        target.name,
        stats.cases,
        stats.parsed,
        stats.refused,
        start.elapsed(),
        stats.largest_peak,
        stats.slowest
    );
    assert!(stats.cases >= MIN_CASES, "{stats:?}");
    assert!(
        stats.parsed > 0 && stats.refused > 0,
        "{}: the mutations gave only values or only errors: {stats:?}",
        target.name
    );
}

fn target(
    name: &'static str,
    seeds: Vec<Seed>,
    (per_byte, constant): (usize, usize),
    parse: impl Fn(&str, &[u8]) -> Verdict + Send + Sync + 'static,
) -> Target {
    Target {
        name,
        seeds,
        per_byte,
        constant,
        parse: Arc::new(parse),
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const KIB: usize = 1 << 10;
const MIB: usize = 1 << 20;

// ---------------------------------------------------------------------------
// The harness fails when it should.

fn tiny_seeds() -> Vec<Seed> {
    vec![Seed::new("a", b"0123456789abcdef".to_vec())]
}

#[test]
fn harness_reports_a_panic() {
    let t = target("panics", tiny_seeds(), (1, KIB), |_, b| {
        if b.len() < 16 {
            panic!("short input");
        }
        Verdict::Parsed
    });
    let err = fuzz_cases(&t, 200, true).unwrap_err();
    assert!(err.contains("panicked: short input"), "{err}");
}

#[test]
fn harness_reports_an_allocation_over_the_bound() {
    let t = target("allocates", tiny_seeds(), (4, KIB), |_, b| {
        let n = if b.first() == Some(&b'0') {
            16
        } else {
            64 * KIB
        };
        std::hint::black_box(vec![1u8; n]);
        Verdict::Parsed
    });
    let err = fuzz_cases(&t, 500, true).unwrap_err();
    assert!(err.contains("allocated 65536 bytes at the peak"), "{err}");
}

#[test]
fn harness_reports_a_broken_value() {
    let t = target("broken", tiny_seeds(), (1, KIB), |_, b| {
        if b.len() == 16 {
            Verdict::Parsed
        } else {
            Verdict::Broken(format!("{} bytes", b.len()))
        }
    });
    let err = fuzz_cases(&t, 200, true).unwrap_err();
    assert!(err.contains("returned a broken value"), "{err}");
}

#[test]
fn harness_reports_a_hang() {
    let t = target("hangs", tiny_seeds(), (1, KIB), |_, b| {
        if b != b"0123456789abcdef" {
            // Longer than CASE_LIMIT, short enough not to keep the test
            // binary waiting long after the harness gave up.
            std::thread::sleep(CASE_LIMIT + Duration::from_secs(1));
        }
        Verdict::Parsed
    });
    let start = Instant::now();
    // Not shrunk: each shrinking step would wait CASE_LIMIT again.
    let err = fuzz_cases(&t, 20, false).unwrap_err();
    assert!(err.contains("no answer within"), "{err}");
    assert!(start.elapsed() < 3 * CASE_LIMIT, "{:?}", start.elapsed());
}

#[test]
fn mutations_stay_inside_the_input() {
    // Every edit on empty and one-byte inputs, at both ends.
    let seeds = vec![Seed::new("e", Vec::new()), Seed::new("x", b"x".to_vec())];
    let mut runner = TestRunner::new(Config {
        cases: 2000,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&case(), |case| {
            let (_, bytes) = case.input(&seeds);
            prop_assert!(bytes.len() <= 1 + 4 * 256);
            Ok(())
        })
        .unwrap();
}

// ---------------------------------------------------------------------------
// The parsers.

/// A .npy image: `version` 1 (u16 header length) or 2 and 3 (u32), the
/// header padded so that the data starts on a 64-byte boundary.
fn npy_image(version: u8, descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
    let prefix = if version == 1 { 10 } else { 12 };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while (prefix + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY".to_vec();
    out.extend([version, 0]);
    if version == 1 {
        out.extend((header.len() as u16).to_le_bytes());
    } else {
        out.extend((header.len() as u32).to_le_bytes());
    }
    out.extend(header.as_bytes());
    out.extend(data);
    out
}

/// An array's elements must be what its shape says.
fn npy_consistent<T>(a: &npy::NpyArray<T>) -> Verdict {
    let elements = a.shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    if elements == Some(a.data.len()) {
        Verdict::Parsed
    } else {
        Verdict::Broken(format!(
            "shape {:?} with {} elements",
            a.shape,
            a.data.len()
        ))
    }
}

/// `read_f32` and `read_i64` through their bytes entry points, and
/// `NpyReader` (which reads from a file: each input is written to a scratch
/// file in the temporary folder) on every entry, which must be the rows of
/// what `read_f32` gives. Bound: the values come out widened, at most 8
/// bytes (an i64) per input byte (a uint8); the results are not held at
/// once. The constant covers the shape and the error message, which can
/// quote the header.
#[test]
fn npy() {
    let f32s: Vec<u8> = [1.0f32, -2.5, 3.0, 4.0, 5.0, 6.5]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let i64s: Vec<u8> = [7i64, -1, 0, i64::MAX]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let i32s: Vec<u8> = [3i32, -4, 5].iter().flat_map(|v| v.to_le_bytes()).collect();
    let seeds = vec![
        Seed::new("f4.npy", npy_image(1, "<f4", "(2, 3)", &f32s)),
        Seed::new("i8.npy", npy_image(1, "<i8", "(4,)", &i64s)),
        Seed::new(
            "u1.npy",
            npy_image(1, "|u1", "(2, 2, 2)", &[0, 1, 2, 3, 250, 251, 252, 255]),
        ),
        Seed::new("f8.npy", npy_image(1, "<f8", "()", &0.25f64.to_le_bytes())),
        Seed::new("i4-v2.npy", npy_image(2, "<i4", "(3,)", &i32s)),
        Seed::new("i1-v3.npy", npy_image(3, "|i1", "(0, 5)", &[])),
        Seed::file("runtime/models/digits/test-labels.npy"),
    ];
    let scratch =
        std::env::temp_dir().join(format!("kiln-parsers-mutation-{}.npy", std::process::id()));
    let file = scratch.clone();
    fuzz(target("npy", seeds, (8, 64 * KIB), move |name, bytes| {
        let path = Path::new(name);
        let floats = match npy::parse_f32(bytes, path) {
            Ok(a) => npy_consistent(&a),
            Err(e) => verdict::<(), _>(Err(e)),
        };
        if let Verdict::Broken(_) = floats {
            return floats;
        }
        if let Some(why) = npy_reader_disagrees(&file, bytes) {
            return Verdict::Broken(why);
        }
        let ints = match npy::parse_i64(bytes, path) {
            Ok(a) => npy_consistent(&a),
            Err(e) => verdict::<(), _>(Err(e)),
        };
        match (floats, ints) {
            (_, Verdict::Broken(why)) => Verdict::Broken(why),
            (Verdict::Parsed, _) | (_, Verdict::Parsed) => Verdict::Parsed,
            _ => Verdict::Refused,
        }
    }));
    std::fs::remove_file(&scratch).ok();
}

/// Whether `NpyReader` on a file of `bytes` disagrees with `parse_f32`:
/// every array it opens must parse whole, and each of its entries must be
/// the matching row.
fn npy_reader_disagrees(file: &Path, bytes: &[u8]) -> Option<String> {
    std::fs::write(file, bytes).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let reader = npy::NpyReader::open(file).ok()?;
    let whole = match npy::parse_f32(bytes, file) {
        Ok(a) if a.shape == reader.shape() => a,
        other => {
            return Some(format!(
                "NpyReader opens shape {:?}, read_f32 gives {other:?}",
                reader.shape()
            ))
        }
    };
    let per: usize = whole.shape[1..].iter().product();
    for i in 0..whole.shape[0] {
        match reader.read_f32(i) {
            // Bit for bit: a NaN is a value the file may hold.
            Ok(row)
                if row
                    .iter()
                    .map(|v| v.to_bits())
                    .eq(whole.data[i * per..(i + 1) * per]
                        .iter()
                        .map(|v| v.to_bits())) => {}
            other => return Some(format!("entry {i}: {other:?}")),
        }
    }
    if reader.read_f32(whole.shape[0]).is_ok() {
        return Some(format!("entry {} past the end reads", whole.shape[0]));
    }
    None
}

/// A small model with an op of each kind of constant: a float_data weight,
/// a raw_data bias and an int64 shape for a Reshape.
fn small_onnx() -> Vec<u8> {
    use prost::Message;
    use tract_onnx::pb;
    let tensor = |dims: &[i64]| pb::TypeProto {
        value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
            elem_type: pb::tensor_proto::DataType::Float as i32,
            shape: Some(pb::TensorShapeProto {
                dim: dims
                    .iter()
                    .map(|&d| pb::tensor_shape_proto::Dimension {
                        value: Some(pb::tensor_shape_proto::dimension::Value::DimValue(d)),
                        ..Default::default()
                    })
                    .collect(),
            }),
        })),
        ..Default::default()
    };
    let value = |name: &str, dims: &[i64]| pb::ValueInfoProto {
        name: name.into(),
        r#type: Some(tensor(dims)),
        ..Default::default()
    };
    let node = |name: &str, op: &str, inputs: &[&str], output: &str| pb::NodeProto {
        name: name.into(),
        op_type: op.into(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.into()],
        ..Default::default()
    };
    let graph = pb::GraphProto {
        name: "g".into(),
        node: vec![
            node("mm", "MatMul", &["x", "w"], "xw"),
            node("add", "Add", &["xw", "b"], "z"),
            node("relu", "Relu", &["z"], "r"),
            node("reshape", "Reshape", &["r", "shape"], "y"),
        ],
        initializer: vec![
            pb::TensorProto {
                name: "w".into(),
                dims: vec![4, 3],
                data_type: pb::tensor_proto::DataType::Float as i32,
                float_data: (0..12).map(|i| i as f32 * 0.1 - 0.5).collect(),
                ..Default::default()
            },
            pb::TensorProto {
                name: "b".into(),
                dims: vec![3],
                data_type: pb::tensor_proto::DataType::Float as i32,
                raw_data: [0.5f32, -0.25, 1.0]
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                    .collect(),
                ..Default::default()
            },
            pb::TensorProto {
                name: "shape".into(),
                dims: vec![2],
                data_type: pb::tensor_proto::DataType::Int64 as i32,
                int64_data: vec![3, 2],
                ..Default::default()
            },
        ],
        input: vec![value("x", &[2, 4])],
        output: vec![value("y", &[3, 2])],
        ..Default::default()
    };
    pb::ModelProto {
        ir_version: 8,
        opset_import: vec![pb::OperatorSetIdProto {
            domain: String::new(),
            version: 13,
        }],
        graph: Some(graph),
        ..Default::default()
    }
    .encode_to_vec()
}

/// `y = x + ConstantOfShape(shape)`, with the shape as raw little-endian
/// int64s, as exporters write it: tract computes the constant while it
/// analyses the model, so the shape is a size tract allocates.
fn folding_onnx() -> Vec<u8> {
    use prost::Message;
    use tract_onnx::pb;
    let tensor = |dims: &[i64]| pb::TypeProto {
        value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
            elem_type: pb::tensor_proto::DataType::Float as i32,
            shape: Some(pb::TensorShapeProto {
                dim: dims
                    .iter()
                    .map(|&d| pb::tensor_shape_proto::Dimension {
                        value: Some(pb::tensor_shape_proto::dimension::Value::DimValue(d)),
                        ..Default::default()
                    })
                    .collect(),
            }),
        })),
        ..Default::default()
    };
    let value = |name: &str, dims: &[i64]| pb::ValueInfoProto {
        name: name.into(),
        r#type: Some(tensor(dims)),
        ..Default::default()
    };
    let node = |op: &str, inputs: &[&str], output: &str| pb::NodeProto {
        name: output.into(),
        op_type: op.into(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.into()],
        ..Default::default()
    };
    let graph = pb::GraphProto {
        name: "g".into(),
        node: vec![
            node("ConstantOfShape", &["shape"], "c"),
            node("Add", &["x", "c"], "y"),
        ],
        initializer: vec![pb::TensorProto {
            name: "shape".into(),
            dims: vec![2],
            data_type: pb::tensor_proto::DataType::Int64 as i32,
            raw_data: [2i64, 4].iter().flat_map(|v| v.to_le_bytes()).collect(),
            ..Default::default()
        }],
        input: vec![value("x", &[2, 4])],
        output: vec![value("y", &[2, 4])],
        ..Default::default()
    };
    pb::ModelProto {
        ir_version: 8,
        opset_import: vec![pb::OperatorSetIdProto {
            domain: String::new(),
            version: 13,
        }],
        graph: Some(graph),
        ..Default::default()
    }
    .encode_to_vec()
}

/// `load_onnx` through its bytes entry point: protobuf decoding, tract's
/// translation of the nodes, typing and decluttering. Bound: tract's graph
/// and facts take up to about 16 bytes per input byte (measured: 275 kB for
/// the 17.7 kB digits CNN), and the constants tract computes while loading
/// are held to `constant_limit`, 4 bytes per input byte or 64 MiB; so 32 per
/// byte plus 64 MiB and 2 MiB for tract's own tables.
#[test]
fn onnx() {
    let seeds = vec![
        Seed::new("small.onnx", small_onnx()),
        Seed::new("folding.onnx", folding_onnx()),
        Seed::file("runtime/models/digits/digits-cnn.onnx"),
    ];
    fuzz(target("onnx", seeds, (32, 66 * MIB), |name, bytes| {
        verdict(load_onnx_bytes(bytes, Path::new(name), None))
    }));
}

/// Every `.toml` file of a folder of the source tree.
fn toml_seeds(dirs: &[&str]) -> Vec<Seed> {
    let mut seeds = Vec::new();
    for dir in dirs {
        let mut files: Vec<String> = std::fs::read_dir(repo().join(dir))
            .unwrap_or_else(|e| panic!("cannot list {dir}: {e}"))
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|f| f.ends_with(".toml"))
            .collect();
        files.sort();
        seeds.extend(files.iter().map(|f| Seed::file(&format!("{dir}/{f}"))));
    }
    assert!(!seeds.is_empty(), "no seeds in {dirs:?}");
    seeds
}

/// Design files, with the seed's path as the file name (which the design's
/// name must match). A design that parses must also give everything the
/// simulator build, synthesis and the driver ask of it. Bound: TOML
/// parsing takes a few tens of bytes per input byte; the constant covers
/// the built-in PE library, which is parsed for the check (measured peak:
/// 24 kB for files under 1 kB).
#[test]
fn design() {
    // The engine list and the shell's port table are parsed once per
    // process and kept: parsed here, they are not charged to the first case.
    kiln_spec::engines::descs().unwrap();
    kiln_spec::ShellPorts::builtin().unwrap();
    let seeds = toml_seeds(&["hw/designs", "hw/designs/dv"]);
    fuzz(target("design", seeds, (32, 64 * KIB), |name, bytes| {
        let design = match Design::parse(name, &text(bytes)) {
            Ok(d) => d,
            Err(e) => return verdict::<(), _>(Err(e)),
        };
        let derived = (|| {
            design.top_parameters()?;
            design.rtl_sources()?;
            design.generated_sources()?;
            design.core_parameters()?;
            design.pe_kind()?;
            design.weight_bits()
        })();
        let _ = (design.id(), design.identity(), design.compute_summary());
        match derived {
            Ok(_) => Verdict::Parsed,
            Err(e) => Verdict::Broken(format!("a parsed design fails: {e}")),
        }
    }));
}

/// Board files, with the seed's path as the file name. Bound: as for
/// designs, without the PE library.
#[test]
fn board() {
    let seeds = toml_seeds(&["boards"]);
    fuzz(target("board", seeds, (64, 64 * KIB), |name, bytes| {
        verdict(Board::parse(name, &text(bytes)))
    }));
}

/// The PE library (codebooks.toml) and the test PEs (test_pes.toml): the
/// mutated file is parsed with the other one as committed. A library that
/// parses must give every code a value whose product with any activation
/// fits the product port. Bound: TOML parsing, and the other file
/// (measured peak: 32 kB for the 1.9 kB library).
#[test]
fn pe_library() {
    const LIBRARY: &str = "hw/ip/pe/data/codebooks.toml";
    const TEST_PES: &str = "hw/ip/pe/dv/test_pes.toml";
    let seeds = vec![Seed::file(LIBRARY), Seed::file(TEST_PES)];
    let library = text(&seeds[0].bytes);
    let test_pes = text(&seeds[1].bytes);
    fuzz(target(
        "pe library",
        seeds,
        (32, 64 * KIB),
        move |name, bytes| {
            let mutated = text(bytes);
            let parsed = if name == LIBRARY {
                PeLibrary::parse(&mutated, Some(test_pes.as_str()))
            } else {
                PeLibrary::parse(&library, Some(&mutated))
            };
            let lib = match parsed {
                Ok(lib) => lib,
                Err(e) => return verdict::<(), _>(Err(e)),
            };
            let act_min = 1i64 << (lib.port_shape.act_bits - 1);
            let limit = 1i64 << (lib.port_shape.product_bits - 1);
            for pe in &lib.pes {
                let largest = i64::from(pe.max_magnitude());
                for code in 0..pe.code_count() {
                    let v = i64::from(pe.weight_value(code));
                    if v.abs() > largest || act_min * v.abs() >= limit {
                        return Verdict::Broken(format!(
                        "PE {}: code {code} is worth {v}; max magnitude {largest}, product limit {limit}",
                        pe.name
                    ));
                    }
                }
            }
            Verdict::Parsed
        },
    ));
}

/// The register map. A map that parses is rendered as `kiln regs
/// generate` and `kiln bitstream vivado` would (SystemVerilog, Rust,
/// Markdown, kernel.xml), and its fields must fit their registers. Bound:
/// TOML parsing plus the four renderings, each a few times the size of the
/// map (measured peak: 336 kB, 26 bytes per byte of the 13 kB map).
#[test]
fn register_map() {
    let seeds = vec![Seed::file(kiln_spec::regs::REGS_FILE)];
    fuzz(target(
        "register map",
        seeds,
        (64, 128 * KIB),
        |_, bytes| {
            let map = match RegisterMap::parse(&text(bytes)) {
                Ok(map) => map,
                Err(e) => return verdict::<(), _>(Err(e)),
            };
            for r in &map.registers {
                if r.offset % 4 != 0 || r.offset >= map.window_bytes {
                    return Verdict::Broken(format!("register {} at {:#x}", r.name, r.offset));
                }
                if let Some(f) = r
                    .fields
                    .iter()
                    .find(|f| f.width == 0 || f.lsb + f.width > 32)
                {
                    return Verdict::Broken(format!("field {}.{} at {}", r.name, f.name, f.bits()));
                }
            }
            std::hint::black_box((
                kiln_spec::regs::render_sv(&map),
                kiln_spec::regs::render_rust(&map),
                kiln_spec::regs::render_markdown(&map),
                kiln_spec::regs::render_kernel_xml(&map, kiln_driver::xclbin::KERNEL_NAME),
            ));
            Verdict::Parsed
        },
    ));
}

/// Bitstream manifests, written by `Manifest::new` for a few designs and
/// boards beside a small bitstream in a temporary folder, then parsed and
/// checked as `kiln bitstream check` does (the bitstream's hash included).
/// Bound: TOML parsing, and the check parses every design and board this
/// kiln knows and hashes the small bitstream (the constant; measured peak:
/// 28 kB).
#[test]
fn bitstream_manifest() {
    let dir = std::env::temp_dir().join(format!("kiln-parsers-mutation-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut seeds = Vec::new();
    for (design, board) in [
        ("gemm-pot-8x8", "pynq-z2"),
        ("bfp-mxint4", "kv260"),
        ("gemm-msq-8x8", "zcu104"),
    ] {
        let file = dir.join(format!("{design}-{board}.bit"));
        std::fs::write(&file, format!("bits of {design} on {board}")).unwrap();
        let tools = [("vivado".to_string(), "2023.2".to_string())].into();
        let m = Manifest::new(
            &Design::by_name(design).unwrap(),
            &Board::by_name(board).unwrap(),
            &file,
            tools,
        )
        .unwrap();
        seeds.push(Seed::new(
            dir.join(format!("{design}-{board}.toml"))
                .display()
                .to_string(),
            m.to_toml(),
        ));
    }
    fuzz(target(
        "bitstream manifest",
        seeds,
        (32, 128 * KIB),
        |name, bytes| {
            let path = Path::new(name);
            verdict(Manifest::parse(&text(bytes), path).and_then(|m| m.check(path, false)))
        },
    ));
    std::fs::remove_dir_all(&dir).ok();
}

/// xclbin containers. A parsed xclbin's sections must fit in its file
/// (together: each is copied out). Bound: the sections (at most the file,
/// since they may not overlap) plus a Section of 56 bytes and a name of up
/// to 16 per 40-byte section header: under 3 bytes per input byte.
#[test]
fn xclbin() {
    let flat = Xclbin::new(
        kiln_driver::xclbin::mode::FLAT,
        "xilinx_kv260_base",
        vec![
            kiln_driver::xclbin::Section {
                kind: kiln_driver::xclbin::kind::BITSTREAM,
                name: "bit".into(),
                data: vec![0xff; 96],
            },
            kiln_driver::xclbin::Section {
                kind: 7,
                name: "a_long_section_name".into(),
                data: Vec::new(),
            },
        ],
    );
    let seeds = vec![
        Seed::new(
            "gemm-pot-8x8.xclbin",
            Xclbin::emulation("gemm-pot-8x8").unwrap().to_bytes(),
        ),
        Seed::new(
            "bfp-mxint8.xclbin",
            Xclbin::emulation("bfp-mxint8").unwrap().to_bytes(),
        ),
        Seed::new("flat.xclbin", flat.to_bytes()),
    ];
    fuzz(target("xclbin", seeds, (4, 16 * KIB), |name, bytes| {
        let x = match Xclbin::parse(bytes, name) {
            Ok(x) => x,
            Err(e) => return verdict::<(), _>(Err(e)),
        };
        let held: usize = x.sections.iter().map(|s| s.data.len()).sum();
        if held > bytes.len() {
            return Verdict::Broken(format!(
                "{} sections hold {held} bytes of a {}-byte file",
                x.sections.len(),
                bytes.len()
            ));
        }
        let _ = (x.kernel_xml(), x.emulation_design(), x.uuid_string());
        Verdict::Parsed
    }));
}

/// The first `blocks` blocks of a gguf-made vector file (layout in
/// tests/data/ggml/make_vectors.py).
fn ggml_blocks(file: &str, block_bytes: usize, blocks: usize) -> Seed {
    let raw = Seed::file(file).bytes;
    let n = u32::from_le_bytes(raw[12..16].try_into().unwrap()) as usize;
    let start = 16 + n * 32 * 4;
    Seed::new(file, raw[start..start + blocks * block_bytes].to_vec())
}

/// A ggml decoder, as `dequantise_q8_0`.
type Decode = fn(&[u8]) -> Result<Vec<f32>, BfpError>;
/// A ggml converter, as `q8_0_to_mxint8`.
type Convert = fn(&[u8], usize, usize) -> Result<BfpMatrix, BfpError>;

/// The ggml block decoders and converters. Every input goes to all four
/// functions, the converters with K of one block, of two and the largest
/// multiple of 32 (rows from the length). Values must be finite and as
/// many as the blocks hold. Bound: a Q4_0 block of 18 bytes decodes to
/// 128 bytes of f32, and the mxint4 matrix adds 33 bytes per block: under
/// 9 bytes per input byte.
#[test]
fn ggml_blocks_convert() {
    let values: Vec<f32> = (0..128)
        .map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.03)
        .collect();
    let mut zeros = vec![0.0f32; 64];
    zeros[40] = -1e-3;
    let seeds = vec![
        ggml_blocks("tests/data/ggml/q8_0.bin", ggml::Q8_0_BYTES, 6),
        ggml_blocks("tests/data/ggml/q4_0.bin", ggml::Q4_0_BYTES, 6),
        Seed::new("q8_0 made", ggml::quantise_q8_0(&values).unwrap()),
        Seed::new("q4_0 made", ggml::quantise_q4_0(&values).unwrap()),
        Seed::new("q8_0 zeros", ggml::quantise_q8_0(&zeros).unwrap()),
        Seed::new("q4_0 zeros", ggml::quantise_q4_0(&zeros).unwrap()),
    ];
    fuzz(target("ggml blocks", seeds, (9, 16 * KIB), |_, bytes| {
        let mut parsed = false;
        let decoders: [(Decode, usize); 2] = [
            (ggml::dequantise_q8_0, ggml::Q8_0_BYTES),
            (ggml::dequantise_q4_0, ggml::Q4_0_BYTES),
        ];
        for (decode, block_bytes) in decoders {
            match decode(bytes) {
                Ok(v) => {
                    if v.len() != bytes.len() / block_bytes * ggml::QK
                        || v.iter().any(|x| !x.is_finite())
                    {
                        return Verdict::Broken(format!(
                            "{} values from {} bytes",
                            v.len(),
                            bytes.len()
                        ));
                    }
                    parsed = true;
                }
                Err(e) => {
                    verdict::<(), _>(Err(e));
                }
            }
        }
        let largest_k = usize::MAX - usize::MAX % ggml::QK;
        for k in [ggml::QK, 2 * ggml::QK, largest_k] {
            let q8_rows = bytes.len() / (k / ggml::QK).saturating_mul(ggml::Q8_0_BYTES);
            let q4_rows = bytes.len() / (k / ggml::QK).saturating_mul(ggml::Q4_0_BYTES);
            // One at a time, so that the peak is that of one conversion.
            let converters: [(Convert, usize); 2] = [
                (ggml::q8_0_to_mxint8, q8_rows),
                (ggml::q4_0_to_mxint4, q4_rows),
            ];
            for (convert, rows) in converters {
                match convert(bytes, rows, k) {
                    Ok(m) if (m.rows(), m.k()) != (rows, k) => {
                        return Verdict::Broken(format!("{}x{} for {rows}x{k}", m.rows(), m.k()))
                    }
                    Ok(_) => parsed = true,
                    Err(e) => {
                        verdict::<(), _>(Err(e));
                    }
                }
            }
        }
        if parsed {
            Verdict::Parsed
        } else {
            Verdict::Refused
        }
    }));
}
