import { count } from "../format";
import type { RefObject } from "react";
import type { Facets, QueueFilter } from "../model/filter";

interface FilterBarProps {
  filter: QueueFilter;
  facets: Facets;
  shown: number;
  total: number;
  searchRef: RefObject<HTMLInputElement | null>;
  onChange: (filter: QueueFilter) => void;
}

export function FilterBar({ filter, facets, shown, total, searchRef, onChange }: FilterBarProps) {
  const select = (label: string, key: "topic" | "tag" | "requester", options: Facets["topics"]) => (
    <label className="filter-select">
      <span className="visually-hidden">{label}</span>
      <select
        aria-label={label}
        value={filter[key]}
        onChange={(e) => {
          onChange({ ...filter, [key]: e.target.value });
        }}
      >
        <option value="">{label}</option>
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {`${o.value} (${String(o.count)})`}
          </option>
        ))}
      </select>
    </label>
  );
  return (
    <div className="filter-bar" role="search">
      <input
        ref={searchRef}
        type="search"
        className="filter-search"
        placeholder="Search (/)"
        aria-label="Search approvals"
        value={filter.text}
        onChange={(e) => {
          onChange({ ...filter, text: e.target.value });
        }}
        onKeyDown={(e) => {
          if (e.key === "Escape" || e.key === "Enter") {
            e.currentTarget.blur();
          }
        }}
      />
      {select("Topic", "topic", facets.topics)}
      {select("Risk", "tag", facets.tags)}
      {select("Requester", "requester", facets.requesters)}
      <span className="filter-count" data-testid="filter-count" aria-live="polite">
        {shown === total ? `${count(total)} pending` : `${count(shown)} of ${count(total)}`}
      </span>
    </div>
  );
}
