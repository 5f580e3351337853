//! How many threads kiln's own parallel work uses (`--jobs`, every core by
//! default), and an order-keeping parallel map over a slice.
//!
//! Why not rayon: the work split here is a handful of contiguous chunks per
//! call (per-channel weight quantisation, data-set samples, RTL
//! simulations of distinct calls), which `std::thread::scope` does in a few
//! lines, with results in input order and no global pool to configure.

use std::sync::atomic::{AtomicUsize, Ordering};

/// 0: not set, every core.
static JOBS: AtomicUsize = AtomicUsize::new(0);

/// Threads to use: what [`set_jobs`] set, or every core.
pub fn jobs() -> usize {
    match JOBS.load(Ordering::Relaxed) {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        j => j,
    }
}

/// Sets the thread count for the rest of the process (the CLI's `--jobs`);
/// 0 goes back to every core.
pub fn set_jobs(jobs: usize) {
    JOBS.store(jobs, Ordering::Relaxed);
}

/// `f` of every item, in order, on up to [`jobs`] threads, each taking a
/// contiguous run of items. Runs inline when one thread would do or the
/// items are fewer than `min_per_thread` per thread.
pub fn map<T: Sync, R: Send>(
    items: &[T],
    min_per_thread: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let threads = jobs().min(items.len() / min_per_thread.max(1)).max(1);
    if threads == 1 {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_keeps_the_order() {
        let items: Vec<u64> = (0..1000).collect();
        let want: Vec<u64> = items.iter().map(|x| x * x).collect();
        for jobs in [1, 2, 3, 7] {
            set_jobs(jobs);
            assert_eq!(map(&items, 1, |x| x * x), want, "{jobs} jobs");
        }
        set_jobs(0);
    }
}
