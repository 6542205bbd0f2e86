// The editor's header: the prompt's name and kind, Rename and "Save version", its versions and
// labels, and whether the draft is saved.
import type { OpenedPrompt, PromptKind } from '../../api/generated';
import { Badges } from '../PromptBrowser';
import type { SaveState } from './useDraft';

export function EditorHeader({
  opened,
  save,
  hasChanges,
  onRename,
  onSaveVersion,
}: {
  opened: OpenedPrompt;
  save: SaveState;
  hasChanges: boolean;
  onRename: () => void;
  onSaveVersion: () => void;
}) {
  // Title and buttons on top, versions and the save state below: the save state's text changes
  // with every keystroke, so it sits where its width cannot re-wrap the title and move the
  // template under the cursor.
  return (
    <header className="editor__head">
      <PromptTitle name={opened.prompt.name} kind={opened.prompt.kind} />
      <div className="editor__actions">
        <button type="button" className="btn" onClick={onRename}>
          Rename…
        </button>
        <button
          type="button"
          className="btn btn--primary"
          onClick={onSaveVersion}
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
