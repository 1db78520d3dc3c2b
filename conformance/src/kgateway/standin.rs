//! Stand-ins for the backends of a case's manifests, and the EndpointSlices that point their
//! Services at them.
//!
//! sluice ignores Deployments and Pods; upstream's cluster runs them. Here every Service whose
//! selector picks a workload of the manifests (a Pod, or a Deployment/StatefulSet/DaemonSet/
//! ReplicaSet template with replicas other than 0) gets one stand-in on 127.0.0.1, serving
//! every TCP port of the Service on one listener:
//!
//! - the conformance echo ([`crate::echo`], reporting the Service's namespace and name and a
//!   pod `{service}-{random}`), for every app but nginx: it imitates echo-basic exactly and
//!   httpbin's `/headers`, `/get`, `/anything`, `/status/N` well enough (see
//!   [`super::plan::AppNeed`] for what it cannot do);
//! - a static page (`constants.NGINX_RESPONSE`, `Server: nginx/1.28.0`) for Services backed by
//!   an `nginx` image: `/` and `/index.html` answer 200, any other path 404.
//!
//! A Service whose workloads are gone (a step deleted the Pod) keeps its stand-in running but
//! gets no EndpointSlice, as in a cluster. Services that have EndpointSlices in the manifests
//! are left alone.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

use crate::cases::NsName;
use crate::echo::{self, EchoConfig, EchoHandle};
use crate::runner::{Rng, kind, labels, meta};

/// Kinds whose `spec.template` describes pods.
const WORKLOADS: &[&str] = &[
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "Job",
];

/// What answers for a Service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum App {
    Echo,
    NginxPage,
    /// `jmalloc/echo-server`: a WebSocket echo that greets first.
    WebSocket,
}

enum Handle {
    Echo(EchoHandle),
    Page(PageHandle),
    WebSocket(crate::websocket::Echo),
}

impl Handle {
    fn addr(&self) -> SocketAddr {
        match self {
            Handle::Echo(h) => h.http_addr,
            Handle::Page(h) => h.addr,
            Handle::WebSocket(h) => h.addr,
        }
    }
}

/// The running stand-ins of one case.
pub struct StandIns {
    running: BTreeMap<NsName, Handle>,
    nginx_page: Arc<String>,
    rng: Rng,
}

impl StandIns {
    pub fn new(nginx_page: String) -> StandIns {
        StandIns {
            running: BTreeMap::new(),
            nginx_page: Arc::new(nginx_page),
            rng: Rng::seeded(),
        }
    }

    /// Starts a stand-in for each Service of `docs` that has workloads and none yet.
    pub async fn ensure(&mut self, docs: &[Value]) -> anyhow::Result<()> {
        for (id, app) in backed_services(docs) {
            if self.running.contains_key(&id) {
                continue;
            }
            let handle = match app {
                App::Echo => {
                    let pod = format!(
                        "{}-{:08x}-{:05x}",
                        id.name,
                        self.rng.next() & 0xffff_ffff,
                        self.rng.next() & 0xfffff
                    );
                    Handle::Echo(
                        echo::spawn(EchoConfig {
                            namespace: id.namespace.clone(),
                            pod,
                            service: id.name.clone(),
                            http_port: 0,
                            h2c_port: None,
                        })
                        .await
                        .with_context(|| format!("starting the echo stand-in of {id}"))?,
                    )
                }
                App::WebSocket => Handle::WebSocket(
                    crate::websocket::spawn_echo(&format!("Request served by {}", id.name))
                        .await
                        .with_context(|| format!("starting the WebSocket stand-in of {id}"))?,
                ),
                App::NginxPage => Handle::Page(
                    spawn_page(self.nginx_page.clone())
                        .await
                        .with_context(|| format!("starting the nginx stand-in of {id}"))?,
                ),
            };
            self.running.insert(id, handle);
        }
        Ok(())
    }

    /// An EndpointSlice per Service of `docs` that has workloads and a running stand-in, every
    /// TCP port of the Service pointing at the stand-in's listener.
    pub fn endpoint_slices(&self, docs: &[Value]) -> Vec<Value> {
        let manual: BTreeSet<NsName> = docs
            .iter()
            .filter(|d| kind(d) == "EndpointSlice")
            .filter_map(|d| {
                let svc = d["metadata"]["labels"]["kubernetes.io/service-name"].as_str()?;
                Some(NsName::new(&meta(d).namespace, svc))
            })
            .collect();
        let mut out = Vec::new();
        for (id, _) in backed_services(docs) {
            let Some(handle) = self.running.get(&id) else {
                continue;
            };
            if manual.contains(&id) {
                continue;
            }
            let Some(svc) = docs.iter().find(|d| kind(d) == "Service" && meta(d) == id) else {
                continue;
            };
            let ports: Vec<Value> = svc["spec"]["ports"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["protocol"].as_str().is_none_or(|p| p == "TCP"))
                .map(|p| {
                    let mut port = json!({
                        "name": p["name"].as_str().unwrap_or(""),
                        "port": handle.addr().port(),
                        "protocol": "TCP",
                    });
                    if let Some(ap) = p["appProtocol"].as_str() {
                        port["appProtocol"] = json!(ap);
                    }
                    port
                })
                .collect();
            if ports.is_empty() {
                continue;
            }
            out.push(json!({
                "apiVersion": "discovery.k8s.io/v1",
                "kind": "EndpointSlice",
                "metadata": {
                    "name": format!("{}-kgateway-e2e", id.name),
                    "namespace": id.namespace,
                    "labels": {"kubernetes.io/service-name": id.name},
                },
                "addressType": "IPv4",
                "endpoints": [{"addresses": ["127.0.0.1"], "conditions": {"ready": true}}],
                "ports": ports,
            }));
        }
        out
    }

    pub async fn stop(self) {
        for (_, h) in self.running {
            match h {
                Handle::Echo(e) => e.shutdown().await,
                Handle::Page(p) => p.shutdown().await,
                Handle::WebSocket(w) => drop(w),
            }
        }
    }
}

/// The Services of `docs` whose selector picks a running workload, with the app that answers
/// for them (from the first such workload's images).
pub fn backed_services(docs: &[Value]) -> Vec<(NsName, App)> {
    // (namespace, pod labels, images) of every workload that has pods.
    let mut pods: Vec<(String, BTreeMap<String, String>, Vec<String>)> = Vec::new();
    for d in docs {
        let k = kind(d);
        let (labels_v, spec) = if k == "Pod" {
            (&d["metadata"]["labels"], &d["spec"])
        } else if WORKLOADS.contains(&k) {
            if d["spec"]["replicas"].as_u64() == Some(0) {
                continue;
            }
            (
                &d["spec"]["template"]["metadata"]["labels"],
                &d["spec"]["template"]["spec"],
            )
        } else {
            continue;
        };
        let images = spec["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["image"].as_str().map(str::to_string))
            .collect();
        pods.push((meta(d).namespace, labels(labels_v), images));
    }
    let mut out = Vec::new();
    for svc in docs.iter().filter(|d| kind(d) == "Service") {
        if svc["spec"]["type"] == "ExternalName" {
            continue;
        }
        let id = meta(svc);
        let selector = labels(&svc["spec"]["selector"]);
        if selector.is_empty() {
            continue;
        }
        let Some((_, _, images)) = pods.iter().find(|(ns, l, _)| {
            *ns == id.namespace && selector.iter().all(|(k, v)| l.get(k) == Some(v))
        }) else {
            continue;
        };
        let app = if images.iter().any(|i| is_nginx(i)) {
            App::NginxPage
        } else if images.iter().any(|i| image_name(i) == "echo-server") {
            App::WebSocket
        } else {
            App::Echo
        };
        if !out.iter().any(|(i, _)| *i == id) {
            out.push((id, app));
        }
    }
    out
}

/// `nginx:1.28.0`, `docker.io/library/nginx`, … (not `nginx-ingress` and the like).
fn is_nginx(image: &str) -> bool {
    image_name(image) == "nginx"
}

/// `jmalloc/echo-server:v0.3.7` → `echo-server`.
fn image_name(image: &str) -> &str {
    let name = image.rsplit('/').next().unwrap_or(image);
    name.split(['@', ':']).next().unwrap_or(name)
}

/// A static-page server on 127.0.0.1.
struct PageHandle {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl PageHandle {
    async fn shutdown(mut self) {
        self.task.abort();
        // Cancelled: either way it is gone.
        let _ = (&mut self.task).await;
    }
}

impl Drop for PageHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn spawn_page(page: Arc<String>) -> std::io::Result<PageHandle> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        // Connections live in this set, so aborting the task closes them all.
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        let page = page.clone();
                        connections.spawn(async move {
                            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                                let page = page.clone();
                                async move { Ok::<_, std::convert::Infallible>(page_response(&req, &page)) }
                            });
                            let _ = auto::Builder::new(TokioExecutor::new())
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        });
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                },
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
    });
    Ok(PageHandle { addr, task })
}

fn page_response(req: &Request<Incoming>, page: &str) -> Response<Full<Bytes>> {
    let (status, body) = match req.uri().path() {
        "/" | "/index.html" => (StatusCode::OK, format!("{page}\n")),
        _ => (
            StatusCode::NOT_FOUND,
            "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx/1.28.0</center>\r\n</body>\r\n</html>\r\n".to_string(),
        ),
    };
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(
        "server",
        hyper::header::HeaderValue::from_static("nginx/1.28.0"),
    );
    h.insert(
        "content-type",
        hyper::header::HeaderValue::from_static("text/html"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_follow_workloads() {
        let docs = vec![
            json!({"kind": "Service", "metadata": {"name": "web", "namespace": "n"},
                   "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80}]}}),
            json!({"kind": "Pod", "metadata": {"name": "p", "namespace": "n", "labels": {"app": "web"}},
                   "spec": {"containers": [{"image": "nginx:1.28.0"}]}}),
            json!({"kind": "Service", "metadata": {"name": "bin", "namespace": "n"},
                   "spec": {"selector": {"app": "bin"}, "ports": [{"port": 8000}]}}),
            json!({"kind": "Deployment", "metadata": {"name": "bin", "namespace": "n"},
                   "spec": {"template": {"metadata": {"labels": {"app": "bin"}},
                            "spec": {"containers": [{"image": "docker.io/mccutchen/go-httpbin:v2.6.0"}]}}}}),
            json!({"kind": "Service", "metadata": {"name": "orphan", "namespace": "n"},
                   "spec": {"selector": {"app": "none"}, "ports": [{"port": 1}]}}),
        ];
        assert_eq!(
            backed_services(&docs),
            vec![
                (NsName::new("n", "web"), App::NginxPage),
                (NsName::new("n", "bin"), App::Echo)
            ]
        );
        assert!(is_nginx("docker.io/library/nginx@sha256:abc"));
        assert!(!is_nginx("nginx-ingress:1"));
    }
}
