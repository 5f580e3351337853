//! Simulations on several threads at once: `Sim`, the simulated transport
//! and the sim backend are `Send`, each instance has its own Verilated
//! context, and two instances of one model running side by side give the
//! same outputs and counters, bit for bit, as one running alone.

use std::thread;

use kiln::backend::SimBackend;
use kiln::engines::gemm::{random_problem, GemmProblem, GemmRun, OutputMode, RunGemm};
use kiln::formats::Codebook;
use kiln::rng::SplitMix64;
use kiln_driver::transport::SimTransport;
use kiln_sim::{AccelSim, PeHarness, PeInput, Sim};
use kiln_spec::{Board, Design, GemmArray, PeLibrary};

/// Compile-time: what a thread may take with it.
#[test]
fn the_simulation_handles_are_send() {
    fn send<T: Send>() {}
    send::<Sim>();
    send::<PeHarness>();
    send::<AccelSim>();
    send::<SimTransport>();
    send::<SimBackend>();
}

/// A few GEMMs of odd shapes on `design`, both output modes.
fn problems(design: &Design) -> Vec<GemmProblem> {
    let array = design.params::<GemmArray>().unwrap();
    let codebook = Codebook::named(&array.pe).unwrap();
    let mut rng = SplitMix64::new(17);
    [(13, 21, 70), (8, 8, 8), (33, 5, 129)]
        .iter()
        .enumerate()
        .map(|(i, &(m, n, k))| {
            let output = if i % 2 == 0 {
                OutputMode::Int8 { zero_point: -3 }
            } else {
                OutputMode::Int32
            };
            random_problem(&mut rng, &codebook, m, n, k, output)
        })
        .collect()
}

/// Opens its own simulator (on the calling thread) and runs every problem.
fn run_all(design: &Design, board: &Board, problems: &[GemmProblem]) -> Vec<GemmRun> {
    let mut sim = SimBackend::open(design, board, None).unwrap();
    let runs = problems.iter().map(|p| sim.gemm(p).unwrap()).collect();
    sim.close().unwrap();
    runs
}

#[test]
fn two_threads_simulate_one_design_as_one_thread_does() {
    let design = Design::by_name("gemm-pot-8x8").unwrap();
    let board = Board::by_name("pynq-z1").unwrap();
    let problems = problems(&design);
    let alone = run_all(&design, &board, &problems);
    let (a, b) = thread::scope(|s| {
        let a = s.spawn(|| run_all(&design, &board, &problems));
        let b = s.spawn(|| run_all(&design, &board, &problems));
        (a.join().unwrap(), b.join().unwrap())
    });
    for (i, run) in alone.iter().enumerate() {
        assert!(run.counters.is_some(), "the simulator counts");
        assert_eq!(a[i], *run, "problem {i}: first thread against one thread");
        assert_eq!(b[i], *run, "problem {i}: second thread against one thread");
    }
}

#[test]
fn a_simulation_opened_on_one_thread_continues_on_another() {
    let design = Design::by_name("gemm-pot-8x8").unwrap();
    let board = Board::by_name("pynq-z1").unwrap();
    let problems = problems(&design);
    let alone = run_all(&design, &board, &problems);
    let mut sim = SimBackend::open(&design, &board, None).unwrap();
    let first = sim.gemm(&problems[0]).unwrap();
    // The instance moves to a thread that has run none of its calls, while
    // this thread opens and runs another instance of the same model.
    let problems = &problems;
    let (rest, mut sim) = thread::scope(|s| {
        let moved = s.spawn(move || {
            let rest: Vec<GemmRun> = problems[1..].iter().map(|p| sim.gemm(p).unwrap()).collect();
            (rest, sim)
        });
        let other = run_all(&design, &board, &problems[..1]);
        assert_eq!(other[0], alone[0]);
        moved.join().unwrap()
    });
    assert_eq!(first, alone[0]);
    assert_eq!(rest, alone[1..]);
    // And back again.
    assert_eq!(sim.gemm(&problems[0]).unwrap().output, alone[0].output);
    sim.close().unwrap();
}

#[test]
fn pe_harnesses_on_two_threads_agree_with_one() {
    let library = PeLibrary::builtin().unwrap();
    let pe = library.get("shift_msq").unwrap();
    let inputs: Vec<PeInput> = (0..2000u64)
        .map(|i| PeInput {
            valid: i % 5 != 0,
            act: (i * 37) & 0xff,
            wcode: (i * 11) & 0xf,
        })
        .collect();
    let run = || {
        let mut h = PeHarness::open(&library, pe, None).unwrap();
        h.run(&inputs).unwrap()
    };
    let alone = run();
    let (a, b) = thread::scope(|s| {
        let a = s.spawn(run);
        let b = s.spawn(run);
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_eq!(a, alone);
    assert_eq!(b, alone);
}

#[test]
fn cycle_tables_simulated_on_three_threads_equal_the_serial_one() {
    use kiln::engines::gemm::job::signature;
    use kiln::model::cycles::CycleTable;
    let design = Design::by_name("gemm-pot-8x8").unwrap();
    let board = Board::by_name("pynq-z1").unwrap();
    let signatures: Vec<_> = [
        (8, 8, 8),
        (13, 70, 21),
        (1, 300, 40),
        (40, 16, 9),
        (33, 129, 5),
    ]
    .iter()
    .enumerate()
    .map(|(i, &(m, k, n))| {
        let output = if i % 2 == 0 {
            OutputMode::Int32
        } else {
            OutputMode::Int8 { zero_point: 0 }
        };
        signature(m, k, n, output)
    })
    .collect();
    let mut serial = CycleTable::default();
    let mut ticks = 0;
    serial
        .simulate(&design, &board, &signatures, 5, 1, &mut || ticks += 1)
        .unwrap();
    assert_eq!(ticks, signatures.len());
    for jobs in [2, 3, 8] {
        let mut parallel = CycleTable::default();
        let mut ticks = 0;
        parallel
            .simulate(&design, &board, &signatures, 5, jobs, &mut || ticks += 1)
            .unwrap();
        assert_eq!(
            ticks,
            signatures.len(),
            "{jobs} jobs: one tick per signature"
        );
        assert_eq!(parallel.len(), serial.len());
        for s in &signatures {
            assert!(serial.get(s).unwrap() > 0);
            assert_eq!(parallel.get(s), serial.get(s), "{jobs} jobs: {s}");
        }
    }
}
