//! Ctrl-C and SIGTERM for the commands that stop cleanly (`train`, `log`, `tune`): the
//! first signal asks the work to stop at its next safe point, a second ends the process
//! at once (exit 130, as a shell reports an interrupted command).

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    if REQUESTED.swap(true, Ordering::SeqCst) {
        // SAFETY: _exit is async-signal-safe.
        unsafe { libc::_exit(130) }
    }
}

/// SIGINT and SIGTERM are caught while this lives; the defaults come back on drop.
pub struct Catching(());

/// Catches SIGINT and SIGTERM from now on.
pub fn catch() -> Catching {
    REQUESTED.store(false, Ordering::SeqCst);
    set(on_signal as *const () as libc::sighandler_t);
    Catching(())
}

impl Drop for Catching {
    fn drop(&mut self) {
        set(libc::SIG_DFL);
    }
}

fn set(handler: libc::sighandler_t) {
    // SAFETY: the handler only swaps an atomic and calls _exit, both async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
    }
}

/// Whether a signal asked the work to stop.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// `Break` once a signal asked the work to stop, for a progress callback to return.
pub fn flow() -> ControlFlow<()> {
    if requested() {
        ControlFlow::Break(())
    } else {
        ControlFlow::Continue(())
    }
}
