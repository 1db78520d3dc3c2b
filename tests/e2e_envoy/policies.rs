//! Issue 11: TrafficPolicies change what real Envoys (SotW and Delta) do.

use super::*;

/// Issue 11: TrafficPolicies attached to routes and Gateways change what real Envoys (SotW
/// and Delta) do — header edits merged field-wise with the route level winning, request
/// timeouts, retries, a path regex rewrite — and a security sub-policy sluice cannot enforce
/// closes its route (500) instead of leaving it open, until the policy goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traffic_policies_change_what_envoy_does() {
    let echo_a = echo_backend("echo-a").await;
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
            "30-eps-a.yaml",
            endpoint_slice("svc-a", echo_a.http_addr.port()),
        ),
        ("40-route-a.yaml", route("route-a", &parents, "/a", "svc-a")),
        ("41-route-b.yaml", route("route-b", &parents, "/b", "svc-a")),
        (
            "42-route-r.yaml",
            route("route-r", &parents, "/retry", "svc-a"),
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
        &[
            ("/a", Expect::Backend("echo-a")),
            ("/b", Expect::Backend("echo-a")),
        ],
    )
    .await;

    // A Gateway-level policy reaches every route; a route-level one wins its field whole.
    let gw_targets = "[{ group: gateway.networking.k8s.io, kind: Gateway, name: gw-sotw }, \
                      { group: gateway.networking.k8s.io, kind: Gateway, name: gw-delta }]";
    w.write(
        "50-tp-gateway.yaml",
        &traffic_policy(
            "tp-gateway",
            gw_targets,
            "  headerModifiers:\n    request:\n      set: [{ name: x-policy, value: gateway }, { name: x-gw, value: \"1\" }]\n",
        ),
    );
    until(&w, "Gateway-level header policy", "/b", |r| {
        saw(r, "X-Policy").1.as_deref() == Some("gateway")
    })
    .await;
    w.write(
        "51-tp-route-a.yaml",
        &traffic_policy(
            "tp-route-a",
            &route_target("route-a"),
            "  headerModifiers:\n    request:\n      set: [{ name: x-policy, value: route }]\n  \
             urlRewrite:\n    pathRegex: { pattern: \"^/a/old\", substitution: /a/new }\n  \
             timeouts: { request: 300ms }\n",
        ),
    );
    until(&w, "route-level policy wins its field", "/a/old/x", |r| {
        r.status == 200
            && saw(r, "X-Policy").1.as_deref() == Some("route")
            && saw(r, "X-Gw").1.is_none()
            && saw(r, "X-Policy").0 == "/a/new/x"
    })
    .await;
    until(&w, "the route's policy timeout", "/a?delay=2s", |r| {
        r.status == 504
    })
    .await;
    until(&w, "the Gateway's policy still on route-b", "/b", |r| {
        saw(r, "X-Policy").1.as_deref() == Some("gateway")
            && saw(r, "X-Gw").1.as_deref() == Some("1")
    })
    .await;

    // Retries: without the policy the first 503 is the answer; with it, the second try's 200.
    let retry_path = |n: u32| format!("/retry/x?uuid=e2e-{n}&succeedAfter=1&responseCode=503");
    let first = w.proxies[0].get(&retry_path(0)).await.expect("an answer");
    assert_eq!(
        first.status,
        503,
        "no retry without a policy: {}",
        short(&first.body)
    );
    w.write(
        "52-tp-route-r.yaml",
        &traffic_policy(
            "tp-route-r",
            &route_target("route-r"),
            "  retry: { attempts: 2, retryOn: [5xx], statusCodes: [503] }\n",
        ),
    );
    let mut n = 1;
    let started = Instant::now();
    'proxies: for p in &w.proxies {
        loop {
            n += 1;
            let r = p.get(&retry_path(n)).await.expect("an answer");
            if r.status == 200 {
                continue 'proxies;
            }
            assert!(
                started.elapsed() < CONVERGE,
                "{}: the retry policy never took: {} {}",
                p.name,
                r.status,
                short(&r.body)
            );
            tokio::time::sleep(POLL).await;
        }
    }

    // RBAC by CEL: only `x-user: admin` passes.
    w.write(
        "53-tp-rbac.yaml",
        &traffic_policy(
            "tp-rbac",
            &route_target("route-b"),
            "  rbac:\n    action: Allow\n    policy:\n      matchExpressions: [\"request.headers['x-user'] == 'admin'\"]\n",
        ),
    );
    until(&w, "rbac refuses a request without the header", "/b", |r| {
        r.status == 403
    })
    .await;
    for p in &w.proxies {
        let ok = common::http_request(
            p.port,
            "GET",
            HOST,
            "/b",
            &[("x-user", "admin")],
            REQUEST_TIMEOUT,
        )
        .await
        .expect("an answer");
        assert_eq!(
            ok.status,
            200,
            "{}: x-user admin: {}",
            p.name,
            short(&ok.body)
        );
    }
    // A security sub-policy that cannot be enforced (CEL that does not parse) closes its
    // route, and says so.
    w.write(
        "53-tp-rbac.yaml",
        &traffic_policy(
            "tp-rbac",
            &route_target("route-b"),
            "  rbac:\n    action: Allow\n    policy:\n      matchExpressions: [\"request.headers['x-user' ==\"]\n",
        ),
    );
    until(&w, "an invalid rbac policy closes its route", "/b", |r| {
        r.status == 500
    })
    .await;
    until(&w, "other routes stay open", "/a", |r| r.status == 200).await;
    let debug = common::http_get(w.admin_port, "localhost", "/debug/xds", REQUEST_TIMEOUT)
        .await
        .expect("/debug/xds");
    let doc: serde_json::Value = serde_json::from_str(&debug.body).expect("JSON");
    let status = doc["statuses"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["kind"] == "TrafficPolicy" && s["name"] == "tp-rbac")
        .unwrap_or_else(|| panic!("no status for tp-rbac in {}", doc["statuses"]));
    let accepted = &status["status"]["ancestors"][0]["conditions"][0];
    assert_eq!(accepted["status"], "False", "{status}");
    assert_eq!(accepted["reason"], "Invalid", "{status}");
    assert!(
        accepted["message"]
            .as_str()
            .unwrap_or_default()
            .contains("spec.rbac"),
        "{status}"
    );
    w.remove("53-tp-rbac.yaml");
    until(&w, "the rbac policy gone", "/b", |r| r.status == 200).await;

    // Filter sub-policies: a fault abort, a local rate limit, basic auth (user `alice`,
    // password `secret`: `{SHA}` of it, base64).
    w.write(
        "54-tp-filters.yaml",
        &traffic_policy(
            "tp-filters",
            &route_target("route-b"),
            "  faultInjection: { abort: { httpStatus: 418, percentage: 100 } }\n",
        ),
    );
    until(&w, "fault injection", "/b", |r| r.status == 418).await;
    w.write(
        "54-tp-filters.yaml",
        &traffic_policy(
            "tp-filters",
            &route_target("route-b"),
            "  rateLimit: { local: { tokenBucket: { maxTokens: 1, tokensPerFill: 1, fillInterval: 1h } } }\n",
        ),
    );
    until(&w, "local rate limit", "/b", |r| r.status == 429).await;
    w.write(
        "54-tp-filters.yaml",
        &traffic_policy(
            "tp-filters",
            &route_target("route-b"),
            "  basicAuth: { users: [\"alice:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\"] }\n",
        ),
    );
    until(&w, "basic auth without credentials", "/b", |r| {
        r.status == 401
    })
    .await;
    for p in &w.proxies {
        let ok = common::http_request(
            p.port,
            "GET",
            HOST,
            "/b",
            &[("Authorization", "Basic YWxpY2U6c2VjcmV0")],
            REQUEST_TIMEOUT,
        )
        .await
        .expect("an answer");
        assert_eq!(
            ok.status,
            200,
            "{}: alice:secret: {}",
            p.name,
            short(&ok.body)
        );
        let bad = common::http_request(
            p.port,
            "GET",
            HOST,
            "/b",
            &[("Authorization", "Basic YWxpY2U6d3Jvbmc=")],
            REQUEST_TIMEOUT,
        )
        .await
        .expect("an answer");
        assert_eq!(bad.status, 401, "{}: alice:wrong", p.name);
    }
    until(&w, "routes the filters do not reach", "/a", |r| {
        r.status == 200
    })
    .await;
    // CSRF: a POST from another origin is refused, one from the route's own host is not.
    w.write(
        "54-tp-filters.yaml",
        &traffic_policy(
            "tp-filters",
            &route_target("route-b"),
            "  csrf: { percentageEnabled: 100 }\n",
        ),
    );
    let post = |port: u16, origin: &'static str| async move {
        common::http_request(
            port,
            "POST",
            HOST,
            "/b",
            &[("Origin", origin)],
            REQUEST_TIMEOUT,
        )
        .await
        .map(|r| r.status)
    };
    let started = Instant::now();
    for p in &w.proxies {
        while post(p.port, "https://evil.example").await != Ok(403) {
            assert!(
                started.elapsed() < CONVERGE,
                "{}: CSRF never refused a foreign origin",
                p.name
            );
            tokio::time::sleep(POLL).await;
        }
        assert_eq!(
            post(p.port, "http://e2e.example.com").await,
            Ok(200),
            "{}: same origin",
            p.name
        );
    }
    w.remove("54-tp-filters.yaml");
    until(&w, "filters gone", "/b", |r| r.status == 200).await;
    w.assert_nothing_rejected("with policies").await;
    drop(echo_a);
}

fn secret(name: &str, data: &str) -> String {
    format!(
        "apiVersion: v1
kind: Secret
metadata: {{ name: {name}, namespace: {NS} }}
type: Opaque
stringData: {data}
"
    )
}

/// One request with headers to every proxy until `ok` holds for its answer.
async fn until_with(
    w: &World,
    what: &str,
    (method, path, body): (&str, &str, &[u8]),
    headers: &[(&str, &str)],
    ok: impl Fn(&HttpResponse) -> bool,
) {
    let started = Instant::now();
    for p in &w.proxies {
        loop {
            let r = common::http_request_with_body(
                p.port,
                (method, HOST, path),
                headers,
                body,
                REQUEST_TIMEOUT,
            )
            .await;
            if matches!(&r, Ok(resp) if ok(resp)) {
                break;
            }
            assert!(
                started.elapsed() < CONVERGE,
                "{what}: {} answered {method} {path} {headers:?} with {:?}",
                p.name,
                r.map(|r| (r.status, short(&r.body).to_string(), r.headers))
            );
            tokio::time::sleep(POLL).await;
        }
    }
}

/// Issue 11: the sub-policies that read Secrets (API keys, an htpasswd file, a header value)
/// follow their Secrets and fail closed without them; response compression negotiates
/// gzip/brotli/zstd with the client; request decompression inflates what reaches the
/// backend; `statPrefix` names the route's statistics; a tracing override reaches Envoy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_codec_and_route_field_policies_change_what_envoy_does() {
    let echo_a = echo_backend("echo-a").await;
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
            "30-eps-a.yaml",
            endpoint_slice("svc-a", echo_a.http_addr.port()),
        ),
        ("40-route-a.yaml", route("route-a", &parents, "/a", "svc-a")),
        ("41-route-b.yaml", route("route-b", &parents, "/b", "svc-a")),
    ])
    .await;
    let started = Instant::now();
    w.add_proxy("envoy-sotw", "gw-sotw", port_sotw, false);
    w.add_proxy("envoy-delta", "gw-delta", port_delta, true);
    w.converge(
        "initial configuration",
        started,
        STARTUP,
        &[
            ("/a", Expect::Backend("echo-a")),
            ("/b", Expect::Backend("echo-a")),
        ],
    )
    .await;
    let get = |path: &'static str| ("GET", path, &b""[..]);

    // API keys from a Secret: none or a wrong one is 401, a right one passes with the
    // client's name; an edit to the Secret is followed; without it the route is closed.
    w.write("50-keys.yaml", &secret("keys", "{ client1: k-123 }"));
    w.write(
        "51-tp-keys.yaml",
        &traffic_policy(
            "tp-keys",
            &route_target("route-b"),
            "  apiKeyAuth:\n    keySources: [{ header: api-key }, { query: key }]\n    \
             clientIdHeader: x-client\n    secretRef: { name: keys }\n",
        ),
    );
    until(&w, "api key auth without a key", "/b", |r| r.status == 401).await;
    until_with(&w, "a wrong key", get("/b"), &[("api-key", "nope")], |r| {
        r.status == 401
    })
    .await;
    until_with(&w, "the key", get("/b"), &[("api-key", "k-123")], |r| {
        r.status == 200 && saw(r, "X-Client").1.as_deref() == Some("client1")
    })
    .await;
    until(&w, "the key in the query", "/b?key=k-123", |r| {
        r.status == 200
    })
    .await;
    w.write("50-keys.yaml", &secret("keys", "{ client2: k-456 }"));
    until_with(
        &w,
        "the old key after the edit",
        get("/b"),
        &[("api-key", "k-123")],
        |r| r.status == 401,
    )
    .await;
    until_with(&w, "the new key", get("/b"), &[("api-key", "k-456")], |r| {
        r.status == 200 && saw(r, "X-Client").1.as_deref() == Some("client2")
    })
    .await;
    w.remove("50-keys.yaml");
    until_with(
        &w,
        "no Secret: closed",
        get("/b"),
        &[("api-key", "k-456")],
        |r| r.status == 500,
    )
    .await;
    until(&w, "other routes stay open", "/a", |r| r.status == 200).await;
    w.remove("51-tp-keys.yaml");
    until(&w, "the policy gone", "/b", |r| r.status == 200).await;

    // basicAuth from a Secret's htpasswd file (alice:secret), a header from a Secret.
    w.write(
        "52-users.yaml",
        &secret(
            "users",
            "{ .htpasswd: \"alice:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\", token: s3cret }",
        ),
    );
    w.write(
        "53-tp-users.yaml",
        &traffic_policy(
            "tp-users",
            &route_target("route-b"),
            "  basicAuth: { secretRef: { name: users } }\n  headerModifiers:\n    request:\n      \
             set: [{ name: x-token, secretRef: { name: users, key: token } }]\n",
        ),
    );
    until(&w, "basic auth from a Secret", "/b", |r| r.status == 401).await;
    until_with(
        &w,
        "alice, and the Secret's header",
        get("/b"),
        &[("Authorization", "Basic YWxpY2U6c2VjcmV0")],
        |r| r.status == 200 && saw(r, "X-Token").1.as_deref() == Some("s3cret"),
    )
    .await;
    w.remove("53-tp-users.yaml");
    until(&w, "basic auth gone", "/b", |r| r.status == 200).await;

    // Compression: the client's preference among the policy's libraries; none unasked.
    w.write(
        "54-tp-codecs.yaml",
        &traffic_policy(
            "tp-codecs",
            &route_target("route-a"),
            "  compression:\n    responseCompression: { libraries: [Brotli, Gzip] }\n    \
             requestDecompression: {}\n  \
             statPrefix: \"{{route_namespace}}-{{ route_name }}-stats\"\n  \
             tracing: { randomSampling: 42 }\n",
        ),
    );
    for (accept, want) in [("gzip", "gzip"), ("br", "br"), ("gzip;q=0.5, br", "br")] {
        until_with(
            &w,
            "response compression",
            get("/a"),
            &[("Accept-Encoding", accept)],
            |r| r.status == 200 && r.header("content-encoding") == Some(want),
        )
        .await;
    }
    for p in &w.proxies {
        let plain = common::http_get(p.port, HOST, "/a", REQUEST_TIMEOUT)
            .await
            .expect("an answer");
        assert_eq!(
            plain.header("content-encoding"),
            None,
            "{}: unasked",
            p.name
        );
        let other = common::http_request(
            p.port,
            "GET",
            HOST,
            "/b",
            &[("Accept-Encoding", "gzip")],
            REQUEST_TIMEOUT,
        )
        .await
        .expect("an answer");
        assert_eq!(
            other.header("content-encoding"),
            None,
            "{}: /b has no policy",
            p.name
        );
    }
    // A gzip request body is inflated before the backend (Envoy counts it).
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &[b'x'; 4096]).expect("gzip");
    let body = gz.finish().expect("gzip");
    until_with(
        &w,
        "a gzip body",
        ("POST", "/a", &body),
        &[("Content-Encoding", "gzip"), ("Content-Type", "text/plain")],
        |r| r.status == 200,
    )
    .await;
    for p in &w.proxies {
        let inflated: u64 = p
            .stats("decompressor")
            .await
            .iter()
            .filter(|(k, _)| k.ends_with("request.decompressed"))
            .map(|(_, v)| v)
            .sum();
        assert!(inflated >= 1, "{}: no request decompressed", p.name);
        // The route's own statistics carry its statPrefix.
        let routed: u64 = p
            .stats("e2e-route-a-stats")
            .await
            .iter()
            .filter(|(k, _)| k.contains(".route.e2e-route-a-stats.upstream_rq_total"))
            .map(|(_, v)| v)
            .sum();
        assert!(
            routed >= 1,
            "{}: no route statistics under the prefix",
            p.name
        );
        // The tracing override is in the route Envoy took (its provider is a listener's).
        let dump = common::http_get(p.admin_port, "localhost", "/config_dump", REQUEST_TIMEOUT)
            .await
            .expect("config dump");
        assert!(
            dump.body.contains("\"random_sampling\"") && dump.body.contains("\"numerator\": 42"),
            "{}: no tracing override in the config dump",
            p.name
        );
    }
    w.remove("54-tp-codecs.yaml");
    until_with(
        &w,
        "compression gone",
        get("/a"),
        &[("Accept-Encoding", "gzip")],
        |r| r.status == 200 && r.header("content-encoding").is_none(),
    )
    .await;
    w.assert_nothing_rejected("with secret and codec policies")
        .await;
    drop(echo_a);
}
