// The editor of one prompt: the template (or chat messages), the variables schema, model
// settings, the live preview, and "Save version". Every edit is journalled locally at once,
// saved to the registry shortly after (useDraft), and rendered through the isolated worker as
// you type (usePreview); this file lays the parts out and wires them together.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { ChatMessage, DraftContent, TemplateError } from '../../api/generated';
import { useApi } from '../context';
import type { DraftJournal } from '../../lib/journal';
import { errorTarget } from '../../lib/format';
import { TemplateEditor } from './TemplateEditor';
import { ModelSettingsForm, VariablesEditor } from '../evals/SchemaEditor';
import { SaveVersionDialog } from './SaveVersionDialog';
import { DetailsForm } from './DetailsForm';
import { EditorHeader } from './EditorHeader';
import { MessagesEditor } from './MessagesEditor';
import { PreviewPanel } from './PreviewPanel';
import { RenameDialog } from './RenameDialog';
import { describeError, problemFor, withFix } from './problems';
import { useDraft } from './useDraft';
import { usePreview } from './usePreview';

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
  const [committing, setCommitting] = useState(false);
  const [renaming, setRenaming] = useState(false);
  const root = useRef<HTMLDivElement>(null);
  // The draft tells the preview when to render; the preview is declared after it, and these run
  // only once this render is done.
  const draft = useDraft(name, journal, {
    opening: () => preview.reset(),
    opened: (o, at) => preview.opened(o, at),
    edited: (at) => preview.request(at),
  });
  const preview = usePreview(name, draft);
  const { opened, setOpened, loadError, content, analysis, save, restored, hasChanges, setHasChanges, notSavedYet, edit, saveAll, rename } =
    draft;

  // A prompt just created: the writer's next move is to type its template. (A passive effect:
  // the editors create their CodeMirror views in theirs, which run before this one.)
  const focused = useRef(false);
  useEffect(() => {
    if (focusOnOpen && opened && !focused.current) {
      focused.current = true;
      root.current?.querySelector<HTMLElement>('.cm-content')?.focus();
    }
  }, [focusOnOpen, opened]);

  const setTemplate = useCallback(
    (template: string) => edit((c) => (c.body.kind === 'text' ? { ...c, body: { kind: 'text', template } } : c)),
    [edit],
  );
  const updateMessages = useCallback(
    (update: (m: ChatMessage[]) => ChatMessage[]) =>
      edit((c) => (c.body.kind === 'chat' ? { ...c, body: { kind: 'chat', messages: update(c.body.messages) } } : c)),
    [edit],
  );

  // The one-click fix a template error offers (an `{% endif %}` to add, a misspelt input).
  const applyFix = useCallback((e: TemplateError) => edit((c) => withFix(name, c, e) ?? c), [edit, name]);

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
    [call, name, refresh, setOpened],
  );

  // ---- save a version -----------------------------------------------------------------------
  const openSaveDialog = useCallback(async () => {
    // Not over the rename dialog; a second Ctrl+S while the dialog is open changes nothing.
    if (renaming) return;
    // The last edits did not reach the registry (it is away): the version would be made from
    // an older draft than the one on screen.
    if (!(await saveAll())) return;
    setCommitting(true);
  }, [saveAll, renaming]);

  useEffect(() => {
    if (saveRequested && (opened || loadError)) {
      onSaveRequestHandled();
      if (opened) void openSaveDialog();
    }
  }, [saveRequested, opened, loadError, onSaveRequestHandled, openSaveDialog]);

  // One problem object per analysis (not per render): the editors place their underline when
  // it changes.
  const previewError = preview.latest?.outcome.error ?? null;
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

  return (
    <div ref={root} className={`editor${showPreview ? '' : ' editor--no-preview'}`}>
      <div className="editor__main">
        <EditorHeader
          opened={opened}
          save={save}
          hasChanges={hasChanges}
          onRename={() => setRenaming(true)}
          onSaveVersion={() => void openSaveDialog()}
        />
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
        <PreviewPanel
          name={name}
          samples={opened.samples}
          preview={preview}
          onFix={applyFix}
          onSamplesSaved={(samples) => setOpened((o) => (o ? { ...o, samples } : o))}
        />
      ) : null}
      {committing ? (
        <SaveVersionDialog
          name={name}
          inputs={preview.inputs}
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
            const p = await rename(newName);
            setRenaming(false);
            refresh();
            onRenamed(p.name);
          }}
        />
      ) : null}
    </div>
  );
}
