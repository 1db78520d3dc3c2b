//! What a stream subscribed to, per type: the wildcard flag and the explicit names, with the
//! protocol's legacy-wildcard rules (xDS protocol, "How the client specifies what resources to
//! return"; checklist 14).
//!
//! SotW: every request carries the full name list. A type whose requests never carried a name
//! is a wildcard subscription ("legacy wildcard"); `*` is an explicit wildcard; once any
//! request carried a name, an empty list means "nothing".
//!
//! Delta: requests carry changes. The first request of a type with no subscribed name is a
//! wildcard subscription; later, `*` in `resource_names_subscribe` / `_unsubscribe` turns the
//! wildcard on and off.

use std::collections::BTreeSet;

/// The name that stands for "every resource of the type".
pub(crate) const WILDCARD: &str = "*";

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Subscription {
    /// The client sent at least one request for the type.
    requested: bool,
    /// SotW: some request carried a non-empty name list (ends the legacy wildcard).
    explicit_seen: bool,
    wildcard: bool,
    names: BTreeSet<String>,
}

/// How a request changed a subscription.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Change {
    /// Explicit names that were not subscribed before.
    pub added: Vec<String>,
    /// Explicit names that are no longer subscribed.
    pub removed: Vec<String>,
    pub wildcard_on: bool,
    pub wildcard_off: bool,
}

impl Change {
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && !self.wildcard_on && !self.wildcard_off
    }
}

impl Subscription {
    /// Whether the client ever asked for this type (nothing is sent for a type it did not).
    pub fn requested(&self) -> bool {
        self.requested
    }

    pub fn is_wildcard(&self) -> bool {
        self.wildcard
    }

    /// The explicitly subscribed names (`*` excluded).
    pub fn names(&self) -> &BTreeSet<String> {
        &self.names
    }

    pub fn is_explicit(&self, name: &str) -> bool {
        self.names.contains(name)
    }

    /// Applies a SotW request's `resource_names` (the full desired set).
    pub fn apply_sotw(&mut self, resource_names: &[String]) -> Change {
        self.requested = true;
        if !resource_names.is_empty() {
            self.explicit_seen = true;
        }
        let star = resource_names.iter().any(|n| n == WILDCARD);
        let wildcard = star || !self.explicit_seen;
        let names: BTreeSet<String> = resource_names
            .iter()
            .filter(|n| *n != WILDCARD)
            .cloned()
            .collect();
        let change = Change {
            added: names.difference(&self.names).cloned().collect(),
            removed: self.names.difference(&names).cloned().collect(),
            wildcard_on: wildcard && !self.wildcard,
            wildcard_off: !wildcard && self.wildcard,
        };
        self.names = names;
        self.wildcard = wildcard;
        change
    }

    /// Applies a Delta request's subscribe / unsubscribe lists (subscribe first).
    pub fn apply_delta(&mut self, subscribe: &[String], unsubscribe: &[String]) -> Change {
        let was_wildcard = self.wildcard;
        if !self.requested {
            self.requested = true;
            if subscribe.is_empty() {
                self.wildcard = true;
            }
        }
        let mut change = Change::default();
        for name in subscribe {
            if name == WILDCARD {
                self.wildcard = true;
            } else if self.names.insert(name.clone()) {
                change.added.push(name.clone());
            }
        }
        for name in unsubscribe {
            if name == WILDCARD {
                self.wildcard = false;
            } else if self.names.remove(name) {
                change.added.retain(|n| n != name);
                change.removed.push(name.clone());
            }
        }
        change.wildcard_on = self.wildcard && !was_wildcard;
        change.wildcard_off = !self.wildcard && was_wildcard;
        change
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    fn names(s: &Subscription) -> Vec<&str> {
        s.names().iter().map(String::as_str).collect()
    }

    #[test]
    fn sotw_spec_example() {
        let mut s = Subscription::default();
        assert!(!s.requested());
        // 1. resource_names unset: legacy wildcard.
        s.apply_sotw(&[]);
        assert!(s.requested() && s.is_wildcard());
        // 2. "*" and "A": wildcard plus A.
        let c = s.apply_sotw(&v(&["*", "A"]));
        assert_eq!(c.added, ["A"]);
        assert!(s.is_wildcard());
        assert_eq!(names(&s), ["A"]);
        // 3. "A": unsubscribes from the wildcard, keeps A.
        let c = s.apply_sotw(&v(&["A"]));
        assert!(c.wildcard_off && !s.is_wildcard());
        assert_eq!(names(&s), ["A"]);
        // 4. unset: unsubscribes from everything (not wildcard any more).
        let c = s.apply_sotw(&[]);
        assert_eq!(c.removed, ["A"]);
        assert!(!s.is_wildcard() && s.names().is_empty());
    }

    #[test]
    fn sotw_explicit_first_is_not_wildcard() {
        let mut s = Subscription::default();
        s.apply_sotw(&v(&["A", "B"]));
        assert!(!s.is_wildcard());
        let c = s.apply_sotw(&v(&["B", "C"]));
        assert_eq!((c.added, c.removed), (v(&["C"]), v(&["A"])));
        s.apply_sotw(&v(&["*"]));
        assert!(s.is_wildcard() && s.names().is_empty());
    }

    #[test]
    fn delta_spec_example() {
        let mut s = Subscription::default();
        // 1. subscribe unset: wildcard.
        s.apply_delta(&[], &[]);
        assert!(s.is_wildcard());
        // 2. subscribe A: wildcard plus A.
        let c = s.apply_delta(&v(&["A"]), &[]);
        assert_eq!(c.added, ["A"]);
        assert!(s.is_wildcard());
        // 3. unsubscribe "*": A only.
        let c = s.apply_delta(&[], &v(&["*"]));
        assert!(c.wildcard_off && !s.is_wildcard());
        assert_eq!(names(&s), ["A"]);
        // 4. unsubscribe A: nothing.
        let c = s.apply_delta(&[], &v(&["A"]));
        assert_eq!(c.removed, ["A"]);
        assert!(!s.is_wildcard() && s.names().is_empty());
        // An empty later request does not bring the wildcard back.
        assert!(s.apply_delta(&[], &[]).is_empty());
        assert!(!s.is_wildcard());
    }

    #[test]
    fn delta_explicit_first_and_superfluous_unsubscribe() {
        let mut s = Subscription::default();
        s.apply_delta(&v(&["A"]), &[]);
        assert!(!s.is_wildcard());
        let c = s.apply_delta(&[], &v(&["never"]));
        assert!(c.is_empty());
        let c = s.apply_delta(&v(&["*", "A"]), &[]);
        assert!(c.wildcard_on && c.added.is_empty());
    }
}
