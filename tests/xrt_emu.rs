//! The XRT transport end to end against kiln's XRT emulation library
//! (driver/xrt-emu: XRT's C API with the Verilated accelerator behind it):
//! bindgen's bindings, the link against libxrt_coreutil, the xclbin, the
//! buffer objects and the runs are all real; only the board is simulated.
//! GEMMs and a BFP MatMul must match the golden model bit for bit (and the
//! plain simulation transport cycle for cycle); a wrong design, a hung
//! accelerator and bad files must be refused clearly.
//!
//! Build and run (docs/xrt.md):
//! `make xrt-emu && XILINX_XRT=$PWD/target/xrt-emu cargo test --release --locked -p kiln --features xrt --test xrt_emu`

#[path = "common/device.rs"]
mod device;

use std::path::{Path, PathBuf};
use std::time::Duration;

use kiln::backend::{expected_design, BackendError, DeviceBackend};
use kiln::engines::gemm::{GemmDescriptor, OutputMode};
use kiln_driver::transport::{Transport, TransportError, XrtTransport};
use kiln_driver::xclbin::{Xclbin, XclbinError};
use kiln_driver::{Accelerator, DeviceBuffer, DriverError, Operand};
use kiln_spec::{Board, Design};

/// The board the emulation library models by default (KILN_XRT_EMU_BOARD).
const BOARD: &str = "kv260";

/// A fresh directory for one test's files.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kiln-xrt-emu-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes the emulation xclbin of `design` into `dir`.
fn xclbin(dir: &Path, design: &str) -> PathBuf {
    let path = dir.join(format!("{design}.xclbin"));
    Xclbin::emulation(design).unwrap().write(&path).unwrap();
    path
}

/// The XRT transport on `design`'s emulation xclbin, behind the runtime's
/// device backend: the same code path as `kiln` on a KV260.
fn xrt_backend(test: &str, design: &Design) -> DeviceBackend<XrtTransport> {
    let path = xclbin(&scratch(test), &design.name);
    let transport = XrtTransport::open(0, &path).unwrap();
    let board = Board::by_name(BOARD).unwrap();
    DeviceBackend::new(transport, "xrt", design, &board).unwrap()
}

fn check_gemms(design: &str, shapes: &[(usize, usize, usize)], seed: u64) {
    let design = Design::by_name(design).unwrap();
    let board = Board::by_name(BOARD).unwrap();
    let mut xrt = xrt_backend(&format!("gemm-{seed}"), &design);
    device::check_gemms(&mut xrt, &design, &board, shapes, seed);
}

#[test]
fn gemms_match_golden_bit_for_bit_over_xrt() {
    // Both output modes, square and ragged M, N and K (not multiples of
    // the 8x8 array nor of the tiles), a single element, K past one tile.
    check_gemms(
        "gemm-pot-8x8",
        &[
            (8, 8, 8),
            (1, 1, 1),
            (37, 41, 300),
            (9, 70, 31),
            (64, 48, 200),
            (13, 5, 17),
        ],
        21,
    );
}

#[test]
fn a_bfp_matmul_matches_golden_bit_for_bit_over_xrt() {
    let design = Design::by_name("bfp-mxint8").unwrap();
    let mut xrt = xrt_backend("bfp", &design);
    device::check_matmuls(
        &mut xrt,
        &design,
        &[(1, 64, 512), (5, 13, 100), (3, 9, 33)],
        22,
    );
}

/// A valid `m` x 16 x 32 int8 GEMM descriptor whose operands sit `offset`
/// bytes into their buffers (the driver passes such pointers to XRT as
/// sub-buffers).
fn descriptor(accel: &mut Accelerator<XrtTransport>, m: u32, offset: u64) -> GemmDescriptor {
    let mut op = |bytes: u64, stride: u64| Operand {
        buffer: accel.alloc(offset + bytes).unwrap(),
        offset,
        stride,
    };
    GemmDescriptor {
        m,
        n: 16,
        k: 32,
        a: op(u64::from(m) * 32, 32),
        b: op(16 * 16, 16),
        c: op(u64::from(m) * 16, 16),
        params: op(16 * 16, 0),
        act_zero_point: 0,
        output: OutputMode::Int8 { zero_point: 0 },
    }
}

fn open_accel(test: &str, design: &str) -> Accelerator<XrtTransport> {
    let path = xclbin(&scratch(test), design);
    let transport = XrtTransport::open(0, &path).unwrap();
    let expected = expected_design(&Design::by_name(design).unwrap()).unwrap();
    Accelerator::open(transport, &expected).unwrap()
}

#[test]
fn pointers_inside_buffers_and_reused_runs_work() {
    let mut accel = open_accel("offsets", "gemm-pot-8x8");
    let timeout = Duration::from_millis(10);
    // Operands at the start of their buffers, then 4 KiB and 8 bytes in:
    // the run handle is reused and the pointers become sub-buffers.
    for offset in [0, 4096, 8] {
        let desc = descriptor(&mut accel, 8, offset);
        let counters = accel.run(&desc, timeout).unwrap();
        assert_eq!(counters.macs, 8 * 16 * 32, "offset {offset}");
    }
    // A pointer outside every buffer of this transport is refused before
    // the run starts.
    let mut desc = descriptor(&mut accel, 8, 0);
    desc.c.buffer = DeviceBuffer {
        phys: 0x10,
        len: desc.c.buffer.len,
    };
    let err = accel.run(&desc, timeout).unwrap_err();
    assert!(
        matches!(
            err,
            DriverError::Transport(TransportError::UnknownBuffer { .. })
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("argument `c` at 0x10"), "{err}");
    // The transport still works afterwards.
    let desc = descriptor(&mut accel, 3, 0);
    assert_eq!(accel.run(&desc, timeout).unwrap().macs, 3 * 16 * 32);
}

#[test]
fn buffers_are_range_checked_and_synced_explicitly() {
    let mut accel = open_accel("buffers", "gemm-pot-8x8");
    let t = &mut accel;
    let buf = t.alloc(100).unwrap();
    assert_eq!(buf.phys % 4096, 0, "{:#x}", buf.phys);
    let data: Vec<u8> = (0..100).collect();
    t.write(&buf, 0, &data).unwrap();
    let mut back = vec![0u8; 100];
    t.read(&buf, 0, &mut back).unwrap();
    assert_eq!(back, data);
    let mut tail = [0u8; 10];
    t.read(&buf, 90, &mut tail).unwrap();
    assert_eq!(tail[..], data[90..]);
    let mut transport = accel.into_transport();
    assert!(matches!(
        transport.sync_to_device(&buf, 90, &[0; 11]),
        Err(TransportError::OutOfBuffer { .. })
    ));
    assert!(matches!(
        transport.sync_from_device(&buf, u64::MAX, &mut [0; 2]),
        Err(TransportError::OutOfBuffer { .. })
    ));
    let foreign = DeviceBuffer {
        phys: buf.phys + 4096,
        len: 16,
    };
    let err = transport.sync_to_device(&foreign, 0, &[1; 16]).unwrap_err();
    assert!(matches!(err, TransportError::UnknownBuffer { .. }), "{err}");
    assert!(matches!(
        transport.read32(kiln_driver::regs::WINDOW_BYTES),
        Err(TransportError::OutOfWindow { .. })
    ));
    assert!(matches!(
        transport.write32(0x11, 0),
        Err(TransportError::Unaligned { .. })
    ));
    // More than the board's DDR: XRT's refusal, as a typed error.
    let err = transport.alloc(1 << 40).unwrap_err();
    let TransportError::Xrt { call, errno, .. } = &err else {
        panic!("expected an XRT error, got {err:?}");
    };
    assert_eq!((*call, *errno), ("xrtBOAlloc", 12), "ENOMEM: {err}");
    let err = transport
        .wait_interrupt(Duration::from_millis(1))
        .unwrap_err();
    assert!(err.to_string().contains("no run is in flight"), "{err}");
}

#[test]
fn an_xclbin_of_another_design_is_refused_naming_both() {
    let built = Design::by_name("gemm-pot-8x8").unwrap();
    let claimed = Design::by_name("gemm-mac-dsp-8x8").unwrap();
    let board = Board::by_name(BOARD).unwrap();
    let path = xclbin(&scratch("wrong"), &built.name);
    let transport = XrtTransport::open(0, &path).unwrap();
    let err = DeviceBackend::new(transport, "xrt", &claimed, &board).unwrap_err();
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
fn a_held_busy_design_times_out_and_the_transport_drops_cleanly() {
    let design = "gemm-pot-2x2-hold";
    let path = xclbin(&scratch("hold"), design);
    let transport = XrtTransport::open(0, &path)
        .unwrap()
        .with_timeout_floor(Duration::from_millis(1));
    let expected = expected_design(&Design::by_name(design).unwrap()).unwrap();
    let mut accel = Accelerator::open(transport, &expected).unwrap();
    let mut op = |bytes: u64, stride: u64| Operand {
        buffer: accel.alloc(bytes).unwrap(),
        offset: 0,
        stride,
    };
    let desc = GemmDescriptor {
        m: 2,
        n: 2,
        k: 16,
        a: op(64, 16),
        b: op(64, 8),
        c: op(64, 8),
        params: op(64, 0),
        act_zero_point: 0,
        output: OutputMode::Int32,
    };
    // 200 us asked, the 1 ms floor given: 200,000 cycles of device time
    // at the KV260's 200 MHz, far more than the run needs.
    let err = accel.run(&desc, Duration::from_micros(200)).unwrap_err();
    let msg = err.to_string();
    let DriverError::Timeout { state, .. } = &err else {
        panic!("expected a timeout, got {err:?}");
    };
    // The engines finished their work; only the test hook holds done low,
    // and CTRL reads as busy because XRT still has the run in flight.
    assert_eq!(state.blocks_drained, 1, "{msg}");
    assert_eq!(state.ctrl, 0, "{msg}");
    assert!(msg.contains("did not finish"), "{msg}");
    // A second start while the run is in flight is refused, not queued.
    let err = accel.run(&desc, Duration::from_micros(200)).unwrap_err();
    assert!(err.to_string().contains("still in flight"), "{err}");
    // Runs, buffers, kernel and device go away in order, with the run
    // still in flight.
    drop(accel);
}

#[test]
fn missing_and_foreign_files_are_typed_errors() {
    let dir = scratch("files");
    let missing = dir.join("nothing-here.xclbin");
    let err = XrtTransport::open(0, &missing).unwrap_err();
    assert!(
        matches!(err, TransportError::Xclbin(XclbinError::Read { .. })),
        "{err:?}"
    );
    assert!(err.to_string().contains("nothing-here.xclbin"), "{err}");

    let text = dir.join("notes.xclbin");
    std::fs::write(&text, "these are notes, not a bitstream\n").unwrap();
    let err = XrtTransport::open(0, &text).unwrap_err();
    assert!(
        matches!(err, TransportError::Xclbin(XclbinError::NotXclbin { .. })),
        "{err:?}"
    );
    assert!(err.to_string().contains("is not an xclbin"), "{err}");

    let truncated = dir.join("cut.xclbin");
    let bytes = Xclbin::emulation("gemm-pot-8x8").unwrap().to_bytes();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let err = XrtTransport::open(0, &truncated).unwrap_err();
    assert!(
        matches!(err, TransportError::Xclbin(XclbinError::Truncated { .. })),
        "{err:?}"
    );

    // A well-formed xclbin for hardware, which the emulation cannot run:
    // XRT's own refusal comes back as a typed error naming the call.
    let hardware = dir.join("hardware.xclbin");
    let mut x = Xclbin::emulation("gemm-pot-8x8").unwrap();
    x.mode = kiln_driver::xclbin::mode::FLAT;
    x.write(&hardware).unwrap();
    let err = XrtTransport::open(0, &hardware).unwrap_err();
    let TransportError::Xrt { call, errno, .. } = &err else {
        panic!("expected an XRT error, got {err:?}");
    };
    assert_eq!(*call, "xrtDeviceLoadXclbinFile");
    assert_eq!(*errno, 22, "EINVAL");
    assert!(err.to_string().contains("xrtDeviceLoadXclbinFile"), "{err}");
}
