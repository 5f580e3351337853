//! Exact accelerator cycles for every call of a model run.
//!
//! An engine's cycles depend on the call's shape, its layout, the design and
//! the board, never on the data (the engines have no data-dependent skips or
//! early exits; docs/models.md). So each distinct call signature is
//! simulated once on the RTL, on seeded random operands of that shape (the
//! engine's [`crate::engines::Engine::synthetic`] job), and every call with
//! that signature gets those cycles. No fitted model: the golden backend's
//! cycles per inference equal the sim backend's, where every call is
//! simulated (tests/model_cycles.rs), and every replay of a real call must
//! take exactly its signature's cycles (`run` checks it).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Mutex};
use std::thread;

use kiln_spec::{Board, Design};

use crate::backend::{Backend, BackendError, SimBackend};
use crate::engines::{self, Engine, Job, Signature};
use crate::rng::SplitMix64;

/// Cycles of each call signature on one board, each simulated once.
#[derive(Debug, Clone, Default)]
pub struct CycleTable {
    cycles: HashMap<Signature, u64>,
}

impl CycleTable {
    /// Takes the signatures `other` holds and this table does not.
    pub fn absorb(&mut self, other: CycleTable) {
        for (signature, cycles) in other.cycles {
            self.cycles.entry(signature).or_insert(cycles);
        }
    }

    /// Simulates every signature of `signatures` not yet in the table on
    /// `design`'s RTL on `board`, on up to `jobs` threads, each with a
    /// simulator of its own; `tick` is called on the calling thread as
    /// each signature's cycles come in. The table is the one a serial run
    /// fills: the synthetic jobs are made in signature order from one
    /// generator seeded with `seed` (the same operands as serially), and a
    /// call's cycles depend on nothing a simulator carries from one call to
    /// the next (buffers are whole pages, and the memory's token buckets
    /// are full again by the time a run starts). With `jobs` <= 1 nothing
    /// is spawned. The first error stops the other threads and is returned.
    pub fn simulate(
        &mut self,
        design: &Design,
        board: &Board,
        signatures: &[Signature],
        seed: u64,
        jobs: usize,
        tick: &mut dyn FnMut(),
    ) -> Result<(), BackendError> {
        let todo: Vec<&Signature> = signatures
            .iter()
            .filter(|s| !self.cycles.contains_key(*s))
            .collect();
        if todo.is_empty() {
            return Ok(());
        }
        let engine = engines::of(design)?;
        let source = Synthetic {
            next: Mutex::new((0, SplitMix64::new(seed))),
            todo: &todo,
            engine,
            design,
            stop: AtomicBool::new(false),
        };
        let workers = jobs.clamp(1, todo.len());
        if workers == 1 {
            return source.work(board, &mut |i, cycles| {
                self.cycles.insert(todo[i].clone(), cycles);
                tick();
                Ok(())
            });
        }
        let (tx, rx) = mpsc::channel::<Result<(usize, u64), BackendError>>();
        thread::scope(|scope| {
            for _ in 0..workers {
                let tx = tx.clone();
                let source = &source;
                scope.spawn(move || {
                    let result = source.work(board, &mut |i, cycles| {
                        // The receiver is gone only once it has stopped.
                        let _ = tx.send(Ok((i, cycles)));
                        Ok(())
                    });
                    if let Err(e) = result {
                        source.stop.store(true, Ordering::Relaxed);
                        let _ = tx.send(Err(e));
                    }
                });
            }
            // The workers hold the only senders left: the loop ends when
            // all have finished.
            drop(tx);
            let mut first_error = None;
            for message in rx {
                match message {
                    Ok((i, cycles)) => {
                        self.cycles.insert(todo[i].clone(), cycles);
                        tick();
                    }
                    Err(e) => {
                        first_error.get_or_insert(e);
                    }
                }
            }
            first_error.map_or(Ok(()), Err)
        })
    }

    pub fn get(&self, signature: &Signature) -> Option<u64> {
        self.cycles.get(signature).copied()
    }

    pub fn len(&self) -> usize {
        self.cycles.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cycles.is_empty()
    }
}

/// A signature's index in the list and its synthetic job.
type Taken = (usize, Box<dyn Job>);

/// The signatures left to simulate, handed out in order: each worker takes
/// the next one and makes its synthetic job under the lock, so the jobs
/// come from the one generator in signature order whatever the threads do,
/// and only as many jobs exist at once as there are workers.
struct Synthetic<'a> {
    /// (next signature's index, the generator at that point)
    next: Mutex<(usize, SplitMix64)>,
    todo: &'a [&'a Signature],
    engine: &'static dyn Engine,
    design: &'a Design,
    /// Set by a worker that failed, so the others stop early.
    stop: AtomicBool,
}

impl Synthetic<'_> {
    /// The next signature's index and job, or None when none is left.
    fn take(&self) -> Result<Option<Taken>, BackendError> {
        if self.stop.load(Ordering::Relaxed) {
            return Ok(None);
        }
        // A worker that panicked while holding the lock leaves a generator
        // in an unknown state: stop rather than go on with it.
        let Ok(mut next) = self.next.lock() else {
            return Ok(None);
        };
        let (i, rng) = &mut *next;
        let Some(signature) = self.todo.get(*i) else {
            return Ok(None);
        };
        let job = self.engine.synthetic(self.design, signature, rng)?;
        let taken = *i;
        *i += 1;
        Ok(Some((taken, job)))
    }

    /// Opens a simulator and runs signatures until none is left, passing
    /// each one's index and cycles to `done`.
    fn work(
        &self,
        board: &Board,
        done: &mut dyn FnMut(usize, u64) -> Result<(), BackendError>,
    ) -> Result<(), BackendError> {
        let mut sim = SimBackend::open(self.design, board, None)?;
        while let Some((i, job)) = self.take()? {
            // The simulator always counts; a backend without counters
            // cannot time a call.
            let cycles = sim.run(job.as_ref())?.counters.map(|c| c.cycles).ok_or(
                BackendError::NotCompiled {
                    backend: "sim",
                    how: "the simulator returned no counters",
                },
            )?;
            done(i, cycles)?;
        }
        sim.close()
    }
}
