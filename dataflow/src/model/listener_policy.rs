//! ListenerPolicy and HTTPListenerPolicy as records, and the per-value kernel folding the
//! ones that reach one port into its settings.

use serde::{Deserialize, Serialize};

use super::{AttachLevel, PolicyKind, PolicyRec};
use crate::ir::ListenerSettingsIr;

/// What a ListenerPolicy sets: `default` for every port it reaches, and `perPort` entries
/// that replace the default completely on their port (sorted by port, one per port).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ListenerPolicyRec {
    pub default: ListenerSettingsIr,
    pub per_port: Vec<(u16, ListenerSettingsIr)>,
}

impl ListenerPolicyRec {
    pub fn is_empty(&self) -> bool {
        self.default.is_empty() && self.per_port.is_empty()
    }

    pub fn port(&self, port: u16) -> Option<&ListenerSettingsIr> {
        self.per_port
            .binary_search_by_key(&port, |(p, _)| *p)
            .ok()
            .map(|i| &self.per_port[i].1)
    }
}

/// The settings of `port` from the listener policies reaching it (each with its level):
/// field-wise, a ListenerPolicy before an HTTPListenerPolicy (the deprecated kind only fills
/// what the current one left unset), then the more specific level, then
/// [`PolicyRec::priority_cmp`]. Where any policy has a `perPort` entry for the port, the
/// merged entries are the port's settings and no default applies (kgateway: "per-port
/// completely replaces the default"). `None` when nothing is set.
pub fn listener_settings(
    port: u16,
    mut policies: Vec<(AttachLevel, &PolicyRec)>,
) -> Option<ListenerSettingsIr> {
    policies.sort_by(|a, b| {
        let deprecated = |p: &PolicyRec| p.kind == PolicyKind::HTTPListenerPolicy;
        deprecated(a.1)
            .cmp(&deprecated(b.1))
            .then(a.0.cmp(&b.0))
            .then_with(|| a.1.priority_cmp(b.1))
    });
    let mut default = ListenerSettingsIr::default();
    let mut per_port: Option<ListenerSettingsIr> = None;
    for (_, p) in policies {
        let Some(l) = &p.listener else { continue };
        default.fill(&l.default);
        if let Some(pp) = l.port(port) {
            per_port.get_or_insert_with(Default::default).fill(pp);
        }
    }
    Some(per_port.unwrap_or(default)).filter(|s| !s.is_empty())
}
