// A modal dialog on the native <dialog> element: focus is trapped and Escape closes it. Opening
// puts the focus on the field marked `data-autofocus`; closing gives it back to where it was.
import { useEffect, useId, useRef, type ReactNode } from 'react';

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
