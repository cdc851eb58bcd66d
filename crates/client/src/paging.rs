//! Following `next_cursor` through `GET /api/v1/approvals` without skipping or looping, and
//! presenting what was found newest first.
//!
//! Two listing orders exist. The reference gateway lists newest first, and a cursor means
//! "updated at or before" (CONTRACT.md §1.1.1). Cordum's `next_cursor` comes from the last of
//! the `limit + 10` jobs it *fetched*, which can be older than the last item it *returned*:
//! trusting it skips up to ten items per page boundary, and a walk would then call them
//! resolved. So the next page starts at the later of `next_cursor` and the last returned
//! item's `updated_at`; that item comes back and is dropped as a duplicate.
//!
//! Cordum itself (v0.9, and the new generation likewise) lists **oldest first** and keeps the
//! cursor an upper bound (v09-observed.md, new-observed.md): the page after `next_cursor` is
//! the oldest page again, and no query reaches past the oldest `limit` (at most 500) pending
//! jobs, because the list has no lower bound to narrow the window with. A page in ascending
//! order is therefore not followed ([`Paging::OldestOnly`]); its cursor, one below the newest
//! job the gateway fetched, tells whether newer pending jobs exist that it cannot list. Those
//! can still be shown and decided by id (`crate::review`).
//!
//! A cursor that does not move back in time, or a page that brings nothing new, means the
//! walk cannot finish: it is reported as stuck, never as complete.

use std::collections::HashSet;

use countersign_core::approval::{ApprovalItem, ApprovalPage, RejectedItem};

use crate::error::{ClientError, Result};
use crate::http::GatewayClient;

/// Where a walk stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Paging {
    /// Ask for the page at [`Pager::cursor`].
    More,
    /// The gateway said this was the last page.
    Complete,
    /// The cursor stopped moving, or a page brought nothing new: the rest cannot be listed.
    Stuck,
    /// The gateway lists oldest first with an upper-bound cursor: nothing newer than this
    /// page can be listed. `newer_unlisted` says whether the gateway holds newer pending jobs.
    OldestOnly { newer_unlisted: bool },
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

    /// Asks for at most `limit` items from the next page on (at least one).
    pub fn shorten(&mut self, limit: u32) {
        self.limit = limit.clamp(1, self.limit);
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
        let times = || page.items.iter().filter_map(|item| item.job.updated_at);
        let (oldest, newest) = (times().min(), times().max());
        let ascending = match (times().next(), times().next_back()) {
            (Some(first), Some(last)) => first < last,
            _ => false,
        };
        let following = self.cursor.is_some();
        let fresh: Vec<ApprovalItem> = page
            .items
            .into_iter()
            .filter(|item| self.seen.insert(item.job.id.clone()))
            .collect();
        self.state = match page.next_cursor {
            None => Paging::Complete,
            // The cursor is one below the newest job fetched: a newer one than those listed
            // exists unless the newest listed is that job.
            Some(next) if ascending => Paging::OldestOnly {
                newer_unlisted: newest.is_none_or(|newest| next.saturating_add(1) > newest),
            },
            Some(next) => {
                let resume = oldest.map_or(next, |last| last.max(next));
                let moved_back = |to: i64| self.cursor.is_none_or(|previous| to < previous);
                // A cursor exactly one below the last item returned held nothing back.
                let exact = oldest.is_some_and(|last| next == last.saturating_sub(1));
                if moved_back(resume) && !(following && fresh.is_empty()) {
                    self.cursor = Some(resume);
                    Paging::More
                } else if exact && moved_back(next) {
                    // A page of one item (a short page after one was too large) only brings
                    // back its last item from there: follow the gateway's own cursor.
                    self.cursor = Some(next);
                    Paging::More
                } else {
                    Paging::Stuck
                }
            }
        };
        Ok(fresh)
    }
}

/// The longest page Cordum serves.
pub(crate) const MAX_PAGE_LIMIT: u32 = 500;

/// The bounds of one full list.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bounds {
    pub page_limit: u32,
    pub max_pages: usize,
    pub max_items: usize,
    /// Bytes of list bodies, as received.
    pub max_bytes: usize,
}

/// Every pending item a walk could list, newest first, each job once.
#[derive(Debug, Clone, Default)]
pub struct PendingList {
    pub items: Vec<ApprovalItem>,
    /// Items the gateway sent that could not be read; they can still be rejected by id.
    pub unreadable: Vec<RejectedItem>,
    /// Whether `items` is every pending item the gateway holds. When false, nothing may be
    /// concluded from an item's absence.
    pub complete: bool,
    /// The gateway lists only its oldest pending items and holds newer ones it cannot list
    /// (Cordum with more than one page pending); they can still be shown by id.
    pub newer_unlisted: bool,
}

/// Walks the pending list within `bounds` (see the module documentation). An oldest-first
/// gateway holding more than a page is asked once more with the longest page it serves,
/// which reaches the most of its queue.
pub(crate) async fn walk(client: &GatewayClient, bounds: Bounds) -> Result<PendingList> {
    let list = walk_once(client, bounds).await?;
    if list.newer_unlisted && bounds.page_limit < MAX_PAGE_LIMIT {
        let widened = Bounds {
            page_limit: MAX_PAGE_LIMIT,
            ..bounds
        };
        return walk_once(client, widened).await;
    }
    Ok(list)
}

async fn walk_once(client: &GatewayClient, bounds: Bounds) -> Result<PendingList> {
    let mut list = PendingList::default();
    let mut bytes = 0usize;
    let mut pager = Pager::new(bounds.page_limit);
    for _ in 0..bounds.max_pages.max(1) {
        // A page past the byte cap is asked for again, shorter, from the same cursor.
        let (mut page, size) = loop {
            match client
                .list_page(pager.cursor(), pager.limit(), false)
                .await?
            {
                Some(answer) => break answer,
                None if pager.limit() > 1 => {
                    let shorter = pager.limit() / 2;
                    tracing::warn!(
                        limit = shorter,
                        "list page too large; asking for fewer items"
                    );
                    pager.shorten(shorter);
                }
                None => {
                    return Err(ClientError::GatewayProtocol(
                        "one pending item alone is larger than the list page cap".into(),
                    ))
                }
            }
        };
        bytes = bytes.saturating_add(size);
        if !page.rejected.is_empty() {
            tracing::warn!(
                count = page.rejected.len(),
                "gateway sent unreadable approval items"
            );
        }
        list.unreadable.append(&mut page.rejected);
        list.items.extend(pager.take(page)?);
        if bytes > bounds.max_bytes {
            tracing::warn!(bytes, "pending list truncated by size");
            break;
        }
        if list.items.len() >= bounds.max_items {
            tracing::warn!(count = list.items.len(), "pending list truncated");
            // The newest are kept, whatever order the page came in.
            newest_first(&mut list.items);
            list.items.truncate(bounds.max_items);
            break;
        }
        match pager.state() {
            Paging::More => continue,
            Paging::Complete => list.complete = true,
            Paging::Stuck => {
                tracing::warn!(
                    cursor = pager.cursor(),
                    "the gateway's list cursor stopped moving"
                );
            }
            Paging::OldestOnly { newer_unlisted } => {
                if newer_unlisted {
                    tracing::warn!(
                        listed = list.items.len(),
                        "the gateway lists only its oldest pending items; newer ones exist"
                    );
                }
                list.complete = !newer_unlisted;
                list.newer_unlisted = newer_unlisted;
            }
        }
        break;
    }
    newest_first(&mut list.items);
    Ok(list)
}

/// Newest first by `updated_at`, whatever order the gateway listed in; items without a time
/// go last, in the order listed.
pub(crate) fn newest_first(items: &mut [ApprovalItem]) {
    items.sort_by_key(|item| std::cmp::Reverse(item.job.updated_at));
}

impl GatewayClient {
    /// One page of `GET /api/v1/approvals`.
    pub async fn list_approvals(
        &self,
        cursor: Option<i64>,
        limit: u32,
        include_resolved: bool,
    ) -> Result<ApprovalPage> {
        let cap = self.list_page_bytes();
        match self.list_page(cursor, limit, include_resolved).await? {
            Some((page, _)) => Ok(page),
            None => Err(ClientError::GatewayProtocol(format!(
                "a list page is larger than {cap} bytes"
            ))),
        }
    }

    /// One page and the size of its body in bytes, for callers that bound what they hold;
    /// `None` when the page is longer than [`HttpConfig::list_page_bytes`].
    pub(crate) async fn list_page(
        &self,
        cursor: Option<i64>,
        limit: u32,
        include_resolved: bool,
    ) -> Result<Option<(ApprovalPage, usize)>> {
        let mut query = vec![
            ("limit", limit.to_string()),
            ("include_resolved", include_resolved.to_string()),
        ];
        if let Some(cursor) = cursor {
            query.push(("cursor", cursor.to_string()));
        }
        let builder = self.get_with_query("api/v1/approvals", &query)?;
        let Some(answer) = self
            .send_raw_within(builder, self.list_page_bytes())
            .await?
        else {
            return Ok(None);
        };
        if !(200..300).contains(&answer.status) {
            return Err(self.error_for(&answer));
        }
        let page = ApprovalPage::from_json(answer.body.as_bytes())
            .map_err(|e| ClientError::GatewayProtocol(e.to_string()))?;
        self.detected().observe_items(&page.items);
        Ok(Some((page, answer.body.len())))
    }

    /// Up to `max_items` pending items, newest first, each job once (see [`crate::paging`]).
    /// Pages are always as long as the gateway allows: an oldest-first gateway's newest items
    /// are only reached through the longest page.
    pub async fn pending_list(&self, max_items: usize) -> Result<PendingList> {
        walk(
            self,
            Bounds {
                page_limit: MAX_PAGE_LIMIT,
                max_pages: 100,
                max_items,
                max_bytes: 128 * 1024 * 1024,
            },
        )
        .await
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
            .take(page(&[("a", 100), ("b", 90)], Some(80)))
            .expect("page");
        assert_eq!(pager.state(), Paging::Stuck, "a page with nothing new");

        let mut pager = Pager::new(2);
        pager.take(page(&[], Some(50))).expect("page");
        pager.take(page(&[], Some(70))).expect("page");
        assert_eq!(pager.state(), Paging::Stuck, "a cursor moving forward");
    }

    /// v0.9 with 529 pending and a limit of 3 standing in for 500: oldest first, and the
    /// cursor (one below the newest job fetched) names a time past the newest listed.
    #[test]
    fn an_ascending_page_is_not_followed_and_says_whether_newer_jobs_exist() {
        let mut pager = Pager::new(3);
        let first = pager.take(page(&[("a", 10), ("b", 20), ("c", 30)], Some(129)));
        assert_eq!(ids(&first.expect("page")), ["a", "b", "c"]);
        assert_eq!(
            pager.state(),
            Paging::OldestOnly {
                newer_unlisted: true
            }
        );
        // Exactly a page pending: the cursor is one below the newest listed.
        let mut pager = Pager::new(3);
        pager
            .take(page(&[("a", 10), ("b", 20), ("c", 30)], Some(29)))
            .expect("page");
        assert_eq!(
            pager.state(),
            Paging::OldestOnly {
                newer_unlisted: false
            }
        );
    }

    /// Pages of one item (after a page was too large) advance on the gateway's own cursor
    /// when it lies exactly one below the item, instead of stopping at the duplicate.
    #[test]
    fn pages_of_one_item_advance() {
        let mut pager = Pager::new(1);
        assert_eq!(
            ids(&pager.take(page(&[("a", 100)], Some(99))).expect("a")),
            ["a"]
        );
        assert_eq!(pager.cursor(), Some(100));
        assert!(pager
            .take(page(&[("a", 100)], Some(99)))
            .expect("dup")
            .is_empty());
        assert_eq!((pager.state(), pager.cursor()), (Paging::More, Some(99)));
        assert_eq!(
            ids(&pager.take(page(&[("b", 90)], None)).expect("b")),
            ["b"]
        );
        assert_eq!(pager.state(), Paging::Complete);
        // A cursor further back may have held items back: still stuck.
        let mut pager = Pager::new(1);
        pager.take(page(&[("a", 100)], Some(50))).expect("a");
        pager.take(page(&[("a", 100)], Some(50))).expect("dup");
        assert_eq!(pager.state(), Paging::Stuck);
    }

    #[test]
    fn items_are_presented_newest_first() {
        let mut items = vec![item("a", 10), item("b", 30), item("c", 20)];
        items.push(ApprovalItem::default());
        newest_first(&mut items);
        assert_eq!(ids(&items), ["b", "c", "a", ""]);
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
