// A modal dialog on the native <dialog> element: focus is trapped and Escape closes it. Opening
// puts the focus on the field marked `data-autofocus`; closing gives it back to where it was.
import { useEffect, useId, useRef, useState, type ReactNode } from 'react';
import { errorText } from './context';

export function Dialog({
  title,
  onClose,
  children,
  wide = false,
}: {
  title: string;
  onClose: () => void;
  children: ReactNode;
  wide?: boolean;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    if (!d.open) {
      if (typeof d.showModal === 'function') d.showModal();
      else d.setAttribute('open', '');
    }
    // React's autoFocus would run while the dialog is still closed (not rendered, so nothing
    // can take focus), and showModal() then focuses the first button: the header's ×.
    d.querySelector<HTMLElement>('[data-autofocus]')?.focus();
    return () => {
      if (d.open && typeof d.close === 'function') d.close();
      // The opener may be gone (a rename re-creates the editor); then the browser decides.
      if (opener?.isConnected) opener.focus();
    };
  }, []);
  return (
    <dialog
      ref={ref}
      className={`dialog${wide ? ' dialog--wide' : ''}`}
      aria-labelledby={titleId}
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
    >
      <header className="dialog__head">
        <h2 id={titleId}>{title}</h2>
        <button type="button" className="btn btn--ghost btn--icon" onClick={onClose} aria-label="Close" title="Close (Esc)">
          ×
        </button>
      </header>
      <div className="dialog__body">{children}</div>
    </dialog>
  );
}

/** A dialog around one form: runs `onSubmit`, shows what went wrong in place (the dialog stays
 * open with everything typed), and disables the submit button while it runs or while `blocked`. */
export function FormDialog({
  title,
  onClose,
  onSubmit,
  submitLabel,
  blocked = false,
  wide = false,
  children,
  after,
  submitDescribedBy,
}: {
  title: string;
  onClose: () => void;
  onSubmit: () => Promise<void>;
  submitLabel: string;
  blocked?: boolean;
  wide?: boolean;
  children: ReactNode;
  /** Shown under the buttons (a hint about why the button is disabled, say). */
  after?: ReactNode;
  /** The id of what explains the submit button (why it is disabled). */
  submitDescribedBy?: string;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const submit = async () => {
    setBusy(true);
    setError(null);
    try {
      await onSubmit();
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog title={title} onClose={onClose} wide={wide}>
      <form
        className="form"
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        {children}
        {error ? (
          <p role="alert" className="error">
            {error}
          </p>
        ) : null}
        <div className="actions">
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn--primary" disabled={busy || blocked} aria-describedby={submitDescribedBy}>
            {submitLabel}
          </button>
        </div>
        {after}
      </form>
    </Dialog>
  );
}
