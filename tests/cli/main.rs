//! The command line, end to end: one test binary, one command helper ([`util::rlrec`]) and
//! one place for the shared fixtures.

mod commands;
mod docs;
mod logs;
mod parity;
mod refusals;
mod regression;
mod resume;
mod run_folders;
#[cfg(feature = "slateq")]
mod slateq;
mod training;
mod tune;
mod util;
