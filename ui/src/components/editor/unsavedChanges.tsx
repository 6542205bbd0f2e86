// Unsaved work that is not a draft (a postmortem being written) must not be lost by a click
// elsewhere: a view says what would be lost, the App asks before it navigates away, and the
// browser asks before the page is closed or reloaded.
import { createContext, useContext, useEffect } from 'react';
import { Dialog } from '../Dialog';

/** Registers (or, with null, clears) what leaving the current view would lose. */
export const LeaveGuardContext = createContext<(message: string | null) => void>(() => undefined);

/** While `message` is set, leaving the view asks first (in the app and in the browser). */
export function useLeaveGuard(message: string | null): void {
  const set = useContext(LeaveGuardContext);
  useEffect(() => {
    set(message);
    return () => set(null);
  }, [set, message]);
  useEffect(() => {
    if (!message) return;
    const onBeforeUnload = (e: BeforeUnloadEvent) => {
      e.preventDefault();
      // Older engines (WebKitGTK under Tauri among them) ask only when a value is set.
      e.returnValue = message;
      return message;
    };
    window.addEventListener('beforeunload', onBeforeUnload);
    return () => window.removeEventListener('beforeunload', onBeforeUnload);
  }, [message]);
}

/** "Leave without saving?": stay (the default), or leave and lose the changes. */
export function LeaveDialog({ message, onStay, onLeave }: { message: string; onStay: () => void; onLeave: () => void }) {
  return (
    <Dialog title="Leave without saving?" onClose={onStay}>
      <div className="form">
        <p>{message}</p>
        <p className="small muted">Leaving now throws those changes away.</p>
        <div className="actions">
          <button type="button" className="btn" onClick={onLeave}>
            Leave without saving
          </button>
          <button type="button" className="btn btn--primary" data-autofocus onClick={onStay}>
            Stay
          </button>
        </div>
      </div>
    </Dialog>
  );
}
