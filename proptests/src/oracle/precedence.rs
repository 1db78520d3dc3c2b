//! Gateway API route precedence, across all routes of a virtual host. Envoy takes the first
//! route that matches, so routes are listed most specific first:
//! 1. path: Exact, then RegularExpression, then PathPrefix (kgateway's order for regexes);
//!    within a type, longer values first;
//! 2. a method match first;
//! 3. more header matches first; 4. more query parameter matches first;
//! 5. the older route (`creationTimestamp`) first; 6. `namespace/name` alphabetically;
//! 7. rule order, then match order within the route.

use std::cmp::{Ordering, Reverse};

use sluice_dataflow::model::*;

pub fn compare(
    a: (&HttpRouteRec, usize, usize, &MatchRec),
    b: (&HttpRouteRec, usize, usize, &MatchRec),
) -> Ordering {
    let path_key = |m: &MatchRec| match &m.path {
        PathMatch::Exact(p) => (0, Reverse(p.len())),
        PathMatch::Regex(p) => (1, Reverse(p.len())),
        PathMatch::Prefix(p) => (2, Reverse(p.len())),
    };
    let (ra, rule_a, match_a, ma) = a;
    let (rb, rule_b, match_b, mb) = b;
    path_key(ma)
        .cmp(&path_key(mb))
        .then_with(|| mb.method.is_some().cmp(&ma.method.is_some()))
        .then_with(|| mb.headers.len().cmp(&ma.headers.len()))
        .then_with(|| mb.query.len().cmp(&ma.query.len()))
        .then_with(|| ra.created.cmp(&rb.created))
        .then_with(|| ra.key.to_string().cmp(&rb.key.to_string()))
        .then_with(|| (rule_a, match_a).cmp(&(rule_b, match_b)))
}
