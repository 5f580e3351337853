//! Opening the devmem transport on a board, run on a stand-in tree of plain
//! files laid out as a PYNQ-Z1's /dev, /sys and /proc: a sparse file for
//! /dev/mem (registers land at their physical address), a file for the
//! u-dma-buf device and its sysfs attributes. Every path through
//! `DevmemConfig::open` runs for real on real mappings; only the kernel
//! behind the files is absent. The errors a user meets on a misconfigured
//! board are checked word for word where it matters.

use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use kiln_driver::regs;
use kiln_driver::transport::{DevmemConfig, RegisterSource, Transport, TransportError};

const REGS_PHYS: u64 = 0x43C0_0000;
const DMA_PHYS: u64 = 0x1F00_0000;
const DMA_BYTES: u64 = 1 << 20;

/// A stand-in root directory, removed when dropped.
struct Tree(PathBuf);

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

impl Tree {
    fn new(name: &str) -> Self {
        let root = std::env::temp_dir().join(format!("kiln-board-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(&root).unwrap();
        Tree(root)
    }

    fn file(&self, path: &str, bytes: &[u8]) -> PathBuf {
        let p = self.0.join(path);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, bytes).unwrap();
        p
    }

    /// A PYNQ-Z1 with /dev/mem and a 1 MiB u-dma-buf.
    fn pynq(name: &str) -> Self {
        let t = Tree::new(name);
        t.file(
            "proc/device-tree/compatible",
            b"digilent,pynq-z1\0xlnx,zynq-7000\0",
        );
        let mem = t.file("dev/mem", b"");
        fs::File::options()
            .write(true)
            .open(mem)
            .unwrap()
            .set_len(REGS_PHYS + 0x1000)
            .unwrap();
        let buf = t.file("dev/udmabuf0", b"");
        fs::File::options()
            .write(true)
            .open(buf)
            .unwrap()
            .set_len(DMA_BYTES)
            .unwrap();
        let sys = "sys/class/u-dma-buf/udmabuf0";
        t.file(
            &format!("{sys}/phys_addr"),
            format!("{DMA_PHYS:#x}\n").as_bytes(),
        );
        t.file(&format!("{sys}/size"), format!("{DMA_BYTES}\n").as_bytes());
        t
    }

    fn config(&self) -> DevmemConfig {
        DevmemConfig {
            registers: RegisterSource::DevMem { phys: REGS_PHYS },
            udmabuf: "udmabuf0".into(),
            compatible: "xlnx,zynq-7000".into(),
            board: "pynq-z1".into(),
            ddr: (0, 0x2000_0000),
            root: self.0.clone(),
        }
    }

    fn read(&self, path: &str, offset: u64, len: usize) -> Vec<u8> {
        let mut f = fs::File::open(self.0.join(path)).unwrap();
        f.seek(SeekFrom::Start(offset)).unwrap();
        let mut out = vec![0; len];
        f.read_exact(&mut out).unwrap();
        out
    }

    fn text(&self, path: &str) -> String {
        fs::read_to_string(self.0.join(path)).unwrap()
    }
}

#[test]
fn registers_land_at_their_physical_address_in_dev_mem() {
    let tree = Tree::pynq("regs");
    let mut t = tree.config().open().unwrap();
    t.write32(regs::M.offset, 0x1234_5678).unwrap();
    assert_eq!(t.read32(regs::M.offset).unwrap(), 0x1234_5678);
    assert_eq!(
        tree.read("dev/mem", REGS_PHYS + u64::from(regs::M.offset), 4),
        0x1234_5678u32.to_ne_bytes()
    );
    assert!(matches!(
        t.read32(regs::WINDOW_BYTES),
        Err(TransportError::OutOfWindow { .. })
    ));
}

#[test]
fn buffers_come_from_the_udmabuf_and_every_copy_is_synced() {
    let tree = Tree::pynq("dma");
    let mut t = tree.config().open().unwrap();
    let a = t.alloc(100).unwrap();
    let b = t.alloc(5000).unwrap();
    assert_eq!((a.phys, b.phys), (DMA_PHYS, DMA_PHYS + 4096));
    t.sync_to_device(&b, 10, b"kiln").unwrap();
    assert_eq!(tree.read("dev/udmabuf0", 4096 + 10, 4), b"kiln");
    let sys = "sys/class/u-dma-buf/udmabuf0";
    // A write-back of exactly the bytes copied, towards the device.
    assert_eq!(tree.text(&format!("{sys}/sync_offset")), "4106");
    assert_eq!(tree.text(&format!("{sys}/sync_size")), "4");
    assert_eq!(tree.text(&format!("{sys}/sync_direction")), "1");
    assert_eq!(tree.text(&format!("{sys}/sync_for_device")), "1");
    // The "device" writes; the CPU invalidates before it reads.
    let mut f = fs::File::options()
        .write(true)
        .open(tree.0.join("dev/udmabuf0"))
        .unwrap();
    f.seek(SeekFrom::Start(20)).unwrap();
    f.write_all(b"done").unwrap();
    let mut out = [0u8; 4];
    t.sync_from_device(&a, 20, &mut out).unwrap();
    assert_eq!(&out, b"done");
    assert_eq!(tree.text(&format!("{sys}/sync_offset")), "20");
    assert_eq!(tree.text(&format!("{sys}/sync_direction")), "2");
    assert_eq!(tree.text(&format!("{sys}/sync_for_cpu")), "1");
    let err = t.alloc(DMA_BYTES).unwrap_err();
    assert!(matches!(err, TransportError::OutOfMemory { .. }), "{err}");
}

#[test]
fn completion_polls_isr_done_in_wall_time() {
    let tree = Tree::pynq("poll");
    let mut t = tree.config().open().unwrap();
    let err = t.wait_interrupt(Duration::from_millis(20)).unwrap_err();
    assert!(matches!(err, TransportError::Timeout { .. }), "{err}");
    // The accelerator raises ISR.DONE: the next wait returns at once.
    let mut f = fs::File::options()
        .write(true)
        .open(tree.0.join("dev/mem"))
        .unwrap();
    f.seek(SeekFrom::Start(REGS_PHYS + u64::from(regs::ISR.offset)))
        .unwrap();
    f.write_all(&1u32.to_ne_bytes()).unwrap();
    t.wait_interrupt(Duration::from_millis(20)).unwrap();
}

#[test]
fn uio_registers_must_be_at_the_board_files_address() {
    let tree = Tree::pynq("uio");
    tree.file("sys/class/uio/uio0/maps/map0/addr", b"0x43c00000\n");
    tree.file("sys/class/uio/uio0/maps/map0/size", b"0x00010000\n");
    let dev = tree.file("dev/uio0", b"");
    fs::File::options()
        .write(true)
        .open(dev)
        .unwrap()
        .set_len(0x1000)
        .unwrap();
    let mut config = tree.config();
    config.registers = RegisterSource::Uio {
        device: "uio0".into(),
        phys: REGS_PHYS,
    };
    let mut t = config.open().unwrap();
    t.write32(regs::N.offset, 7).unwrap();
    assert_eq!(
        tree.read("dev/uio0", u64::from(regs::N.offset), 4),
        7u32.to_ne_bytes()
    );
    config.registers = RegisterSource::Uio {
        device: "uio0".into(),
        phys: 0xA000_0000,
    };
    let err = config.open().unwrap_err().to_string();
    assert!(
        err.contains("0x43c00000") && err.contains("0xa0000000") && err.contains("pynq-z1"),
        "{err}"
    );
}

fn open_error(config: &DevmemConfig) -> String {
    config.open().unwrap_err().to_string()
}

#[test]
fn a_machine_of_another_family_is_refused_before_any_mapping() {
    let tree = Tree::pynq("family");
    let mut config = tree.config();
    config.compatible = "xlnx,zynqmp".into();
    config.board = "kv260".into();
    let err = open_error(&config);
    assert!(
        err.contains("wrong board")
            && err.contains("kv260")
            && err.contains("xlnx,zynqmp")
            && err.contains("xlnx,zynq-7000"),
        "{err}"
    );
    fs::remove_file(tree.0.join("proc/device-tree/compatible")).unwrap();
    let err = open_error(&tree.config());
    assert!(
        err.contains("no device tree") && err.contains("runs on the board"),
        "{err}"
    );
}

#[test]
fn a_missing_udmabuf_says_how_to_load_it() {
    let tree = Tree::pynq("noudmabuf");
    fs::remove_dir_all(tree.0.join("sys/class/u-dma-buf")).unwrap();
    let err = tree.config().open().unwrap_err();
    assert!(matches!(err, TransportError::NoDmaBuffer(_)), "{err}");
    assert!(err.to_string().contains("insmod u-dma-buf.ko"), "{err}");
}

#[test]
fn a_udmabuf_outside_the_boards_ddr_is_a_wrong_board() {
    let tree = Tree::pynq("ddr");
    tree.file("sys/class/u-dma-buf/udmabuf0/phys_addr", b"0x7ff00000\n");
    let err = tree.config().open().unwrap_err();
    assert!(matches!(err, TransportError::WrongBoard(_)), "{err}");
    assert!(err.to_string().contains("0x7ff00000"), "{err}");
}

#[test]
fn a_missing_dev_mem_names_the_file_and_the_remedy() {
    let tree = Tree::pynq("nomem");
    fs::remove_file(tree.0.join("dev/mem")).unwrap();
    let err = tree.config().open().unwrap_err().to_string();
    assert!(
        err.contains(&format!("{}", Path::new(&tree.0).join("dev/mem").display()))
            && err.contains("does not exist")
            && err.contains("sudo"),
        "{err}"
    );
}
