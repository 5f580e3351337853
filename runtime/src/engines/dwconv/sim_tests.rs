//! The dwconv RTL against its golden model, bit for bit, on both designs:
//! every kernel and stride it takes with channel counts around the lane
//! groups, both output modes; then seeded random shapes; then the counters
//! (MACs, cycles against the ideal) and a refused job.

use kiln_spec::engines::DwconvArray;
use kiln_spec::{Board, Design};

use super::golden::{golden_dwconv, random_problem};
use super::job::RunDwconv;
use crate::backend::{Backend, GoldenBackend, SimBackend};
use crate::engines::Output;
use crate::formats::requant::OutputMode;
use crate::formats::Codebook;
use crate::rng::SplitMix64;

const DESIGNS: [&str; 2] = ["dwconv-pot-16", "dwconv-mac-dsp-16"];

fn open(name: &str) -> (Design, Codebook, SimBackend) {
    let design = Design::by_name(name).unwrap();
    let codebook = Codebook::named(&design.params::<DwconvArray>().unwrap().pe).unwrap();
    let board = Board::by_name("pynq-z1").unwrap();
    let sim = SimBackend::open(&design, &board, None).unwrap();
    (design, codebook, sim)
}

/// Test-only designs of 3- and 5-bit codes (hw/designs/dv), whose tap
/// records pack codes densely, so that a code straddles two 64-bit words:
/// lane 21 of 24 (3 bits, bits 63..65) and lane 12 of 16 (5 bits, 60..64).
const ODD_WIDTH_DESIGNS: [&str; 2] = ["dwconv-test-pot3-24", "dwconv-test-log5-16"];

#[test]
fn every_kernel_and_stride_matches_golden_around_the_lane_groups() {
    for name in DESIGNS {
        sweep_kernels_and_strides(name);
    }
}

#[test]
fn codes_of_3_and_5_bits_straddling_words_match_golden() {
    for (name, bits, words) in [("dwconv-test-pot3-24", 3, 2), ("dwconv-test-log5-16", 5, 2)] {
        let design = Design::by_name(name).unwrap();
        let array = design.params::<DwconvArray>().unwrap();
        assert_eq!(design.weight_bits().unwrap(), bits, "{name}");
        let layout = super::layout::Layout::of_shape(
            [1, 1, 1, 1, 1],
            OutputMode::Int32,
            array.lanes as usize,
            bits,
        );
        assert_eq!(layout.tap_words, words, "{name}: dense tap records");
        sweep_kernels_and_strides(name);
    }
    for name in ODD_WIDTH_DESIGNS {
        random_shapes(name, 12);
    }
}

fn sweep_kernels_and_strides(name: &str) {
    let (design, codebook, mut sim) = open(name);
    let array = design.params::<DwconvArray>().unwrap().clone();
    let lanes = array.lanes as usize;
    let mut rng = SplitMix64::new(1);
    let mut runs = 0;
    for k in 1..=array.max_kernel as usize {
        for s in 1..=k {
            for (i, c) in [1, lanes - 1, lanes, lanes + 1].into_iter().enumerate() {
                let output = if i % 2 == 0 {
                    OutputMode::Int32
                } else {
                    OutputMode::Int8 { zero_point: -3 }
                };
                let (ho, wo) = (1 + (k + c) % 3, 1 + (2 * k + s) % 4);
                let p = random_problem(&mut rng, &codebook, c, ho, wo, k, s, output);
                let want = golden_dwconv(&codebook, &p).unwrap();
                let run = sim.dwconv(&p).unwrap();
                assert_eq!(
                    run.output,
                    Output::Int(want),
                    "{name}: C={c} {ho}x{wo} k{k} s{s} {output:?}"
                );
                runs += 1;
            }
        }
    }
    assert_eq!(runs, 4 * (1..=array.max_kernel as usize).sum::<usize>());
    sim.close().unwrap();
}

#[test]
fn random_shapes_match_golden_bit_for_bit() {
    for name in DESIGNS {
        random_shapes(name, 24);
    }
}

fn random_shapes(name: &str, runs: usize) {
    let (design, codebook, mut sim) = open(name);
    let mut golden = GoldenBackend::new(&design).unwrap();
    let array = design.params::<DwconvArray>().unwrap().clone();
    let mut rng = SplitMix64::new(42);
    for _ in 0..runs {
        let k = 1 + rng.below(u64::from(array.max_kernel)) as usize;
        let s = 1 + rng.below(k as u64) as usize;
        let c = 1 + rng.below(40) as usize;
        let ho = 1 + rng.below(9) as usize;
        let wo = 1 + rng.below(9) as usize;
        let output = if rng.below(2) == 0 {
            OutputMode::Int32
        } else {
            OutputMode::Int8 {
                zero_point: rng.below(256) as u8 as i8,
            }
        };
        let p = random_problem(&mut rng, &codebook, c, ho, wo, k, s, output);
        let want = golden.run(&p).unwrap().output;
        let run = sim.run(&p).unwrap();
        assert_eq!(run.output, want, "{name}: C={c} {ho}x{wo} k{k} s{s}");
    }
    sim.close().unwrap();
}

#[test]
fn counters_count_every_mac_and_a_3x3_layer_keeps_the_lanes_busy() {
    let (design, codebook, mut sim) = open("dwconv-pot-16");
    let mut rng = SplitMix64::new(9);
    // A MobileNet-sized layer: 32 channels, 14x14 outputs, 3x3, stride 1.
    let p = random_problem(&mut rng, &codebook, 32, 14, 14, 3, 1, OutputMode::Int32);
    let run = sim.dwconv(&p).unwrap();
    let counters = run.counters.unwrap();
    assert_eq!(counters.macs, p.macs());
    let lanes = f64::from(design.params::<DwconvArray>().unwrap().lanes);
    let utilisation = p.macs() as f64 / (counters.cycles as f64 * lanes);
    assert!(utilisation > 0.7, "PE utilisation {utilisation}");
    assert!(utilisation <= 1.0, "PE utilisation {utilisation}");
    sim.close().unwrap();
}

#[test]
fn a_job_past_the_design_is_refused_before_the_hardware_starts() {
    let (_, codebook, mut sim) = open("dwconv-pot-16");
    let mut rng = SplitMix64::new(2);
    // max_kernel 5: a 7x7 kernel is the driver's to refuse.
    let p = random_problem(&mut rng, &codebook, 4, 2, 2, 7, 1, OutputMode::Int32);
    let err = sim.dwconv(&p).unwrap_err().to_string();
    assert!(err.contains("kernels of 1 to 5"), "{err}");
    // A row wider than the line buffer.
    let p = random_problem(&mut rng, &codebook, 4, 1, 200, 3, 1, OutputMode::Int32);
    let err = sim.dwconv(&p).unwrap_err().to_string();
    assert!(err.contains("max_width"), "{err}");
    // The accelerator still runs afterwards.
    let p = random_problem(&mut rng, &codebook, 4, 2, 2, 3, 1, OutputMode::Int32);
    assert_eq!(
        sim.dwconv(&p).unwrap().output,
        Output::Int(golden_dwconv(&codebook, &p).unwrap())
    );
    sim.close().unwrap();
}

#[test]
fn the_board_transport_runs_it_bit_for_bit() {
    // The devmem transport's own code (registers, DMA region behind a cache
    // that only its syncs keep coherent) with the RTL behind it: what a
    // PYNQ-Z1 runs, short of the board.
    let design = Design::by_name("dwconv-pot-16").unwrap();
    let board = Board::by_name("pynq-z1").unwrap();
    let codebook = Codebook::named(&design.params::<DwconvArray>().unwrap().pe).unwrap();
    let transport = crate::backend::devmem_on_sim(&design, &board, None).unwrap();
    let mut device =
        crate::backend::DeviceBackend::new(transport, "devmem", &design, &board).unwrap();
    let mut rng = SplitMix64::new(17);
    for (c, s, output) in [
        (20, 1, OutputMode::Int32),
        (33, 2, OutputMode::Int8 { zero_point: 4 }),
    ] {
        let p = random_problem(&mut rng, &codebook, c, 6, 7, 3, s, output);
        let run = device.dwconv(&p).unwrap();
        assert_eq!(
            run.output,
            Output::Int(golden_dwconv(&codebook, &p).unwrap())
        );
        assert_eq!(run.counters.unwrap().macs, p.macs());
    }
}
