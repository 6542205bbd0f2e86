// The editor of one prompt: the template (or chat messages), the variables schema, model
// settings, the live preview, and "Save version". Every edit is journalled locally at once,
// saved to the registry shortly after, and rendered through the isolated worker as you type.
import { memo, useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import type {
  ChatMessage,
  DraftAnalysis,
  DraftContent,
  DraftSaved,
  OpenedPrompt,
  PreviewOutcome,
  PromptKind,
  Rendered,
  TemplateError,
} from '../../api/generated';
import type { JsonValue } from '../../api/generated';
import { errorText, useApi } from '../context';
import { DraftJournal } from '../../lib/journal';
import { LatestOnly } from '../../lib/latest';
import { serialized } from '../../lib/serial';
import { errorTarget } from '../../lib/format';
import { TemplateEditor, type EditorProblem } from './TemplateEditor';
import { ModelSettingsForm, VariablesEditor } from '../evals/SchemaEditor';
import { SaveVersionDialog } from './SaveVersionDialog';
import { Badges, splitTags } from '../PromptBrowser';
import { FormDialog } from '../Dialog';

type Inputs = { [key in string]: JsonValue };
type SaveState = { kind: 'saved'; at: string } | { kind: 'saving' } | { kind: 'failed'; message: string };
type Update = (c: DraftContent) => DraftContent;

const SAVE_DELAY_MS = 250;
const SAVE_RETRY_MS = 2000;
const ROLES = ['system', 'user', 'assistant'];

interface Props {
  name: string;
  journal: DraftJournal;
  showPreview: boolean;
  /** Ctrl+S was pressed for this prompt: open "Save a version" once the prompt is open. */
  saveRequested: boolean;
  onSaveRequestHandled: () => void;
  /** Put the cursor in the template once open (a prompt just created). */
  focusOnOpen?: boolean;
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

/** "line 4, column 7: …" for this prompt's own template (its name is on screen already),
 * "message 2 (user), line 1, …" for a chat message, the include's name for an include. */
export function describeError(name: string, e: TemplateError): string {
  const l = e.location;
  if (!l) return e.message;
  const where = l.template === name ? '' : `${l.template.startsWith(`${name}, `) ? l.template.slice(name.length + 2) : l.template}, `;
  return `${where}line ${l.line}, column ${l.column}: ${e.message}`;
}

export function PromptEditor({
  name,
  journal,
  showPreview,
  saveRequested,
  onSaveRequestHandled,
  focusOnOpen = false,
  onRenamed,
  onCommitted,
}: Props) {
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
  const root = useRef<HTMLDivElement>(null);
  const saveTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  // The newest content and inputs. Edits are computed from these rather than from the values a
  // render closed over, so two changes landing before React re-renders cannot undo each other.
  const latestContent = useRef<DraftContent | null>(null);
  const inputsRef = useRef<Inputs>({});
  const promptId = useRef<number>(0);
  // Every edit gets a number; an analysis (from a save or a preview) is shown only if it is about
  // content at least as new as the one on screen, so a slow save cannot bring back the warnings
  // of text that has since been retyped.
  const editSeq = useRef(0);
  const analysisSeq = useRef(0);
  const disposed = useRef(false);
  // The content the registry is known to hold as the draft (opened, or confirmed by a save).
  // A version is made from the stored draft, so the save dialog opens only when it is the
  // content on screen.
  const stored = useRef<DraftContent | null>(null);
  const [notSavedYet, setNotSavedYet] = useState(false);
  // Saves, renames and the first read of the draft for one prompt run in order, also across
  // editor instances (leave a prompt and come back while its last save is still on the way).
  const queueKey = `${journal.scope}\u0000${name}`;

  const showAnalysis = useCallback((a: DraftAnalysis, seq: number) => {
    if (seq < analysisSeq.current) return;
    analysisSeq.current = seq;
    setAnalysis(a);
  }, []);

  // ---- saving -------------------------------------------------------------------------------
  const saver: LatestOnly<{ c: DraftContent; seq: number }, DraftSaved> = useMemo(
    () =>
      new LatestOnly<{ c: DraftContent; seq: number }, DraftSaved>(
        ({ c }) => serialized(queueKey, () => call('save_draft', { name, content: c })),
        (res, { c, seq }) => {
          journal.confirm(name, c);
          showAnalysis(res.analysis, seq);
          setHasChanges(res.has_changes);
          stored.current = c;
          if (latestContent.current === c) {
            setSave({ kind: 'saved', at: res.updated_at });
            setNotSavedYet(false);
          }
        },
        (err, req) => {
          setSave({ kind: 'failed', message: errorText(err) });
          // Keep trying while the backend is away (a restarting server); the edit stays in the
          // journal meanwhile. A newer edit schedules its own save and supersedes this one. An
          // editor that was closed stops: reopening the prompt restores the edit from the journal.
          if (!disposed.current && saveTimer.current === null && latestContent.current === req.c) {
            saveTimer.current = setTimeout(() => {
              saveTimer.current = null;
              if (latestContent.current === req.c) saver.request(req);
            }, SAVE_RETRY_MS);
          }
        },
      ),
    [call, name, journal, queueKey, showAnalysis],
  );

  const requestSave = useCallback(() => {
    if (latestContent.current) saver.request({ c: latestContent.current, seq: editSeq.current });
  }, [saver]);

  const flushSave = useCallback(async () => {
    if (saveTimer.current) {
      clearTimeout(saveTimer.current);
      saveTimer.current = null;
      requestSave();
    }
    while (saver.busy) await new Promise((r) => setTimeout(r, 20));
  }, [saver, requestSave]);

  // ---- preview ------------------------------------------------------------------------------
  const [inputs, setInputs] = useState<Inputs>({});
  const [preview, setPreview] = useState<{ outcome: PreviewOutcome; startedAt: number } | null>(null);
  const [lastGood, setLastGood] = useState<{ rendered: Rendered; inputs: Inputs } | null>(null);
  const [previewFailure, setPreviewFailure] = useState<string | null>(null);
  const previewer = useMemo(
    () =>
      new LatestOnly<{ c: DraftContent; inputs: Inputs; startedAt: number; seq: number }, PreviewOutcome>(
        ({ c, inputs: i }) => call('preview_draft', { name, content: c, inputs: i }),
        (outcome, req) => {
          setPreviewFailure(null);
          setPreview({ outcome, startedAt: req.startedAt });
          showAnalysis(outcome.analysis, req.seq);
          if (outcome.rendered) setLastGood({ rendered: outcome.rendered, inputs: req.inputs });
        },
        (err) => setPreviewFailure(errorText(err)),
      ),
    [call, name, showAnalysis],
  );

  const requestPreview = useCallback(
    (startedAt: number) => {
      const c = latestContent.current;
      if (c) previewer.request({ c, inputs: inputsRef.current, startedAt, seq: editSeq.current });
    },
    [previewer],
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
    serialized(queueKey, () => call('open_prompt', { name }))
      .then((o) => {
        if (!live) return;
        promptId.current = o.prompt.id;
        editSeq.current = 0;
        analysisSeq.current = 0;
        setOpened(o);
        setAnalysis(o.analysis);
        setHasChanges(o.has_changes);
        const firstSample = Object.keys(o.samples)[0];
        const startInputs = (firstSample ? (o.samples[firstSample] ?? {}) : {}) as Inputs;
        setSample(firstSample ?? null);
        inputsRef.current = startInputs;
        setInputs(startInputs);
        setInputsText(JSON.stringify(startInputs, null, 2));
        // An edit journalled but never confirmed (the app or server died first) wins, if it was
        // made in this very prompt.
        const pending = journal.pendingFor(name, o.prompt.id, o.draft.content);
        const c = pending ?? o.draft.content;
        if (!pending) journal.discard(name);
        latestContent.current = c;
        stored.current = o.draft.content;
        setContent(c);
        setSave({ kind: 'saved', at: o.draft.updated_at });
        if (pending) {
          setRestored(true);
          setSave({ kind: 'saving' });
          editSeq.current = 1;
          requestSave();
        }
        requestPreview(performance.now());
      })
      .catch((e) => live && setLoadError(errorText(e)));
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [call, name]);

  // A prompt just created: the writer's next move is to type its template. (A passive effect:
  // the editors create their CodeMirror views in theirs, which run before this one.)
  const focused = useRef(false);
  useEffect(() => {
    if (focusOnOpen && opened && !focused.current) {
      focused.current = true;
      root.current?.querySelector<HTMLElement>('.cm-content')?.focus();
    }
  }, [focusOnOpen, opened]);

  // ---- editing ------------------------------------------------------------------------------
  const edit = useCallback(
    (update: Update) => {
      const current = latestContent.current;
      if (!current) return;
      const next = update(current);
      if (next === current) return;
      const startedAt = performance.now();
      editSeq.current += 1;
      latestContent.current = next;
      setContent(next);
      journal.write(name, next, promptId.current);
      setSave({ kind: 'saving' });
      if (saveTimer.current) clearTimeout(saveTimer.current);
      saveTimer.current = setTimeout(() => {
        saveTimer.current = null;
        requestSave();
      }, SAVE_DELAY_MS);
      requestPreview(startedAt);
    },
    [journal, name, requestSave, requestPreview],
  );

  // Save any pending edit when leaving the prompt.
  useEffect(() => {
    disposed.current = false;
    return () => {
      disposed.current = true;
      if (saveTimer.current) {
        clearTimeout(saveTimer.current);
        saveTimer.current = null;
        requestSave();
      }
    };
  }, [requestSave]);

  const setTemplate = useCallback(
    (template: string) => edit((c) => (c.body.kind === 'text' ? { ...c, body: { kind: 'text', template } } : c)),
    [edit],
  );
  const updateMessages = useCallback(
    (update: (m: ChatMessage[]) => ChatMessage[]) =>
      edit((c) => (c.body.kind === 'chat' ? { ...c, body: { kind: 'chat', messages: update(c.body.messages) } } : c)),
    [edit],
  );

  // Stable callbacks, so the parts a keystroke in the template does not change (variables,
  // model settings, details, the rendered output) skip re-rendering while typing.
  const setVariables = useCallback((variables: DraftContent['variables']) => edit((c) => ({ ...c, variables })), [edit]);
  const setModel = useCallback((model: DraftContent['model']) => edit((c) => ({ ...c, model })), [edit]);
  const saveDetails = useCallback(
    async (description: string, tags: string[]) => {
      const p = await call('update_prompt', { name, description, tags });
      setOpened((o) => (o ? { ...o, prompt: p } : o));
      refresh();
    },
    [call, name, refresh],
  );

  // ---- inputs and samples -------------------------------------------------------------------
  const [sample, setSample] = useState<string | null>(null);
  const [inputsText, setInputsText] = useState('{}');
  const [inputsProblem, setInputsProblem] = useState<string | null>(null);
  const [sampleMessage, setSampleMessage] = useState<string | null>(null);
  const [newSample, setNewSample] = useState('');

  const applyInputs = (next: Inputs) => {
    inputsRef.current = next;
    setInputs(next);
    requestPreview(performance.now());
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
      const samples = await call('save_sample', { name, sample: sampleName, inputs: inputsRef.current });
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
    // Not over the rename dialog; a second Ctrl+S while the dialog is open changes nothing.
    if (renaming) return;
    await flushSave();
    // The last edits did not reach the registry (it is away): the version would be made from
    // an older draft than the one on screen.
    if (stored.current !== latestContent.current) {
      setNotSavedYet(true);
      return;
    }
    setNotSavedYet(false);
    setCommitting(true);
  }, [flushSave, renaming]);

  useEffect(() => {
    if (saveRequested && (opened || loadError)) {
      onSaveRequestHandled();
      if (opened) void openSaveDialog();
    }
  }, [saveRequested, opened, loadError, onSaveRequestHandled, openSaveDialog]);

  // One problem object per analysis (not per render): the editors place their underline when
  // it changes.
  const previewError = preview?.outcome.error ?? null;
  const messageCount = content?.body.kind === 'chat' ? content.body.messages.length : 0;
  const textProblem = useMemo(() => problemFor(name, -1, analysis, previewError), [name, analysis, previewError]);
  const messageProblems = useMemo(
    () => Array.from({ length: messageCount }, (_, i) => problemFor(name, i, analysis, previewError)),
    [name, analysis, previewError, messageCount],
  );

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
  const otherErrors = (analysis?.errors ?? []).filter(
    (e) => !e.location || errorTarget(name, e.location.template) === null,
  );
  // The output on screen is not that of the current text: it failed to render, or the
  // backend could not be reached.
  const outdated = previewError !== null || previewFailure !== null;
  const showingOld = outdated && lastGood !== null;

  return (
    <div ref={root} className={`editor${showPreview ? '' : ' editor--no-preview'}`}>
      <div className="editor__main">
        {/* Title and buttons on top, versions and the save state below: the save state's text
            changes with every keystroke, so it sits where its width cannot re-wrap the title
            and move the template under the cursor. */}
        <header className="editor__head">
          <PromptTitle name={opened.prompt.name} kind={opened.prompt.kind} />
          <div className="editor__actions">
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
          <p className="editor__meta muted small">
            {opened.latest ? `Latest version ${opened.latest}` : 'No version saved yet'}{' '}
            <Badges labels={Object.fromEntries(opened.labels.map((l) => [l.name, l.number]))} />
            {opened.included_by.length ? ` · included by ${opened.included_by.join(', ')}` : ''}
          </p>
          <SaveIndicator state={save} />
        </header>
        {notSavedYet ? (
          <p className="error-box" role="alert">
            Your latest edits have not reached the registry yet, so a version now would not include them. Promptdesk
            keeps retrying; save the version once the draft shows as saved.
          </p>
        ) : null}
        {restored ? (
          <p className="note" role="status">
            Restored edits that had not reached the registry before Promptdesk closed.
          </p>
        ) : null}
        <DetailsForm
          key={opened.prompt.name}
          description={opened.prompt.description}
          tags={opened.prompt.tags}
          onSave={saveDetails}
        />
        {content.body.kind === 'text' ? (
          <section className="panel" aria-labelledby="template-heading">
            <h3 id="template-heading">Template</h3>
            <TemplateEditor
              label="Template"
              value={content.body.template}
              onChange={setTemplate}
              variables={vars}
              problem={textProblem}
              placeholder="Write the prompt. Use {{ variable }} for inputs."
              minLines={10}
            />
          </section>
        ) : (
          <MessagesEditor
            messages={content.body.messages}
            onChange={updateMessages}
            variables={vars}
            problemAt={(i) => messageProblems[i] ?? null}
          />
        )}
        {otherErrors.length ? (
          <div className="error-box" role="alert">
            {otherErrors.map((e, i) => (
              <p key={i}>{describeError(name, e)}</p>
            ))}
          </div>
        ) : null}
        <VariablesEditor
          variables={vars}
          report={analysis?.schema ?? { undeclared: [], unused: [] }}
          onChange={setVariables}
        />
        <ModelSettingsForm model={content.model} onChange={setModel} />
      </div>
      {showPreview ? (
        <aside className="editor__preview" aria-label="Preview">
          <section className="panel" aria-labelledby="inputs-heading">
            <h3 id="inputs-heading">Inputs</h3>
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
                aria-describedby={inputsProblem ? 'inputs-problem' : undefined}
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
            {inputsProblem ? (
              <p id="inputs-problem" className="error small">
                {inputsProblem}
              </p>
            ) : null}
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
            <div className="preview__head">
              <h3 id="preview-heading">Preview</h3>
              <span className="muted small">
                {showingOld
                  ? lastGood.inputs === inputs
                    ? 'last good render'
                    : 'last good render, other inputs'
                  : preview?.outcome.rendered
                    ? `rendered in ${preview.outcome.render_ms.toFixed(1)} ms`
                    : null}
              </span>
            </div>
            {/* Two lines are always reserved here, so an error coming and going while you type
                never moves the output below it. */}
            <div className="preview__status" role="status" aria-live="polite">
              {previewFailure ? (
                <p className="error" title={previewFailure}>
                  {previewFailure}
                </p>
              ) : previewError ? (
                <p className="error" data-testid="preview-error" title={describeError(name, previewError)}>
                  {describeError(name, previewError)}
                </p>
              ) : preview?.outcome.rendered ? (
                <p className="muted small">
                  {sample && opened.samples[sample] === inputs
                    ? `With the sample “${sample}”.`
                    : 'With the input values above.'}
                </p>
              ) : null}
            </div>
            <div className={`preview__output${outdated ? ' is-stale' : ''}`} data-testid="preview-output">
              {lastGood ? <RenderedView rendered={lastGood.rendered} /> : <p className="muted">Nothing rendered yet.</p>}
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
            const p = await serialized(queueKey, () => call('rename_prompt', { name, new_name: newName }));
            // Normally confirmed and gone by now; if the last save failed, the edit follows the
            // prompt to its new name instead of being dropped.
            journal.rename(name, p.name);
            setRenaming(false);
            refresh();
            onRenamed(p.name);
          }}
        />
      ) : null}
    </div>
  );
}

/** The name with its folder part muted and a line-break opportunity after it, so a long name
 * wraps between folder and prompt rather than in the middle of a word. */
function PromptTitle({ name, kind }: { name: string; kind: PromptKind }) {
  const cut = name.lastIndexOf('/');
  return (
    <h2 className="prompt-title">
      <span className="prompt-title__name">
        {cut >= 0 ? (
          <>
            <span className="prompt-title__folder">{name.slice(0, cut + 1)}</span>
            <wbr />
          </>
        ) : null}
        {name.slice(cut + 1)}
      </span>{' '}
      <span className="kind">{kind}</span>
    </h2>
  );
}

export function SaveIndicator({ state }: { state: SaveState }) {
  // Short and of steady width, so the header never reflows while typing; the reason for a
  // failure is in the tooltip and read out to screen readers.
  const text = state.kind === 'saving' ? 'Saving…' : state.kind === 'saved' ? 'Draft saved' : 'Not saved yet · retrying';
  return (
    <span
      className={`save-state save-state--${state.kind}`}
      role="status"
      aria-label="Draft status"
      title={state.kind === 'failed' ? `${state.message} Your edits are kept in this window.` : text}
    >
      {text}
      {state.kind === 'failed' ? <span className="sr-only">: {state.message}</span> : null}
    </span>
  );
}

export const RenderedView = memo(function RenderedView({ rendered }: { rendered: Rendered }) {
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
});

export function MessagesEditor({
  messages,
  onChange,
  variables,
  problemAt,
}: {
  messages: ChatMessage[];
  onChange: (update: (m: ChatMessage[]) => ChatMessage[]) => void;
  variables: DraftContent['variables'];
  problemAt: (i: number) => EditorProblem | null;
}) {
  // A stable key per message, moved along with it: with index keys, moving or removing a
  // message handed its CodeMirror editor (undo history, cursor, focus) to another message.
  const ids = useRef<number[]>([]);
  const nextId = useRef(0);
  while (ids.current.length < messages.length) ids.current.push(nextId.current++);
  if (ids.current.length > messages.length) ids.current.length = messages.length;
  const list = useRef<HTMLDivElement>(null);
  // Where the keyboard focus goes after a move or removal (the focused button may have been
  // taken out of the document while React reordered the messages).
  const refocus = useRef<{ id: number | undefined; controls: string[] } | null>(null);
  useLayoutEffect(() => {
    const target = refocus.current;
    if (!target || !list.current) return;
    refocus.current = null;
    const message = list.current.querySelector(`[data-message="${target.id}"]`);
    const button = target.controls
      .map((action) => message?.querySelector<HTMLButtonElement>(`[data-action="${action}"]`))
      .find((b) => b && !b.disabled);
    (button ?? list.current.querySelector<HTMLElement>('.add-message'))?.focus();
  });

  const move = (i: number, by: number) => {
    const j = i + by;
    if (j < 0 || j >= messages.length) return;
    const id = ids.current[i]!;
    [ids.current[i], ids.current[j]] = [ids.current[j]!, id];
    refocus.current = { id, controls: by < 0 ? ['up', 'down'] : ['down', 'up'] };
    onChange((ms) => {
      const next = [...ms];
      [next[i], next[j]] = [next[j]!, next[i]!];
      return next;
    });
  };
  const remove = (i: number) => {
    ids.current.splice(i, 1);
    refocus.current = { id: ids.current[Math.min(i, ids.current.length - 1)], controls: ['remove'] };
    onChange((ms) => ms.filter((_, j) => j !== i));
  };
  return (
    <section className="panel" aria-labelledby="messages-heading">
      <h3 id="messages-heading">Messages</h3>
      <div ref={list}>
        {messages.length === 0 ? <p className="muted">No messages yet.</p> : null}
        {messages.map((m, i) => (
          <div key={ids.current[i]} data-message={ids.current[i]} className="message">
            <div className="message__bar">
              <select
                aria-label={`Role of message ${i + 1}`}
                value={m.role}
                onChange={(e) => {
                  const role = e.target.value;
                  onChange((ms) => ms.map((x, j) => (j === i ? { ...x, role } : x)));
                }}
              >
                {(ROLES.includes(m.role) ? ROLES : [...ROLES, m.role]).map((r) => (
                  <option key={r}>{r}</option>
                ))}
              </select>
              <span className="muted small">Message {i + 1}</span>
              <span className="grow" />
              <button
                type="button"
                className="btn btn--ghost btn--icon"
                data-action="up"
                onClick={() => move(i, -1)}
                disabled={i === 0}
                aria-label={`Move message ${i + 1} up`}
                title="Move up"
              >
                ↑
              </button>
              <button
                type="button"
                className="btn btn--ghost btn--icon"
                data-action="down"
                onClick={() => move(i, 1)}
                disabled={i === messages.length - 1}
                aria-label={`Move message ${i + 1} down`}
                title="Move down"
              >
                ↓
              </button>
              <button
                type="button"
                className="btn btn--ghost btn--icon"
                data-action="remove"
                onClick={() => remove(i)}
                aria-label={`Remove message ${i + 1}`}
                title="Remove"
              >
                ×
              </button>
            </div>
            <TemplateEditor
              label={`Message ${i + 1} (${m.role})`}
              value={m.template}
              onChange={(template) => onChange((ms) => ms.map((x, j) => (j === i ? { ...x, template } : x)))}
              variables={variables}
              problem={problemAt(i)}
              minLines={3}
            />
          </div>
        ))}
        <button
          type="button"
          className="btn add-message"
          onClick={() => onChange((ms) => [...ms, { role: ms.length ? 'user' : 'system', template: '' }])}
        >
          Add message
        </button>
      </div>
    </section>
  );
}

const DetailsForm = memo(function DetailsForm({
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
  const [saved, setSaved] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const dirty = d !== description || t !== tags.join(', ');
  return (
    <form
      className="details"
      onSubmit={(e) => {
        e.preventDefault();
        setError(null);
        onSave(d.trim(), splitTags(t))
          .then(() => setSaved(true))
          .catch((err) => setError(errorText(err)));
      }}
    >
      <div className="row">
        <label className="grow">
          Description
          <input
            value={d}
            onChange={(e) => {
              setD(e.target.value);
              setSaved(false);
            }}
          />
        </label>
        <label>
          Tags
          <input
            value={t}
            onChange={(e) => {
              setT(e.target.value);
              setSaved(false);
            }}
            placeholder="comma, separated"
          />
        </label>
        {/* The outcome shows on the button itself: a message appended to the row would wrap it
            and push the template down. */}
        <button type="submit" className="btn details__save" disabled={!dirty}>
          {saved && !dirty ? 'Details saved ✓' : 'Save details'}
        </button>
        <span className="sr-only" role="status">
          {saved && !dirty ? 'Details saved.' : ''}
        </span>
      </div>
      {error ? (
        <p className="error small" role="alert">
          {error}
        </p>
      ) : null}
    </form>
  );
});

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
  return (
    <FormDialog
      title="Rename or move"
      onClose={onClose}
      onSubmit={() => onRenamed(value.trim())}
      submitLabel="Rename"
      blocked={!value.trim() || value.trim() === name}
    >
      <label>
        New name
        <input data-autofocus value={value} onChange={(e) => setValue(e.target.value)} aria-describedby="rename-hint" spellCheck={false} />
      </label>
      <p id="rename-hint" className="hint">
        Change the folder part to move it: support/refund-reply → billing/refund-reply.
      </p>
    </FormDialog>
  );
}
