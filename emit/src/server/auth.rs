//! Who a stream's peer is, before it gets anything: the Gateways it may serve.
//!
//! - [`Auth::Insecure`] (`--insecure-xds`): anyone, as the node claims;
//! - [`Auth::Verified`]: a TLS client certificate issued by sluice's CA names one Gateway
//!   ([`crate::pki`]), or, with a [`TokenReviewer`], a ServiceAccount token in the
//!   `authorization: Bearer …` metadata, checked with a Kubernetes TokenReview, binds the
//!   ServiceAccount `ns/name` to the Gateway `ns/name` (the proxy ServiceAccount a deployer
//!   creates per Gateway, named after it). A stream with neither is refused
//!   (`UNAUTHENTICATED`); a node naming another Gateway than its identity's gets
//!   `PERMISSION_DENIED` (see `stream`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::authentication::v1::{TokenReview, TokenReviewSpec};
use kube::api::PostParams;
use sha2::{Digest, Sha256};
use tonic::{Request, Status};

use crate::cache::GatewayId;

/// How long a TokenReview's answer is reused.
const TOKEN_CACHE_TTL: Duration = Duration::from_secs(60);
/// Tokens remembered at most (a flood of bad tokens must not grow memory).
const TOKEN_CACHE_MAX: usize = 10_000;

/// What the server requires of a peer.
#[derive(Clone, Debug)]
pub enum Auth {
    /// Plaintext and unauthenticated: the node's own claim decides.
    Insecure,
    /// TLS, and a client certificate or (with a reviewer) a ServiceAccount token.
    Verified { tokens: Option<Arc<TokenReviewer>> },
}

/// Who a peer proved to be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Identity {
    /// Anyone (insecure mode).
    Anyone,
    /// The Gateways the peer may serve, and how it proved it (for logs).
    Bound {
        gateways: BTreeSet<GatewayId>,
        proof: String,
    },
}

impl Identity {
    /// The Gateway the stream serves: the node's claim, checked against the identity; a node
    /// claiming nothing serves its identity's only Gateway.
    pub fn resolve(&self, claimed: Option<GatewayId>) -> Result<Option<GatewayId>, Status> {
        match (self, claimed) {
            (Identity::Anyone, claimed) => Ok(claimed),
            (Identity::Bound { gateways, .. }, Some(gw)) if gateways.contains(&gw) => Ok(Some(gw)),
            (Identity::Bound { gateways, proof }, Some(gw)) => {
                Err(Status::permission_denied(format!(
                    "the node names Gateway {gw}, but its credentials ({proof}) are bound to {}",
                    join(gateways)
                )))
            }
            (Identity::Bound { gateways, .. }, None) if gateways.len() == 1 => {
                Ok(gateways.first().cloned())
            }
            (Identity::Bound { .. }, None) => Ok(None),
        }
    }
}

fn join(gateways: &BTreeSet<GatewayId>) -> String {
    let names: Vec<&str> = gateways.iter().map(GatewayId::as_str).collect();
    names.join(", ")
}

impl Auth {
    /// The peer's identity, or `UNAUTHENTICATED`.
    pub async fn identify<T>(&self, request: &Request<T>) -> Result<Identity, Status> {
        let Auth::Verified { tokens } = self else {
            return Ok(Identity::Anyone);
        };
        if let Some(certs) = request.peer_certs()
            && let Some(leaf) = certs.first()
        {
            return match crate::pki::gateway_of_certificate(leaf) {
                Some(gw) => Ok(Identity::Bound {
                    proof: format!("client certificate of {gw}"),
                    gateways: [gw].into(),
                }),
                None => Err(Status::unauthenticated(
                    "the client certificate names no Gateway (spiffe://sluice/ns/NS/gateway/NAME)",
                )),
            };
        }
        let bearer = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        match (bearer, tokens) {
            (Some(token), Some(reviewer)) => reviewer.review(token.trim()).await,
            (Some(_), None) => Err(Status::unauthenticated(
                "ServiceAccount tokens are not accepted here (no cluster); present a client certificate from `sluice bootstrap`",
            )),
            (None, _) => Err(Status::unauthenticated(
                "xDS requires a client certificate from `sluice bootstrap` or a ServiceAccount token (authorization: Bearer)",
            )),
        }
    }
}

/// A TokenReview's answer: the identity, or why the token was rejected.
type Review = (Instant, Result<Identity, String>);

/// Checks ServiceAccount tokens with the Kubernetes TokenReview API, caching answers briefly.
pub struct TokenReviewer {
    client: kube::Client,
    audience: String,
    /// SHA-256 of a token → when it was reviewed and the answer.
    cache: Mutex<BTreeMap<[u8; 32], Review>>,
}

impl std::fmt::Debug for TokenReviewer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenReviewer")
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

impl TokenReviewer {
    /// Tokens must carry `audience`.
    pub fn new(client: kube::Client, audience: &str) -> TokenReviewer {
        TokenReviewer {
            client,
            audience: audience.to_string(),
            cache: Mutex::new(BTreeMap::new()),
        }
    }

    async fn review(&self, token: &str) -> Result<Identity, Status> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let cached = {
            let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            cache
                .get(&digest)
                .filter(|(at, _)| at.elapsed() < TOKEN_CACHE_TTL)
                .map(|(_, r)| r.clone())
        };
        let result = match cached {
            Some(r) => r,
            None => {
                let r = self.ask(token).await;
                // A failure to reach the API server is not remembered: the next try may work.
                if let Ok(answer) = &r {
                    let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
                    if cache.len() >= TOKEN_CACHE_MAX {
                        cache.retain(|_, (at, _)| at.elapsed() < TOKEN_CACHE_TTL);
                        if cache.len() >= TOKEN_CACHE_MAX {
                            cache.clear();
                        }
                    }
                    cache.insert(digest, (Instant::now(), answer.clone()));
                }
                r.map_err(|e| Status::unavailable(format!("TokenReview failed: {e}")))?
            }
        };
        result.map_err(Status::unauthenticated)
    }

    /// `Err` when the API server cannot be asked; `Ok(Err)` when it rejects the token.
    async fn ask(&self, token: &str) -> Result<Result<Identity, String>, kube::Error> {
        let api: kube::Api<TokenReview> = kube::Api::all(self.client.clone());
        let review = TokenReview {
            spec: TokenReviewSpec {
                token: Some(token.to_string()),
                audiences: Some(vec![self.audience.clone()]),
            },
            ..Default::default()
        };
        let answer = api.create(&PostParams::default(), &review).await?;
        let status = answer.status.unwrap_or_default();
        if status.authenticated != Some(true) {
            let why = status.error.unwrap_or_else(|| "not authenticated".into());
            return Ok(Err(format!("the ServiceAccount token was rejected: {why}")));
        }
        if let Some(audiences) = &status.audiences
            && !audiences.contains(&self.audience)
        {
            return Ok(Err(format!(
                "the token is not for audience {:?}",
                self.audience
            )));
        }
        let user = status.user.and_then(|u| u.username).unwrap_or_default();
        Ok(service_account_gateway(&user).ok_or_else(|| {
            format!("{user:?} is not a ServiceAccount (system:serviceaccount:NS:NAME)")
        }))
    }
}

/// `system:serviceaccount:ns:name` → the Gateway `ns/name`.
fn service_account_gateway(user: &str) -> Option<Identity> {
    let rest = user.strip_prefix("system:serviceaccount:")?;
    let (ns, name) = rest.split_once(':')?;
    let gw = GatewayId::parse(&format!("{ns}/{name}"))?;
    Some(Identity::Bound {
        proof: format!("ServiceAccount {ns}/{name}"),
        gateways: [gw].into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bound(gws: &[&str]) -> Identity {
        Identity::Bound {
            gateways: gws.iter().map(|g| GatewayId::parse(g).unwrap()).collect(),
            proof: "test".into(),
        }
    }

    #[test]
    fn a_node_gets_only_what_its_identity_allows() {
        let a = GatewayId::new("ns", "a");
        let b = GatewayId::new("ns", "b");
        assert_eq!(
            bound(&["ns/a"]).resolve(Some(a.clone())).unwrap(),
            Some(a.clone())
        );
        let denied = bound(&["ns/a"]).resolve(Some(b.clone())).unwrap_err();
        assert_eq!(denied.code(), tonic::Code::PermissionDenied);
        assert!(denied.message().contains("ns/b") && denied.message().contains("ns/a"));
        // Claiming nothing: the identity's one Gateway.
        assert_eq!(bound(&["ns/a"]).resolve(None).unwrap(), Some(a.clone()));
        assert_eq!(bound(&["ns/a", "ns/b"]).resolve(None).unwrap(), None);
        assert_eq!(Identity::Anyone.resolve(Some(b.clone())).unwrap(), Some(b));
    }

    #[test]
    fn service_accounts_bind_their_namesake_gateway() {
        assert_eq!(
            service_account_gateway("system:serviceaccount:infra:edge"),
            Some(Identity::Bound {
                gateways: [GatewayId::new("infra", "edge")].into(),
                proof: "ServiceAccount infra/edge".into()
            })
        );
        assert_eq!(service_account_gateway("alice"), None);
        assert_eq!(service_account_gateway("system:serviceaccount:infra"), None);
    }
}
