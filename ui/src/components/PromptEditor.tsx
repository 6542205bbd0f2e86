// The editor of one prompt: the template (or chat messages), the variables schema, model
// settings, the live preview, and "Save version". Every edit is journalled locally at once,
// saved to the registry shortly after, and rendered through the isolated worker as you type.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type {
  Body,
  ChatMessage,
  DraftAnalysis,
  DraftContent,
  DraftSaved,
  OpenedPrompt,
  PreviewOutcome,
  Rendered,
  TemplateError,
} from '../api/generated';
import type { JsonValue } from '../api/generated';
import { errorText, useApi } from './context';
import { DraftJournal } from '../lib/journal';
import { LatestOnly } from '../lib/latest';
import { errorTarget } from '../lib/format';
import { TemplateEditor, type EditorProblem } from './TemplateEditor';
import { ModelSettingsForm, VariablesEditor } from './SchemaEditor';
import { SaveVersionDialog } from './SaveVersionDialog';
import { Badges, splitTags } from './PromptBrowser';
import { Dialog } from './Dialog';

type Inputs = { [key in string]: JsonValue };
type SaveState = { kind: 'saved'; at: string } | { kind: 'saving' } | { kind: 'failed'; message: string };

const SAVE_DELAY_MS = 250;
const SAVE_RETRY_MS = 2000;
const ROLES = ['system', 'user', 'assistant'];

interface Props {
  name: string;
  journal: DraftJournal;
  showPreview: boolean;
  saveRequested: number;
  onRenamed: (name: string) => void;
  onCommitted: () => void;
}

/** The located problem to underline in the editor for template `target` (-1 = text template). */
function problemFor(
  name: string,
  target: number,
  analysis: DraftAnalysis | null,
  previewError: TemplateError | null,
): EditorProblem | null {
  const candidates = [...(analysis?.errors ?? []), ...(previewError ? [previewError] : [])];
  for (const e of candidates) {
    if (e.location && errorTarget(name, e.location.template) === target) {
      return { line: e.location.line, column: e.location.column, message: e.message };
    }
  }
  return null;
}

function describeError(e: TemplateError): string {
  const l = e.location;
  return l ? `${l.template}, line ${l.line}, column ${l.column}: ${e.message}` : e.message;
}

export function PromptEditor({ name, journal, showPreview, saveRequested, onRenamed, onCommitted }: Props) {
  const { call, refresh } = useApi();
  const [opened, setOpened] = useState<OpenedPrompt | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [content, setContent] = useState<DraftContent | null>(null);
  const [analysis, setAnalysis] = useState<DraftAnalysis | null>(null);
  const [save, setSave] = useState<SaveState>({ kind: 'saved', at: '' });
  const [restored, setRestored] = useState(false);
  const [hasChanges, setHasChanges] = useState(false);
  const [committing, setCommitting] = useState(false);
  const [renaming, setRenaming] = useState(false);
  const saveTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const latestContent = useRef<DraftContent | null>(null);

  // ---- saving -------------------------------------------------------------------------------
  const saver: LatestOnly<DraftContent, DraftSaved> = useMemo(
    () =>
      new LatestOnly<DraftContent, DraftSaved>(
        (c) => call('save_draft', { name, content: c }),
        (res, c) => {
          journal.confirm(name, c);
          setAnalysis(res.analysis);
          setHasChanges(res.has_changes);
          if (latestContent.current === c) setSave({ kind: 'saved', at: res.updated_at });
        },
        (err, c) => {
          setSave({ kind: 'failed', message: errorText(err) });
          // Keep trying while the backend is away (a restarting server); the edit stays in the
          // journal meanwhile. A newer edit schedules its own save and supersedes this one.
          if (saveTimer.current === null && latestContent.current === c) {
            saveTimer.current = setTimeout(() => {
              saveTimer.current = null;
              if (latestContent.current === c) saver.request(c);
            }, SAVE_RETRY_MS);
          }
        },
      ),
    [call, name, journal],
  );

  const flushSave = useCallback(async () => {
    if (saveTimer.current) {
      clearTimeout(saveTimer.current);
      saveTimer.current = null;
      if (latestContent.current) saver.request(latestContent.current);
    }
    while (saver.busy) await new Promise((r) => setTimeout(r, 20));
  }, [saver]);

  // ---- preview ------------------------------------------------------------------------------
  const [inputs, setInputs] = useState<Inputs>({});
  const [preview, setPreview] = useState<{ outcome: PreviewOutcome; startedAt: number } | null>(null);
  const [lastGood, setLastGood] = useState<Rendered | null>(null);
  const [previewFailure, setPreviewFailure] = useState<string | null>(null);
  const previewer = useMemo(
    () =>
      new LatestOnly<{ c: DraftContent; inputs: Inputs; startedAt: number }, PreviewOutcome>(
        ({ c, inputs: i }) => call('preview_draft', { name, content: c, inputs: i }),
        (outcome, req) => {
          setPreviewFailure(null);
          setPreview({ outcome, startedAt: req.startedAt });
          setAnalysis(outcome.analysis);
          if (outcome.rendered) setLastGood(outcome.rendered);
        },
        (err) => setPreviewFailure(errorText(err)),
      ),
    [call, name],
  );

  // Keystroke-to-preview timing, measured once the new preview is on screen.
  useEffect(() => {
    if (preview) {
      performance.measure('promptdesk:keystroke-to-preview', { start: preview.startedAt, end: performance.now() });
    }
  }, [preview]);

  // ---- open ---------------------------------------------------------------------------------
  useEffect(() => {
    let live = true;
    setOpened(null);
    setContent(null);
    setPreview(null);
    setLastGood(null);
    setLoadError(null);
    setRestored(false);
    call('open_prompt', { name })
      .then((o) => {
        if (!live) return;
        setOpened(o);
        setAnalysis(o.analysis);
        setHasChanges(o.has_changes);
        const firstSample = Object.keys(o.samples)[0];
        const startInputs = firstSample ? (o.samples[firstSample] ?? {}) : {};
        setSample(firstSample ?? null);
        setInputs(startInputs as Inputs);
        setInputsText(JSON.stringify(startInputs, null, 2));
        // An edit journalled but never confirmed (the app or server died first) wins.
        const pending = journal.read(name);
        const usePending =
          pending !== null &&
          pending.body.kind === o.draft.content.body.kind &&
          JSON.stringify(pending) !== JSON.stringify(o.draft.content);
        const c = usePending ? pending : o.draft.content;
        if (!usePending) journal.discard(name);
        latestContent.current = c;
        setContent(c);
        setSave({ kind: 'saved', at: o.draft.updated_at });
        if (usePending) {
          setRestored(true);
          setSave({ kind: 'saving' });
          saver.request(c);
        }
        previewer.request({ c, inputs: startInputs as Inputs, startedAt: performance.now() });
      })
      .catch((e) => live && setLoadError(errorText(e)));
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [call, name]);

  // ---- editing ------------------------------------------------------------------------------
  const edit = useCallback(
    (next: DraftContent) => {
      const startedAt = performance.now();
      latestContent.current = next;
      setContent(next);
      journal.write(name, next);
      setSave({ kind: 'saving' });
      if (saveTimer.current) clearTimeout(saveTimer.current);
      saveTimer.current = setTimeout(() => {
        saveTimer.current = null;
        saver.request(next);
      }, SAVE_DELAY_MS);
      previewer.request({ c: next, inputs, startedAt });
    },
    [journal, name, saver, previewer, inputs],
  );

  // Save any pending edit when leaving the prompt.
  useEffect(
    () => () => {
      if (saveTimer.current && latestContent.current) {
        clearTimeout(saveTimer.current);
        saver.request(latestContent.current);
      }
    },
    [saver],
  );

  const setBody = (body: Body) => content && edit({ ...content, body });

  // ---- inputs and samples -------------------------------------------------------------------
  const [sample, setSample] = useState<string | null>(null);
  const [inputsText, setInputsText] = useState('{}');
  const [inputsProblem, setInputsProblem] = useState<string | null>(null);
  const [sampleMessage, setSampleMessage] = useState<string | null>(null);
  const [newSample, setNewSample] = useState('');

  const applyInputs = (next: Inputs) => {
    setInputs(next);
    if (content) previewer.request({ c: content, inputs: next, startedAt: performance.now() });
  };

  const pickSample = (s: string) => {
    if (!opened) return;
    const values = (opened.samples[s] ?? {}) as Inputs;
    setSample(s);
    setInputsText(JSON.stringify(values, null, 2));
    setInputsProblem(null);
    applyInputs(values);
  };

  const saveSample = async (sampleName: string) => {
    try {
      const samples = await call('save_sample', { name, sample: sampleName, inputs });
      setOpened((o) => (o ? { ...o, samples } : o));
      setSample(sampleName);
      setSampleMessage(`Saved sample “${sampleName}”.`);
      setNewSample('');
    } catch (e) {
      setSampleMessage(errorText(e));
    }
  };

  // ---- save a version -----------------------------------------------------------------------
  const openSaveDialog = useCallback(async () => {
    await flushSave();
    setCommitting(true);
  }, [flushSave]);

  const firstRequest = useRef(saveRequested);
  useEffect(() => {
    if (saveRequested !== firstRequest.current) void openSaveDialog();
  }, [saveRequested, openSaveDialog]);

  if (loadError) {
    return (
      <div className="pad">
        <p role="alert" className="error">
          {loadError}
        </p>
      </div>
    );
  }
  if (!opened || !content) {
    return (
      <div className="pad muted" aria-busy="true">
        Opening {name}…
      </div>
    );
  }

  const vars = content.variables;
  const previewError = preview?.outcome.error ?? null;
  const otherErrors = (analysis?.errors ?? []).filter(
    (e) => !e.location || errorTarget(name, e.location.template) === null,
  );

  return (
    <div className={`editor${showPreview ? '' : ' editor--no-preview'}`}>
      <div className="editor__main">
        <header className="editor__head">
          <div>
            <h2 className="prompt-title">
              {opened.prompt.name} <span className="kind">{opened.prompt.kind}</span>
            </h2>
            <p className="muted small">
              {opened.latest ? `Latest version ${opened.latest}` : 'No version saved yet'}{' '}
              <Badges labels={Object.fromEntries(opened.labels.map((l) => [l.name, l.number]))} />
              {opened.included_by.length ? ` · included by ${opened.included_by.join(', ')}` : ''}
            </p>
          </div>
          <div className="editor__actions">
            <SaveIndicator state={save} />
            <button type="button" className="btn" onClick={() => setRenaming(true)}>
              Rename…
            </button>
            <button
              type="button"
              className="btn btn--primary"
              onClick={() => void openSaveDialog()}
              disabled={!hasChanges && save.kind === 'saved'}
              title="Save a version (Ctrl+S)"
            >
              Save version…
            </button>
          </div>
        </header>
        {restored ? (
          <p className="note" role="status">
            Restored edits that had not reached the registry before Promptdesk closed.
          </p>
        ) : null}
        <DetailsForm
          key={opened.prompt.name}
          description={opened.prompt.description}
          tags={opened.prompt.tags}
          onSave={async (description, tags) => {
            const p = await call('update_prompt', { name, description, tags });
            setOpened((o) => (o ? { ...o, prompt: p } : o));
            refresh();
          }}
        />
        {content.body.kind === 'text' ? (
          <section className="panel" aria-labelledby="template-heading">
            <h3 id="template-heading">Template</h3>
            <TemplateEditor
              label="Template"
              value={content.body.template}
              onChange={(t) => setBody({ kind: 'text', template: t })}
              variables={vars}
              problem={problemFor(name, -1, analysis, previewError)}
              placeholder="Write the prompt. Use {{ variable }} for inputs."
              minLines={10}
            />
          </section>
        ) : (
          <MessagesEditor
            messages={content.body.messages}
            onChange={(messages) => setBody({ kind: 'chat', messages })}
            variables={vars}
            problemAt={(i) => problemFor(name, i, analysis, previewError)}
          />
        )}
        {otherErrors.length ? (
          <div className="error-box" role="alert">
            {otherErrors.map((e, i) => (
              <p key={i}>{describeError(e)}</p>
            ))}
          </div>
        ) : null}
        <VariablesEditor
          variables={vars}
          report={analysis?.schema ?? { undeclared: [], unused: [] }}
          onChange={(variables) => edit({ ...content, variables })}
        />
        <ModelSettingsForm model={content.model} onChange={(model) => edit({ ...content, model })} />
      </div>
      {showPreview ? (
        <aside className="editor__preview" aria-label="Preview">
          <section className="panel">
            <h3>Inputs</h3>
            <div className="row">
              <label className="grow">
                Sample
                <select
                  aria-label="Sample"
                  value={sample ?? ''}
                  onChange={(e) => pickSample(e.target.value)}
                  disabled={Object.keys(opened.samples).length === 0}
                >
                  {Object.keys(opened.samples).length === 0 ? <option value="">(no samples)</option> : null}
                  {Object.keys(opened.samples).map((s) => (
                    <option key={s}>{s}</option>
                  ))}
                </select>
              </label>
              <button type="button" className="btn" disabled={!sample || inputsProblem !== null} onClick={() => sample && void saveSample(sample)}>
                Save sample
              </button>
            </div>
            <label>
              Input values (JSON)
              <textarea
                className={`mono${inputsProblem ? ' invalid' : ''}`}
                rows={6}
                spellCheck={false}
                value={inputsText}
                aria-invalid={inputsProblem !== null}
                onChange={(e) => {
                  setInputsText(e.target.value);
                  try {
                    const v = JSON.parse(e.target.value || '{}') as unknown;
                    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error();
                    setInputsProblem(null);
                    applyInputs(v as Inputs);
                  } catch {
                    setInputsProblem('Inputs must be a JSON object: {"name": "value"}.');
                  }
                }}
              />
            </label>
            {inputsProblem ? <p className="error small">{inputsProblem}</p> : null}
            <form
              className="row"
              onSubmit={(e) => {
                e.preventDefault();
                if (newSample.trim()) void saveSample(newSample.trim());
              }}
            >
              <input
                className="grow"
                aria-label="New sample name"
                placeholder="new sample name"
                value={newSample}
                onChange={(e) => setNewSample(e.target.value)}
              />
              <button type="submit" className="btn" disabled={!newSample.trim() || inputsProblem !== null}>
                Save as new sample
              </button>
            </form>
            {sampleMessage ? (
              <p className="small muted" role="status">
                {sampleMessage}
              </p>
            ) : null}
          </section>
          <section className="panel preview" aria-labelledby="preview-heading">
            <h3 id="preview-heading">
              Preview{' '}
              {preview && preview.outcome.rendered ? (
                <span className="muted small">rendered in {preview.outcome.render_ms.toFixed(1)} ms</span>
              ) : null}
            </h3>
            <div className="preview__status" role="status" aria-live="polite">
              {previewFailure ? <p className="error">{previewFailure}</p> : null}
              {previewError ? (
                <p className="error" data-testid="preview-error">
                  {describeError(previewError)}
                </p>
              ) : null}
              {previewError && lastGood ? <p className="muted small">Showing the last preview that rendered.</p> : null}
            </div>
            <div className={`preview__output${previewError ? ' is-stale' : ''}`} data-testid="preview-output">
              {lastGood ? <RenderedView rendered={lastGood} /> : <p className="muted">Nothing rendered yet.</p>}
            </div>
          </section>
        </aside>
      ) : null}
      {committing ? (
        <SaveVersionDialog
          name={name}
          inputs={inputs}
          onClose={() => setCommitting(false)}
          onCommitted={(number) => {
            setCommitting(false);
            setHasChanges(false);
            setOpened((o) => (o ? { ...o, latest: number } : o));
            refresh();
            onCommitted();
          }}
        />
      ) : null}
      {renaming ? (
        <RenameDialog
          name={name}
          onClose={() => setRenaming(false)}
          onRenamed={async (newName) => {
            await flushSave();
            const p = await call('rename_prompt', { name, new_name: newName });
            journal.discard(name);
            setRenaming(false);
            refresh();
            onRenamed(p.name);
          }}
        />
      ) : null}
    </div>
  );
}

function SaveIndicator({ state }: { state: SaveState }) {
  const text =
    state.kind === 'saving' ? 'Saving…' : state.kind === 'saved' ? 'Draft saved' : `Not saved: ${state.message}`;
  return (
    <span className={`save-state save-state--${state.kind}`} role="status" aria-label="Draft status" title={text}>
      {text}
    </span>
  );
}

export function RenderedView({ rendered }: { rendered: Rendered }) {
  if (rendered.kind === 'text') return <pre className="rendered">{rendered.text}</pre>;
  return (
    <ol className="conversation" aria-label="Rendered conversation">
      {rendered.messages.map((m, i) => (
        <li key={i} className={`bubble bubble--${m.role}`}>
          <span className="bubble__role">{m.role}</span>
          <pre className="rendered">{m.content}</pre>
        </li>
      ))}
    </ol>
  );
}

function MessagesEditor({
  messages,
  onChange,
  variables,
  problemAt,
}: {
  messages: ChatMessage[];
  onChange: (m: ChatMessage[]) => void;
  variables: DraftContent['variables'];
  problemAt: (i: number) => EditorProblem | null;
}) {
  const move = (i: number, by: number) => {
    const j = i + by;
    if (j < 0 || j >= messages.length) return;
    const next = [...messages];
    [next[i], next[j]] = [next[j]!, next[i]!];
    onChange(next);
  };
  return (
    <section className="panel" aria-labelledby="messages-heading">
      <h3 id="messages-heading">Messages</h3>
      {messages.length === 0 ? <p className="muted">No messages yet.</p> : null}
      {messages.map((m, i) => (
        <div key={i} className="message">
          <div className="message__bar">
            <label>
              <span className="sr-only">Role of message {i + 1}</span>
              <select
                aria-label={`Role of message ${i + 1}`}
                value={m.role}
                onChange={(e) => onChange(messages.map((x, j) => (j === i ? { ...x, role: e.target.value } : x)))}
              >
                {(ROLES.includes(m.role) ? ROLES : [...ROLES, m.role]).map((r) => (
                  <option key={r}>{r}</option>
                ))}
              </select>
            </label>
            <span className="muted small">Message {i + 1}</span>
            <span className="grow" />
            <button type="button" className="btn btn--ghost" onClick={() => move(i, -1)} disabled={i === 0} aria-label={`Move message ${i + 1} up`}>
              ↑
            </button>
            <button
              type="button"
              className="btn btn--ghost"
              onClick={() => move(i, 1)}
              disabled={i === messages.length - 1}
              aria-label={`Move message ${i + 1} down`}
            >
              ↓
            </button>
            <button
              type="button"
              className="btn btn--ghost"
              onClick={() => onChange(messages.filter((_, j) => j !== i))}
              aria-label={`Remove message ${i + 1}`}
            >
              ×
            </button>
          </div>
          <TemplateEditor
            label={`Message ${i + 1} (${m.role})`}
            value={m.template}
            onChange={(t) => onChange(messages.map((x, j) => (j === i ? { ...x, template: t } : x)))}
            variables={variables}
            problem={problemAt(i)}
            minLines={3}
          />
        </div>
      ))}
      <button
        type="button"
        className="btn"
        onClick={() => onChange([...messages, { role: messages.length ? 'user' : 'system', template: '' }])}
      >
        Add message
      </button>
    </section>
  );
}

function DetailsForm({
  description,
  tags,
  onSave,
}: {
  description: string;
  tags: string[];
  onSave: (description: string, tags: string[]) => Promise<void>;
}) {
  const [d, setD] = useState(description);
  const [t, setT] = useState(tags.join(', '));
  const [msg, setMsg] = useState<string | null>(null);
  const dirty = d !== description || t !== tags.join(', ');
  return (
    <form
      className="details row"
      onSubmit={(e) => {
        e.preventDefault();
        onSave(d.trim(), splitTags(t))
          .then(() => setMsg('Details saved.'))
          .catch((err) => setMsg(errorText(err)));
      }}
    >
      <label className="grow">
        Description
        <input value={d} onChange={(e) => setD(e.target.value)} />
      </label>
      <label>
        Tags
        <input value={t} onChange={(e) => setT(e.target.value)} placeholder="comma, separated" />
      </label>
      <button type="submit" className="btn" disabled={!dirty}>
        Save details
      </button>
      {msg ? (
        <span className="small muted" role="status">
          {msg}
        </span>
      ) : null}
    </form>
  );
}

function RenameDialog({
  name,
  onClose,
  onRenamed,
}: {
  name: string;
  onClose: () => void;
  onRenamed: (newName: string) => Promise<void>;
}) {
  const [value, setValue] = useState(name);
  const [error, setError] = useState<string | null>(null);
  return (
    <Dialog title="Rename or move" onClose={onClose}>
      <form
        className="form"
        onSubmit={(e) => {
          e.preventDefault();
          onRenamed(value.trim()).catch((err) => setError(errorText(err)));
        }}
      >
        <label>
          New name
          <input autoFocus value={value} onChange={(e) => setValue(e.target.value)} />
        </label>
        <p className="hint">Change the folder part to move it: support/refund-reply → billing/refund-reply.</p>
        {error ? (
          <p role="alert" className="error">
            {error}
          </p>
        ) : null}
        <div className="actions">
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn--primary" disabled={!value.trim() || value.trim() === name}>
            Rename
          </button>
        </div>
      </form>
    </Dialog>
  );
}
