//! Hostname matching with Gateway API wildcards: `*.example.com` matches any name with at
//! least one more label in front (`a.example.com`, `a.b.example.com`), never `example.com`.

/// Whether `name` (possibly a wildcard itself) lies within `pattern`.
pub fn within(name: &str, pattern: &str) -> bool {
    if name == pattern {
        return true;
    }
    match pattern.strip_prefix('*') {
        Some(suffix) => name.len() > suffix.len() && name.ends_with(suffix),
        None => false,
    }
}

/// The hostnames a route serves on a listener: the intersection of the listener's hostname
/// (`None` = any) with the route's hostnames (empty = any); `*` stands for any host.
pub fn intersect(listener: Option<&str>, route: &[String]) -> Vec<String> {
    let mut out: Vec<String> = match (listener, route.is_empty()) {
        (None, true) => vec!["*".to_string()],
        (Some(l), true) => vec![l.to_string()],
        (None, false) => route.to_vec(),
        (Some(l), false) => route
            .iter()
            .filter_map(|h| {
                if within(l, h) {
                    Some(l.to_string())
                } else if within(h, l) {
                    Some(h.clone())
                } else {
                    None
                }
            })
            .collect(),
    };
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_semantics() {
        assert!(within("a.example.com", "*.example.com"));
        assert!(within("a.b.example.com", "*.example.com"));
        assert!(!within("example.com", "*.example.com"));
        assert!(within("*.b.example.com", "*.example.com"));
        assert!(!within("*.example.com", "*.b.example.com"));
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(intersect(None, &[]), v(&["*"]));
        assert_eq!(
            intersect(Some("*.example.com"), &v(&["a.example.com", "x.org"])),
            v(&["a.example.com"])
        );
        assert_eq!(
            intersect(Some("a.example.com"), &v(&["*.example.com"])),
            v(&["a.example.com"])
        );
        assert!(intersect(Some("a.example.com"), &v(&["b.example.com"])).is_empty());
    }
}
