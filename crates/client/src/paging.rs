//! Following `next_cursor` through `GET /api/v1/approvals` without skipping or looping.
//!
//! Cordum lists jobs newest first, and a cursor means "updated at or before" (CONTRACT.md
//! §1.1.1). Its `next_cursor` comes from the last of the `limit + 10` jobs it *fetched*,
//! which can be older than the last item it *returned*: trusting it skips up to ten items per
//! page boundary, and a walk would then call them resolved. So the next page starts at the
//! later of `next_cursor` and the last returned item's `updated_at`; that item comes back
//! and is dropped as a duplicate. A cursor that does not move back in time means the walk
//! cannot finish: it is reported as stuck, never as complete.

use std::collections::HashSet;

use countersign_core::approval::{ApprovalItem, ApprovalPage};

use crate::error::{ClientError, Result};

/// Where a walk stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Paging {
    /// Ask for the page at [`Pager::cursor`].
    More,
    /// The gateway said this was the last page.
    Complete,
    /// The cursor stopped moving: the rest cannot be listed.
    Stuck,
}

/// One walk through the pages of a list.
#[derive(Debug)]
pub(crate) struct Pager {
    limit: u32,
    cursor: Option<i64>,
    seen: HashSet<String>,
    state: Paging,
}

impl Pager {
    /// A walk asking for `limit` items per page.
    pub fn new(limit: u32) -> Self {
        Self {
            limit,
            cursor: None,
            seen: HashSet::new(),
            state: Paging::More,
        }
    }

    pub fn limit(&self) -> u32 {
        self.limit
    }

    pub fn cursor(&self) -> Option<i64> {
        self.cursor
    }

    pub fn state(&self) -> Paging {
        self.state
    }

    /// Takes the page listed at [`Pager::cursor`]; returns its items not seen on an earlier
    /// page. A page longer than the limit asked for is a protocol error.
    pub fn take(&mut self, page: ApprovalPage) -> Result<Vec<ApprovalItem>> {
        let listed = page.items.len().saturating_add(page.rejected.len());
        if listed > usize::try_from(self.limit).unwrap_or(usize::MAX) {
            return Err(ClientError::GatewayProtocol(format!(
                "a list page has {listed} items; {} were asked for",
                self.limit
            )));
        }
        self.state = match page.next_cursor {
            None => Paging::Complete,
            Some(next) => {
                let resume = page
                    .items
                    .last()
                    .and_then(|item| item.job.updated_at)
                    .map_or(next, |last| last.max(next));
                match self.cursor {
                    Some(previous) if resume >= previous => Paging::Stuck,
                    _ => {
                        self.cursor = Some(resume);
                        Paging::More
                    }
                }
            }
        };
        Ok(page
            .items
            .into_iter()
            .filter(|item| self.seen.insert(item.job.id.clone()))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str, updated_at: i64) -> ApprovalItem {
        let mut item = ApprovalItem::default();
        item.job.id = id.into();
        item.job.updated_at = Some(updated_at);
        item
    }

    fn page(items: &[(&str, i64)], next_cursor: Option<i64>) -> ApprovalPage {
        ApprovalPage {
            items: items.iter().map(|(id, at)| item(id, *at)).collect(),
            next_cursor,
            rejected: Vec::new(),
        }
    }

    fn ids(items: &[ApprovalItem]) -> Vec<&str> {
        items.iter().map(|i| i.job.id.as_str()).collect()
    }

    #[test]
    fn resumes_at_the_last_returned_item_not_past_it() {
        let mut pager = Pager::new(2);
        // Cordum fetched 12 and returned 2: its cursor lies ten jobs further back.
        let first = pager.take(page(&[("a", 100), ("b", 90)], Some(49)));
        assert_eq!(ids(&first.expect("page")), ["a", "b"]);
        assert_eq!((pager.state(), pager.cursor()), (Paging::More, Some(90)));
        let second = pager.take(page(&[("b", 90), ("c", 80)], Some(39)));
        assert_eq!(ids(&second.expect("page")), ["c"], "b is a duplicate");
        assert_eq!(pager.cursor(), Some(80));
        let last = pager.take(page(&[("c", 80)], None));
        assert!(last.expect("page").is_empty());
        assert_eq!(pager.state(), Paging::Complete);
    }

    #[test]
    fn a_cursor_that_does_not_move_back_is_stuck() {
        let mut pager = Pager::new(2);
        pager
            .take(page(&[("a", 100), ("b", 90)], Some(89)))
            .expect("page");
        pager
            .take(page(&[("b", 90), ("a", 100)], Some(89)))
            .expect("page");
        assert_eq!(pager.state(), Paging::Stuck);

        let mut pager = Pager::new(2);
        pager.take(page(&[], Some(50))).expect("page");
        pager.take(page(&[], Some(70))).expect("page");
        assert_eq!(pager.state(), Paging::Stuck, "a cursor moving forward");
    }

    #[test]
    fn a_page_longer_than_asked_is_refused() {
        let mut pager = Pager::new(1);
        let error = pager
            .take(page(&[("a", 2), ("b", 1)], None))
            .expect_err("two items for a limit of one");
        assert_eq!(error.code(), "gateway_protocol");
    }
}
