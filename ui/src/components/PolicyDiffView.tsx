import type { DraftImpact } from "../bindings/DraftImpact";
import type { PlacedRule } from "../bindings/PlacedRule";
import type { PolicyDiff } from "../bindings/PolicyDiff";
import type { PolicyRule } from "../bindings/PolicyRule";

/** A rule's conditions in one line; agent- or author-supplied text is rendered as text only. */
function conditions(rule: PolicyRule): string {
  const parts = Object.entries(rule.when).map(([key, value]) => `${key} = ${value}`);
  return parts.length === 0 ? "always" : parts.join(", ");
}

function RuleCells({ placed, changed }: { placed: PlacedRule; changed: readonly string[] }) {
  const mark = (field: string) => (changed.includes(field) ? "rule-field rule-field-changed" : "rule-field");
  const { rule } = placed;
  return (
    <>
      <span className={mark("position")}>#{placed.position + 1}</span>{" "}
      <span className={mark("decision")} data-field="decision">
        {rule.decision}
      </span>{" "}
      <span className="muted">when</span> <span className={mark("when")}>{conditions(rule)}</span>
      {rule.reason ? <span className={`${mark("reason")} rule-reason`}> “{rule.reason}”</span> : null}
      {rule.constraints === undefined || rule.constraints === null ? null : (
        <span className={mark("constraints")}> constraints {JSON.stringify(rule.constraints)}</span>
      )}
    </>
  );
}

/** Rules added, removed and changed against the current policy; changes side by side. */
export function PolicyDiffView({ diff }: { diff: PolicyDiff }) {
  const none = diff.added.length + diff.removed.length + diff.changed.length === 0;
  return (
    <div className="policy-diff" data-testid="policy-diff">
      {none && <p className="muted">No rule changes against the current policy.</p>}
      {diff.added.length > 0 && (
        <ul className="rule-list" aria-label="Rules added">
          {diff.added.map((placed) => (
            <li key={placed.rule.id} className="rule rule-added" data-testid="rule-added" data-rule={placed.rule.id}>
              <span className="rule-sign" aria-label="added">+</span> <strong className="rule-id">{placed.rule.id}</strong> <RuleCells placed={placed} changed={[]} />
            </li>
          ))}
        </ul>
      )}
      {diff.removed.length > 0 && (
        <ul className="rule-list" aria-label="Rules removed">
          {diff.removed.map((placed) => (
            <li key={placed.rule.id} className="rule rule-removed" data-testid="rule-removed" data-rule={placed.rule.id}>
              <span className="rule-sign" aria-label="removed">−</span> <strong className="rule-id">{placed.rule.id}</strong> <RuleCells placed={placed} changed={[]} />
            </li>
          ))}
        </ul>
      )}
      {diff.changed.length > 0 && (
        <table className="rule-changes" aria-label="Rules changed">
          <thead>
            <tr>
              <th scope="col">Rule</th>
              <th scope="col">Current policy</th>
              <th scope="col">This draft</th>
            </tr>
          </thead>
          <tbody>
            {diff.changed.map((change) => (
              <tr key={change.rule_id} data-testid="rule-changed" data-rule={change.rule_id} data-fields={change.fields.join(",")}>
                <th scope="row" className="rule-id">
                  {change.rule_id}
                  <span className="muted"> ({change.fields.join(", ")})</span>
                </th>
                <td>
                  <RuleCells placed={change.before} changed={change.fields} />
                </td>
                <td>
                  <RuleCells placed={change.after} changed={change.fields} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <p className="muted">{diff.unchanged} rule(s) unchanged.</p>
    </div>
  );
}

const EFFECT_TEXT = { unchanged: "unchanged", reevaluated: "re-evaluated", invalidated: "leaves the queue" } as const;

/** What approving the draft would do to the approvals pending now. */
export function ImpactView({ impact }: { impact: DraftImpact }) {
  const affected = impact.items.filter((item) => item.effect !== "unchanged");
  return (
    <div className="impact" data-testid="impact">
      <p data-testid="impact-summary">
        {impact.pending} pending approval(s): {impact.unchanged} unchanged, {impact.reevaluated} re-evaluated,{" "}
        <strong className={impact.invalidated > 0 ? "impact-invalidated" : undefined}>{impact.invalidated} would leave the queue</strong>.
      </p>
      {affected.length > 0 && (
        <table className="impact-items">
          <thead>
            <tr>
              <th scope="col">Job</th>
              <th scope="col">Topic</th>
              <th scope="col">Now</th>
              <th scope="col">Under this draft</th>
            </tr>
          </thead>
          <tbody>
            {affected.map((item) => (
              <tr key={item.job_id} data-testid="impact-item" data-effect={item.effect}>
                <td className="mono">{item.job_id}</td>
                <td>{item.topic}</td>
                <td>
                  {item.before.decision} <span className="muted">{item.before.rule_id}</span>
                </td>
                <td>
                  {item.after ? (
                    <>
                      {item.after.decision} <span className="muted">{item.after.rule_id}</span>
                    </>
                  ) : (
                    "no verdict possible"
                  )}{" "}
                  — {EFFECT_TEXT[item.effect]}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {impact.truncated && <p className="muted">More items are affected than listed here.</p>}
    </div>
  );
}
