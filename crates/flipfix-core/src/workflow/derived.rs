//! Values made from a workflow set that hold as long as the set does (an
//! analysis's tool schema, its rendered worked examples), made on first use
//! and shared by every run with that set. Before, each analysis built its
//! own: ~45 KB of schema per analysis in flight, measured with `cargo bench
//! --bench discord_burst`.
//!
//! Typed by the caller, so the modules above `workflow` keep their own
//! types here; keyed by the part of the set a value was made from (its
//! address: the set is immutable behind its `Arc`, so an address names one
//! part for the set's whole life).

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

type Entry = Arc<dyn Any + Send + Sync>;
/// The value's type, the part's type and the part's address.
type Key = (TypeId, TypeId, usize);

/// The values made so far; empty when the set is loaded.
#[derive(Default)]
pub struct Derived(Mutex<HashMap<Key, Entry>>);

impl std::fmt::Debug for Derived {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Derived({} values)", self.entries().len())
    }
}

impl Derived {
    /// The `T` made from `part` (a part of this set), made now by `make`
    /// if it is the first asking. The lock is not held while making: two
    /// first askings may both make one, and the first stored is kept.
    pub fn get_or_try_make<P, T, E>(
        &self,
        part: &P,
        make: impl FnOnce() -> Result<T, E>,
    ) -> Result<Arc<T>, E>
    where
        P: Any,
        T: Any + Send + Sync,
    {
        let key = (
            TypeId::of::<T>(),
            TypeId::of::<P>(),
            std::ptr::from_ref(part) as usize,
        );
        let found = self.entries().get(&key).cloned();
        if let Some(value) = found.and_then(|entry| entry.downcast::<T>().ok()) {
            return Ok(value);
        }
        let made: Entry = Arc::new(make()?);
        let kept = self.entries().entry(key).or_insert(made).clone();
        Ok(kept
            .downcast::<T>()
            .unwrap_or_else(|_| unreachable!("entries are keyed by their type")))
    }

    fn entries(&self) -> MutexGuard<'_, HashMap<Key, Entry>> {
        // A panic while inserting cannot leave a half-written map entry.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_made_once_per_part_and_type() {
        let derived = Derived::default();
        let (first, second) = (String::from("a"), String::from("b"));
        let mut made = 0;
        let mut make = |text: &str| {
            made += 1;
            Ok::<_, ()>(text.len())
        };
        let a = derived.get_or_try_make(&first, || make("one")).unwrap();
        let again = derived.get_or_try_make(&first, || make("three")).unwrap();
        assert!(
            Arc::ptr_eq(&a, &again),
            "the second asking gets the first value"
        );
        let b = derived.get_or_try_make(&second, || make("seven")).unwrap();
        assert_eq!((*a, *b, made), (3, 5, 2));
        let other_type = derived
            .get_or_try_make(&first, || Ok::<_, ()>(String::from("x")))
            .unwrap();
        assert_eq!(
            *other_type, "x",
            "another type from the same part is its own value"
        );
    }

    #[test]
    fn a_failed_make_stores_nothing() {
        let derived = Derived::default();
        let part = 1u8;
        assert_eq!(
            derived.get_or_try_make::<_, u32, _>(&part, || Err("no")),
            Err("no")
        );
        assert_eq!(
            derived.get_or_try_make(&part, || Ok::<u32, &str>(7)),
            Ok(Arc::new(7))
        );
    }
}
