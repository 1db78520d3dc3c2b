//! Kubernetes label selectors and namespaces (for `allowedRoutes.namespaces.from: Selector`).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::Sym;

/// A namespace and its labels.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct NamespaceRec {
    pub name: Sym,
    pub labels: BTreeMap<String, String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum SelectorOp {
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SelectorExpr {
    pub key: String,
    pub op: SelectorOp,
    pub values: Vec<String>,
}

/// `metav1.LabelSelector`: all `match_labels` and all expressions must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LabelSelector {
    pub match_labels: BTreeMap<String, String>,
    pub match_expressions: Vec<SelectorExpr>,
}

impl LabelSelector {
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.match_labels
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v))
            && self.match_expressions.iter().all(|e| {
                let got = labels.get(&e.key);
                match e.op {
                    SelectorOp::In => got.is_some_and(|v| e.values.contains(v)),
                    SelectorOp::NotIn => got.is_none_or(|v| !e.values.contains(v)),
                    SelectorOp::Exists => got.is_some(),
                    SelectorOp::DoesNotExist => got.is_none(),
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn selector_semantics() {
        let sel = LabelSelector {
            match_labels: labels(&[("env", "prod")]),
            match_expressions: vec![SelectorExpr {
                key: "team".into(),
                op: SelectorOp::NotIn,
                values: vec!["a".into()],
            }],
        };
        assert!(sel.matches(&labels(&[("env", "prod")])));
        assert!(sel.matches(&labels(&[("env", "prod"), ("team", "b")])));
        assert!(!sel.matches(&labels(&[("env", "prod"), ("team", "a")])));
        assert!(!sel.matches(&labels(&[("env", "dev")])));
        assert!(LabelSelector::default().matches(&labels(&[])));
    }
}
