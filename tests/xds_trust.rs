//! xDS trust, end to end against `sluice serve` (TLS by default), SotW and Delta: a client
//! without credentials gets nothing; a client with Gateway A's certificate asking for Gateway
//! B gets `PERMISSION_DENIED`; A's proxy gets its Listeners without any private key, and its
//! certificate over SDS; a rotated Secret re-sends the Secret and not the Listener.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use common::xds::{Delta, LDS, SDS, STEP, sotw_first, tls};
use futures::StreamExt;
use sluice_emit::pki::Authority;

fn write_world(dir: &Path) {
    let gateways = r#"
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: sluice}
spec: {controllerName: sluice.dev/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: a, namespace: trust}
spec:
  gatewayClassName: sluice
  listeners:
  - {name: http, port: 8080, protocol: HTTP}
  - name: https
    port: 8443
    protocol: HTTPS
    hostname: a.trust.example
    tls: {mode: Terminate, certificateRefs: [{name: a-cert}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: b, namespace: trust}
spec:
  gatewayClassName: sluice
  listeners:
  - {name: http, port: 9080, protocol: HTTP}
"#;
    std::fs::write(dir.join("gateways.yaml"), gateways).unwrap();
    write_secret(dir);
}

/// (Re)writes the Secret with a fresh certificate; returns its key.
fn write_secret(dir: &Path) -> String {
    let cert = sluice_conformance::certs::self_signed(&["a.trust.example".into()]).unwrap();
    let secret = sluice_conformance::certs::tls_secret("trust", "a-cert", &cert);
    let tmp = dir.join(".secret.yaml.tmp");
    std::fs::write(&tmp, serde_yaml_ng::to_string(&secret).unwrap()).unwrap();
    std::fs::rename(&tmp, dir.join("secret.yaml")).unwrap();
    cert.key_pem
}

/// `sluice serve` (TLS, the test process's state directory) over the world, ready.
struct Served {
    work: tempfile::TempDir,
    dir: PathBuf,
    xds: u16,
    admin: u16,
    sluice: common::Proc,
    /// The CA `serve` uses.
    ca: Authority,
}

async fn serve() -> Served {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("manifests");
    std::fs::create_dir(&dir).unwrap();
    write_world(&dir);
    let [xds, admin] = common::free_ports(2)[..] else {
        unreachable!()
    };
    let mut sluice = common::sluice_serve(&dir, xds, admin, work.path().join("sluice.log"));
    common::wait_sluice_ready(&mut sluice, admin, Duration::from_secs(30)).await;
    let ca = Authority::open(&common::state_dir(), SystemTime::now()).unwrap();
    Served {
        work,
        dir,
        xds,
        admin,
        sluice,
        ca,
    }
}

fn mentions_key(bytes: &[u8]) -> bool {
    String::from_utf8_lossy(bytes).contains("PRIVATE KEY")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_an_authenticated_proxy_gets_only_its_gateway() {
    // `_work` keeps the directory for as long as sluice runs.
    let Served {
        work: _work,
        xds,
        admin,
        sluice,
        ca,
        ..
    } = serve().await;
    let foreign_dir = tempfile::tempdir().unwrap();
    let foreign = Authority::open(foreign_dir.path(), SystemTime::now()).unwrap();

    // No credentials: plaintext, TLS without a client certificate, a foreign CA's certificate.
    for (what, tls) in [
        ("plaintext", None),
        ("no client certificate", Some(tls(&ca, None))),
        ("a foreign CA", Some(tls(&ca, Some((&foreign, "trust/a"))))),
    ] {
        let sotw = sotw_first(xds, tls.clone(), Some("trust/a")).await;
        assert!(sotw.is_err(), "SotW with {what} got {sotw:?}");
        let delta = match Delta::open(xds, tls, Some("trust/a")).await {
            Ok(mut d) => d.next().await.map(|_| ()),
            Err(e) => Err(e),
        };
        assert!(delta.is_err(), "Delta with {what} got an answer");
    }

    // A's certificate asking for B.
    let denied = sotw_first(xds, Some(tls(&ca, Some((&ca, "trust/a")))), Some("trust/b"))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), tonic::Code::PermissionDenied, "{denied:?}");
    let mut d = Delta::open(xds, Some(tls(&ca, Some((&ca, "trust/a")))), Some("trust/b"))
        .await
        .unwrap();
    let denied = d.next().await.unwrap_err();
    assert_eq!(denied.code(), tonic::Code::PermissionDenied, "{denied:?}");

    // A's certificate, node naming A or nothing: A's listeners, no private key in them.
    for gateway in [Some("trust/a"), None] {
        let lds = sotw_first(xds, Some(tls(&ca, Some((&ca, "trust/a")))), gateway)
            .await
            .unwrap();
        let mut names: Vec<String> = lds
            .resources
            .iter()
            .map(|r| {
                assert!(!mentions_key(&r.value), "a Listener carries a private key");
                use prost::Message;
                envoy_types::pb::envoy::config::listener::v3::Listener::decode(r.value.as_slice())
                    .unwrap()
                    .name
            })
            .collect();
        names.sort();
        assert_eq!(names, ["trust/a/8080", "trust/a/8443"], "node {gateway:?}");
    }

    let metrics = common::http_get(admin, "localhost", "/metrics", STEP)
        .await
        .unwrap();
    for counter in [
        "sluice_xds_permission_denied_total 2",
        "sluice_xds_unauthenticated_total",
    ] {
        assert!(
            metrics.body.contains(counter),
            "{counter} in\n{}",
            metrics.body
        );
    }
    let log = sluice.log_tail(200);
    assert!(
        log.contains("PERMISSION") || log.contains("refused"),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_come_over_sds_and_rotate_without_the_listener() {
    let Served {
        work: _work,
        dir,
        xds,
        admin,
        sluice,
        ca,
    } = serve().await;

    let mut d = Delta::open(xds, Some(tls(&ca, Some((&ca, "trust/a")))), Some("trust/a"))
        .await
        .unwrap();
    let lds = d.next().await.unwrap();
    assert_eq!(lds.type_url, LDS);
    assert_eq!(lds.resources.len(), 2);
    assert!(
        lds.resources
            .iter()
            .all(|r| !mentions_key(&r.resource.as_ref().unwrap().value))
    );
    d.send(LDS, Vec::new(), &lds.nonce);
    // Envoy asks for the secret its HTTPS chain names.
    d.send(SDS, vec!["trust/a-cert".into()], "");
    let sds = d.next().await.unwrap();
    assert_eq!(sds.type_url, SDS);
    assert_eq!(sds.resources.len(), 1);
    assert_eq!(sds.resources[0].name, "trust/a-cert");
    let first = &sds.resources[0].resource.as_ref().unwrap().value;
    assert!(mentions_key(first), "the Secret carries the key");
    d.send(SDS, Vec::new(), &sds.nonce);

    // Rotation: a new Secret, the same Listener.
    let key = write_secret(&dir);
    let next = d.next().await.unwrap();
    assert_eq!(next.type_url, SDS, "only the Secret is re-sent");
    let value = &next.resources[0].resource.as_ref().unwrap().value;
    assert!(
        String::from_utf8_lossy(value).contains(key.trim()),
        "the new key"
    );
    d.send(SDS, Vec::new(), &next.nonce);
    let quiet = tokio::time::timeout(Duration::from_secs(2), d.rx.next()).await;
    assert!(quiet.is_err(), "nothing else is sent: {quiet:?}");

    // /debug/xds shows the Secret, its key redacted.
    let dump = common::http_get(admin, "localhost", "/debug/xds", STEP)
        .await
        .unwrap();
    assert!(dump.body.contains("trust/a-cert") && dump.body.contains("[redacted]"));
    assert!(!dump.body.contains("PRIVATE KEY"), "/debug/xds shows a key");
    drop(sluice);
}
