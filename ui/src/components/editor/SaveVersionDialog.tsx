// "Save version": shows exactly what the new version changes against the latest one (with the
// rendered output for the current inputs) and requires a changelog message.
import { useRef, useState } from 'react';
import type { JsonValue } from '../../api/generated';
import { errorText, useApi } from '../context';
import { Dialog } from '../Dialog';
import { DiffView, LayoutToggle, isEmptyDiff, type DiffLayout } from '../DiffView';
import { useCommand } from '../useCommand';

export function SaveVersionDialog({
  name,
  inputs,
  onClose,
  onCommitted,
}: {
  name: string;
  inputs: { [key in string]: JsonValue };
  onClose: () => void;
  onCommitted: (version: number) => void;
}) {
  const { call } = useApi();
  const loaded = useCommand('draft_diff', { name, inputs });
  const diff = loaded.data;
  const [commitError, setError] = useState<string | null>(null);
  const error = commitError ?? loaded.error;
  const [message, setMessage] = useState('');
  const [busy, setBusy] = useState(false);
  const [layout, setLayout] = useState<DiffLayout>('unified');

  const submitting = useRef(false);

  const empty = diff !== null && isEmptyDiff(diff.diff);
  const canSave = !busy && message.trim() !== '' && !empty && diff !== null;
  const submit = async () => {
    // One commit per click, however fast the second click or Ctrl+Enter comes.
    if (submitting.current) return;
    submitting.current = true;
    setBusy(true);
    setError(null);
    try {
      const v = await call('commit_version', { name, message: message.trim() });
      onCommitted(v.number);
    } catch (e) {
      setError(errorText(e));
    } finally {
      submitting.current = false;
      setBusy(false);
    }
  };

  return (
    <Dialog title="Save a version" onClose={onClose} wide>
      {diff ? (
        <>
          <div className="row">
            <p className="grow">
              Changes from <strong>{diff.old_label}</strong> to <strong>the new version</strong>
            </p>
            <LayoutToggle layout={layout} onChange={setLayout} />
          </div>
          <div className="dialog__diff">
            <DiffView diff={diff.diff} layout={layout} />
          </div>
          {diff.render_error ? (
            <p className="warning">The preview inputs could not render one side: {diff.render_error.message}</p>
          ) : null}
        </>
      ) : !error ? (
        <p className="muted" aria-busy="true">
          Computing the diff…
        </p>
      ) : null}
      <form
        className="form"
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <label>
          Changelog message
          <textarea
            data-autofocus
            rows={3}
            required
            value={message}
            onChange={(e) => setMessage(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
                e.preventDefault();
                if (canSave) void submit();
              }
            }}
            placeholder="What changed, and why?"
            aria-describedby="changelog-hint"
          />
        </label>
        <p id="changelog-hint" className="hint">
          Required. Ctrl+Enter saves.
        </p>
        {error ? (
          <p role="alert" className="error">
            {error}
          </p>
        ) : null}
        {empty ? <p className="muted small">Nothing changed since the latest version, so there is nothing to save.</p> : null}
        <div className="actions">
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn--primary" disabled={!canSave}>
            Save version
          </button>
        </div>
      </form>
    </Dialog>
  );
}
