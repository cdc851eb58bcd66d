/** A dialog form's Cancel and submit buttons; the submit button is never pre-focused. */
export function FormActions({ submit, kind, onCancel }: { submit: string; kind: "approve" | "reject"; onCancel: () => void }) {
  return (
    <div className="dialog-actions">
      <button type="button" className="button" onClick={onCancel}>
        Cancel
      </button>
      <button type="submit" className={`button button-${kind}`}>
        {submit}
      </button>
    </div>
  );
}
