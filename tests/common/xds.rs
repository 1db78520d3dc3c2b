//! An xDS client for the trust tests: TLS to `sluice serve` with a client certificate or a
//! ServiceAccount token, a SotW stream's first answer, a Delta stream to drive by hand.

use std::time::{Duration, SystemTime};

use envoy_types::pb::envoy::config::core::v3::Node;
use envoy_types::pb::envoy::service::discovery::v3::aggregated_discovery_service_client::AggregatedDiscoveryServiceClient;
use envoy_types::pb::envoy::service::discovery::v3::{
    DeltaDiscoveryRequest, DeltaDiscoveryResponse, DiscoveryRequest, DiscoveryResponse,
};
use envoy_types::pb::google::protobuf::{Struct, Value, value::Kind};
use futures::channel::mpsc::{UnboundedSender, unbounded};
use sluice_emit::cache::GatewayId;
use sluice_emit::pki::{Authority, SERVER_NAME};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

pub const LDS: &str = "type.googleapis.com/envoy.config.listener.v3.Listener";
pub const SDS: &str = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret";
pub const STEP: Duration = Duration::from_secs(10);

pub fn node(gateway: Option<&str>) -> Node {
    let fields = gateway
        .map(|g| {
            let v = Value {
                kind: Some(Kind::StringValue(g.to_string())),
            };
            ("gateway".to_string(), v)
        })
        .into_iter()
        .collect();
    Node {
        id: "trust-test".into(),
        metadata: Some(Struct { fields }),
        ..Default::default()
    }
}

/// TLS that trusts sluice's CA, presenting the client certificate of `gateway` issued by
/// `issuer` (`None`: no client certificate).
pub fn tls(trusted: &Authority, client: Option<(&Authority, &str)>) -> ClientTlsConfig {
    let mut config = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(trusted.trust_bundle()))
        .domain_name(SERVER_NAME);
    if let Some((issuer, gateway)) = client {
        let gw = GatewayId::parse(gateway).unwrap();
        let pair = issuer.gateway_certificate(&gw, SystemTime::now()).unwrap();
        config = config.identity(Identity::from_pem(pair.cert_pem, pair.key_pem));
    }
    config
}

pub async fn channel(port: u16, tls: Option<ClientTlsConfig>) -> Result<Channel, String> {
    let scheme = if tls.is_some() { "https" } else { "http" };
    let mut endpoint = Endpoint::from_shared(format!("{scheme}://127.0.0.1:{port}"))
        .unwrap()
        .connect_timeout(STEP);
    if let Some(tls) = tls {
        endpoint = endpoint.tls_config(tls).map_err(|e| e.to_string())?;
    }
    endpoint.connect().await.map_err(|e| format!("{e:?}"))
}

/// A SotW stream's first LDS answer, or the error that ended it.
pub async fn sotw_first(
    port: u16,
    tls: Option<ClientTlsConfig>,
    gateway: Option<&str>,
) -> Result<DiscoveryResponse, tonic::Status> {
    sotw_first_with_token(port, tls, gateway, None).await
}

/// [`sotw_first`], presenting `token` as `authorization: Bearer …`.
pub async fn sotw_first_with_token(
    port: u16,
    tls: Option<ClientTlsConfig>,
    gateway: Option<&str>,
    token: Option<&str>,
) -> Result<DiscoveryResponse, tonic::Status> {
    let ch = channel(port, tls)
        .await
        .map_err(tonic::Status::unavailable)?;
    let mut client = AggregatedDiscoveryServiceClient::new(ch);
    let (tx, rx) = unbounded();
    tx.unbounded_send(DiscoveryRequest {
        node: Some(node(gateway)),
        type_url: LDS.into(),
        ..Default::default()
    })
    .unwrap();
    let mut request = tonic::Request::new(rx);
    if let Some(token) = token {
        let value = format!("Bearer {token}").parse().unwrap();
        request.metadata_mut().insert("authorization", value);
    }
    let mut responses = client
        .stream_aggregated_resources(request)
        .await?
        .into_inner();
    let first = tokio::time::timeout(STEP, responses.message())
        .await
        .map_err(|_| tonic::Status::deadline_exceeded("no answer"))??;
    drop(tx);
    first.ok_or_else(|| tonic::Status::aborted("stream ended"))
}

/// A Delta stream with its request sender.
pub struct Delta {
    pub tx: UnboundedSender<DeltaDiscoveryRequest>,
    pub rx: tonic::Streaming<DeltaDiscoveryResponse>,
}

impl Delta {
    pub async fn open(
        port: u16,
        tls: Option<ClientTlsConfig>,
        gateway: Option<&str>,
    ) -> Result<Delta, tonic::Status> {
        let ch = channel(port, tls)
            .await
            .map_err(tonic::Status::unavailable)?;
        let mut client = AggregatedDiscoveryServiceClient::new(ch);
        let (tx, rx) = unbounded();
        tx.unbounded_send(DeltaDiscoveryRequest {
            node: Some(node(gateway)),
            type_url: LDS.into(),
            ..Default::default()
        })
        .unwrap();
        let rx = client.delta_aggregated_resources(rx).await?.into_inner();
        Ok(Delta { tx, rx })
    }

    pub async fn next(&mut self) -> Result<DeltaDiscoveryResponse, tonic::Status> {
        tokio::time::timeout(STEP, self.rx.message())
            .await
            .map_err(|_| tonic::Status::deadline_exceeded("no answer"))??
            .ok_or_else(|| tonic::Status::aborted("stream ended"))
    }

    pub fn send(&self, type_url: &str, subscribe: Vec<String>, nonce: &str) {
        self.tx
            .unbounded_send(DeltaDiscoveryRequest {
                type_url: type_url.into(),
                resource_names_subscribe: subscribe,
                response_nonce: nonce.into(),
                ..Default::default()
            })
            .unwrap();
    }
}
