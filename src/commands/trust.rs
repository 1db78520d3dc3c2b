//! xDS trust on the command line: where the CA lives, and `sluice rotate-ca`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::SystemTime;

use anyhow::Context;
use sluice_emit::pki::Authority;

use crate::cli::TrustArgs;

/// How `sluice serve` secures xDS.
#[derive(Debug, Clone)]
pub enum XdsTrust {
    Insecure,
    /// TLS with the CA of `state_dir`; with a cluster, ServiceAccount tokens of `audience` too.
    Verified {
        state_dir: PathBuf,
        token_audience: String,
    },
}

impl XdsTrust {
    pub fn new(args: &TrustArgs, token_audience: String) -> XdsTrust {
        if args.insecure_xds {
            XdsTrust::Insecure
        } else {
            XdsTrust::Verified {
                state_dir: state_dir(args),
                token_audience,
            }
        }
    }
}

/// `--state-dir`, else `$SLUICE_STATE_DIR`, `$XDG_STATE_HOME/sluice`, `~/.local/state/sluice`.
pub fn state_dir(args: &TrustArgs) -> PathBuf {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    args.state_dir
        .clone()
        .or_else(|| env("SLUICE_STATE_DIR"))
        .or_else(|| env("XDG_STATE_HOME").map(|d| d.join("sluice")))
        .or_else(|| env("HOME").map(|d| d.join(".local/state/sluice")))
        .unwrap_or_else(|| PathBuf::from(".sluice-state"))
}

/// The CA of `args`' state directory, created if needed.
pub fn authority(args: &TrustArgs) -> anyhow::Result<Authority> {
    let dir = state_dir(args);
    Authority::open(&dir, SystemTime::now())
        .with_context(|| format!("opening the xDS CA in {}", dir.display()))
}

pub fn rotate(args: &TrustArgs) -> anyhow::Result<ExitCode> {
    let dir = state_dir(args);
    let authority = Authority::rotate(&dir, SystemTime::now())
        .with_context(|| format!("rotating the xDS CA in {}", dir.display()))?;
    eprintln!(
        "xDS CA generations in {}: {:?} (clients get the newest; the server keeps the oldest until it expires)",
        dir.display(),
        authority.generations()
    );
    Ok(ExitCode::SUCCESS)
}
