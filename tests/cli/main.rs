//! The command line, end to end: one test binary, one command helper ([`util::rlrec`]) and
//! one place for the shared fixtures.

// libtest starts tests in the order of their names: `docs` comes first, so that the
// longest test (the guide's, with the main job's whole SlateQ run) starts at once and the
// other thread takes the rest meanwhile.
mod docs;
mod import;
mod logs;
mod parity;
mod refusals;
mod regression;
mod resume;
mod run_folders;
mod search;
mod serving;
#[cfg(feature = "slateq")]
mod slateq;
mod subcommands;
mod training;
mod tune;
mod util;
