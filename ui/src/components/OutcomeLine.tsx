import type { CardOutcome } from "../model/outcome";
import { decisionSentence, driftLines } from "../model/outcome";
import { shortenHash } from "../format";

/** The card's state after the reviewer's last decision; every outcome has its own words. */
export function OutcomeLine({ outcome, onReviewAgain }: { outcome: CardOutcome; onReviewAgain?: () => void }) {
  switch (outcome.kind) {
    case "sending":
      return (
        <p className="outcome outcome-sending" role="status" data-testid="outcome" data-kind="sending">
          {outcome.action === "approve" ? "Verifying and approving…" : "Rejecting…"}
        </p>
      );
    case "decided":
      return (
        <p className="outcome outcome-done" role="status" data-testid="outcome" data-kind="decided">
          <span data-testid="decision-sentence">{decisionSentence(outcome.decision)}</span>
          {outcome.decision.mismatch && (
            <strong className="outcome-alarm"> Warning: {outcome.decision.mismatch}</strong>
          )}
        </p>
      );
    case "resolved_elsewhere":
      return (
        <p className="outcome outcome-info" role="status" data-testid="outcome" data-kind="resolved_elsewhere">
          Already decided elsewhere. {outcome.message}
        </p>
      );
    case "drift": {
      const lines = driftLines(outcome.verdict);
      return (
        <div className="outcome outcome-refused" role="alert" data-testid="outcome" data-kind="drift">
          <p>
            <strong>Not approved: refused locally, nothing was sent.</strong> {outcome.message}
          </p>
          {lines.length > 0 && (
            <dl className="drift-lines">
              {lines.map((line) => (
                <div key={line.label}>
                  <dt>{line.label}</dt>
                  <dd>
                    seen <code title={line.seen}>{preview(line.seen)}</code> → now{" "}
                    <code title={line.now}>{preview(line.now)}</code>
                  </dd>
                </div>
              ))}
            </dl>
          )}
          {onReviewAgain && (
            <button type="button" className="link-button" onClick={onReviewAgain}>
              Review again
            </button>
          )}
        </div>
      );
    }
    case "self_approval":
      return (
        <p className="outcome outcome-refused" role="alert" data-testid="outcome" data-kind="self_approval">
          You cannot decide a job you submitted. {outcome.message}
        </p>
      );
    case "retrying":
      return (
        <p className="outcome outcome-sending" role="status" data-testid="outcome" data-kind="retrying">
          Sending… will retry until the gateway answers. {outcome.message}
        </p>
      );
    case "reauth":
      return (
        <p className="outcome outcome-refused" role="alert" data-testid="outcome" data-kind="reauth">
          Sign in again to decide. {outcome.message}
        </p>
      );
    case "blocked":
      return (
        <p className="outcome outcome-refused" role="alert" data-testid="outcome" data-kind="blocked" data-code={outcome.code}>
          {outcome.message}
        </p>
      );
    case "failed":
      return (
        <p className="outcome outcome-refused" role="alert" data-testid="outcome" data-kind="failed" data-code={outcome.code}>
          Not decided: {outcome.message}
        </p>
      );
  }
}

/** Hashes by their prefix; other values (a changed field's JSON) clipped to a readable line. */
function preview(value: string): string {
  if (/^[\w:.-]{13,}$/.test(value)) return shortenHash(value);
  return value.length > 80 ? `${value.slice(0, 80)}…` : value;
}
