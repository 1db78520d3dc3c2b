//! Cluster mode: the Kubernetes client, and status write-back by the Lease holder.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use sluice_dataflow::output::OutputBatch;
use sluice_emit::status::{
    ElectorHandle, LeaderElector, LeaseConfig, StatusWriter, StatusWriterConfig, run_status_writer,
};
use tokio::sync::mpsc;

/// A client for `kubeconfig`, else the in-cluster configuration (or the default kubeconfig).
pub async fn client(kubeconfig: Option<&Path>) -> anyhow::Result<kube::Client> {
    let config = match kubeconfig {
        Some(path) => {
            let kc = kube::config::Kubeconfig::read_from(path)
                .with_context(|| format!("reading {}", path.display()))?;
            kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
                .await?
        }
        None => kube::Config::infer()
            .await
            .context("no in-cluster configuration or kubeconfig")?,
    };
    Ok(kube::Client::try_from(config)?)
}

/// The status writer and the election it writes under.
pub struct StatusTask {
    /// Where the compile loop sends each batch.
    pub batches: mpsc::UnboundedSender<OutputBatch>,
    writer: tokio::task::JoinHandle<()>,
    election: ElectorHandle,
}

impl StatusTask {
    /// Stops writing, then releases the Lease (if held) so a standby replica takes over at
    /// once; gives up on the release after `patience`.
    pub async fn shutdown(self, patience: Duration) {
        self.writer.abort();
        if tokio::time::timeout(patience, self.election.release())
            .await
            .is_err()
        {
            tracing::warn!("the leader lease was not released in time");
        }
    }
}

/// Starts leader election (a Lease named by `POD_NAMESPACE`, held as `POD_NAME`) and the status
/// writer.
pub fn spawn_status_writer(client: kube::Client, controller_name: &str) -> StatusTask {
    let namespace = std::env::var("POD_NAMESPACE").unwrap_or_else(|_| "sluice-system".into());
    let identity =
        std::env::var("POD_NAME").unwrap_or_else(|_| format!("sluice-{}", std::process::id()));
    let (leadership, election) =
        LeaderElector::new(client.clone(), LeaseConfig::new(&namespace, &identity)).spawn();
    let writer = StatusWriter::new(
        client,
        StatusWriterConfig {
            controller_name: controller_name.to_string(),
            ..StatusWriterConfig::default()
        },
        leadership,
    );
    let (tx, rx) = mpsc::unbounded_channel();
    // The writer takes a bounded receiver; relay so the compile loop never blocks on it.
    let (btx, brx) = mpsc::channel(64);
    let relay = relay(rx, btx);
    let writer = tokio::spawn(async move {
        tokio::join!(
            relay,
            run_status_writer(writer, brx, Duration::from_secs(5))
        );
    });
    StatusTask {
        batches: tx,
        writer,
        election,
    }
}

async fn relay(mut rx: mpsc::UnboundedReceiver<OutputBatch>, tx: mpsc::Sender<OutputBatch>) {
    while let Some(b) = rx.recv().await {
        if tx.send(b).await.is_err() {
            return;
        }
    }
}
