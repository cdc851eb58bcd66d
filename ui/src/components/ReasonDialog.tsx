import { useState } from "react";
import { Dialog } from "./Dialog";
import { FormActions } from "./FormActions";

/** Asks why a job (or several) is rejected: Enter sends, Esc cancels. */
export function ReasonDialog({ count, title, onSubmit, onClose }: { count: number; title: string; onSubmit: (reason: string) => void; onClose: () => void }) {
  const [reason, setReason] = useState("");
  const [error, setError] = useState<string | null>(null);
  const submit = () => {
    const trimmed = reason.trim();
    if (!trimmed) {
      setError("A reject needs a reason.");
      return;
    }
    if (new TextEncoder().encode(trimmed).length > 512) {
      setError("At most 512 bytes: shorten the reason.");
      return;
    }
    onSubmit(trimmed);
  };
  return (
    <Dialog title={count > 1 ? `Reject ${String(count)} approvals` : "Reject"} onClose={onClose} testId="reason-dialog">
      <form
        className="dialog-form"
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
      >
        <p className="dialog-subject">{title}</p>
        <label htmlFor="reject-reason">Reason (the requester sees it)</label>
        <input
          id="reject-reason"
          autoFocus
          autoComplete="off"
          value={reason}
          aria-invalid={error !== null}
          aria-describedby={error ? "reject-reason-error" : undefined}
          onChange={(e) => {
            setReason(e.target.value);
            setError(null);
          }}
        />
        {error && (
          <p id="reject-reason-error" className="form-error" role="alert">
            {error}
          </p>
        )}
        <FormActions submit="Reject" kind="reject" onCancel={onClose} />
      </form>
    </Dialog>
  );
}
