//! `sluice serve --kubeconfig` against a fake API server gives exactly the `/debug/xds` of
//! `sluice serve --from` over the same objects, writes their statuses back through the status
//! subresource, and releases its leader Lease on SIGTERM.
//!
//! The fake API server speaks the list/watch JSON of the real one over plain HTTP: lists per
//! resource (honouring `fieldSelector=type=…` for Secrets), watches that stay open and silent,
//! single-object GETs, status PATCHes (recorded and merged), and a Lease store.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{Method, StatusCode, Uri};
use axum::response::Response;
use serde_json::{Value, json};
use sluice_crds::Kind;

/// What the fake API server holds and saw.
#[derive(Default)]
struct Cluster {
    /// Objects by (plural, namespace, name).
    objects: Mutex<BTreeMap<(String, String, String), Value>>,
    /// Status patches: (path, body).
    patches: Mutex<Vec<(String, Value)>>,
    /// Lease writes (POST and PUT bodies), in order.
    lease_writes: Mutex<Vec<Value>>,
    lease: Mutex<Option<Value>>,
    rv: Mutex<u64>,
}

impl Cluster {
    /// Loads every document of `files` sluice reads, as the API server would serve it: the
    /// watched version's `apiVersion`, the default namespace filled in, a resourceVersion.
    fn load(files: &[PathBuf]) -> Cluster {
        let cluster = Cluster::default();
        for file in files {
            let text = std::fs::read_to_string(file).unwrap();
            for doc in serde_yaml_ng::Deserializer::from_str(&text) {
                let Ok(mut value) = serde_json::to_value(
                    <serde_yaml_ng::Value as serde::Deserialize>::deserialize(doc).unwrap(),
                ) else {
                    continue;
                };
                let (Some(api_version), Some(kind)) =
                    (value["apiVersion"].as_str(), value["kind"].as_str())
                else {
                    continue;
                };
                let Some(kind) = Kind::from_type_meta(api_version, kind) else {
                    continue;
                };
                let resource = sluice_ingest::kube::api_resource(kind);
                value["apiVersion"] = json!(resource.api_version);
                let ns = if kind.is_namespaced() {
                    let ns = value["metadata"]["namespace"]
                        .as_str()
                        .unwrap_or("default")
                        .to_owned();
                    value["metadata"]["namespace"] = json!(ns);
                    ns
                } else {
                    String::new()
                };
                value["metadata"]["resourceVersion"] = json!("1");
                let name = value["metadata"]["name"].as_str().unwrap().to_owned();
                cluster
                    .objects
                    .lock()
                    .unwrap()
                    .insert((resource.plural, ns, name), value);
            }
        }
        cluster
    }

    fn next_rv(&self) -> String {
        let mut rv = self.rv.lock().unwrap();
        *rv += 1;
        format!("{}", 100 + *rv)
    }
}

fn json_response(code: StatusCode, body: &Value) -> Response {
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Body::from(serde_json::to_vec(body).unwrap()))
        .unwrap()
}

fn not_found(what: &str) -> Response {
    json_response(
        StatusCode::NOT_FOUND,
        &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": format!("{what} not found"), "reason": "NotFound", "code": 404}),
    )
}

/// `/api/v1/…` or `/apis/{group}/{version}/…` → (namespace, plural, name, subresource).
fn parse_path(path: &str) -> Option<(String, String, Option<String>, Option<String>)> {
    let rest = match path.strip_prefix("/api/v1/") {
        Some(rest) => rest,
        None => {
            let rest = path.strip_prefix("/apis/")?;
            let mut it = rest.splitn(3, '/');
            it.next()?;
            it.next()?;
            it.next()?
        }
    };
    let parts: Vec<&str> = rest.split('/').collect();
    let (ns, parts) = match parts.as_slice() {
        ["namespaces", ns, rest @ ..] if !rest.is_empty() => (ns.to_string(), rest.to_vec()),
        _ => (String::new(), parts),
    };
    match parts.as_slice() {
        [plural] => Some((ns, plural.to_string(), None, None)),
        [plural, name] => Some((ns, plural.to_string(), Some(name.to_string()), None)),
        [plural, name, sub] => Some((
            ns,
            plural.to_string(),
            Some(name.to_string()),
            Some(sub.to_string()),
        )),
        _ => None,
    }
}

fn query_param(uri: &Uri, key: &str) -> Option<String> {
    let query = uri.query()?;
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == key).then(|| v.replace("%3D", "=").replace("%2F", "/"))
    })
}

/// Merges a JSON merge patch into `target` (RFC 7386).
fn merge(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(fields) => {
            if !target.is_object() {
                *target = json!({});
            }
            for (k, v) in fields {
                if v.is_null() {
                    target.as_object_mut().unwrap().remove(k);
                } else {
                    merge(&mut target[k], v);
                }
            }
        }
        other => *target = other.clone(),
    }
}

async fn handle(cluster: Arc<Cluster>, method: Method, uri: Uri, body: Bytes) -> Response {
    let Some((ns, plural, name, sub)) = parse_path(uri.path()) else {
        return not_found(uri.path());
    };
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if plural == "leases" {
        let mut lease = cluster.lease.lock().unwrap();
        return match method {
            Method::GET => match &*lease {
                Some(l) => json_response(StatusCode::OK, l),
                None => not_found("lease"),
            },
            _ => {
                let mut l = body;
                l["metadata"]["resourceVersion"] = json!(cluster.next_rv());
                cluster.lease_writes.lock().unwrap().push(l.clone());
                *lease = Some(l.clone());
                json_response(StatusCode::OK, &l)
            }
        };
    }
    match (method, name, sub.as_deref()) {
        // TokenReview: `sa:NS:NAME` is the token of ServiceAccount NS/NAME for audience
        // `sluice`; anything else is rejected.
        (Method::POST, None, None) if plural == "tokenreviews" => {
            let token = body["spec"]["token"].as_str().unwrap_or_default();
            let audiences = body["spec"]["audiences"].clone();
            let status = match token.strip_prefix("sa:").and_then(|t| t.split_once(':')) {
                Some((ns, sa)) if audiences == json!(["sluice"]) => json!({
                    "authenticated": true,
                    "audiences": ["sluice"],
                    "user": {"username": format!("system:serviceaccount:{ns}:{sa}")},
                }),
                _ => json!({"authenticated": false, "error": "invalid bearer token"}),
            };
            let mut review = body.clone();
            review["status"] = status;
            json_response(StatusCode::CREATED, &review)
        }
        (Method::GET, None, None) => {
            if query_param(&uri, "watch").as_deref() == Some("true") {
                // An open, silent watch: nothing changes in this cluster.
                let stream = futures::stream::pending::<Result<Bytes, std::io::Error>>();
                return Response::builder()
                    .header("content-type", "application/json")
                    .body(Body::from_stream(stream))
                    .unwrap();
            }
            let selector = query_param(&uri, "fieldSelector");
            let items: Vec<Value> = cluster
                .objects
                .lock()
                .unwrap()
                .iter()
                .filter(|((p, n, _), _)| *p == plural && (ns.is_empty() || *n == ns))
                .filter(
                    |(_, v)| match selector.as_deref().and_then(|s| s.strip_prefix("type=")) {
                        Some(ty) => v["type"].as_str() == Some(ty),
                        None => true,
                    },
                )
                .map(|(_, v)| v.clone())
                .collect();
            json_response(
                StatusCode::OK,
                &json!({"apiVersion": "v1", "kind": "List",
                        "metadata": {"resourceVersion": "100"}, "items": items}),
            )
        }
        (Method::GET, Some(name), None) => {
            match cluster.objects.lock().unwrap().get(&(plural, ns, name)) {
                Some(v) => json_response(StatusCode::OK, v),
                None => not_found("object"),
            }
        }
        (Method::PATCH, Some(name), Some("status")) => {
            cluster
                .patches
                .lock()
                .unwrap()
                .push((uri.path().to_owned(), body.clone()));
            let mut objects = cluster.objects.lock().unwrap();
            let Some(object) = objects.get_mut(&(plural, ns, name)) else {
                return not_found("object");
            };
            merge(object, &body);
            object["metadata"]["resourceVersion"] = json!(cluster.next_rv());
            json_response(StatusCode::OK, object)
        }
        _ => not_found(uri.path()),
    }
}

/// Starts the fake API server; returns its port.
async fn serve_cluster(cluster: Arc<Cluster>) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = axum::Router::new().fallback(move |method: Method, uri: Uri, body: Bytes| {
        handle(cluster.clone(), method, uri, body)
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    port
}

fn kubeconfig(dir: &Path, port: u16) -> PathBuf {
    let path = dir.join("kubeconfig");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: fake\n\
             clusters: [{{name: fake, cluster: {{server: \"http://127.0.0.1:{port}\"}}}}]\n\
             users: [{{name: fake, user: {{token: test-token}}}}]\n\
             contexts: [{{name: fake, context: {{cluster: fake, user: fake}}}}]\n"
        ),
    )
    .unwrap();
    path
}

fn sluice_serve_cluster(kubeconfig: &Path, xds: u16, admin: u16, log: PathBuf) -> common::Proc {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"));
    cmd.arg("serve")
        .arg("--state-dir")
        .arg(common::state_dir())
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .arg("--xds-addr")
        .arg(format!("127.0.0.1:{xds}"))
        .arg("--admin-addr")
        .arg(format!("127.0.0.1:{admin}"))
        .env("POD_NAMESPACE", "sluice-system")
        .env("POD_NAME", "sluice-test-0")
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "info");
    common::Proc::spawn("sluice serve --kubeconfig", &mut cmd, log)
}

async fn debug_xds(admin: u16) -> Value {
    let r = common::http_get(admin, "localhost", "/debug/xds", Duration::from_secs(5))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status, 200, "{}", r.body);
    serde_json::from_str(&r.body).unwrap()
}

/// Waits until `f` holds, polling; panics with `what` and the log after `timeout`.
async fn eventually(what: &str, proc: &common::Proc, timeout: Duration, f: impl Fn() -> bool) {
    let started = std::time::Instant::now();
    while !f() {
        assert!(
            started.elapsed() < timeout,
            "{what} within {timeout:?}\n{}",
            proc.log_tail(40)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// In a cluster, a proxy may prove itself with a ServiceAccount token instead of a client
/// certificate: sluice asks the API server (TokenReview) and binds ServiceAccount `ns/name` to
/// Gateway `ns/name`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_account_tokens_bind_proxies_to_their_gateway() {
    use common::xds::{sotw_first_with_token, tls};
    let world = common::root().join("testdata/basic.yaml");
    let work = tempfile::tempdir().unwrap();
    let cluster = Arc::new(Cluster::load(std::slice::from_ref(&world)));
    let port = serve_cluster(cluster).await;
    let config = kubeconfig(work.path(), port);
    let [xds, admin] = common::free_ports(2)[..] else {
        unreachable!()
    };
    let mut kube = sluice_serve_cluster(&config, xds, admin, work.path().join("kube.log"));
    common::wait_sluice_ready(&mut kube, admin, Duration::from_secs(30)).await;
    let ca = sluice_emit::pki::Authority::open(&common::state_dir(), std::time::SystemTime::now())
        .unwrap();
    let ask = |gateway: Option<&'static str>, token: Option<&'static str>| {
        sotw_first_with_token(xds, Some(tls(&ca, None)), gateway, token)
    };
    let lds = ask(Some("infra/gw"), Some("sa:infra:gw")).await.unwrap();
    assert!(!lds.resources.is_empty(), "the Gateway's listeners");
    // The node may leave the Gateway out: the token names it.
    assert!(ask(None, Some("sa:infra:gw")).await.is_ok());
    let denied = ask(Some("infra/not-ours"), Some("sa:infra:gw"))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), tonic::Code::PermissionDenied, "{denied:?}");
    for token in [Some("forged"), None] {
        let refused = ask(Some("infra/gw"), token).await.unwrap_err();
        assert_eq!(
            refused.code(),
            tonic::Code::Unauthenticated,
            "{token:?}: {refused:?}"
        );
    }
    drop(kube);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_source_serves_what_the_file_source_serves_and_writes_status() {
    let worlds: Vec<PathBuf> = ["basic", "https", "attachment", "backends", "filters"]
        .iter()
        .map(|w| common::root().join(format!("testdata/{w}.yaml")))
        .collect();
    for world in &worlds {
        let work = tempfile::tempdir().unwrap();
        let dir = work.path().join("manifests");
        std::fs::create_dir(&dir).unwrap();
        std::fs::copy(world, dir.join("world.yaml")).unwrap();

        let [xds, admin, xds2, admin2] = common::free_ports(4)[..] else {
            unreachable!()
        };
        let mut files = common::sluice_serve(&dir, xds, admin, work.path().join("files.log"));
        common::wait_sluice_ready(&mut files, admin, Duration::from_secs(30)).await;
        let from_files = debug_xds(admin).await;
        drop(files);

        let cluster = Arc::new(Cluster::load(std::slice::from_ref(world)));
        let port = serve_cluster(cluster.clone()).await;
        let config = kubeconfig(work.path(), port);
        let mut kube = sluice_serve_cluster(&config, xds2, admin2, work.path().join("kube.log"));
        common::wait_sluice_ready(&mut kube, admin2, Duration::from_secs(30)).await;
        let from_cluster = debug_xds(admin2).await;
        assert!(
            from_cluster == from_files,
            "{}: /debug/xds differs between the cluster and the file source\n\
             cluster: {}\nfiles: {}\n{}",
            world.display(),
            serde_json::to_string_pretty(&from_cluster).unwrap(),
            serde_json::to_string_pretty(&from_files).unwrap(),
            kube.log_tail(30)
        );
        assert!(
            !from_cluster["listeners"].as_array().unwrap().is_empty(),
            "{}: serves listeners",
            world.display()
        );

        // Statuses went back through the status subresource: every Gateway of ours was
        // patched with its conditions and the generation they describe.
        eventually(
            "Gateway statuses patched",
            &kube,
            Duration::from_secs(20),
            || {
                cluster
                    .patches
                    .lock()
                    .unwrap()
                    .iter()
                    .any(|(path, _)| path.contains("/gateways/"))
            },
        )
        .await;
        for (path, patch) in cluster.patches.lock().unwrap().iter() {
            assert!(path.ends_with("/status"), "{path}");
            if path.contains("/gateways/") {
                let conditions = patch["status"]["conditions"].as_array().unwrap();
                assert!(
                    conditions
                        .iter()
                        .any(|c| c["type"] == "Accepted" && c.get("observedGeneration").is_some()),
                    "{path}: {patch}"
                );
            }
        }

        // SIGTERM: the leader gives its Lease up before exiting.
        kube.terminate();
        let started = std::time::Instant::now();
        while kube.exited().is_none() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "sluice still runs 10 s after SIGTERM\n{}",
                kube.log_tail(20)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let writes = cluster.lease_writes.lock().unwrap().clone();
        let first = writes.first().expect("the Lease was taken");
        assert_eq!(first["spec"]["holderIdentity"], "sluice-test-0");
        let last = writes.last().unwrap();
        assert!(
            last["spec"].get("holderIdentity").is_none()
                && last["spec"]["leaseDurationSeconds"] == 1,
            "the last Lease write releases it: {last}\n{}",
            kube.log_tail(20)
        );
    }
}
