//! The command line.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "sluice",
    version,
    about = "Gateway API to Envoy xDS, incrementally"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Json,
    Yaml,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum EngineKind {
    /// The incremental differential dataflow.
    Dataflow,
    /// The naive from-scratch translator (the reference the dataflow is tested against).
    Naive,
}

/// Options shared by every command that runs the translation.
#[derive(Debug, Clone, clap::Args)]
pub struct EngineArgs {
    /// GatewayClasses naming this controller are served.
    #[arg(long, default_value = sluice_dataflow::model::DEFAULT_CONTROLLER_NAME)]
    pub controller_name: String,
    /// Timely worker threads in this process.
    #[arg(long, default_value_t = 1)]
    pub workers: usize,
    /// This process's index in a timely cluster (with --hostfile).
    #[arg(long, requires = "hostfile")]
    pub process: Option<usize>,
    /// A file listing `host:port` of every process of a timely cluster, one per line.
    #[arg(long)]
    pub hostfile: Option<PathBuf>,
}

/// How xDS is secured (shared by `serve` and `bootstrap`, which must agree).
#[derive(Debug, Clone, clap::Args)]
pub struct TrustArgs {
    /// Where sluice keeps its xDS certificate authority (default: `$SLUICE_STATE_DIR`, else
    /// `$XDG_STATE_HOME/sluice`, else `~/.local/state/sluice`).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Plaintext, unauthenticated xDS: anyone who reaches the port gets any Gateway's
    /// configuration and private keys. Only for debugging.
    #[arg(long)]
    pub insecure_xds: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Translate manifests once and print the xDS resources and statuses.
    Translate {
        /// Files or directories of YAML/JSON manifests.
        #[arg(short = 'f', long = "file", required = true)]
        paths: Vec<PathBuf>,
        #[arg(short = 'o', long, value_enum, default_value = "json")]
        output: Format,
        #[arg(long, value_enum, default_value = "dataflow")]
        engine: EngineKind,
        /// Print the TLS private keys in `secrets` (redacted otherwise).
        #[arg(long)]
        show_secrets: bool,
        /// Instead, print a static Envoy bootstrap holding everything the proxy of this Gateway
        /// (`namespace/name`) would receive, for `envoy --mode validate` (keys included).
        #[arg(long, value_name = "NS/NAME")]
        envoy_bootstrap: Option<String>,
        #[command(flatten)]
        engine_args: EngineArgs,
    },
    /// Print the CustomResourceDefinitions of the kgateway-compatible kinds.
    Crds,
    /// Load and watch a directory of manifests and serve xDS (ADS, SotW and Delta) for it.
    Serve {
        /// The directory of YAML/JSON manifests to load and watch (instead of a cluster).
        #[arg(long, conflicts_with = "kubeconfig")]
        from: Option<PathBuf>,
        /// With `--from`: scan the whole directory this often (seconds; 0: never), besides
        /// reacting to file events, in case events were lost.
        #[arg(long, default_value_t = 10, value_name = "SECONDS")]
        rescan: u64,
        /// Watch the cluster of this kubeconfig. Without `--from` or `--kubeconfig`, the
        /// in-cluster configuration (or the default kubeconfig) is used, status is written
        /// back by the replica holding the `sluice-leader` Lease.
        #[arg(long)]
        kubeconfig: Option<PathBuf>,
        #[arg(long, default_value = "127.0.0.1:18000")]
        xds_addr: std::net::SocketAddr,
        #[arg(long, default_value = "127.0.0.1:18001")]
        admin_addr: std::net::SocketAddr,
        /// With a cluster: the audience proxies' ServiceAccount tokens must carry.
        #[arg(long, default_value = "sluice")]
        token_audience: String,
        /// Do not serve `/debug/xds` on the admin endpoint.
        #[arg(long)]
        no_debug_xds: bool,
        #[command(flatten)]
        trust: TrustArgs,
        #[command(flatten)]
        engine_args: EngineArgs,
    },
    /// Add a new generation to sluice's xDS CA: new client certificates come from it; the
    /// server moves to it once the older generations expire.
    RotateCa {
        #[command(flatten)]
        trust: TrustArgs,
    },
    /// Write a generated benchmark fleet as YAML (one file per namespace).
    Gen {
        /// S, L, XL or hot.
        #[arg(long)]
        fleet: sluice_benches::fleet::FleetKind,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(short = 'o', long)]
        out: PathBuf,
    },
    /// Run the scale benchmark: the dataflow and the naive translator side by side.
    Bench {
        /// S, L, XL or hot.
        #[arg(long)]
        fleet: sluice_benches::fleet::FleetKind,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Timely workers of the measured run (the output is also checked against 2 workers).
        #[arg(long, default_value_t = 1)]
        workers: usize,
        /// Measured changes per change kind.
        #[arg(long)]
        changes: Option<usize>,
        /// Changes per kind the naive translator also runs (full recompute + diff).
        #[arg(long)]
        naive_changes: Option<usize>,
        /// Route-edit epochs over which RSS growth is measured (0 skips).
        #[arg(long)]
        rss_epochs: Option<usize>,
        /// Change kinds to measure, comma-separated slugs (default: all), e.g. `route-edit`.
        #[arg(long, value_delimiter = ',')]
        kinds: Option<Vec<sluice_benches::fleet::ChangeKind>>,
        /// Do not run the naive translator at all (fleets where it does not fit, profiling).
        #[arg(long)]
        no_naive: bool,
        /// Delta client counts to deliver one route edit to, e.g. `1,100,1000` (`0` skips).
        #[arg(long, value_delimiter = ',')]
        serve_clients: Option<Vec<usize>>,
        /// Write the report as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Write the latency-against-fleet-size plot (SVG) here.
        #[arg(long)]
        svg: Option<PathBuf>,
    },
    /// Print an Envoy bootstrap that connects a proxy for one Gateway to sluice.
    Bootstrap {
        /// The Gateway the proxy serves, as `namespace/name`.
        #[arg(long)]
        gateway: String,
        /// sluice's xDS address, `host:port`.
        #[arg(long, default_value = "127.0.0.1:18000")]
        xds: String,
        /// Use incremental (Delta) xDS instead of state-of-the-world.
        #[arg(long)]
        delta: bool,
        /// The proxy's admin port.
        #[arg(long, default_value_t = 19000)]
        admin_port: u16,
        /// The proxy's node id (default: `envoy~{namespace}~{name}`).
        #[arg(long)]
        node_id: Option<String>,
        /// Bind the proxy's listeners to this IP instead of the Gateway's address (sluice
        /// rewrites every Listener it sends to the proxy), so that several proxies on one
        /// host can serve Gateways listening on the same port.
        #[arg(long, value_name = "IP")]
        bind_address: Option<std::net::IpAddr>,
        #[command(flatten)]
        trust: TrustArgs,
    },
}
