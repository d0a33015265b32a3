//! A spinner on standard error while a command waits on the network.
//!
//! Only for a person at a terminal: standard output and standard error are
//! both terminals, the output is text and `TERM` is not `dumb`; never in
//! `--output json` or when either end is piped. The frame line is erased
//! when the wait ends (the spinner is dropped), before anything else is
//! printed, so it never mixes with results, errors or prompts: callers only
//! prompt after the awaited call has returned.

use std::future::Future;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const FRAMES: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
const FRAME_INTERVAL: Duration = Duration::from_millis(80);

/// Whether spinners are drawn in this process (set once the command knows
/// its target; see [`enable`]).
static ENABLED: AtomicBool = AtomicBool::new(false);

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
        // Hold the lock while erasing: a frame being drawn finishes first,
        // and every later one sees `false`.
        let mut on = match active.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
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
