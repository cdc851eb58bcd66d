import { riskClass } from "../format";
import { AgentText } from "./AgentText";

export function RiskTags({ tags }: { tags: readonly string[] }) {
  // A repeated tag adds nothing and would collide as a React key.
  const unique = [...new Set(tags)];
  if (unique.length === 0) return null;
  return (
    <ul className="risk-tags" aria-label="Risk tags">
      {unique.map((tag) => (
        <li key={tag} className={`risk-tag ${riskClass(tag)}`}>
          <AgentText value={tag} />
        </li>
      ))}
    </ul>
  );
}
