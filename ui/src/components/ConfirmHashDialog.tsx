import { useState } from "react";
import { hashTail, shortenHash } from "../format";
import { Dialog } from "./Dialog";
import { FormActions } from "./FormActions";

/**
 * Proof of reading for a high-risk approve: the reviewer types the last 4 characters of the job
 * hash on the card. The Rust side checks them again; a wrong entry sends nothing.
 */
export function ConfirmHashDialog({ title, jobHash, onSubmit, onClose }: { title: string; jobHash: string; onSubmit: (typed: string) => void; onClose: () => void }) {
  const [typed, setTyped] = useState("");
  const [error, setError] = useState<string | null>(null);
  return (
    <Dialog title="Approve a high-risk request" onClose={onClose} testId="confirm-dialog">
      <form
        className="dialog-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (typed.trim().toLowerCase() !== hashTail(jobHash).toLowerCase()) {
            setError("That is not the end of this job's hash. Nothing was sent.");
            return;
          }
          onSubmit(typed.trim());
        }}
      >
        <p className="dialog-subject">{title}</p>
        <p>
          This request is high risk. To show you read its card, type the last 4 characters of its job hash
          (<code>{shortenHash(jobHash)}</code>…), shown in bold on the card.
        </p>
        <label htmlFor="confirm-hash">Last 4 characters of the job hash</label>
        <input
          id="confirm-hash"
          autoFocus
          autoComplete="off"
          maxLength={8}
          value={typed}
          aria-invalid={error !== null}
          onChange={(e) => {
            setTyped(e.target.value);
            setError(null);
          }}
        />
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        <FormActions submit="Approve" kind="approve" onCancel={onClose} />
      </form>
    </Dialog>
  );
}
