//! The safe simulation handle: ports by name, reset, stepping, batches.

use kiln_sim::{models, PeHarness, PeInput, Sim, SimError};

#[test]
fn every_library_pe_has_a_model() {
    let names: Vec<_> = models().map(|m| m.name).collect();
    for pe in ["mac_dsp", "mac_lut", "shift_pot", "shift_msq", "shift_apot"] {
        assert!(names.contains(&format!("pe_{pe}").as_str()), "{names:?}");
    }
}

#[test]
fn ports_step_and_reset_behave_as_registers() {
    let mut sim = Sim::open("pe_mac_dsp", None).unwrap();
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
    let mut one = PeHarness::open("shift_msq", None).unwrap();
    let mut batch = PeHarness::open("shift_msq", None).unwrap();
    let per_call: Vec<_> = inputs.iter().map(|i| one.cycle(*i).unwrap()).collect();
    assert_eq!(per_call, batch.run(&inputs).unwrap());
}

#[test]
fn misuse_is_refused_with_a_reason() {
    let err = Sim::open("pe_nothing", None).unwrap_err().to_string();
    assert!(
        err.contains("pe_nothing") && err.contains("pe_shift_pot"),
        "{err}"
    );
    let err = Sim::open("pe_mac_dsp", Some("wave.ghw".as_ref())).unwrap_err();
    assert!(matches!(err, SimError::TraceFormat { .. }));

    let mut sim = Sim::open("pe_mac_lut", None).unwrap();
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
