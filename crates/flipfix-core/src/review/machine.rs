//! The review's pure rules: which item comes next, and what skipping a
//! parent does to its children.

/// Stored as TEXT (its CHECK lists the values); `sqlx::Type` reads and
/// binds it by these snake_case names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum ItemState {
    Pending,
    Created,
    Skipped,
}

/// The first pending item at or after `from`, else the first pending one
/// before it (an item left pending earlier), else none: the review is done.
pub fn next_pending(states: &[ItemState], from: usize) -> Option<usize> {
    (from..states.len())
        .chain(0..from.min(states.len()))
        .find(|&i| states[i] == ItemState::Pending)
}

/// Every item below `position` in the parent tree (children, grandchildren).
pub(crate) fn descendants(parents: &[Option<usize>], position: usize) -> Vec<usize> {
    let mut found = Vec::new();
    let mut frontier = vec![position];
    while let Some(current) = frontier.pop() {
        for (i, parent) in parents.iter().enumerate() {
            if *parent == Some(current) && !found.contains(&i) {
                found.push(i);
                frontier.push(i);
            }
        }
    }
    found.sort_unstable();
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use ItemState::*;

    #[test]
    fn next_pending_wraps_around_and_ends() {
        assert_eq!(next_pending(&[Created, Pending, Pending], 0), Some(1));
        assert_eq!(next_pending(&[Pending, Created, Skipped], 1), Some(0));
        assert_eq!(next_pending(&[Created, Skipped], 0), None);
        assert_eq!(next_pending(&[], 0), None);
    }

    #[test]
    fn descendants_follow_the_tree() {
        // 0 ← 1 ← 2, 0 ← 3, 4 alone
        let parents = [None, Some(0), Some(1), Some(0), None];
        assert_eq!(descendants(&parents, 0), vec![1, 2, 3]);
        assert_eq!(descendants(&parents, 1), vec![2]);
        assert!(descendants(&parents, 4).is_empty());
    }
}
