//! The window of a `list` view: the `max_entities_per_view` most recently updated entities.

use std::sync::Arc;

use lru::LruCache;

/// Keys of the most recently updated entities, at most `cap` of them.
pub(crate) struct ListWindow {
    cap: usize,
    keys: LruCache<Arc<str>, ()>,
    changed: bool,
}

/// What touching a key did to the window.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Touch {
    /// The key was not in the window before.
    pub entered: bool,
    /// The least recently updated key, pushed out to make room.
    pub left: Option<Arc<str>>,
}

impl ListWindow {
    /// An empty window of `cap` keys (at least one).
    pub fn new(cap: usize) -> ListWindow {
        ListWindow {
            cap: cap.max(1),
            keys: LruCache::unbounded(),
            changed: false,
        }
    }

    /// A window holding `keys`, least recently updated first.
    pub fn restore(cap: usize, keys: impl IntoIterator<Item = Arc<str>>) -> ListWindow {
        let mut w = ListWindow::new(cap);
        for k in keys {
            w.keys.put(k, ());
        }
        while w.keys.len() > w.cap {
            w.keys.pop_lru();
        }
        w
    }

    /// Marks `key` as the most recently updated entity.
    pub fn touch(&mut self, key: &Arc<str>) -> Touch {
        self.changed = true;
        let entered = self.keys.put(key.clone(), ()).is_none();
        let left = if self.keys.len() > self.cap {
            self.keys.pop_lru().map(|(k, ())| k)
        } else {
            None
        };
        Touch { entered, left }
    }

    /// Takes `key` out (it was deleted); returns whether it was in the window.
    pub fn remove(&mut self, key: &str) -> bool {
        let removed = self.keys.pop(key).is_some();
        self.changed |= removed;
        removed
    }

    /// The keys in key order (the order of list snapshots).
    pub fn sorted(&self) -> Vec<Arc<str>> {
        let mut keys: Vec<Arc<str>> = self.keys.iter().map(|(k, ())| k.clone()).collect();
        keys.sort();
        keys
    }

    /// The keys, least recently updated first (how the window is stored).
    pub fn by_recency(&self) -> Vec<Arc<str>> {
        self.keys.iter().rev().map(|(k, ())| k.clone()).collect()
    }

    /// Whether the window changed since the last call (and resets the flag).
    pub fn take_changed(&mut self) -> bool {
        std::mem::take(&mut self.changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(s: &str) -> Arc<str> {
        Arc::from(s)
    }

    #[test]
    fn holds_the_most_recently_updated_and_says_who_left() {
        let mut w = ListWindow::new(2);
        assert_eq!(
            w.touch(&k("a")),
            Touch {
                entered: true,
                left: None
            }
        );
        w.touch(&k("b"));
        assert_eq!(
            w.touch(&k("a")),
            Touch {
                entered: false,
                left: None
            }
        );
        assert_eq!(
            w.touch(&k("c")),
            Touch {
                entered: true,
                left: Some(k("b"))
            },
            "b was the least recently updated"
        );
        assert_eq!(w.sorted(), vec![k("a"), k("c")]);
        assert_eq!(w.by_recency(), vec![k("a"), k("c")]);
        let back = ListWindow::restore(2, w.by_recency());
        assert_eq!(back.by_recency(), w.by_recency());
        assert!(w.remove("a") && !w.remove("a"));
        assert_eq!(w.sorted(), vec![k("c")]);
    }
}
