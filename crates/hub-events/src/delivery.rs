//! Asynchronous delivery of events to callback listeners.
//!
//! Every callback listener owns a FIFO [`Mailbox`].
//! [`Hub::dispatch`](crate::Hub::dispatch) only appends the shared capsule to the mailboxes
//! and, for a listener that is not already waiting or running, appends the
//! listener to the run queue of a process-wide [`Pool`] of worker threads.
//! A worker takes one listener at a time and calls it for up to [`BATCH`]
//! queued events, then puts it back at the end of the run queue if more are
//! waiting. A listener is in the run queue or on a worker at most once (its
//! `scheduled` flag), so its events are delivered one at a time, in mailbox
//! order.
//!
//! A slow callback holds one worker. A supervisor thread watches the run
//! queue: when listeners wait while no worker is idle and no worker has taken
//! a listener for [`STALL`], it starts another worker, up to [`MAX_WORKERS`].
//! Workers beyond the core count exit after [`IDLE_EXIT`] without work.

use std::cell::Cell;
use std::collections::VecDeque;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::hub::HubCapsule;

/// Events delivered to one listener before a worker moves on to the next
/// waiting listener (fairness when there are few workers).
pub(crate) const BATCH: usize = 64;
/// How long the run queue may make no progress, with every worker busy,
/// before the supervisor starts another worker.
pub(crate) const STALL: Duration = Duration::from_millis(20);
/// How long a worker beyond the core count stays without work before it exits.
pub(crate) const IDLE_EXIT: Duration = Duration::from_secs(5);
/// The most worker threads the pool starts.
pub(crate) const MAX_WORKERS: usize = 128;

pub(crate) type Callback = Box<dyn Fn(&HubCapsule) + Send + Sync + 'static>;

thread_local! {
    /// Whether this thread is inside a listener callback (flush must not
    /// wait there: it could be waiting for itself).
    static IN_CALLBACK: Cell<bool> = const { Cell::new(false) };
}

/// Whether the current thread is running a hub listener callback.
pub(crate) fn in_callback() -> bool {
    IN_CALLBACK.with(Cell::get)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // No user code runs while this module's locks are held, so a poisoned
    // lock can only come from an allocation failure; the data is consistent.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

enum Item {
    Event(Arc<HubCapsule>),
    Barrier(Arc<Barrier>),
}

struct Mailbox {
    items: VecDeque<Item>,
    /// In the run queue or on a worker. Invariant: `items` non-empty implies
    /// `scheduled`; only the worker holding the listener clears it, and only
    /// when `items` is empty after the last callback returned.
    scheduled: bool,
}

/// A callback listener and its mailbox.
pub(crate) struct Listener {
    active: AtomicBool,
    callback: Callback,
    panics: Arc<AtomicU64>,
    mailbox: Mutex<Mailbox>,
}

impl Listener {
    pub(crate) fn new(callback: Callback, panics: Arc<AtomicU64>) -> Self {
        Self {
            active: AtomicBool::new(true),
            callback,
            panics,
            mailbox: Mutex::new(Mailbox { items: VecDeque::new(), scheduled: false }),
        }
    }

    /// Queues an event; `true` if the caller must schedule the listener.
    pub(crate) fn push(&self, capsule: Arc<HubCapsule>) -> bool {
        let mut mb = lock(&self.mailbox);
        if !self.active.load(Ordering::Acquire) {
            return false;
        }
        mb.items.push_back(Item::Event(capsule));
        !std::mem::replace(&mut mb.scheduled, true)
    }

    /// Adds a barrier behind the queued events, if any; `false` if nothing
    /// is queued or running (the barrier is then already passed).
    fn push_barrier(&self, barrier: &Arc<Barrier>) -> bool {
        let mut mb = lock(&self.mailbox);
        if !mb.scheduled {
            return false;
        }
        barrier.remaining.fetch_add(1, Ordering::AcqRel);
        mb.items.push_back(Item::Barrier(Arc::clone(barrier)));
        true
    }

    /// No event is started for this listener any more; queued events are
    /// dropped (barriers stay, so flushes still complete).
    pub(crate) fn deactivate(&self) {
        let dropped: VecDeque<Item> = {
            let mut mb = lock(&self.mailbox);
            self.active.store(false, Ordering::Release);
            let (keep, drop): (VecDeque<Item>, VecDeque<Item>) =
                std::mem::take(&mut mb.items).into_iter().partition(|i| matches!(i, Item::Barrier(_)));
            mb.items = keep;
            drop
        };
        drop(dropped);
    }

    /// Delivers up to [`BATCH`] queued items; `true` if more are waiting
    /// (the listener stays scheduled and must go back in the run queue).
    fn run(&self) -> bool {
        for _ in 0..BATCH {
            let item = {
                let mut mb = lock(&self.mailbox);
                match mb.items.pop_front() {
                    Some(item) => item,
                    None => {
                        mb.scheduled = false;
                        return false;
                    }
                }
            };
            match item {
                Item::Event(capsule) => {
                    if self.active.load(Ordering::Acquire) {
                        IN_CALLBACK.with(|c| c.set(true));
                        let outcome = catch_unwind(AssertUnwindSafe(|| (self.callback)(&capsule)));
                        IN_CALLBACK.with(|c| c.set(false));
                        if let Err(payload) = outcome {
                            self.panics.fetch_add(1, Ordering::Relaxed);
                            // A payload whose own drop panics must not kill the worker.
                            let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
                        }
                    }
                }
                Item::Barrier(barrier) => barrier.arrive(),
            }
        }
        let mut mb = lock(&self.mailbox);
        if mb.items.is_empty() {
            mb.scheduled = false;
            false
        } else {
            true
        }
    }
}

struct BarrierState {
    done: bool,
    waker: Option<Waker>,
}

/// Completes when every listener it was queued behind has reached it.
pub(crate) struct Barrier {
    /// Outstanding arrivals, plus one held by the flusher until all copies
    /// are queued.
    remaining: AtomicUsize,
    state: Mutex<BarrierState>,
    cv: Condvar,
}

impl Barrier {
    /// Queues a barrier behind everything queued for `listeners`.
    pub(crate) fn queue<'a>(listeners: impl IntoIterator<Item = &'a Arc<Listener>>) -> Arc<Self> {
        let barrier = Arc::new(Self {
            remaining: AtomicUsize::new(1),
            state: Mutex::new(BarrierState { done: false, waker: None }),
            cv: Condvar::new(),
        });
        for l in listeners {
            l.push_barrier(&barrier);
        }
        barrier.arrive();
        barrier
    }

    fn arrive(&self) {
        if self.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
            let waker = {
                let mut s = lock(&self.state);
                s.done = true;
                self.cv.notify_all();
                s.waker.take()
            };
            if let Some(w) = waker {
                w.wake();
            }
        }
    }

    /// Waits until passed, or at most `timeout`; whether it was passed.
    pub(crate) fn wait(&self, timeout: Option<Duration>) -> bool {
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let mut s = lock(&self.state);
        while !s.done {
            match deadline {
                None => s = self.cv.wait(s).unwrap_or_else(PoisonError::into_inner),
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return false;
                    }
                    s = self.cv.wait_timeout(s, left).unwrap_or_else(PoisonError::into_inner).0;
                }
            }
        }
        true
    }
}

/// The future of [`Hub::flush_async`](crate::Hub::flush_async).
pub(crate) struct BarrierFuture(pub(crate) Arc<Barrier>);

impl Future for BarrierFuture {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut s = lock(&self.0.state);
        if s.done {
            return Poll::Ready(());
        }
        match &mut s.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            slot => *slot = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

struct PoolState {
    queue: VecDeque<Arc<Listener>>,
    /// Worker threads alive (or being started).
    workers: usize,
    /// Workers waiting for work.
    idle: usize,
    /// When a worker last took a listener from the queue (or a worker was
    /// started).
    last_progress: Instant,
    supervisor_started: bool,
    supervisor_parked: bool,
}

/// The process-wide worker pool.
pub(crate) struct Pool {
    state: Mutex<PoolState>,
    work: Condvar,
    supervisor: Condvar,
    core: usize,
}

/// The pool, created on first use; its threads start when there is work.
pub(crate) fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| Pool {
        state: Mutex::new(PoolState {
            queue: VecDeque::new(),
            workers: 0,
            idle: 0,
            last_progress: Instant::now(),
            supervisor_started: false,
            supervisor_parked: false,
        }),
        work: Condvar::new(),
        supervisor: Condvar::new(),
        core: std::thread::available_parallelism().map_or(2, usize::from).clamp(2, 8),
    })
}

impl Pool {
    /// Puts listeners whose mailbox just became non-empty in the run queue.
    pub(crate) fn schedule(&'static self, listeners: Vec<Arc<Listener>>) {
        if listeners.is_empty() {
            return;
        }
        let n = listeners.len();
        let (spawn_workers, spawn_supervisor) = {
            let mut s = lock(&self.state);
            if s.queue.is_empty() {
                // Time spent with nothing to do is not a stall.
                s.last_progress = Instant::now();
            }
            s.queue.extend(listeners);
            let wake = n.min(s.idle);
            if wake == 1 {
                self.work.notify_one();
            } else if wake > 1 {
                self.work.notify_all();
            }
            let spawn = n.saturating_sub(s.idle).min(self.core.saturating_sub(s.workers));
            s.workers += spawn;
            let spawn_supervisor = !s.supervisor_started;
            s.supervisor_started = true;
            if s.supervisor_parked {
                s.supervisor_parked = false;
                self.supervisor.notify_one();
            }
            (spawn, spawn_supervisor)
        };
        for _ in 0..spawn_workers {
            self.spawn_worker();
        }
        if spawn_supervisor {
            let started =
                std::thread::Builder::new().name("hub-events-supervisor".into()).spawn(move || self.supervise());
            if started.is_err() {
                // Try again on the next dispatch.
                lock(&self.state).supervisor_started = false;
            }
        }
    }

    /// Starts a worker already counted in `workers`.
    fn spawn_worker(&'static self) {
        let started = std::thread::Builder::new().name("hub-events-worker".into()).spawn(move || self.work_loop());
        if started.is_err() {
            // The supervisor retries while listeners wait.
            lock(&self.state).workers -= 1;
        }
    }

    fn work_loop(&'static self) {
        let mut s = lock(&self.state);
        loop {
            if let Some(listener) = s.queue.pop_front() {
                s.last_progress = Instant::now();
                drop(s);
                if listener.run() {
                    lock(&self.state).queue.push_back(listener);
                } else {
                    // Possibly the last reference: the callback's captures
                    // are dropped here, with no lock held.
                    drop(listener);
                }
                s = lock(&self.state);
                continue;
            }
            s.idle += 1;
            let (guard, timeout) = self.work.wait_timeout(s, IDLE_EXIT).unwrap_or_else(PoisonError::into_inner);
            s = guard;
            s.idle -= 1;
            if timeout.timed_out() && s.queue.is_empty() && s.workers > self.core {
                s.workers -= 1;
                return;
            }
        }
    }

    fn supervise(&'static self) {
        let mut s = lock(&self.state);
        loop {
            if s.queue.is_empty() {
                s.supervisor_parked = true;
                s = self.supervisor.wait(s).unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            let stalled = s.idle == 0 && s.last_progress.elapsed() >= STALL;
            if s.workers == 0 || (stalled && s.workers < MAX_WORKERS) {
                s.workers += 1;
                s.last_progress = Instant::now();
                drop(s);
                self.spawn_worker();
                s = lock(&self.state);
            }
            s = self.supervisor.wait_timeout(s, STALL).unwrap_or_else(PoisonError::into_inner).0;
        }
    }
}
