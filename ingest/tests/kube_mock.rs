//! The cluster source against a fake API server: the real `kube::Client` and kube-runtime
//! watchers, talking HTTP to a `tower_test` mock that answers list and watch requests with the
//! API server's JSON (lists, newline-delimited watch events, `Status` errors).
//!
//! Every kind sluice reads is watched; kinds a test does not script answer an empty list and a
//! watch that never responds. Time is paused, so backoffs, batching windows and watch idle
//! timeouts elapse instantly once every task waits.

use std::collections::{BTreeMap, VecDeque};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::channel::Channel;
use serde_json::{Value, json};
use sluice_crds::Kind;
use sluice_dataflow::input::{InputEvent, InputState, Record};
use sluice_ingest::kube::{Batch, KindSync, SourceConfig, SyncStatus, run_cluster_source_with};
use sluice_ingest::translate::translate_value;
use tokio::sync::{mpsc, oneshot};

type Body = Channel<Bytes, Infallible>;
type Handle = tower_test::mock::Handle<Request<kube::client::Body>, Response<Body>>;

const WINDOW: Duration = Duration::from_millis(100);

// ------------------------------------------------------------------------------------------
// The fake API server
// ------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Op {
    List,
    Watch,
}

/// One scripted answer.
enum Reply {
    /// A complete JSON body with this HTTP status (a list, or a `Status` error).
    Json(u16, Value),
    /// A watch response: these events, then the stream ends (`close`) or stays open, silent.
    Events { lines: Vec<Value>, close: bool },
    /// The inner reply, once the test opens the gate.
    Gated(oneshot::Receiver<()>, Box<Reply>),
}

/// A request the server saw.
#[derive(Clone, Debug)]
struct Seen {
    plural: String,
    op: Op,
    query: String,
}

struct Server {
    script: Mutex<BTreeMap<(String, Op), VecDeque<Reply>>>,
    seen: Mutex<Vec<Seen>>,
    /// Scripted watches answer only once this is true, so that their events never race the
    /// initial lists of other kinds into the first batch.
    watches_open: tokio::sync::watch::Sender<bool>,
}

impl Default for Server {
    fn default() -> Self {
        Server {
            script: Mutex::default(),
            seen: Mutex::default(),
            watches_open: tokio::sync::watch::Sender::new(false),
        }
    }
}

impl Server {
    fn reply(&self, plural: &str, op: Op, reply: Reply) {
        self.script
            .lock()
            .unwrap()
            .entry((plural.to_owned(), op))
            .or_default()
            .push_back(reply);
    }

    fn open_watches(&self) {
        self.watches_open.send_replace(true);
    }

    fn seen(&self, plural: &str) -> Vec<(Op, String)> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.plural == plural)
            .map(|s| (s.op, s.query.clone()))
            .collect()
    }

    fn next(&self, plural: &str, op: Op) -> Reply {
        let scripted = self
            .script
            .lock()
            .unwrap()
            .get_mut(&(plural.to_owned(), op))
            .and_then(VecDeque::pop_front);
        scripted.unwrap_or_else(|| match op {
            Op::List => Reply::Json(200, list(vec![], "1")),
            // Never answered: the watch start waits forever.
            Op::Watch => Reply::Gated(oneshot::channel().1, Box::new(Reply::Json(500, json!({})))),
        })
    }

    async fn run(self: Arc<Self>, mut handle: Handle) {
        while let Some((request, send)) = handle.next_request().await {
            let uri = request.uri().clone();
            let plural = uri.path().rsplit('/').next().unwrap_or_default().to_owned();
            let query = uri.query().unwrap_or_default().to_owned();
            let op = if query.contains("watch=true") {
                Op::Watch
            } else {
                Op::List
            };
            self.seen.lock().unwrap().push(Seen {
                plural: plural.clone(),
                op,
                query,
            });
            let reply = self.next(&plural, op);
            let mut open = self.watches_open.subscribe();
            tokio::spawn(async move {
                if op == Op::Watch {
                    let _ = open.wait_for(|open| *open).await;
                }
                respond(reply, send).await;
            });
        }
    }
}

async fn respond(mut reply: Reply, send: tower_test::mock::SendResponse<Response<Body>>) {
    while let Reply::Gated(gate, inner) = reply {
        if gate.await.is_err() {
            // The gate was dropped: never answer (and keep the request pending).
            std::future::pending::<()>().await;
        }
        reply = *inner;
    }
    let (mut tx, body) = Channel::<Bytes, Infallible>::new(64);
    match reply {
        Reply::Json(code, value) => {
            let mut response = Response::new(body);
            *response.status_mut() = StatusCode::from_u16(code).unwrap();
            send.send_response(response);
            let _ = tx
                .send_data(Bytes::from(serde_json::to_vec(&value).unwrap()))
                .await;
        }
        Reply::Events { lines, close } => {
            send.send_response(Response::new(body));
            for line in lines {
                let mut bytes = serde_json::to_vec(&line).unwrap();
                bytes.push(b'\n');
                if tx.send_data(Bytes::from(bytes)).await.is_err() {
                    return;
                }
            }
            if !close {
                // Open and silent: hold the body's sender until the client hangs up.
                std::future::pending::<()>().await;
            }
        }
        Reply::Gated(..) => unreachable!(),
    }
}

struct Harness {
    server: Arc<Server>,
    status: Arc<SyncStatus>,
    batches: mpsc::Receiver<Batch>,
}

/// Starts the cluster source (every kind) against a fresh fake server scripted by `script`.
fn start(script: impl FnOnce(&Server)) -> Harness {
    let (service, handle) = tower_test::mock::pair::<Request<kube::client::Body>, Response<Body>>();
    let client = kube::Client::new(service, "default");
    let server = Arc::new(Server::default());
    script(&server);
    tokio::spawn(server.clone().run(handle));
    let status = Arc::new(SyncStatus::new(Kind::all().iter().copied()));
    let (tx, batches) = mpsc::channel(16);
    let mut config = SourceConfig::new(WINDOW);
    config.kinds = Kind::all().to_vec();
    tokio::spawn(run_cluster_source_with(client, config, tx, status.clone()));
    Harness {
        server,
        status,
        batches,
    }
}

impl Harness {
    async fn batch(&mut self) -> Batch {
        tokio::time::timeout(Duration::from_secs(3600), self.batches.recv())
            .await
            .expect("a batch within an hour")
            .expect("the source is running")
    }

    /// Asserts that no batch comes for `secs` seconds.
    async fn no_batch_for(&mut self, secs: u64) {
        if let Ok(batch) =
            tokio::time::timeout(Duration::from_secs(secs), self.batches.recv()).await
        {
            panic!("unexpected batch: {batch:?}");
        }
    }

    /// Waits (in virtual time) until `f` holds.
    async fn until(&self, what: &str, f: impl Fn(&SyncStatus) -> bool) {
        for _ in 0..10_000 {
            if f(&self.status) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("never: {what}; status: {:?}", self.status.kinds());
    }
}

// ------------------------------------------------------------------------------------------
// API server JSON
// ------------------------------------------------------------------------------------------

fn list(items: Vec<Value>, rv: &str) -> Value {
    json!({"kind": "List", "apiVersion": "v1", "metadata": {"resourceVersion": rv}, "items": items})
}

fn status_error(code: u16, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": message, "reason": reason, "code": code})
}

fn event(kind: &str, object: &Value) -> Value {
    json!({"type": kind, "object": object})
}

fn gone() -> Value {
    event(
        "ERROR",
        &status_error(410, "Expired", "too old resource version: 10 (20)"),
    )
}

fn bookmark(rv: &str) -> Value {
    event(
        "BOOKMARK",
        &json!({"kind": "Service", "apiVersion": "v1", "metadata": {"resourceVersion": rv}}),
    )
}

/// A Service as the API server returns it (list items carry no apiVersion/kind).
fn svc(name: &str, port: u16, rv: &str) -> Value {
    json!({
        "metadata": {"name": name, "namespace": "apps", "resourceVersion": rv, "uid": name,
                     "managedFields": [{"manager": "kubectl", "operation": "Update"}]},
        "spec": {"ports": [{"name": "http", "port": port}]}
    })
}

fn route(name: &str, backend: &str, rv: &str) -> Value {
    json!({
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
        "metadata": {"name": name, "namespace": "apps", "resourceVersion": rv, "generation": 1},
        "spec": {"parentRefs": [{"name": "gw", "namespace": "infra"}],
                 "rules": [{"backendRefs": [{"name": backend, "port": 80}]}]}
    })
}

fn record(kind: Kind, value: &Value) -> Record {
    translate_value(kind, value.clone())
        .expect("lowers")
        .expect("has a record")
}

fn up(kind: Kind, value: &Value) -> InputEvent {
    InputEvent::Upsert(record(kind, value))
}

fn del(kind: Kind, value: &Value) -> InputEvent {
    InputEvent::Delete(record(kind, value).key())
}

/// Events compare as a set (a batch holds at most one event per key, in key order).
fn sorted(events: &[InputEvent]) -> Vec<String> {
    let mut out: Vec<String> = events.iter().map(|e| format!("{e:?}")).collect();
    out.sort();
    out
}

fn assert_events(batch: &Batch, expected: &[InputEvent]) {
    assert_eq!(
        sorted(&batch.events),
        sorted(expected),
        "problems: {:?}",
        batch.problems
    );
}

// ------------------------------------------------------------------------------------------
// Tests
// ------------------------------------------------------------------------------------------

/// Checklist 1, 4, 6, 11, 14: the initial lists become one batch once every kind is synced;
/// then ADDED/MODIFIED/DELETED from two kinds within one window become one batch with one
/// event per changed object; duplicates and status/managedFields/resourceVersion-only changes
/// emit nothing; Secrets are listed with the TLS field selector.
#[tokio::test(start_paused = true)]
async fn initial_list_then_added_modified_deleted() {
    let a = svc("a", 80, "5");
    let b = svc("b", 80, "6");
    let r = route("r", "a", "7");
    let c = svc("c", 80, "11");
    let a2 = svc("a", 81, "12");
    let mut a2_status = svc("a", 81, "13");
    a2_status["status"] = json!({"loadBalancer": {"ingress": [{"ip": "10.0.0.1"}]}});
    a2_status["metadata"]["managedFields"] = json!([{"manager": "sluice"}]);
    let r2 = route("r", "c", "15");
    let mut h = start(|s| {
        s.reply(
            "services",
            Op::List,
            Reply::Json(200, list(vec![a.clone(), b.clone()], "10")),
        );
        s.reply(
            "httproutes",
            Op::List,
            Reply::Json(200, list(vec![r.clone()], "10")),
        );
        s.reply(
            "services",
            Op::Watch,
            Reply::Events {
                lines: vec![
                    event("ADDED", &c),
                    event("MODIFIED", &a2),
                    event("MODIFIED", &a2_status),
                    event("MODIFIED", &a2_status),
                    event("DELETED", &b),
                ],
                close: false,
            },
        );
        s.reply(
            "httproutes",
            Op::Watch,
            Reply::Events {
                lines: vec![event("MODIFIED", &r2)],
                close: false,
            },
        );
    });
    let first = h.batch().await;
    h.server.open_watches();
    assert!(h.status.is_ready(), "{:?}", h.status.kinds());
    assert_events(
        &first,
        &[
            up(Kind::Service, &a),
            up(Kind::Service, &b),
            up(Kind::HTTPRoute, &r),
        ],
    );
    let second = h.batch().await;
    assert_events(
        &second,
        &[
            up(Kind::Service, &c),
            up(Kind::Service, &a2),
            del(Kind::Service, &b),
            up(Kind::HTTPRoute, &r2),
        ],
    );
    assert!(second.problems.is_empty(), "{:?}", second.problems);
    h.no_batch_for(60).await;

    let lists = h.server.seen("services");
    assert!(lists[0].1.contains("limit=500"), "{lists:?}");
    assert!(lists[1].1.contains("allowWatchBookmarks=true"), "{lists:?}");
    assert!(lists[1].1.contains("resourceVersion=10"), "{lists:?}");
    let secrets = h.server.seen("secrets");
    assert!(
        secrets[0]
            .1
            .contains("fieldSelector=type%3Dkubernetes.io%2Ftls"),
        "{secrets:?}"
    );
    for kind in Kind::all() {
        assert!(
            !h.server
                .seen(&sluice_ingest::kube::api_resource(*kind).plural)
                .is_empty(),
            "{kind} not listed"
        );
    }
}

/// Checklist 2, 8, 12: an in-stream 410 Gone makes the watcher relist; the relist lacks `b`
/// and has a new `c`: one batch deletes `b` and adds `c`, and nothing is sent for the
/// unchanged `a`.
#[tokio::test(start_paused = true)]
async fn gone_410_then_relist_missing_one_and_adding_another() {
    let a = svc("a", 80, "5");
    let b = svc("b", 80, "6");
    let c = svc("c", 80, "18");
    let mut h = start(|s| {
        s.reply(
            "services",
            Op::List,
            Reply::Json(200, list(vec![a.clone(), b.clone()], "10")),
        );
        s.reply(
            "services",
            Op::Watch,
            Reply::Events {
                lines: vec![gone()],
                close: false,
            },
        );
        s.reply(
            "services",
            Op::List,
            Reply::Json(200, list(vec![a.clone(), c.clone()], "20")),
        );
    });
    assert_events(
        &h.batch().await,
        &[up(Kind::Service, &a), up(Kind::Service, &b)],
    );
    h.server.open_watches();
    assert_events(
        &h.batch().await,
        &[del(Kind::Service, &b), up(Kind::Service, &c)],
    );
    h.no_batch_for(60).await;
    let seen = h.server.seen("services");
    let ops: Vec<Op> = seen.iter().map(|s| s.0).collect();
    assert_eq!(ops, [Op::List, Op::Watch, Op::List, Op::Watch], "{seen:?}");
    assert!(seen[1].1.contains("resourceVersion=10"));
    assert!(seen[3].1.contains("resourceVersion=20"));
    assert_eq!(h.status.errors(Kind::Service), 1);
}

/// Checklist 7: the list fails K times (500, connection-level error text, 403); the source
/// reports the kind as failed, counts every error, keeps polling with backoff and recovers
/// without a restart; nothing is served before.
#[tokio::test(start_paused = true)]
async fn watch_errors_k_times_then_success() {
    const K: u64 = 3;
    let a = svc("a", 80, "5");
    let (open, gate) = oneshot::channel();
    let mut h = start(|s| {
        s.reply(
            "services",
            Op::List,
            Reply::Json(
                500,
                status_error(500, "InternalError", "etcd leader changed"),
            ),
        );
        s.reply(
            "services",
            Op::List,
            Reply::Json(503, status_error(503, "ServiceUnavailable", "try again")),
        );
        s.reply(
            "services",
            Op::List,
            Reply::Json(403, status_error(403, "Forbidden", "services is forbidden")),
        );
        s.reply(
            "services",
            Op::List,
            Reply::Gated(
                gate,
                Box::new(Reply::Json(200, list(vec![a.clone()], "10"))),
            ),
        );
    });
    h.until("three service errors", |s| s.errors(Kind::Service) == K)
        .await;
    let (ready, text) = h.status.readyz();
    assert!(!ready);
    assert!(text.contains("Service: failed: RBAC: forbidden"), "{text}");
    assert!(!text.contains("HTTPRoute"), "{text}");
    h.no_batch_for(10).await;
    open.send(()).unwrap();
    assert_events(&h.batch().await, &[up(Kind::Service, &a)]);
    assert_eq!(h.status.get(Kind::Service), Some(KindSync::Synced));
    assert_eq!(h.status.errors(Kind::Service), K);
    assert_eq!(h.server.seen("services").len() as u64, K + 2); // K + 1 lists, 1 watch
}

/// Checklist 9, 10: a watch that ends normally is resumed from the last resourceVersion (a
/// bookmark's), without a relist, and without lost or duplicate events.
#[tokio::test(start_paused = true)]
async fn stream_end_resumes_from_last_resource_version() {
    let a = svc("a", 80, "5");
    let b = svc("b", 80, "11");
    let b2 = svc("b", 82, "16");
    let (open, gate) = oneshot::channel();
    let mut h = start(|s| {
        s.reply(
            "services",
            Op::List,
            Reply::Json(200, list(vec![a.clone()], "10")),
        );
        s.reply(
            "services",
            Op::Watch,
            Reply::Events {
                lines: vec![event("ADDED", &b), bookmark("15")],
                close: true,
            },
        );
        s.reply(
            "services",
            Op::Watch,
            Reply::Gated(
                gate,
                Box::new(Reply::Events {
                    lines: vec![event("MODIFIED", &b2)],
                    close: false,
                }),
            ),
        );
    });
    assert_events(&h.batch().await, &[up(Kind::Service, &a)]);
    h.server.open_watches();
    assert_events(&h.batch().await, &[up(Kind::Service, &b)]);
    open.send(()).unwrap();
    assert_events(&h.batch().await, &[up(Kind::Service, &b2)]);
    let seen = h.server.seen("services");
    let ops: Vec<Op> = seen.iter().map(|s| s.0).collect();
    assert_eq!(ops, [Op::List, Op::Watch, Op::Watch], "{seen:?}");
    assert!(seen[1].1.contains("resourceVersion=10"), "{seen:?}");
    assert!(seen[2].1.contains("resourceVersion=15"), "{seen:?}");
    assert_eq!(h.status.errors(Kind::Service), 0);
}

/// Checklist 10: a watch silent for the server timeout + 5 s is dropped and re-established
/// from the last resourceVersion.
#[tokio::test(start_paused = true)]
async fn silent_watch_is_reestablished_after_the_idle_timeout() {
    let a = svc("a", 80, "5");
    let b = svc("b", 80, "11");
    let mut h = start(|s| {
        s.reply(
            "services",
            Op::List,
            Reply::Json(200, list(vec![a.clone()], "10")),
        );
        s.reply(
            "services",
            Op::Watch,
            Reply::Events {
                lines: vec![event("ADDED", &b)],
                close: false,
            },
        );
    });
    assert_events(&h.batch().await, &[up(Kind::Service, &a)]);
    let start = tokio::time::Instant::now();
    h.server.open_watches();
    assert_events(&h.batch().await, &[up(Kind::Service, &b)]);
    h.until("a second service watch", |_| {
        h.server.seen("services").len() == 3
    })
    .await;
    assert!(
        start.elapsed() >= Duration::from_secs(295),
        "{:?}",
        start.elapsed()
    );
    let seen = h.server.seen("services");
    assert!(seen[1].1.contains("timeoutSeconds=290"), "{seen:?}");
    assert_eq!(seen[2].0, Op::Watch);
    assert!(seen[2].1.contains("resourceVersion=11"), "{seen:?}");
}

/// Checklist 1, 13: a kind whose CRD is not installed (404) keeps the source unready and
/// unserved, and readiness names it; once the CRD appears the first batch goes out.
#[tokio::test(start_paused = true)]
async fn missing_crd_404_blocks_serving_and_is_reported() {
    let a = svc("a", 80, "5");
    let (open, gate) = oneshot::channel();
    let mut h = start(|s| {
        s.reply(
            "services",
            Op::List,
            Reply::Json(200, list(vec![a.clone()], "10")),
        );
        for _ in 0..3 {
            s.reply(
                "listenersets",
                Op::List,
                Reply::Json(
                    404,
                    status_error(
                        404,
                        "NotFound",
                        "the server could not find the requested resource",
                    ),
                ),
            );
        }
        s.reply(
            "listenersets",
            Op::List,
            Reply::Gated(gate, Box::new(Reply::Json(200, list(vec![], "3")))),
        );
    });
    h.until("listenersets failing", |s| s.errors(Kind::ListenerSet) == 3)
        .await;
    h.no_batch_for(30).await;
    let (ready, text) = h.status.readyz();
    assert!(!ready);
    assert!(
        text.contains(
            "ListenerSet: failed: CRD absent: listenersets (gateway.networking.k8s.io/v1)"
        ),
        "{text}"
    );
    assert_eq!(h.status.missing().len(), 1, "{text}");
    open.send(()).unwrap();
    assert_events(&h.batch().await, &[up(Kind::Service, &a)]);
    assert!(h.status.is_ready());
}

/// Checklist 15: an object that does not decode is reported (kind, namespace, name, field)
/// and the others are ingested.
#[tokio::test(start_paused = true)]
async fn a_bad_object_never_stops_the_others() {
    let a = svc("a", 80, "5");
    let bad = json!({
        "metadata": {"name": "bad", "namespace": "apps", "resourceVersion": "6"},
        "spec": {"ports": [{"port": "eighty"}]}
    });
    let mut h = start(|s| {
        s.reply(
            "services",
            Op::List,
            Reply::Json(200, list(vec![bad.clone(), a.clone()], "10")),
        );
    });
    let first = h.batch().await;
    assert_events(&first, &[up(Kind::Service, &a)]);
    assert_eq!(first.problems.lower.len(), 1, "{:?}", first.problems);
    let p = &first.problems.lower[0];
    assert_eq!(p.object.to_string(), "Service apps/bad");
    assert_eq!(p.field, "spec.ports[0].port");
}

/// The first batch applied to an `InputState` is the cluster's content.
#[tokio::test(start_paused = true)]
async fn first_batch_is_the_whole_initial_state() {
    let objects = [svc("a", 80, "5"), svc("b", 81, "6"), svc("c", 82, "7")];
    let mut h = start(|s| {
        s.reply(
            "services",
            Op::List,
            Reply::Json(200, list(objects.to_vec(), "10")),
        );
        s.reply(
            "namespaces",
            Op::List,
            Reply::Json(
                200,
                list(
                    vec![json!({"metadata": {"name": "apps", "resourceVersion": "2",
                "labels": {"team": "web"}}})],
                    "10",
                ),
            ),
        );
    });
    let first = h.batch().await;
    let mut state = InputState::default();
    let changes = state.apply(first.events);
    assert_eq!(changes.len(), 4);
    assert!(changes.iter().all(|(_, d)| *d == 1));
    assert_eq!(state.len(), 4);
}

/// `deploy/rbac.yaml` lets sluice get, list and watch every kind the cluster source watches,
/// write the statuses it writes and hold its Lease; `deploy/kustomization.yaml` names only
/// files that exist.
#[test]
fn deployed_rbac_covers_every_watched_kind() {
    use serde::Deserialize;
    use std::collections::BTreeSet;

    let deploy = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy");
    let text = std::fs::read_to_string(deploy.join("rbac.yaml")).unwrap();
    let mut cluster: BTreeSet<(String, String, String)> = BTreeSet::new();
    let mut namespaced: BTreeSet<(String, String, String)> = BTreeSet::new();
    for doc in serde_yaml_ng::Deserializer::from_str(&text) {
        let doc = Value::deserialize(doc).unwrap();
        let into = match doc["kind"].as_str() {
            Some("ClusterRole") => &mut cluster,
            Some("Role") => &mut namespaced,
            _ => continue,
        };
        for rule in doc["rules"].as_array().unwrap() {
            for group in rule["apiGroups"].as_array().unwrap() {
                for resource in rule["resources"].as_array().unwrap() {
                    for verb in rule["verbs"].as_array().unwrap() {
                        into.insert((
                            group.as_str().unwrap().to_owned(),
                            resource.as_str().unwrap().to_owned(),
                            verb.as_str().unwrap().to_owned(),
                        ));
                    }
                }
            }
        }
    }
    let allows = |set: &BTreeSet<(String, String, String)>, g: &str, r: &str, v: &str| {
        set.contains(&(g.to_owned(), r.to_owned(), v.to_owned()))
    };
    for &kind in Kind::all() {
        let r = sluice_ingest::kube::api_resource(kind);
        for verb in ["get", "list", "watch"] {
            assert!(
                allows(&cluster, &r.group, &r.plural, verb),
                "{kind}: {verb} {}",
                r.plural
            );
        }
    }
    for plural in ["gatewayclasses", "gateways", "httproutes"] {
        assert!(allows(
            &cluster,
            "gateway.networking.k8s.io",
            &format!("{plural}/status"),
            "patch"
        ));
    }
    for verb in ["get", "create", "update"] {
        assert!(allows(&namespaced, "coordination.k8s.io", "leases", verb));
    }

    let kustomization: Value = serde_yaml_ng::from_str(
        &std::fs::read_to_string(deploy.join("kustomization.yaml")).unwrap(),
    )
    .unwrap();
    for resource in kustomization["resources"].as_array().unwrap() {
        let resource = resource.as_str().unwrap();
        if !resource.starts_with("https://") {
            assert!(deploy.join(resource).is_file(), "{resource}");
        }
    }
}
