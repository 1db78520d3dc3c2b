//! The status writer and the leader lease against a mock API server (`tower_test`): the exact
//! requests and PATCH bodies sent, nothing sent when nothing changed, nothing sent when not
//! the leader.

use std::time::Duration;

use http::{Method, Request, Response, StatusCode};
use k8s_openapi::jiff::Timestamp;
use kube::client::Body;
use serde_json::{Value, json};
use sluice_dataflow::ir::{
    Condition, ListenerStatusIr, ParentRefIr, RouteGroupKindIr, RouteParentStatusIr, StatusIr,
    StatusKey, StatusKind,
};
use sluice_dataflow::output::OutputBatch;
use sluice_emit::status::{
    LeaderElector, Leadership, LeaseConfig, StatusWriter, StatusWriterConfig,
};
use tokio::sync::watch;

type Handle = tower_test::mock::Handle<Request<Body>, Response<Body>>;

const CONTROLLER: &str = "sluice.dev/gateway-controller";
const T1: &str = "2026-01-02T03:04:05Z";
const T2: &str = "2026-01-02T03:09:00Z";

fn mock() -> (kube::Client, Handle) {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    (kube::Client::new(service, "default"), handle)
}

fn at(t: &'static str) -> impl Fn() -> Timestamp + Send + Sync + 'static {
    move || t.parse().unwrap()
}

fn writer(client: kube::Client, leader: Leadership, t: &'static str) -> StatusWriter {
    StatusWriter::new(client, StatusWriterConfig::default(), leader).with_clock(at(t))
}

/// A request as the server saw it.
#[derive(Debug)]
struct Seen {
    method: Method,
    path_and_query: String,
    content_type: Option<String>,
    body: Value,
}

/// Answers the next request with `code` and `reply`; returns what was asked.
async fn answer(handle: &mut Handle, code: u16, reply: Value) -> Seen {
    let (request, send) = tokio::time::timeout(Duration::from_secs(5), handle.next_request())
        .await
        .expect("a request")
        .expect("the client is alive");
    let method = request.method().clone();
    let path_and_query = request.uri().path_and_query().unwrap().to_string();
    let content_type = request
        .headers()
        .get(http::header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = request.into_body().collect_bytes().await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    let mut response = Response::new(Body::from(serde_json::to_vec(&reply).unwrap()));
    *response.status_mut() = StatusCode::from_u16(code).unwrap();
    send.send_response(response);
    Seen {
        method,
        path_and_query,
        content_type,
        body,
    }
}

/// Asserts the client sends nothing more (for a while).
async fn silent(handle: &mut Handle) {
    if let Ok(Some((request, _))) =
        tokio::time::timeout(Duration::from_secs(2), handle.next_request()).await
    {
        panic!("unexpected request: {} {}", request.method(), request.uri());
    }
}

fn status_error(code: u16, reason: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": reason, "reason": reason, "code": code})
}

fn object(kind: &str, ns: Option<&str>, name: &str, rv: &str, status: Value) -> Value {
    let mut metadata = json!({"name": name, "resourceVersion": rv, "generation": 2});
    if let Some(ns) = ns {
        metadata["namespace"] = json!(ns);
    }
    json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": kind, "metadata": metadata,
           "spec": {}, "status": status})
}

fn gateway_key() -> StatusKey {
    StatusKey {
        kind: StatusKind::Gateway,
        namespace: "infra".into(),
        name: "gw".into(),
    }
}

fn route_key() -> StatusKey {
    StatusKey {
        kind: StatusKind::HTTPRoute,
        namespace: "apps".into(),
        name: "web".into(),
    }
}

fn gateway_status(programmed: bool) -> StatusIr {
    StatusIr::Gateway {
        conditions: vec![
            Condition::new("Accepted", true, "Accepted", "", 2),
            Condition::new(
                "Programmed",
                programmed,
                if programmed { "Programmed" } else { "Invalid" },
                "",
                2,
            ),
        ],
        listeners: vec![ListenerStatusIr {
            name: "http".into(),
            supported_kinds: vec![RouteGroupKindIr {
                group: "gateway.networking.k8s.io".into(),
                kind: "HTTPRoute".into(),
            }],
            attached_routes: 1,
            conditions: vec![Condition::new("Accepted", true, "Accepted", "", 2)],
        }],
    }
}

fn route_status() -> StatusIr {
    StatusIr::Route {
        parents: vec![RouteParentStatusIr {
            parent_ref: ParentRefIr {
                group: "gateway.networking.k8s.io".into(),
                kind: "Gateway".into(),
                namespace: "infra".into(),
                name: "gw".into(),
                section_name: Some("http".into()),
                port: None,
            },
            controller_name: CONTROLLER.into(),
            conditions: vec![
                Condition::new("Accepted", true, "Accepted", "", 2),
                Condition::new("ResolvedRefs", true, "ResolvedRefs", "", 2),
            ],
        }],
    }
}

fn upsert(key: StatusKey, status: StatusIr) -> OutputBatch {
    OutputBatch {
        status_upserts: vec![(key, std::sync::Arc::new(status))],
        ..OutputBatch::default()
    }
}

fn delete(key: StatusKey) -> OutputBatch {
    OutputBatch {
        status_deletes: vec![key],
        ..OutputBatch::default()
    }
}

const GATEWAY_PATH: &str = "/apis/gateway.networking.k8s.io/v1/namespaces/infra/gateways/gw";
const ROUTE_PATH: &str = "/apis/gateway.networking.k8s.io/v1/namespaces/apps/httproutes/web";

fn gateway_body(programmed_status: &str, programmed_reason: &str, programmed_time: &str) -> Value {
    json!({"status": {
        "conditions": [
            {"type": "Accepted", "status": "True", "reason": "Accepted", "message": "",
             "observedGeneration": 2, "lastTransitionTime": T1},
            {"type": "Programmed", "status": programmed_status, "reason": programmed_reason,
             "message": "", "observedGeneration": 2, "lastTransitionTime": programmed_time},
        ],
        "listeners": [{
            "name": "http",
            "supportedKinds": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute"}],
            "attachedRoutes": 1,
            "conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted",
                            "message": "", "observedGeneration": 2, "lastTransitionTime": T1}],
        }],
    }})
}

#[tokio::test(start_paused = true)]
async fn gateway_status_is_patched_once_then_only_on_change() {
    let (client, mut handle) = mock();
    let mut w = writer(client.clone(), Leadership::always(), T1);
    w.observe(&upsert(gateway_key(), gateway_status(true)));
    // The CRD's default status, as a fresh Gateway has it.
    let pending = json!({"conditions": [
        {"type": "Accepted", "status": "Unknown", "reason": "Pending", "message": "Waiting for controller",
         "lastTransitionTime": "1970-01-01T00:00:00Z"}]});
    let expected = gateway_body("True", "Programmed", T1);
    let (result, (get, patch)) = tokio::join!(w.flush(), async {
        let get = answer(
            &mut handle,
            200,
            object("Gateway", Some("infra"), "gw", "1", pending),
        )
        .await;
        let patch = answer(
            &mut handle,
            200,
            object(
                "Gateway",
                Some("infra"),
                "gw",
                "2",
                expected["status"].clone(),
            ),
        )
        .await;
        (get, patch)
    });
    result.unwrap();
    assert_eq!(get.method, Method::GET);
    assert_eq!(get.path_and_query, GATEWAY_PATH);
    assert_eq!(patch.method, Method::PATCH);
    assert_eq!(
        patch.path_and_query,
        format!("{GATEWAY_PATH}/status?&fieldManager=sluice")
    );
    assert_eq!(
        patch.content_type.as_deref(),
        Some("application/merge-patch+json")
    );
    assert_eq!(patch.body, expected);

    // The same status again: nothing is sent.
    w.observe(&upsert(gateway_key(), gateway_status(true)));
    let (result, ()) = tokio::join!(w.flush(), silent(&mut handle));
    result.unwrap();

    // Programmed flips: one PATCH (no GET), Accepted keeps its transition time.
    let mut w = w.with_clock(at(T2));
    w.observe(&upsert(gateway_key(), gateway_status(false)));
    let expected = gateway_body("False", "Invalid", T2);
    let (result, patch) = tokio::join!(
        w.flush(),
        answer(
            &mut handle,
            200,
            object(
                "Gateway",
                Some("infra"),
                "gw",
                "3",
                expected["status"].clone()
            )
        )
    );
    result.unwrap();
    assert_eq!(patch.method, Method::PATCH);
    assert_eq!(patch.body, expected);
    assert_eq!(w.stats().patches, 2);
    let (result, ()) = tokio::join!(w.flush(), silent(&mut handle));
    result.unwrap();
}

#[tokio::test(start_paused = true)]
async fn status_already_right_on_the_server_is_not_rewritten() {
    let (client, mut handle) = mock();
    let mut w = writer(client, Leadership::always(), T2);
    w.observe(&upsert(gateway_key(), gateway_status(true)));
    // Written by a previous run (or leader) at T1: same conditions, so times are kept.
    let current = gateway_body("True", "Programmed", T1)["status"].clone();
    let (result, (get, ())) = tokio::join!(w.flush(), async {
        let get = answer(
            &mut handle,
            200,
            object("Gateway", Some("infra"), "gw", "9", current),
        )
        .await;
        silent(&mut handle).await;
        (get, ())
    });
    result.unwrap();
    assert_eq!(get.method, Method::GET);
    assert_eq!(w.stats().unchanged, 1);
    assert_eq!(w.stats().patches, 0);
}

#[tokio::test(start_paused = true)]
async fn route_parents_of_other_controllers_are_kept_and_conflicts_retried() {
    let (client, mut handle) = mock();
    let mut w = writer(client, Leadership::always(), T1);
    w.observe(&upsert(route_key(), route_status()));
    let other = json!({"parentRef": {"group": "gateway.networking.k8s.io", "kind": "Gateway",
                                     "namespace": "apps", "name": "theirs"},
                       "controllerName": "example.com/other",
                       "conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted",
                                       "message": "", "lastTransitionTime": "2025-01-01T00:00:00Z"}]});
    let ours = json!({"parentRef": {"group": "gateway.networking.k8s.io", "kind": "Gateway",
                                    "namespace": "infra", "name": "gw", "sectionName": "http"},
                      "controllerName": CONTROLLER,
                      "conditions": [
                          {"type": "Accepted", "status": "True", "reason": "Accepted", "message": "",
                           "observedGeneration": 2, "lastTransitionTime": T1},
                          {"type": "ResolvedRefs", "status": "True", "reason": "ResolvedRefs",
                           "message": "", "observedGeneration": 2, "lastTransitionTime": T1}]});
    let (result, seen) = tokio::join!(w.flush(), async {
        let mut seen = Vec::new();
        seen.push(
            answer(
                &mut handle,
                200,
                object(
                    "HTTPRoute",
                    Some("apps"),
                    "web",
                    "7",
                    json!({"parents": [other.clone()]}),
                ),
            )
            .await,
        );
        seen.push(answer(&mut handle, 409, status_error(409, "Conflict")).await);
        seen.push(
            answer(
                &mut handle,
                200,
                object(
                    "HTTPRoute",
                    Some("apps"),
                    "web",
                    "8",
                    json!({"parents": [other.clone()]}),
                ),
            )
            .await,
        );
        seen.push(
            answer(
                &mut handle,
                200,
                object(
                    "HTTPRoute",
                    Some("apps"),
                    "web",
                    "9",
                    json!({"parents": [other.clone(), ours.clone()]}),
                ),
            )
            .await,
        );
        seen
    });
    result.unwrap();
    let methods: Vec<&Method> = seen.iter().map(|s| &s.method).collect();
    assert_eq!(
        methods,
        [&Method::GET, &Method::PATCH, &Method::GET, &Method::PATCH]
    );
    assert_eq!(
        seen[1].body,
        json!({"metadata": {"resourceVersion": "7"}, "status": {"parents": [other, ours]}})
    );
    assert_eq!(
        seen[3].body,
        json!({"metadata": {"resourceVersion": "8"}, "status": {"parents": [other, ours]}})
    );
    assert_eq!(
        seen[3].path_and_query,
        format!("{ROUTE_PATH}/status?&fieldManager=sluice")
    );
    assert_eq!(w.stats().conflicts, 1);

    // The route is no longer ours: our parent entry is removed, theirs kept.
    w.observe(&delete(route_key()));
    let (result, patch) = tokio::join!(
        w.flush(),
        answer(
            &mut handle,
            200,
            object(
                "HTTPRoute",
                Some("apps"),
                "web",
                "10",
                json!({"parents": [other.clone()]})
            )
        )
    );
    result.unwrap();
    assert_eq!(
        patch.body,
        json!({"metadata": {"resourceVersion": "9"}, "status": {"parents": [other]}})
    );
}

#[tokio::test(start_paused = true)]
async fn gateway_class_status_and_vanished_objects() {
    let (client, mut handle) = mock();
    let mut w = writer(client, Leadership::always(), T1);
    let class = StatusKey {
        kind: StatusKind::GatewayClass,
        namespace: String::new(),
        name: "sluice".into(),
    };
    let accepted = StatusIr::GatewayClass {
        conditions: vec![Condition::new("Accepted", true, "Accepted", "", 1)],
    };
    w.observe(&upsert(class.clone(), accepted));
    w.observe(&upsert(gateway_key(), gateway_status(true)));
    let (result, seen) = tokio::join!(w.flush(), async {
        vec![
            answer(
                &mut handle,
                200,
                object("GatewayClass", None, "sluice", "1", json!({})),
            )
            .await,
            answer(
                &mut handle,
                200,
                object("GatewayClass", None, "sluice", "2", json!({})),
            )
            .await,
            // The Gateway is gone.
            answer(&mut handle, 404, status_error(404, "NotFound")).await,
        ]
    });
    result.unwrap();
    assert_eq!(
        seen[0].path_and_query,
        "/apis/gateway.networking.k8s.io/v1/gatewayclasses/sluice"
    );
    assert_eq!(
        seen[1].path_and_query,
        "/apis/gateway.networking.k8s.io/v1/gatewayclasses/sluice/status?&fieldManager=sluice"
    );
    assert_eq!(
        seen[1].body,
        json!({"status": {"conditions": [{"type": "Accepted", "status": "True",
            "reason": "Accepted", "message": "", "observedGeneration": 1,
            "lastTransitionTime": T1}]}})
    );
    assert_eq!(seen[2].path_and_query, GATEWAY_PATH);
    assert_eq!(w.stats().not_found, 1);
    assert_eq!(w.pending(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_non_leader_sends_nothing_until_it_leads() {
    let (client, mut handle) = mock();
    let (lead, leadership) = watch::channel(false);
    let mut w = writer(client, Leadership::from_receiver(leadership), T1);
    w.observe(&upsert(gateway_key(), gateway_status(true)));
    let (result, ()) = tokio::join!(w.flush(), silent(&mut handle));
    result.unwrap();
    assert_eq!(w.pending(), 1);
    assert_eq!(w.stats(), &Default::default());

    // Leader now: the pending status is written.
    lead.send(true).unwrap();
    let expected = gateway_body("True", "Programmed", T1);
    let (result, (get, patch)) = tokio::join!(w.flush(), async {
        (
            answer(
                &mut handle,
                200,
                object("Gateway", Some("infra"), "gw", "1", json!({})),
            )
            .await,
            answer(
                &mut handle,
                200,
                object(
                    "Gateway",
                    Some("infra"),
                    "gw",
                    "2",
                    expected["status"].clone(),
                ),
            )
            .await,
        )
    });
    result.unwrap();
    assert_eq!(get.method, Method::GET);
    assert_eq!(patch.body, expected);

    // Not leader any more: changes wait.
    lead.send(false).unwrap();
    w.observe(&upsert(gateway_key(), gateway_status(false)));
    let (result, ()) = tokio::join!(w.flush(), silent(&mut handle));
    result.unwrap();
    assert_eq!(w.pending(), 1);
}

#[tokio::test(start_paused = true)]
async fn never_leader_handle_never_writes() {
    let (client, mut handle) = mock();
    let mut w = writer(client, Leadership::never(), T1);
    w.observe(&upsert(gateway_key(), gateway_status(true)));
    w.observe(&upsert(route_key(), route_status()));
    w.observe(&delete(route_key()));
    let (result, ()) = tokio::join!(w.flush(), silent(&mut handle));
    result.unwrap();
}

// ------------------------------------------------------------------------------------------
// Leader lease
// ------------------------------------------------------------------------------------------

const LEASE_PATH: &str =
    "/apis/coordination.k8s.io/v1/namespaces/sluice-system/leases/sluice-leader";

fn lease(holder: &str, renew: &str, transitions: i32, rv: &str) -> Value {
    json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
           "metadata": {"name": "sluice-leader", "namespace": "sluice-system", "resourceVersion": rv},
           "spec": {"holderIdentity": holder, "leaseDurationSeconds": 15,
                    "renewTime": renew, "acquireTime": renew, "leaseTransitions": transitions}})
}

#[tokio::test(start_paused = true)]
async fn lease_is_created_when_absent_and_renewed() {
    let (client, mut handle) = mock();
    let mut elector = LeaderElector::new(client, LeaseConfig::new("sluice-system", "pod-a"));
    let (leader, (get, create)) = tokio::join!(elector.try_acquire_or_renew(), async {
        (
            answer(&mut handle, 404, status_error(404, "NotFound")).await,
            answer(
                &mut handle,
                201,
                lease("pod-a", "2026-01-01T00:00:00.000000Z", 0, "1"),
            )
            .await,
        )
    });
    assert!(leader);
    assert_eq!(get.method, Method::GET);
    assert_eq!(get.path_and_query, LEASE_PATH);
    assert_eq!(create.method, Method::POST);
    assert_eq!(create.body["spec"]["holderIdentity"], "pod-a");
    assert_eq!(create.body["spec"]["leaseDurationSeconds"], 15);
    assert_eq!(create.body["spec"]["leaseTransitions"], 0);

    let (leader, (_, renew)) = tokio::join!(elector.try_acquire_or_renew(), async {
        (
            answer(
                &mut handle,
                200,
                lease("pod-a", "2026-01-01T00:00:00.000000Z", 0, "1"),
            )
            .await,
            answer(
                &mut handle,
                200,
                lease("pod-a", "2026-01-01T00:00:05.000000Z", 0, "2"),
            )
            .await,
        )
    });
    assert!(leader);
    assert_eq!(renew.method, Method::PUT);
    assert_eq!(renew.path_and_query, format!("{LEASE_PATH}?"));
    assert_eq!(renew.body["metadata"]["resourceVersion"], "1");
    assert_eq!(renew.body["spec"]["holderIdentity"], "pod-a");
    assert_eq!(renew.body["spec"]["leaseTransitions"], 0);
    assert_eq!(
        renew.body["spec"]["acquireTime"], "2026-01-01T00:00:00.000000Z",
        "a renewal keeps the acquire time"
    );
}

#[tokio::test(start_paused = true)]
async fn a_live_lease_is_respected_and_an_expired_one_taken_over() {
    let (client, mut handle) = mock();
    let mut elector = LeaderElector::new(client, LeaseConfig::new("sluice-system", "pod-b"));
    let held = lease("pod-a", "2026-01-01T00:00:00.000000Z", 3, "5");
    // pod-a holds it; its record does not change for 10 s: still valid.
    for _ in 0..3 {
        let (leader, get) = tokio::join!(
            elector.try_acquire_or_renew(),
            answer(&mut handle, 200, held.clone())
        );
        assert!(!leader);
        assert_eq!(get.method, Method::GET);
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    // 15 s without a renewal: taken over, with a transition counted.
    let (leader, (_, put)) = tokio::join!(elector.try_acquire_or_renew(), async {
        (
            answer(&mut handle, 200, held.clone()).await,
            answer(
                &mut handle,
                200,
                lease("pod-b", "2026-01-01T00:00:15.000000Z", 4, "6"),
            )
            .await,
        )
    });
    assert!(leader);
    assert_eq!(put.method, Method::PUT);
    assert_eq!(put.body["metadata"]["resourceVersion"], "5");
    assert_eq!(put.body["spec"]["holderIdentity"], "pod-b");
    assert_eq!(put.body["spec"]["leaseTransitions"], 4);
}

#[tokio::test(start_paused = true)]
async fn a_renewed_lease_is_never_taken_over_and_conflicts_lose() {
    let (client, mut handle) = mock();
    let mut elector = LeaderElector::new(client, LeaseConfig::new("sluice-system", "pod-b"));
    // pod-a renews every 5 s: never expires in pod-b's eyes.
    for i in 0..6 {
        let renew = format!("2026-01-01T00:00:{:02}.000000Z", i * 5);
        let (leader, _) = tokio::join!(
            elector.try_acquire_or_renew(),
            answer(&mut handle, 200, lease("pod-a", &renew, 0, &format!("{i}")))
        );
        assert!(!leader);
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    // The holder released it (empty holder): taking it over races another candidate and loses.
    let (leader, (_, put)) = tokio::join!(elector.try_acquire_or_renew(), async {
        (
            answer(
                &mut handle,
                200,
                lease("", "2026-01-01T00:00:30.000000Z", 0, "9"),
            )
            .await,
            answer(&mut handle, 409, status_error(409, "Conflict")).await,
        )
    });
    assert!(!leader);
    assert_eq!(put.method, Method::PUT);
}

#[tokio::test(start_paused = true)]
async fn the_leader_releases_the_lease_on_shutdown_and_a_follower_does_not_write() {
    let (client, mut handle) = mock();
    let elector = LeaderElector::new(client, LeaseConfig::new("sluice-system", "pod-a"));
    let (mut leadership, election) = elector.spawn();
    // First round: absent, created — we lead.
    answer(&mut handle, 404, status_error(404, "NotFound")).await;
    answer(
        &mut handle,
        201,
        lease("pod-a", "2026-01-01T00:00:00.000000Z", 2, "1"),
    )
    .await;
    assert!(leadership.changed().await);
    assert!(leadership.is_leader());

    let (_, (get, put)) = tokio::join!(election.release(), async {
        (
            answer(
                &mut handle,
                200,
                lease("pod-a", "2026-01-01T00:00:00.000000Z", 2, "7"),
            )
            .await,
            answer(
                &mut handle,
                200,
                lease("", "2026-01-01T00:00:01.000000Z", 2, "8"),
            )
            .await,
        )
    });
    assert!(!leadership.is_leader(), "no writes once shutting down");
    assert_eq!(get.method, Method::GET);
    assert_eq!(get.path_and_query, LEASE_PATH);
    assert_eq!(put.method, Method::PUT);
    assert_eq!(put.body["metadata"]["resourceVersion"], "7");
    assert!(
        put.body["spec"].get("holderIdentity").is_none(),
        "released: no holder ({})",
        put.body
    );
    assert_eq!(put.body["spec"]["leaseDurationSeconds"], 1);
    assert_eq!(put.body["spec"]["leaseTransitions"], 2);
    silent(&mut handle).await;

    // A candidate that never led releases nothing.
    let (client, mut handle) = mock();
    let elector = LeaderElector::new(client, LeaseConfig::new("sluice-system", "pod-b"));
    let (_leadership, election) = elector.spawn();
    answer(
        &mut handle,
        200,
        lease("pod-a", "2026-01-01T00:00:00.000000Z", 0, "3"),
    )
    .await;
    election.release().await;
    silent(&mut handle).await;
}
