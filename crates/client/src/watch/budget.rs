//! The bound on what the event stream may add to the view: items arriving one by one are held
//! to the same `max_items` and `max_list_bytes` as a full list, so a hostile stream of many
//! distinct large items can neither grow the watch's memory nor write its items to the ledger
//! without bound. Sizes are the bytes the items arrived in (an event's data, or an item's JSON
//! after a full list); the tally follows the view: rebuilt after every full list, updated as
//! the stream adds, replaces and resolves items.

use std::collections::HashMap;

use countersign_core::approval::ApprovalItem;

use super::WatchConfig;

#[derive(Debug, Default)]
pub(super) struct Budget {
    sizes: HashMap<String, usize>,
    total: usize,
    /// Whether a refusal was reported since the last full list (reported once, not per event).
    refused: bool,
}

/// What became of an item offered by the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Admit {
    Yes,
    /// Over the bound; `first` is the first refusal since the last full list.
    No {
        first: bool,
    },
}

impl Budget {
    /// After a full list: the view as it is now.
    pub fn rebuild(&mut self, view: &HashMap<String, ApprovalItem>) {
        self.sizes = view
            .iter()
            .map(|(id, item)| (id.clone(), estimate(item)))
            .collect();
        self.total = self.sizes.values().sum();
        self.refused = false;
    }

    /// Whether the stream's `item`, `size` bytes as received, may join the view (or replace
    /// its older version there); counted when it may.
    pub fn admit(&mut self, config: &WatchConfig, item: &ApprovalItem, size: usize) -> Admit {
        let id = &item.job.id;
        let old = self.sizes.get(id).copied();
        let count = self.sizes.len() + usize::from(old.is_none());
        let total = self.total - old.unwrap_or(0) + size;
        if count > config.max_items || total > config.max_list_bytes {
            let first = !self.refused;
            self.refused = true;
            return Admit::No { first };
        }
        self.sizes.insert(id.clone(), size);
        self.total = total;
        Admit::Yes
    }

    /// An item left the view.
    pub fn forget(&mut self, job_id: &str) {
        if let Some(size) = self.sizes.remove(job_id) {
            self.total -= size;
        }
    }
}

/// An item's size as JSON, the form it arrives in.
fn estimate(item: &ApprovalItem) -> usize {
    serde_json::to_vec(item).map_or(0, |bytes| bytes.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str) -> ApprovalItem {
        let mut item = ApprovalItem::default();
        item.job.id = id.into();
        item
    }

    #[test]
    fn holds_the_stream_to_the_list_bounds() {
        let config = WatchConfig {
            max_items: 3,
            max_list_bytes: 1000,
            ..WatchConfig::default()
        };
        let mut budget = Budget::default();
        assert_eq!(budget.admit(&config, &item("a"), 400), Admit::Yes);
        assert_eq!(budget.admit(&config, &item("b"), 400), Admit::Yes);
        assert_eq!(
            budget.admit(&config, &item("c"), 400),
            Admit::No { first: true }
        );
        assert_eq!(
            budget.admit(&config, &item("c"), 400),
            Admit::No { first: false }
        );
        // A smaller version of a held item replaces it; a resolved item makes room.
        assert_eq!(budget.admit(&config, &item("b"), 100), Admit::Yes);
        assert_eq!(budget.admit(&config, &item("c"), 400), Admit::Yes);
        assert_eq!(
            budget.admit(&config, &item("d"), 10),
            Admit::No { first: false }
        );
        budget.forget("a");
        assert_eq!(budget.admit(&config, &item("d"), 10), Admit::Yes);
        // A full list starts the tally again from the view.
        budget.rebuild(&HashMap::new());
        assert_eq!(budget.admit(&config, &item("e"), 900), Admit::Yes);
    }
}
