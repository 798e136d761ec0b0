//! Writing to stdout and stderr without panicking: a failed write to stdout (a full disk,
//! `/dev/full`) is an error like any other, and a closed pipe ends the program quietly
//! (SIGPIPE, set in `main`).

use std::fmt;
use std::io::{self, Write};

use anyhow::{Context, Result};

/// Writes one line to stdout.
pub fn line(args: fmt::Arguments) -> Result<()> {
    let mut out = io::stdout().lock();
    out.write_fmt(args)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush())
        .context("writing to stdout")
}

/// Writes one line to stderr, for progress notes: a failure to write them is ignored,
/// as there is nowhere left to report it.
pub fn write_note(args: fmt::Arguments) {
    let mut err = io::stderr().lock();
    let _ = err.write_fmt(args).and_then(|()| err.write_all(b"\n"));
}

/// `println!` that returns the write's error instead of panicking.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::output::line(format_args!($($arg)*))?
    };
}

/// `eprintln!` that never panics.
macro_rules! note {
    ($($arg:tt)*) => {
        $crate::output::write_note(format_args!($($arg)*))
    };
}

pub(crate) use {note, outln};
