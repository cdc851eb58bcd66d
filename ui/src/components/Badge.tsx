import type { Verdict } from "../bindings/Verdict";
import { BADGE_TEXT, badgeOf } from "../model/outcome";

export function VerificationBadge({ verdict }: { verdict: Verdict | null | undefined }) {
  const level = badgeOf(verdict);
  return (
    <span className={`badge badge-${level}`} data-testid="badge" data-level={level}>
      {BADGE_TEXT[level]}
    </span>
  );
}
