//! Issue 16 (first part): ListenerPolicies change what real Envoys (SotW and Delta) do.

use super::*;
use sluice_conformance::websocket;

fn listener_policy(name: &str, targets: &str, body: &str) -> String {
    format!(
        "apiVersion: gateway.kgateway.dev/v1alpha1
kind: ListenerPolicy
metadata: {{ name: {name}, namespace: {NS} }}
spec:
  targetRefs: {targets}
{body}"
    )
}

/// A WebSocket exchange through `port`: the greeting, then one message echoed.
async fn websocket_echoes(port: u16) -> Result<(), String> {
    let mut c = websocket::Client::connect(port, HOST, "/ws")
        .await
        .map_err(|r| format!("upgrade refused: {}", r.0))?;
    let io = |e: std::io::Error| e.to_string();
    let greeting = c.recv_text().await.map_err(io)?;
    if greeting != "greeting from ws-0" {
        return Err(format!("greeting {greeting:?}"));
    }
    c.send_text("e2e-ping").await.map_err(io)?;
    match c.recv_text().await.map_err(io)? {
        m if m == "e2e-ping" => Ok(()),
        m => Err(format!("echoed {m:?}")),
    }
}

/// A ListenerPolicy on both Gateways: WebSocket upgrades pass (and are refused without it),
/// the health check path is answered by Envoy itself, the server header is renamed, and the
/// access log gets one JSON line per request its filter keeps (errors, not health checks);
/// deleting the policy takes all of it back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listener_policies_change_what_envoy_does() {
    let echo_a = echo_backend("echo-a").await;
    let ws = websocket::spawn_echo("greeting from ws-0")
        .await
        .expect("websocket echo");
    let [port_sotw, port_delta] = common::free_ports(2)[..] else {
        unreachable!()
    };
    let parents = ["gw-sotw", "gw-delta"];
    let mut w = World::start(&[
        ("00-class.yaml", gateway_class()),
        (
            "10-gateways.yaml",
            gateways(&[("gw-sotw", port_sotw), ("gw-delta", port_delta)]),
        ),
        ("20-svc-a.yaml", service("svc-a")),
        (
            "21-eps-a.yaml",
            endpoint_slice("svc-a", echo_a.http_addr.port()),
        ),
        ("22-svc-ws.yaml", service("svc-ws")),
        ("23-eps-ws.yaml", endpoint_slice("svc-ws", ws.addr.port())),
        ("40-route-a.yaml", route("route-a", &parents, "/a", "svc-a")),
        (
            "41-route-ws.yaml",
            route("route-ws", &parents, "/ws", "svc-ws"),
        ),
    ])
    .await;
    let started = Instant::now();
    w.add_proxy("envoy-sotw", "gw-sotw", port_sotw, false);
    w.add_proxy("envoy-delta", "gw-delta", port_delta, true);
    w.converge(
        "initial configuration",
        started,
        STARTUP,
        &[("/a", Expect::Backend("echo-a"))],
    )
    .await;
    for p in &w.proxies {
        assert!(
            websocket_echoes(p.port).await.is_err(),
            "{}: an upgrade passed with no upgrade configured",
            p.name
        );
    }

    let log = w.work.path().join("access.log");
    let targets = "[{ group: gateway.networking.k8s.io, kind: Gateway, name: gw-sotw }, \
                   { group: gateway.networking.k8s.io, kind: Gateway, name: gw-delta }]";
    w.write(
        "50-listener-policy.yaml",
        &listener_policy(
            "lp",
            targets,
            &format!(
                "  default:
    httpSettings:
      upgradeConfig: {{ enabledUpgrades: [websocket] }}
      healthCheck: {{ path: /healthz }}
      serverName: sluice-edge
      accessLog:
        - fileSink:
            path: {}
            jsonFormat: {{ code: \"%RESPONSE_CODE%\", path: \"%REQ(:PATH)%\", port: \"%DOWNSTREAM_LOCAL_PORT%\" }}
          filter:
            andFilter: [{{ notHealthCheckFilter: true }}, {{ statusCodeFilter: {{ op: GE, value: 400 }} }}]
",
                log.display()
            ),
        ),
    );
    until(&w, "the health check answered by Envoy", "/healthz", |r| {
        r.status == 200 && r.body.is_empty() && r.header("server") == Some("sluice-edge")
    })
    .await;
    until(&w, "the server name on routed answers", "/a", |r| {
        r.status == 200 && r.header("server") == Some("sluice-edge")
    })
    .await;
    for p in &w.proxies {
        let started = Instant::now();
        while let Err(e) = websocket_echoes(p.port).await {
            assert!(
                started.elapsed() < CONVERGE,
                "{}: no WebSocket echo: {e}\n{}",
                p.name,
                w.diagnostics()
            );
            tokio::time::sleep(POLL).await;
        }
    }

    // One line per kept request: the 404s, not the 200 nor the health check.
    for p in &w.proxies {
        let miss = common::http_get(
            p.port,
            HOST,
            &format!("/missing-{}", p.port),
            REQUEST_TIMEOUT,
        )
        .await
        .expect("an answer");
        assert_eq!(miss.status, 404, "{}", p.name);
    }
    let wanted: Vec<String> = w
        .proxies
        .iter()
        .map(|p| format!(r#"{{"code":404,"path":"/missing-{0}","port":{0}}}"#, p.port))
        .collect();
    let started = Instant::now();
    let lines = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
            .collect();
        let have = |want: &String| {
            let want: serde_json::Value = serde_json::from_str(want).unwrap();
            lines.contains(&want)
        };
        if wanted.iter().all(have) {
            break lines;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "access log lines missing; have:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        lines.iter().all(|l| l["code"] == 404),
        "the filter keeps errors only: {lines:?}"
    );

    // Without the policy: the backend answers /healthz (404 from no route), upgrades fail.
    w.remove("50-listener-policy.yaml");
    until(&w, "the policy gone", "/healthz", |r| {
        r.status == 404 && r.header("server") == Some("envoy")
    })
    .await;
    for p in &w.proxies {
        assert!(websocket_echoes(p.port).await.is_err(), "{}", p.name);
    }
}
