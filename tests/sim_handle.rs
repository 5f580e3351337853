//! The safe simulation handle: ports by name, reset, stepping, batches.

use kiln_sim::{ModelSource, PeHarness, PeInput, Sim, SimError};
use kiln_spec::PeLibrary;

/// The harness model of a built-in PE.
fn pe_model(name: &str) -> ModelSource {
    let library = PeLibrary::builtin().unwrap();
    ModelSource::pe_harness(&library, library.get(name).unwrap()).unwrap()
}

fn harness(name: &str) -> PeHarness {
    let library = PeLibrary::builtin().unwrap();
    PeHarness::open(&library, library.get(name).unwrap(), None).unwrap()
}

#[test]
fn every_library_pe_builds_and_resets() {
    let library = PeLibrary::builtin().unwrap();
    for pe in library.library_pes() {
        let mut h = PeHarness::open(&library, pe, None).unwrap();
        let out = h.cycle(PeInput::default()).unwrap();
        assert!(!out.valid && out.acc == 0, "{}: {out:?}", pe.name);
    }
}

#[test]
fn ports_step_and_reset_behave_as_registers() {
    let mut sim = Sim::open(&pe_model("mac_dsp"), None).unwrap();
    sim.reset(2).unwrap();
    let (valid_i, act_i, wcode_i) = (
        sim.port("valid_i").unwrap(),
        sim.port("act_i").unwrap(),
        sim.port("wcode_i").unwrap(),
    );
    let (valid_o, prod_o, acc_o) = (
        sim.port("valid_o").unwrap(),
        sim.port("prod_o").unwrap(),
        sim.port("acc_o").unwrap(),
    );
    sim.set(valid_i, 1).unwrap();
    sim.set(act_i, u64::from(-3i8 as u8)).unwrap();
    sim.set(wcode_i, 5).unwrap();
    // Nothing is registered before the clock edge.
    assert_eq!(sim.get(valid_o), 0);
    sim.step(1);
    assert_eq!(sim.get(valid_o), 1);
    assert_eq!(sim.get(prod_o), u64::from((-15i16) as u16));
    sim.set(valid_i, 0).unwrap();
    sim.step(3);
    assert_eq!(sim.get(valid_o), 0);
    assert_eq!(sim.get(acc_o) as u32 as i32, -15, "one product accumulated");
    sim.reset(1).unwrap();
    assert_eq!(sim.get(acc_o), 0);
    assert!(sim.cycles() >= 6);
    sim.close().unwrap();
}

#[test]
fn per_call_and_batched_driving_agree() {
    let inputs: Vec<PeInput> = (0..500u64)
        .map(|i| PeInput {
            valid: i % 3 != 0,
            act: (i * 37) & 0xff,
            wcode: (i * 11) & 0xf,
        })
        .collect();
    let mut one = harness("shift_msq");
    let mut batch = harness("shift_msq");
    let per_call: Vec<_> = inputs.iter().map(|i| one.cycle(*i).unwrap()).collect();
    assert_eq!(per_call, batch.run(&inputs).unwrap());
}

#[test]
fn misuse_is_refused_with_a_reason() {
    let err = Sim::open(&pe_model("mac_dsp"), Some("wave.ghw".as_ref())).unwrap_err();
    assert!(matches!(err, SimError::TraceFormat { .. }));

    let mut sim = Sim::open(&pe_model("mac_lut"), None).unwrap();
    let err = sim.port("data_i").unwrap_err().to_string();
    assert!(err.contains("data_i") && err.contains("wcode_i"), "{err}");
    let wcode = sim.port("wcode_i").unwrap();
    let err = sim.set(wcode, 16).unwrap_err().to_string();
    assert!(err.contains("4-bit"), "{err}");
    let prod = sim.port("prod_o").unwrap();
    assert!(matches!(sim.set(prod, 1), Err(SimError::NotAnInput { .. })));
    let err = sim.run(&[wcode], &[], &[]).map(|_| ());
    assert!(err.is_ok(), "zero cycles is a valid batch");
    let err = sim.run(&[], &[1], &[]).unwrap_err();
    assert!(matches!(err, SimError::VectorShape { .. }));
}
