//! Interned strings: namespaces, names and other keys become `u32` ids once, in `lower`.
//!
//! The interner is process-wide and append-only, so a `Sym` is valid in every timely worker of
//! the process. Ids order by first appearance, not alphabetically: code that must order by name
//! (precedence tie-breaks, output) compares `as_str()`.
//!
//! Ids differ between processes, so nothing that crosses processes may depend on them: a `Sym`
//! serializes as its text and hashes as its text's fingerprint (timely routes exchanged records
//! by hash: with id hashes the two processes of a cluster would send the same key to different
//! workers, and joins would miss).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::{OnceLock, RwLock};

/// An interned string. It serializes as its text, so records crossing to another process (a
/// timely cluster) are re-interned there rather than carrying ids meaningless to that process.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Sym(u32);

impl std::hash::Hash for Sym {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(interner().read().expect("interner poisoned").hashes[self.0 as usize]);
    }
}

/// FNV-1a: a fixed function of the text, the same in every process and run.
fn fingerprint(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl Serialize for Sym {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Sym {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Sym, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Ok(Sym::new(&s))
    }
}

#[derive(Default)]
struct Interner {
    // Lookup only, never iterated, so its random order cannot leak into output.
    #[allow(clippy::disallowed_types)]
    ids: std::collections::HashMap<&'static str, u32>,
    strs: Vec<&'static str>,
    /// `fingerprint` of each string, by id.
    hashes: Vec<u64>,
}

fn interner() -> &'static RwLock<Interner> {
    static INTERNER: OnceLock<RwLock<Interner>> = OnceLock::new();
    INTERNER.get_or_init(Default::default)
}

impl Sym {
    /// Bounds for range scans over keys.
    pub const MIN: Sym = Sym(0);
    pub const MAX: Sym = Sym(u32::MAX);

    /// Interns `s`. Strings are leaked once each: the set of names a controller sees is
    /// bounded by the objects it has ever watched.
    pub fn new(s: &str) -> Sym {
        if let Some(&id) = interner().read().expect("interner poisoned").ids.get(s) {
            return Sym(id);
        }
        let mut w = interner().write().expect("interner poisoned");
        if let Some(&id) = w.ids.get(s) {
            return Sym(id);
        }
        let id = u32::try_from(w.strs.len()).expect("more than 2^32 interned strings");
        let leaked: &'static str = Box::leak(s.to_owned().into_boxed_str());
        w.strs.push(leaked);
        w.hashes.push(fingerprint(leaked));
        w.ids.insert(leaked, id);
        Sym(id)
    }

    pub fn as_str(self) -> &'static str {
        interner().read().expect("interner poisoned").strs[self.0 as usize]
    }

    /// Compares by string content, for orderings users can see.
    pub fn cmp_str(self, other: Sym) -> std::cmp::Ordering {
        if self == other {
            std::cmp::Ordering::Equal
        } else {
            self.as_str().cmp(other.as_str())
        }
    }
}

impl fmt::Debug for Sym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

impl fmt::Display for Sym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for Sym {
    fn from(s: &str) -> Sym {
        Sym::new(s)
    }
}

/// `namespace/name` of a namespaced object (the kind is implied by the collection).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ObjectKey {
    pub ns: Sym,
    pub name: Sym,
}

impl ObjectKey {
    pub fn new(ns: &str, name: &str) -> ObjectKey {
        ObjectKey {
            ns: Sym::new(ns),
            name: Sym::new(name),
        }
    }
    /// Orders by `namespace/name` text, as Gateway API tie-breaks do.
    pub fn cmp_str(&self, other: &ObjectKey) -> std::cmp::Ordering {
        self.ns
            .cmp_str(other.ns)
            .then_with(|| self.name.cmp_str(other.name))
    }
}

impl fmt::Debug for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.ns, self.name)
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.ns, self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_is_stable_and_round_trips() {
        let a = Sym::new("gateway-conformance-infra");
        let b = Sym::new("gateway-conformance-infra");
        assert_eq!(a, b);
        assert_eq!(a.as_str(), "gateway-conformance-infra");
        assert_ne!(Sym::new("x-sym-test-1"), Sym::new("x-sym-test-2"));
        assert_eq!(
            Sym::new("b").cmp_str(Sym::new("a")),
            std::cmp::Ordering::Greater
        );
    }

    #[test]
    fn hashes_depend_on_the_text_not_the_id() {
        use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
        let hash = |s: Sym| BuildHasherDefault::<DefaultHasher>::default().hash_one(s);
        // What another process computes for the same text, whatever id it gave it.
        let expected = {
            use std::hash::Hasher;
            let mut h = DefaultHasher::new();
            h.write_u64(fingerprint("x-sym-hash-test"));
            h.finish()
        };
        assert_eq!(hash(Sym::new("x-sym-hash-test")), expected);
        assert_ne!(
            hash(Sym::new("x-sym-hash-a")),
            hash(Sym::new("x-sym-hash-b"))
        );
    }
}
