// "Open incident": the prompt, the label and the suspected release (its latest by default), the
// severity, how it was detected and when it started. Opened from the list or a prompt's Releases.
import { useMemo, useState } from 'react';
import type { IncidentDetail, Release } from '../../api/generated';
import { useApi } from '../context';
import { relativeTime } from '../../lib/format';
import { DETECTIONS, DETECTION_TEXT, SEVERITIES, SEVERITY_TEXT, localInputToIso } from '../../lib/incidents';
import { FormDialog } from '../Dialog';
import { useCommand } from '../useCommand';

/** What the "Open incident" form starts with (from a prompt's Releases view). */
export interface IncidentInit {
  prompt?: string;
  label?: string;
  /** A release id; the label's latest release when absent. */
  suspectedRelease?: string;
}

/** The release a line of the suspected-release picker shows. */
export function releaseText(r: Release): string {
  const from = r.from_version !== null ? `v${r.from_version}` : 'nothing';
  return `${from} → v${r.to_version} by ${r.actor}, ${relativeTime(r.at)}${r.changelog ? ` — ${r.changelog}` : ''}`;
}

export function OpenIncidentDialog({
  init = {},
  onClose,
  onOpened,
}: {
  init?: IncidentInit;
  onClose: () => void;
  onOpened: (d: IncidentDetail) => void;
}) {
  const { call, refresh } = useApi();
  const [title, setTitle] = useState('');
  const [severity, setSeverity] = useState('SEV2');
  const [detection, setDetection] = useState('user_reports');
  const [detectedAt, setDetectedAt] = useState('');
  const [prompt, setPrompt] = useState(init.prompt ?? '');
  const [label, setLabel] = useState(init.label ?? 'production');
  const [suspected, setSuspected] = useState(init.suspectedRelease ?? '');
  const [notes, setNotes] = useState('');
  const promptList = useCommand('list_prompts', {}).data;
  const prompts = useMemo(() => (promptList ?? []).map((p) => p.name), [promptList]);

  // The label's releases (not its rollbacks), newest first: what may have caused it. Null until
  // a known prompt is named and its releases are read; none when they cannot be.
  const name = prompt.trim();
  const onLabel = label.trim() || 'production';
  const known = prompts.includes(name);
  const timeline = useCommand('list_releases', known ? { name, label: onLabel } : null);
  const releases = useMemo(
    () =>
      !known ? null
      : timeline.data ? timeline.data.releases.filter((r) => r.kind === 'release' && r.label === onLabel)
      : timeline.error ? []
      : null,
    [known, timeline.data, timeline.error, onLabel],
  );
  // The picked release, or the label's latest when the pick is not one of its releases.
  const suspectedId = releases === null || releases.some((r) => r.id === suspected) ? suspected : (releases[0]?.id ?? '');

  const detected = localInputToIso(detectedAt);
  const problem =
    !title.trim() ? 'Say what is wrong, in a line.'
    : !prompt.trim() ? 'Name the prompt that misbehaves.'
    : detected !== null && typeof detected !== 'string' ? `Detected: ${detected.error}.`
    : null;

  const submit = async () => {
    const d = await call('open_incident', {
      title: title.trim(),
      severity,
      detection,
      detected_at: typeof detected === 'string' ? detected : '',
      prompt: prompt.trim(),
      label: label.trim(),
      suspected_release: suspectedId,
      notes: notes.trim(),
    });
    refresh();
    onOpened(d);
  };

  return (
    <FormDialog
      title="Open an incident"
      onClose={onClose}
      onSubmit={submit}
      submitLabel="Open incident"
      blocked={problem !== null}
      submitDescribedBy="incident-problem"
      wide
      after={
        <p id="incident-problem" className="small muted">
          {problem ?? 'The incident is recorded in the ledger with your name; its timeline starts at the suspected version.'}
        </p>
      }
    >
      <label>
        Title
        <input data-autofocus value={title} onChange={(e) => setTitle(e.target.value)} placeholder="What is wrong, in a line" />
      </label>
      <div className="grid2">
        <label>
          Severity
          <select aria-label="Severity" value={severity} onChange={(e) => setSeverity(e.target.value)}>
            {SEVERITIES.map((s) => (
              <option key={s} value={s}>
                {SEVERITY_TEXT[s]}
              </option>
            ))}
          </select>
        </label>
        <label>
          Detected through
          <select aria-label="Detected through" value={detection} onChange={(e) => setDetection(e.target.value)}>
            {DETECTIONS.map((d) => (
              <option key={d} value={d}>
                {DETECTION_TEXT[d]}
              </option>
            ))}
          </select>
        </label>
      </div>
      <label>
        Detected at (optional)
        <input type="datetime-local" value={detectedAt} onChange={(e) => setDetectedAt(e.target.value)} aria-describedby="detected-hint" />
      </label>
      <p id="detected-hint" className="hint">
        Your local time; empty means now.
      </p>
      <div className="grid2">
        <label>
          Prompt
          <input list="incident-prompts" className="mono" value={prompt} onChange={(e) => setPrompt(e.target.value)} spellCheck={false} />
          <datalist id="incident-prompts">
            {prompts.map((p) => (
              <option key={p} value={p} />
            ))}
          </datalist>
        </label>
        <label>
          Label
          <input list="incident-labels" value={label} onChange={(e) => setLabel(e.target.value)} spellCheck={false} />
          <datalist id="incident-labels">
            <option value="production" />
            <option value="staging" />
          </datalist>
        </label>
      </div>
      <label>
        Suspected release
        <select aria-label="Suspected release" value={suspectedId} onChange={(e) => setSuspected(e.target.value)} disabled={!releases || releases.length === 0}>
          {releases && releases.length ? (
            releases.map((r) => (
              <option key={r.id} value={r.id}>
                {releaseText(r)}
              </option>
            ))
          ) : (
            <option value="">{releases ? `no release to ${label.trim() || 'production'} yet` : 'pick a prompt first'}</option>
          )}
        </select>
      </label>
      <label>
        Notes
        <textarea rows={3} value={notes} onChange={(e) => setNotes(e.target.value)} placeholder="What you know so far" />
      </label>
    </FormDialog>
  );
}
