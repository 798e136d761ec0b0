//! `cargo xtask bench --serve`: `rlrec serve` on loopback under a bounded load of the
//! benchmark's own (`measure serve-load`: 16 keep-alive connections, a fixed number of
//! requests, paced at 5,000 requests a second in all and then as fast as answers come),
//! beside the in-process time of the same slates (`measure serve-score`), for 20, 100 and
//! 1,000 candidates. The policy is a short SlateQ run's on StrongLTS 20/2 (scoring costs
//! the same after 4 iterations as after 180). Writes `target/bench/serve.json` and, for a
//! full run, `docs/serving-benchmarks.md`.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use anyhow::{bail, Context, Result};

use super::process::Measurer;

const CANDIDATES: [usize; 3] = [20, 100, 1000];
const CONNECTIONS: &str = "16";
const RATE: &str = "5000";

/// The server, stopped (SIGTERM, then waited for) however the benchmark ends.
struct Served(Child);

impl Drop for Served {
    fn drop(&mut self) {
        // SAFETY: a signal to our own child, which has not been waited for yet.
        unsafe { libc::kill(self.0.id() as libc::pid_t, libc::SIGTERM) };
        let _ = self.0.wait();
    }
}

fn rlrec(args: &[&str]) -> Result<()> {
    let status = Command::new(crate::rlrec()?)
        .args(args)
        .stdout(Stdio::null())
        .status()?;
    if !status.success() {
        bail!("rlrec {} failed: {status}", args.join(" "));
    }
    Ok(())
}

pub fn run(root: &Path, quick: bool) -> Result<()> {
    let (seconds, paced, saturating) = if quick {
        (0.2, 1000, 1000)
    } else {
        (2.0, 25_000, 40_000)
    };
    let measurer = Measurer::build()?;
    let dir = root.join("target").join("bench").join("serve");
    crate::clear(&dir)?;
    std::fs::create_dir_all(&dir)?;
    let (run, model) = (dir.join("run"), dir.join("slateq.onnx"));
    let path = |p: &Path| p.to_str().context("a UTF-8 path").map(str::to_string);
    eprintln!("xtask: a SlateQ policy to serve (4 iterations of StrongLTS 20/2)");
    rlrec(&[
        "train",
        "--algo",
        "slateq",
        "--iterations",
        "4",
        "--eval-episodes",
        "5",
        "--out",
        &path(&run)?,
    ])?;
    rlrec(&[
        "export",
        "--checkpoint",
        &path(&run)?,
        "--out",
        &path(&model)?,
    ])?;
    let model = path(&model)?;
    let mut rows = Vec::new();
    for n in CANDIDATES {
        eprintln!("xtask: scoring {n} candidates in-process");
        let (score, _) =
            measurer.value(&["serve-score", &model, &n.to_string(), &seconds.to_string()])?;
        rows.push(serde_json::json!({ "candidates": n, "in_process": score }));
    }
    let mut child = Command::new(crate::rlrec()?)
        .args(["serve", "--model", &model, "--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()?;
    let stdout = child.stdout.take().context("the server's output")?;
    let served = Served(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .with_context(|| format!("no address in the server's first line: {line}"))?
        .to_string();
    for (row, n) in rows.iter_mut().zip(CANDIDATES) {
        for (key, requests, rate) in [("paced", paced, RATE), ("saturated", saturating, "max")] {
            eprintln!("xtask: {n} candidates over {CONNECTIONS} connections, rate {rate}");
            let args = [
                "serve-load",
                &addr,
                &model,
                &n.to_string(),
                CONNECTIONS,
                &requests.to_string(),
                rate,
            ];
            row[key] = measurer.value(&args)?.0;
        }
    }
    drop(served);
    let table = markdown(&rows);
    println!("{table}");
    std::fs::write(
        root.join("target/bench/serve.json"),
        serde_json::to_string_pretty(&rows)?,
    )?;
    if !quick {
        let page = format!(
            "# Serving: `rlrec serve` under load\n\n\
             Written by `cargo xtask bench --serve` on {}, {} logical CPUs: the server and the load \
             generator on the same machine, over loopback. A SlateQ policy of StrongLTS 20/2 \
             (hidden layers 32 and 32), exported and served; each request holds the user's \
             features and the candidates' (more candidates than it was trained with score as \
             well). \"In-process\" is the time to compute one slate in Rust without HTTP. \
             \"Paced\": {paced} requests at {RATE} a second in all over {CONNECTIONS} keep-alive \
             connections, the latency counted from the scheduled send where the server held \
             a connection up. \"Saturated\": {saturating} requests, each connection sending \
             its next as soon as its answer comes. How to serve: [serving.md](serving.md).\n\n{table}",
            super::report::utc_now(),
            std::thread::available_parallelism().map_or(1, |n| n.get()),
        );
        std::fs::write(root.join("docs").join("serving-benchmarks.md"), page)?;
    }
    Ok(())
}

fn markdown(rows: &[serde_json::Value]) -> String {
    let mut out = String::from(
        "| candidates | in-process (µs per slate) | paced: requests/s | p50 (µs) | p99 (µs) | p99.9 (µs) | saturated: requests/s | p50 (µs) | p99 (µs) |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let f = |v: &serde_json::Value| v.as_f64().unwrap_or(f64::NAN);
    for r in rows {
        let (p, s) = (&r["paced"], &r["saturated"]);
        let _ = writeln!(
            out,
            "| {} | {:.1} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} |",
            r["candidates"],
            f(&r["in_process"]["ns_per_slate"]) / 1e3,
            f(&p["throughput"]),
            f(&p["p50_us"]),
            f(&p["p99_us"]),
            f(&p["p999_us"]),
            f(&s["throughput"]),
            f(&s["p50_us"]),
            f(&s["p99_us"]),
        );
    }
    out
}
