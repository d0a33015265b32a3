//! A spinner on standard error while a command waits on the network.
//!
//! Only for a person at a terminal: standard output and standard error are
//! both terminals, the output is text and `TERM` is not `dumb`; never in
//! `--output json` or when either end is piped. The frame line is erased
//! when the wait ends (the spinner is dropped), before anything else is
//! printed, so it never mixes with results, errors or prompts: callers only
//! prompt after the awaited call has returned.
//!
//! Ctrl-C: where spinners are drawn, [`install_interrupt_handler`] makes an
//! interrupt erase the spinner line and exit with status 130 (as the shell
//! reports a process ended by SIGINT), instead of leaving a frame on the
//! screen. Waits that handle Ctrl-C themselves (the browser waits) hold an
//! [`OwnInterrupt`] meanwhile, and the handler leaves the interrupt to them.
//! The same handler serves commands on an in-process local pool, terminal
//! or not, so that the pool's state is saved before the exit
//! ([`before_interrupt_exit`]).

use std::future::Future;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const FRAMES: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
const FRAME_INTERVAL: Duration = Duration::from_millis(80);

/// Whether spinners are drawn in this process (set once the command knows
/// its target; see [`enable`]).
static ENABLED: AtomicBool = AtomicBool::new(false);

/// The flag of the spinner being drawn, if any (one at a time), for the
/// Ctrl-C handler to erase it.
static CURRENT: Mutex<Option<Arc<Mutex<bool>>>> = Mutex::new(None);

/// How many waits handle Ctrl-C themselves just now.
static OWNED: AtomicUsize = AtomicUsize::new(0);

/// Whether [`install_interrupt_handler`] ran: then it alone listens for
/// SIGINT and passes interrupts on to the waits that own them.
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// Run by the Ctrl-C handler just before it exits (see [`before_interrupt_exit`]).
static BEFORE_EXIT: std::sync::OnceLock<Box<dyn Fn() + Send + Sync>> = std::sync::OnceLock::new();

/// Interrupts passed on to owning waits, and their wake-up.
static PASSED: AtomicUsize = AtomicUsize::new(0);
static PASSED_NOTIFY: tokio::sync::Notify = tokio::sync::Notify::const_new();

/// Ctrl-C for a wait that handles it itself (the browser waits): while
/// this is held, the handler of [`install_interrupt_handler`] passes
/// interrupts here instead of exiting; without that handler this listens
/// for SIGINT itself. Take it before showing what the wait is for.
pub(crate) struct OwnInterrupt {
    /// Interrupts passed on when this was taken.
    seen: usize,
    #[cfg(unix)]
    signal: Option<tokio::signal::unix::Signal>,
}

/// See [`OwnInterrupt`]. Must be called inside the runtime.
pub(crate) fn own_interrupt() -> std::io::Result<OwnInterrupt> {
    OWNED.fetch_add(1, Ordering::SeqCst);
    let seen = PASSED.load(Ordering::SeqCst);
    #[cfg(unix)]
    let signal = if INSTALLED.load(Ordering::SeqCst) {
        None
    } else {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()) {
            Ok(signal) => Some(signal),
            Err(err) => {
                OWNED.fetch_sub(1, Ordering::SeqCst);
                return Err(err);
            }
        }
    };
    Ok(OwnInterrupt {
        seen,
        #[cfg(unix)]
        signal,
    })
}

impl OwnInterrupt {
    /// Resolves at the next Ctrl-C.
    pub(crate) async fn recv(&mut self) {
        #[cfg(unix)]
        if let Some(signal) = &mut self.signal {
            signal.recv().await;
            return;
        }
        #[cfg(not(unix))]
        if !INSTALLED.load(Ordering::SeqCst) {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
        loop {
            let notified = PASSED_NOTIFY.notified();
            tokio::pin!(notified);
            // Registered before the check, so no interrupt is missed.
            notified.as_mut().enable();
            if PASSED.load(Ordering::SeqCst) != self.seen {
                return;
            }
            notified.await;
        }
    }
}

impl Drop for OwnInterrupt {
    fn drop(&mut self) {
        OWNED.fetch_sub(1, Ordering::SeqCst);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// On Ctrl-C (unless a wait owns it, see [`OwnInterrupt`]): erases the
/// spinner (when spinners are drawn), says so on standard error, runs
/// [`before_interrupt_exit`]'s work and exits with status 130. Installed
/// where spinners are drawn or where state must be saved first: once
/// installed, SIGINT no longer ends the process by itself. Must be called
/// inside the runtime, before any [`own_interrupt`].
pub(crate) fn install_interrupt_handler() -> std::io::Result<()> {
    #[cfg(unix)]
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    INSTALLED.store(true, Ordering::SeqCst);
    tokio::spawn(async move {
        loop {
            #[cfg(unix)]
            if interrupt.recv().await.is_none() {
                return;
            }
            #[cfg(not(unix))]
            if tokio::signal::ctrl_c().await.is_err() {
                return;
            }
            if OWNED.load(Ordering::SeqCst) > 0 {
                PASSED.fetch_add(1, Ordering::SeqCst);
                PASSED_NOTIFY.notify_waiters();
                continue;
            }
            // Hold the spinner's lock to the end: no frame after the erasure.
            let current = lock(&CURRENT).take();
            let _frames_stopped = current.as_ref().map(|flag| {
                let mut on = lock(flag);
                *on = false;
                on
            });
            let mut err = std::io::stderr().lock();
            let erase = if ENABLED.load(Ordering::Relaxed) { "\r\x1b[2K" } else { "" };
            let _ = writeln!(err, "{erase}amplify-auth: interrupted");
            let _ = err.flush();
            drop(err);
            // Interrupted at a password prompt: echo back on first.
            crate::tty::restore_echo();
            if let Some(last_words) = BEFORE_EXIT.get() {
                last_words();
            }
            std::process::exit(130);
        }
    });
    Ok(())
}

/// Work for the Ctrl-C handler of [`install_interrupt_handler`] to do
/// before it exits (the process ends there, without unwinding or
/// destructors): saving what must not be lost. Set once; later calls are
/// ignored.
pub(crate) fn before_interrupt_exit(last_words: impl Fn() + Send + Sync + 'static) {
    let _ = BEFORE_EXIT.set(Box::new(last_words));
}

/// Whether this process talks to a person: text output, both ends a
/// terminal, a terminal that can erase a line.
pub(crate) fn terminal_allows(json: bool) -> bool {
    !json
        && std::io::stdout().is_terminal()
        && std::io::stderr().is_terminal()
        && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
}

/// Turns spinners on or off for the rest of the process.
pub(crate) fn enable(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// A spinner drawn until dropped.
pub(crate) struct Spinner {
    /// `true` while frames may be drawn; taken under the lock by each frame
    /// and by the eraser, so no frame can follow the erasure.
    active: Option<Arc<Mutex<bool>>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

fn draw(frame: &str, message: &str) {
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "\r\x1b[2K{frame} {message}");
    let _ = err.flush();
}

impl Spinner {
    /// Draws the first frame now (when enabled) and the next ones every
    /// 80 ms from a task on the runtime.
    pub(crate) fn start(message: &str) -> Self {
        if !ENABLED.load(Ordering::Relaxed) {
            return Self { active: None, task: None };
        }
        let active = Arc::new(Mutex::new(true));
        *lock(&CURRENT) = Some(active.clone());
        draw(FRAMES[0], message);
        let (flag, message) = (active.clone(), message.to_owned());
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(FRAME_INTERVAL);
            tick.tick().await;
            for frame in FRAMES.iter().cycle().skip(1) {
                tick.tick().await;
                let Ok(on) = flag.lock() else { return };
                if !*on {
                    return;
                }
                draw(frame, &message);
            }
        });
        Self { active: Some(active), task: Some(task) }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        let Some(active) = self.active.take() else { return };
        {
            let mut current = lock(&CURRENT);
            if current.as_ref().is_some_and(|c| Arc::ptr_eq(c, &active)) {
                *current = None;
            }
        }
        // Hold the lock while erasing: a frame being drawn finishes first,
        // and every later one sees `false`.
        let mut on = lock(&active);
        *on = false;
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K");
        let _ = err.flush();
        drop(err);
        drop(on);
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Awaits `future` with a spinner showing `message`; the spinner is erased
/// before this returns.
pub(crate) async fn busy<F: Future>(message: &str, future: F) -> F::Output {
    let _spinner = Spinner::start(message);
    future.await
}
