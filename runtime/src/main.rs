//! The `kiln` command line. Errors exit with status 2; a check that ran and
//! found mismatches exits with status 1.

mod cli;

use clap::Parser;

fn main() {
    keep_large_blocks();
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(cli::Outcome::Passed) => {}
        Ok(cli::Outcome::Failed) => std::process::exit(1),
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::exit(2);
        }
    }
}

/// A model run allocates and frees large buffers (a layer's activations, a
/// call's accumulators) thousands of times per inference. By default glibc
/// serves them with mmap and gives each back with munmap, or trims the heap
/// after it; with several `--jobs` workers every munmap makes the other
/// cores flush their TLBs. MobileNetV2 on the BFP golden model then scaled
/// 1.2x on 2 jobs instead of 1.8x, and peak memory is the same either way
/// (`make bench-memory`). So blocks up to the largest threshold glibc
/// allows (32 MiB on 64-bit targets) stay in the heap, and up to 64 MiB of
/// free memory at its top is kept for the next call.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_large_blocks() {
    let largest = 4 * 1024 * 1024 * std::mem::size_of::<libc::c_long>();
    // SAFETY: mallopt only sets the allocator's tuning parameters; it is
    // called before any other thread exists. A refused value leaves the
    // default in place, which is correct, only slower.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, largest as libc::c_int);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 64 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_large_blocks() {}
