//! Measured child processes: their output line by line, and their peak memory.
//!
//! Every figure of the benchmark comes from a child process, so that its peak resident
//! set size is its own: the kernel keeps each process's high-water mark of resident
//! memory (`VmHWM`), and `wait4` returns it with the exit status when the parent reaps
//! the child (`ru_maxrss`, in KiB on Linux). Unlike sampling `/proc/<pid>/status`, this
//! cannot miss a short peak or race the child's exit, and unlike
//! `getrusage(RUSAGE_CHILDREN)` it belongs to one child rather than the largest so far.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Instant;

use anyhow::{bail, Context, Result};

/// What a finished child left.
pub struct Finished {
    pub stdout: String,
    /// Peak resident set size, KiB.
    pub peak_rss_kib: u64,
    /// Seconds from the spawn to the exit.
    pub wall_s: f64,
}

/// Runs `command` to the end, handing every stdout line to `on_line` with the seconds
/// since the spawn as it arrives. A non-zero exit is an error that shows the child's
/// standard error.
pub fn run(command: &mut Command, mut on_line: impl FnMut(&str, f64)) -> Result<Finished> {
    let program = format!("{:?}", command.get_program());
    let start = Instant::now();
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {program}"))?;
    // Drained on a thread of its own so that neither pipe can fill up and stall the child.
    let mut stderr_pipe = child.stderr.take().context("child stderr")?;
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr_pipe.read_to_string(&mut text);
        text
    });
    let mut stdout = String::new();
    for line in BufReader::new(child.stdout.take().context("child stdout")?).lines() {
        let line = line.with_context(|| format!("reading the output of {program}"))?;
        on_line(&line, start.elapsed().as_secs_f64());
        stdout.push_str(&line);
        stdout.push('\n');
    }
    let (status, peak_rss_kib) = wait_with_peak_rss(&child)?;
    let wall_s = start.elapsed().as_secs_f64();
    let stderr = stderr.join().unwrap_or_default();
    if !status.success() {
        bail!("{program} failed ({status}):\n{}", stderr.trim_end());
    }
    Ok(Finished {
        stdout,
        peak_rss_kib,
        wall_s,
    })
}

/// Runs a measuring `command` (this workspace's `measure`, or a Python harness), which
/// prints one JSON object: that object and the child's peak RSS (KiB).
pub fn json(command: &mut Command) -> Result<(serde_json::Value, u64)> {
    let finished = run(command, |_, _| ())?;
    let value = serde_json::from_str(finished.stdout.trim()).with_context(|| {
        format!(
            "{:?} printed `{}`",
            command.get_program(),
            finished.stdout.trim()
        )
    })?;
    Ok((value, finished.peak_rss_kib))
}

/// The rounds (steps per second) of a measurement's JSON object.
pub fn rounds(value: &serde_json::Value) -> Result<Vec<f64>> {
    serde_json::from_value(value["rounds"].clone()).context("a measurement printed no rounds")
}

/// Reaps `child` with `wait4`, which also returns its resource usage.
fn wait_with_peak_rss(child: &Child) -> Result<(ExitStatus, u64)> {
    let pid = libc::pid_t::try_from(child.id()).context("process id out of range")?;
    let mut status: libc::c_int = 0;
    // SAFETY: `rusage` is a C struct of integers, for which all zeroes is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: both pointers are to live locals of the right types, and `pid` is a
        // child of this process that nothing else reaps (`Child` is never waited on).
        let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if reaped == pid {
            break;
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            return Err(error).context("waiting for a measured child");
        }
    }
    let peak = u64::try_from(usage.ru_maxrss).unwrap_or(0);
    Ok((ExitStatus::from_raw(status), peak))
}

/// The measuring program, `crates/measure` (its commands are in its `main.rs`). It links
/// no libtorch, so that its peak memory is the simulators' own.
pub(crate) struct Measurer {
    exe: PathBuf,
}

impl Measurer {
    /// Builds the workspace's programs ([`crate::BUILD_ALL`]), this one among them.
    pub(crate) fn build() -> Result<Self> {
        crate::cargo(&crate::BUILD_ALL)?;
        Ok(Self {
            exe: crate::workspace_root()?.join("target/release/measure"),
        })
    }

    /// Runs a measurement: its JSON result and its peak RSS.
    pub(crate) fn value<S: AsRef<str>>(&self, args: &[S]) -> Result<(serde_json::Value, u64)> {
        let args: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
        json(Command::new(&self.exe).args(&args)).with_context(|| format!("measure {args:?}"))
    }

    /// Runs a measurement: the steps per second of every round and the peak RSS.
    pub(crate) fn rounds<S: AsRef<str>>(&self, args: &[S]) -> Result<(Vec<f64>, u64)> {
        let (value, peak) = self.value(args)?;
        Ok((rounds(&value)?, peak))
    }

    /// SARDINE's presets, `(id, name)`, in their order.
    pub(crate) fn sardine_presets(&self) -> Result<Vec<(String, String)>> {
        /// A preset as the program prints it.
        #[derive(serde::Deserialize)]
        struct Preset {
            id: String,
            name: String,
        }
        let (value, _) = self.value(&["sardine-presets"])?;
        Ok(serde_json::from_value::<Vec<Preset>>(value)?
            .into_iter()
            .map(|p| (p.id, p.name))
            .collect())
    }
}
