//! Hidden answers (passwords, codes) read from the terminal.
//!
//! Echo is turned off *before* the prompt is shown, as `getpass(3)` does,
//! so that nothing typed or pasted ahead of the prompt is echoed (a
//! prompt-then-hide order leaves a moment where it is). The terminal's
//! settings are put back when the line is read, on error, and by the
//! Ctrl-C handler ([`restore_echo`]) when the process ends at the prompt.

#[cfg(unix)]
use std::io::{BufRead as _, Write as _};
#[cfg(unix)]
use std::sync::Mutex;

/// The terminal and its settings while echo is off, for [`restore_echo`].
#[cfg(unix)]
static HIDDEN: Mutex<Option<(std::fs::File, rustix::termios::Termios)>> = Mutex::new(None);

#[cfg(unix)]
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Shows `prompt` on the terminal and reads one line without echo (a
/// newline is still echoed at the end, so what follows starts on a new
/// line). The answer has its line ending removed.
#[cfg(unix)]
pub(crate) fn prompt_hidden(prompt: &str) -> std::io::Result<String> {
    use rustix::termios::{LocalModes, OptionalActions, tcgetattr, tcsetattr};
    let tty = std::fs::OpenOptions::new().read(true).write(true).open("/dev/tty")?;
    let original = tcgetattr(&tty)?;
    let mut hidden = original.clone();
    hidden.local_modes.remove(LocalModes::ECHO);
    hidden.local_modes.insert(LocalModes::ECHONL);
    *lock(&HIDDEN) = Some((tty.try_clone()?, original));
    let result = tcsetattr(&tty, OptionalActions::Now, &hidden).map_err(std::io::Error::from).and_then(|()| {
        (&tty).write_all(prompt.as_bytes())?;
        (&tty).flush()?;
        let mut line = String::new();
        std::io::BufReader::new(&tty).read_line(&mut line)?;
        Ok(line)
    });
    restore_echo();
    let mut line = result?;
    while line.ends_with(['\n', '\r']) {
        line.pop();
    }
    Ok(line)
}

#[cfg(not(unix))]
pub(crate) fn prompt_hidden(prompt: &str) -> std::io::Result<String> {
    rpassword::prompt_password(prompt)
}

/// Puts the terminal's settings back if a hidden prompt turned echo off
/// (a no-op otherwise).
pub(crate) fn restore_echo() {
    #[cfg(unix)]
    if let Some((tty, original)) = lock(&HIDDEN).take() {
        let _ = rustix::termios::tcsetattr(&tty, rustix::termios::OptionalActions::Now, &original);
    }
}
