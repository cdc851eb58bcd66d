import type { CardView } from "../bindings/CardView";
import type { QueueFilter } from "../bindings/QueueFilter";

export type { QueueFilter };

export const NO_FILTER: QueueFilter = { text: "", topic: "", tag: "", requester: "" };

export function matches(card: CardView, filter: QueueFilter): boolean {
  const c = card.card;
  if (filter.topic && c.topic !== filter.topic) return false;
  if (filter.tag && !c.risk_tags.includes(filter.tag)) return false;
  if (filter.requester && c.requester !== filter.requester) return false;
  const text = filter.text.trim().toLowerCase();
  if (!text) return true;
  const haystack = [
    c.title,
    c.topic,
    c.requester,
    c.rule_id,
    c.reason,
    c.job_id,
    c.job_hash,
    c.workflow?.id ?? "",
    c.workflow?.name ?? "",
    c.workflow?.step_id ?? "",
    ...c.risk_tags,
  ]
    .join("\n")
    .toLowerCase();
  return haystack.includes(text);
}

export function applyFilter(cards: readonly CardView[], filter: QueueFilter): CardView[] {
  return cards.filter((card) => matches(card, filter));
}

export interface FacetCount {
  value: string;
  count: number;
}

export interface Facets {
  topics: FacetCount[];
  tags: FacetCount[];
  requesters: FacetCount[];
}

/** Counts per topic, tag and requester over `cards`, most frequent first. */
export function facets(cards: readonly CardView[]): Facets {
  const topics = new Map<string, number>();
  const tags = new Map<string, number>();
  const requesters = new Map<string, number>();
  const bump = (map: Map<string, number>, key: string) => {
    if (key) map.set(key, (map.get(key) ?? 0) + 1);
  };
  for (const { card } of cards) {
    bump(topics, card.topic);
    bump(requesters, card.requester);
    for (const tag of new Set(card.risk_tags)) bump(tags, tag);
  }
  const sorted = (map: Map<string, number>) =>
    [...map.entries()]
      .map(([value, count]) => ({ value, count }))
      .sort((a, b) => b.count - a.count || a.value.localeCompare(b.value));
  return { topics: sorted(topics), tags: sorted(tags), requesters: sorted(requesters) };
}
