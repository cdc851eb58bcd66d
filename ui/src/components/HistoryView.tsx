import { useCallback, useEffect, useMemo, useState } from "react";
import * as api from "../api";
import type { ChainCheck } from "../bindings/ChainCheck";
import type { ExportResult } from "../bindings/ExportResult";
import type { HistoryEntry } from "../bindings/HistoryEntry";
import { toBackendError } from "../errors";

const KINDS = [
  ["", "All kinds"],
  ["item_seen", "Items seen"],
  ["verdict", "Verdicts"],
  ["decision_intent", "Decisions sent"],
  ["decision_outcome", "Gateway answers"],
  ["conflict", "Conflicts"],
  ["job_status", "After approval"],
  ["policy_draft_seen", "Policy drafts seen"],
  ["governance_outcome", "Policy decisions"],
  ["notification", "Notifications"],
  ["login", "Sign-ins"],
] as const;

const PAGE = 200;
const HOUR_MS = 3_600_000;
const PERIODS = [
  ["", "Any time"],
  [String(24 * HOUR_MS), "Last 24 hours"],
  [String(7 * 24 * HOUR_MS), "Last 7 days"],
  [String(30 * 24 * HOUR_MS), "Last 30 days"],
] as const;

const exported = (what: string, result: ExportResult) =>
  `Exported ${what}: ${String(result.entries)} entries to ${result.path} (head ${result.head_hash.slice(0, 12)})`;

/** The profile's local history: works with no network, from the ledger file alone. */
export function HistoryView() {
  const [kind, setKind] = useState("");
  const [text, setText] = useState("");
  const [jobId, setJobId] = useState("");
  const [topic, setTopic] = useState("");
  const [period, setPeriod] = useState("");
  /** Fixed when the period is chosen, so paging through older entries stays in one window. */
  const [sinceMs, setSinceMs] = useState<number | null>(null);
  const [exportNote, setExportNote] = useState<string | null>(null);
  const [entries, setEntries] = useState<HistoryEntry[]>([]);
  const [cursor, setCursor] = useState<number | null>(null);
  const [open, setOpen] = useState<HistoryEntry | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [check, setCheck] = useState<ChainCheck | null>(null);
  const [checking, setChecking] = useState(false);

  const query = useMemo(
    () => ({
      kinds: kind ? [kind] : [],
      text: text || null,
      job_id: jobId || null,
      topic: topic || null,
      since_ms: sinceMs,
      until_ms: null,
      limit: PAGE,
    }),
    [kind, text, jobId, topic, sinceMs],
  );
  const fetchPage = useCallback(
    (before: number | null) =>
      api.historyQuery({ ...query, before_seq: before }).then(
        (page) => {
          setEntries((old) => (before === null ? page.entries : [...old, ...page.entries]));
          setCursor(page.next_cursor);
          setError(null);
        },
        (rejection: unknown) => {
          setError(toBackendError(rejection).message);
        },
      ),
    [query],
  );

  useEffect(() => {
    void fetchPage(null);
  }, [fetchPage]);

  const verify = async () => {
    setChecking(true);
    try {
      setCheck(await api.historyVerify());
    } catch (rejection: unknown) {
      setError(toBackendError(rejection).message);
    } finally {
      setChecking(false);
    }
  };

  const runExport = async (what: string, work: () => Promise<ExportResult | null>) => {
    try {
      const result = await work();
      if (result) setExportNote(exported(what, result));
    } catch (rejection: unknown) {
      setError(toBackendError(rejection).message);
    }
  };

  return (
    <section className="history" aria-labelledby="history-title" data-testid="history">
      <header className="history-head">
        <h2 id="history-title">History</h2>
        <button type="button" className="button" onClick={() => void verify()} disabled={checking}>
          {checking ? "Verifying…" : "Verify chain"}
        </button>
        <button type="button" className="button" onClick={() => void runExport("the history", api.exportHistory)}>
          Export history…
        </button>
      </header>
      {exportNote && (
        <p className="notice" role="status" data-testid="export-note">
          {exportNote}
          <button type="button" className="link-button" onClick={() => { setExportNote(null); }} aria-label="Dismiss">
            ×
          </button>
        </p>
      )}
      {check && (
        <p className={check.intact ? "chain chain-ok" : "chain chain-broken"} role="status" data-testid="chain-check" data-intact={String(check.intact)}>
          {check.message}
        </p>
      )}
      <div className="filter-bar" role="search">
        <select aria-label="Entry kind" value={kind} onChange={(e) => { setKind(e.target.value); }}>
          {KINDS.map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </select>
        <input type="search" aria-label="Search history" placeholder="Search" value={text} onChange={(e) => { setText(e.target.value); }} />
        <input type="search" aria-label="Job id" placeholder="Job id" value={jobId} onChange={(e) => { setJobId(e.target.value); }} />
        <input type="search" aria-label="Topic" placeholder="Topic" value={topic} onChange={(e) => { setTopic(e.target.value); }} />
        <select
          aria-label="Period"
          value={period}
          onChange={(e) => {
            setPeriod(e.target.value);
            setSinceMs(e.target.value ? Date.now() - Number(e.target.value) : null);
          }}
        >
          {PERIODS.map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </select>
      </div>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      <ol className="history-list" data-testid="history-list">
        {entries.map((entry) => (
          <li key={entry.seq} className={check?.broken_at === entry.seq ? "history-entry history-broken" : "history-entry"} data-kind={entry.kind}>
            <button type="button" className="history-row" aria-expanded={open?.seq === entry.seq} onClick={() => { setOpen(open?.seq === entry.seq ? null : entry); }}>
              <span className="history-seq">#{entry.seq}</span>
              <span className="history-time">{new Date(entry.recorded_at_ms).toLocaleString()}</span>
              <span className="history-kind">{entry.kind.replaceAll("_", " ")}</span>
              <span className="history-summary">
                {[entry.decision, entry.outcome, entry.topic, entry.job_id].filter(Boolean).join(" · ")}
              </span>
            </button>
            {open?.seq === entry.seq && (
              <>
                <pre className="code-block" data-testid="history-body">
                  {JSON.stringify(entry.body, null, 2)}
                </pre>
                {entry.job_id && (
                  <button
                    type="button"
                    className="button"
                    onClick={() => {
                      const job = entry.job_id ?? "";
                      void runExport(`the evidence of ${job}`, () => api.exportEvidence(job));
                    }}
                  >
                    Export evidence pack…
                  </button>
                )}
              </>
            )}
          </li>
        ))}
      </ol>
      {entries.length === 0 && !error && <p className="muted">No entries.</p>}
      {cursor !== null && (
        <button type="button" className="button" onClick={() => void fetchPage(cursor)}>
          Load older entries
        </button>
      )}
    </section>
  );
}
