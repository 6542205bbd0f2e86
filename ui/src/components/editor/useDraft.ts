// The draft of the prompt open in the editor: opening it, every edit journalled locally at once
// and saved to the registry shortly after (retrying while the backend is away), and the order of
// saves, renames and reads per prompt. The editor's screen parts only read and call this.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { DraftAnalysis, DraftContent, DraftSaved, OpenedPrompt } from '../../api/generated';
import type { Res } from '../../api/client';
import { errorText, useApi } from '../context';
import type { DraftJournal } from '../../lib/journal';
import { LatestOnly } from '../../lib/latest';
import { serialized } from '../../lib/serial';

export type SaveState = { kind: 'saved'; at: string } | { kind: 'saving' } | { kind: 'failed'; message: string };
type Update = (c: DraftContent) => DraftContent;

const SAVE_DELAY_MS = 250;
const SAVE_RETRY_MS = 2000;

/** What the draft tells the part of the editor that renders it (the preview). */
export interface DraftEvents {
  /** The prompt is being opened (again): what was shown of another draft is stale. */
  opening: () => void;
  /** The prompt is open and its content is the newest; `at` is when that was. */
  opened: (o: OpenedPrompt, at: number) => void;
  /** The content changed by an edit made at `at`. */
  edited: (at: number) => void;
}

export function useDraft(name: string, journal: DraftJournal, events: DraftEvents) {
  const { call } = useApi();
  const [opened, setOpened] = useState<OpenedPrompt | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [content, setContent] = useState<DraftContent | null>(null);
  const [analysis, setAnalysis] = useState<DraftAnalysis | null>(null);
  const [save, setSave] = useState<SaveState>({ kind: 'saved', at: '' });
  const [restored, setRestored] = useState(false);
  const [hasChanges, setHasChanges] = useState(false);
  const saveTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  // The newest content. Edits are computed from it rather than from the value a render closed
  // over, so two changes landing before React re-renders cannot undo each other.
  const latestContent = useRef<DraftContent | null>(null);
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
  // The events as of the latest render, so the callbacks below need not change with them.
  const on = useRef(events);
  on.current = events;

  const showAnalysis = useCallback((a: DraftAnalysis, seq: number) => {
    if (seq < analysisSeq.current) return;
    analysisSeq.current = seq;
    setAnalysis(a);
  }, []);

  /** The newest content with its edit number (`null` before the prompt is open). */
  const current = useCallback(
    () => (latestContent.current ? { c: latestContent.current, seq: editSeq.current } : null),
    [],
  );

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

  // ---- open ---------------------------------------------------------------------------------
  // Hand-written rather than useCommand: the read must wait in this prompt's queue behind its
  // last save, and it seeds the journal, the edit numbers and the autosave.
  useEffect(() => {
    let live = true;
    setOpened(null);
    setContent(null);
    on.current.opening();
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
        on.current.opened(o, performance.now());
      })
      .catch((e) => live && setLoadError(errorText(e)));
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [call, name]);

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
      on.current.edited(startedAt);
    },
    [journal, name, requestSave],
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

  /** Saves what is pending; true when the registry holds the content on screen as the draft
   * (a version is made from it), false when the last edits did not reach it (it is away). */
  const saveAll = useCallback(async () => {
    await flushSave();
    const ok = stored.current === latestContent.current;
    setNotSavedYet(!ok);
    return ok;
  }, [flushSave]);

  /** Renames the prompt, after its pending save and in its queue; the journal follows it. */
  const rename = useCallback(
    async (newName: string): Promise<Res<'rename_prompt'>> => {
      await flushSave();
      const p = await serialized(queueKey, () => call('rename_prompt', { name, new_name: newName }));
      // Normally confirmed and gone by now; if the last save failed, the edit follows the
      // prompt to its new name instead of being dropped.
      journal.rename(name, p.name);
      return p;
    },
    [call, flushSave, journal, name, queueKey],
  );

  return {
    opened,
    setOpened,
    loadError,
    content,
    analysis,
    showAnalysis,
    current,
    save,
    restored,
    hasChanges,
    setHasChanges,
    notSavedYet,
    edit,
    saveAll,
    rename,
  };
}

export type Draft = ReturnType<typeof useDraft>;
