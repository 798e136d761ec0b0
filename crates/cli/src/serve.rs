//! `rlrec serve`: an exported policy, or a checkpoint's, answering slate requests over
//! HTTP until Ctrl-C or SIGTERM, after which the requests under way are answered.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{bail, Result};
use trainer::Checkpoint;

use crate::args::{any_path, count_usize};
use crate::interrupt;
use crate::output::outln;

/// Options of `rlrec serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// A model `rlrec export` wrote.
    #[arg(long, value_name = "FILE", value_parser = any_path, conflicts_with = "checkpoint")]
    pub model: Option<PathBuf>,
    /// A checkpoint folder, or a run folder (its latest checkpoint), served as its export.
    #[arg(long, value_name = "DIR", value_parser = any_path)]
    pub checkpoint: Option<PathBuf>,
    /// The address to listen on; port 0 picks a free one (the address is printed).
    #[arg(long, default_value = "127.0.0.1:8000")]
    pub addr: SocketAddr,
    /// The largest request body, in bytes.
    #[arg(long, default_value = "1048576", value_parser = count_usize(1, 1 << 30, "at most 1 GiB"))]
    pub max_body: usize,
    /// The most candidates a request (or a batch, in all) may hold.
    #[arg(long, default_value = "10000", value_parser = count_usize(1, 10_000_000, "at most 10^7"))]
    pub max_candidates: usize,
    /// The most connections served at once (a thread each); more are answered 503.
    #[arg(long, default_value = "256", value_parser = count_usize(1, 4096, "at most 4096"))]
    pub max_connections: usize,
    /// Print JSON lines: `{"listening": ADDRESS, ...}` once serving, `{"stopped": true}`.
    #[arg(long)]
    pub json: bool,
}

pub fn serve(args: &ServeArgs) -> Result<()> {
    let policy = match (&args.model, &args.checkpoint) {
        (Some(model), None) => export::load(model)?,
        (None, Some(path)) => {
            let ckpt = Checkpoint::read(path)?;
            ckpt.agent(&ckpt.config.env.resolve()?)?.portable()?
        }
        _ => bail!("give --model FILE (from rlrec export) or --checkpoint DIR"),
    };
    let mut config = serve::Config {
        max_candidates: args.max_candidates,
        max_connections: args.max_connections,
        ..serve::Config::default()
    };
    config.limits.max_body = args.max_body;
    let algorithm = policy.algorithm.clone();
    let server = serve::Server::bind(args.addr, policy, config)?;
    let _catching = interrupt::catch();
    let addr = server.local_addr()?;
    if args.json {
        outln!(
            "{}",
            serde_json::json!({"listening": format!("http://{addr}"), "algorithm": algorithm})
        );
    } else {
        outln!(
            "serving the {algorithm} policy on http://{addr} (POST /v1/slate, GET /health, GET /metrics); Ctrl-C or SIGTERM stops it"
        );
    }
    server.run(&interrupt::requested)?;
    if args.json {
        outln!("{}", serde_json::json!({"stopped": true}));
    } else {
        outln!("stopped: every request under way was answered");
    }
    Ok(())
}
