//! One module per command.

mod bench;
mod bootstrap;
mod crds;
pub mod engine;
mod translate;
pub mod trust;

use std::process::ExitCode;

use crate::cli::{Cli, Command};

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Translate {
            paths,
            output,
            engine,
            show_secrets,
            envoy_bootstrap,
            engine_args,
        } => translate::run(
            &paths,
            output,
            engine,
            translate::Print {
                show_secrets,
                envoy_bootstrap,
            },
            &engine_args,
        ),
        Command::Crds => crds::run(),
        Command::Gen { fleet, seed, out } => bench::generate(fleet, seed, &out),
        Command::Bench {
            fleet,
            seed,
            workers,
            changes,
            naive_changes,
            rss_epochs,
            serve_clients,
            no_naive,
            kinds,
            json,
            svg,
        } => {
            let mut cfg = sluice_benches::harness::BenchConfig::new(fleet);
            cfg.seed = seed;
            cfg.workers = workers;
            cfg.progress = true;
            if let Some(n) = changes {
                cfg.changes = n;
            }
            if let Some(n) = naive_changes {
                cfg.naive_changes = n;
            }
            if let Some(n) = rss_epochs {
                cfg.epochs_rss = n;
            }
            cfg.naive = !no_naive;
            if let Some(kinds) = kinds {
                cfg.kinds = kinds;
            }
            if let Some(counts) = serve_clients {
                cfg.serve_clients = counts.into_iter().filter(|&n| n > 0).collect();
            }
            bench::run(&cfg, json.as_deref(), svg.as_deref())
        }
        Command::Serve {
            from,
            rescan,
            kubeconfig,
            xds_addr,
            admin_addr,
            token_audience,
            no_debug_xds,
            trust,
            engine_args,
        } => {
            let source = match from {
                Some(dir) => crate::serve::Source::Dir {
                    dir,
                    rescan: std::time::Duration::from_secs(rescan),
                },
                None => crate::serve::Source::Cluster { kubeconfig },
            };
            crate::serve::run(crate::serve::ServeArgs {
                source,
                xds_addr,
                admin_addr,
                debug_xds: !no_debug_xds,
                trust: trust::XdsTrust::new(&trust, token_audience),
                engine: engine_args,
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bootstrap {
            gateway,
            xds,
            delta,
            admin_port,
            node_id,
            bind_address,
            trust,
        } => bootstrap::run(
            &gateway,
            &xds,
            delta,
            admin_port,
            node_id,
            bind_address,
            &trust,
        ),
        Command::RotateCa { trust } => trust::rotate(&trust),
    }
}
