//! The devmem transport (the PYNQ-Z1/Z2 path) with the Verilated
//! accelerator behind its seams: registers as AXI-Lite transactions, a
//! u-dma-buf-like DMA region behind a write-back cache that only the
//! transport's syncs keep coherent, and polling in device time. GEMMs and
//! BFP MatMuls must match the golden model bit for bit and report the same
//! counters as the plain simulation transport; a hung accelerator, a wrong
//! bitstream and bad buffers must be refused clearly.

#[path = "common/device.rs"]
mod device;

use std::time::Duration;

use kiln::backend::{
    devmem_on_device, devmem_on_sim, expected_design, sim_board, BackendError, DeviceBackend,
    SIM_UDMABUF_BYTES,
};
use kiln::engines::gemm::{GemmDescriptor, OutputMode};
use kiln_driver::transport::{DevmemTransport, SimDevice, Transport, TransportError};
use kiln_driver::{Accelerator, DriverError, Operand};
use kiln_spec::{Board, Design};

fn devmem(design: &Design, board: &Board) -> DeviceBackend<DevmemTransport> {
    let transport = devmem_on_sim(design, board, None).unwrap();
    DeviceBackend::new(transport, "devmem", design, board).unwrap()
}

fn check_gemms(design: &str, board: &str, shapes: &[(usize, usize, usize)], seed: u64) {
    let design = Design::by_name(design).unwrap();
    let board = Board::by_name(board).unwrap();
    let mut dev = devmem(&design, &board);
    device::check_gemms(&mut dev, &design, &board, shapes, seed);
}

#[test]
fn gemms_match_golden_and_the_sim_transport_on_every_tiling_edge() {
    check_gemms(
        "gemm-pot-3x5",
        "pynq-z1",
        &[(1, 1, 1), (3, 5, 16), (7, 17, 33), (13, 31, 97), (31, 7, 5)],
        11,
    );
}

#[test]
fn listed_gemm_designs_match_golden_over_devmem() {
    check_gemms("gemm-pot-8x8", "pynq-z1", &[(64, 48, 200), (9, 70, 31)], 12);
    check_gemms(
        "gemm-mac-dsp-8x8",
        "pynq-z2",
        &[(40, 33, 129), (8, 8, 8)],
        13,
    );
}

#[test]
fn bfp_matmuls_match_golden_bit_for_bit_over_devmem() {
    let design = Design::by_name("bfp-mxint8").unwrap();
    let board = Board::by_name("pynq-z1").unwrap();
    let mut dev = devmem(&design, &board);
    device::check_matmuls(
        &mut dev,
        &design,
        &[(1, 64, 512), (5, 13, 100), (3, 9, 33)],
        5,
    );
}

#[test]
fn a_hung_accelerator_times_out_and_the_next_open_is_refused_as_busy() {
    let design = Design::by_name("gemm-pot-2x2-hold").unwrap();
    let board = Board::by_name("pynq-z1").unwrap();
    let device = SimDevice::open(&design, sim_board(&board), None).unwrap();
    let transport = devmem_on_device(&device, &board).unwrap();
    let mut accel = Accelerator::open(transport, &expected_design(&design).unwrap()).unwrap();
    let a = accel.alloc(64).unwrap();
    let b = accel.alloc(64).unwrap();
    let c = accel.alloc(64).unwrap();
    let p = accel.alloc(64).unwrap();
    let operand = |buffer, stride| Operand {
        buffer,
        offset: 0,
        stride,
    };
    let desc = GemmDescriptor {
        m: 2,
        n: 2,
        k: 16,
        a: operand(a, 16),
        b: operand(b, 8),
        c: operand(c, 8),
        params: operand(p, 0),
        act_zero_point: 0,
        output: OutputMode::Int32,
    };
    let timeout = Duration::from_micros(50);
    let before = device.cycles();
    let err = accel.run(&desc, timeout).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, DriverError::Timeout { .. }), "{msg}");
    assert!(msg.contains("did not finish within 50µs"), "{msg}");
    // The watchdog counts device time: 50 µs at 100 MHz is 5,000 cycles,
    // plus at most one polling pause (100 µs) of overshoot.
    let waited = device.cycles() - before;
    assert!((5_000..=16_000).contains(&waited), "{waited} cycles");
    // The transport and its mappings go away cleanly; the hardware is
    // still busy, so a second user is told so instead of writing
    // arguments under a running engine.
    drop(accel);
    let again = devmem_on_device(&device, &board).unwrap();
    let err = Accelerator::open(again, &expected_design(&design).unwrap()).unwrap_err();
    assert!(matches!(err, DriverError::Busy { .. }), "{err}");
    assert!(err.to_string().contains("reload the bitstream"), "{err}");
}

#[test]
fn a_bitstream_of_another_design_is_refused_naming_both() {
    let board = Board::by_name("pynq-z1").unwrap();
    let built = Design::by_name("gemm-pot-8x8").unwrap();
    let claimed = Design::by_name("gemm-mac-dsp-8x8").unwrap();
    let transport = devmem_on_sim(&built, &board, None).unwrap();
    let err = DeviceBackend::new(transport, "devmem", &claimed, &board).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, BackendError::Driver(DriverError::WrongDesign { .. })),
        "{msg}"
    );
    assert!(msg.contains("gemm-mac-dsp-8x8"), "{msg}");
    assert!(
        msg.contains(&format!("{:#010x}", built.id()))
            && msg.contains(&format!("{:#010x}", claimed.id())),
        "{msg}"
    );
}

#[test]
fn buffers_stay_inside_the_dma_region() {
    let design = Design::by_name("gemm-pot-3x5").unwrap();
    let board = Board::by_name("pynq-z1").unwrap();
    let mut t = devmem_on_sim(&design, &board, None).unwrap();
    let buf = t.alloc(100).unwrap();
    assert_eq!(buf.phys % 4096, 0);
    assert!(matches!(
        t.sync_to_device(&buf, 90, &[0; 11]),
        Err(TransportError::OutOfBuffer { .. })
    ));
    let foreign = kiln_driver::DeviceBuffer {
        phys: buf.phys - 4096,
        len: 16,
    };
    let err = t.sync_to_device(&foreign, 0, &[1; 16]).unwrap_err();
    assert!(err.to_string().contains("not allocated here"), "{err}");
    let err = t.alloc(SIM_UDMABUF_BYTES).unwrap_err();
    assert!(matches!(err, TransportError::OutOfMemory { .. }), "{err}");
    assert!(matches!(
        t.read32(kiln_driver::regs::WINDOW_BYTES),
        Err(TransportError::OutOfWindow { .. })
    ));
    assert!(matches!(
        t.write32(0x11, 0),
        Err(TransportError::Unaligned { .. })
    ));
}
