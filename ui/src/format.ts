const SHORT_HASH_LENGTH = 12;

/** Job hashes are long hex digests; a prefix is enough to tell cards apart at a glance. */
export function shortenHash(hash: string): string {
  return hash.length > SHORT_HASH_LENGTH ? `${hash.slice(0, SHORT_HASH_LENGTH)}…` : hash;
}

/** A hash as a card shows it: a prefix to tell cards apart, and the last 4 characters, which a
 * high-risk approve asks the reviewer to type (as number matching does for push approvals). */
export function hashWithTail(hash: string): { head: string; tail: string } {
  if (hash.length <= 12) return { head: hash, tail: "" };
  return { head: `${hash.slice(0, 8)}…`, tail: hashTail(hash) };
}

/** The last 4 characters of a job hash: what a reviewer types to approve a high-risk item. */
export function hashTail(hash: string): string {
  // Job hashes are ASCII (hex, with an algorithm prefix), so code units are characters.
  return hash.slice(-4);
}

/** "12s", "4m", "3h", "2d": how long ago `thenMs` was. */
export function age(thenMs: number, nowMs: number): string {
  return span(Math.max(0, nowMs - thenMs));
}

/** "4m left", or "expired" once the deadline passed. */
export function timeLeft(deadlineMs: number, nowMs: number): string {
  const left = deadlineMs - nowMs;
  return left <= 0 ? "expired" : `${span(left)} left`;
}

function span(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${String(s)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${String(m)}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${String(h)}h`;
  return `${String(Math.floor(h / 24))}d`;
}

/** HH:MM in local time. */
export function clock(ms: number): string {
  const d = new Date(ms);
  return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
}

/** Which risk colour a tag gets; unknown tags are neutral. */
export function riskClass(tag: string): string {
  switch (tag.toLowerCase()) {
    case "prod":
    case "delete":
    case "secrets":
      return "risk-high";
    case "finance":
    case "write":
      return "risk-medium";
    case "network":
    case "external":
      return "risk-low";
    default:
      return "risk-neutral";
  }
}

/** 1080 → "18:00": minutes after midnight as an `<input type="time">` value. */
export function minuteToClock(minute: number): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${pad(Math.floor(minute / 60))}:${pad(minute % 60)}`;
}

/** "18:00" → 1080; `null` for anything that is not a time of day. */
export function clockToMinute(clock: string): number | null {
  const match = /^(\d{2}):(\d{2})$/.exec(clock);
  if (!match) return null;
  const [hours, minutes] = [Number(match[1]), Number(match[2])];
  return hours < 24 && minutes < 60 ? hours * 60 + minutes : null;
}

/** A count as the reviewer reads it: "10,000", in the system's own digits and separators. */
export function count(n: number): string {
  return n.toLocaleString();
}
