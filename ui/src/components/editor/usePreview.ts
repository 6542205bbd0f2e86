// The live preview of the draft: it is rendered through the isolated worker for the input values
// as you type (only the newest request runs next), the last good render stays on screen while
// the current text fails (or is half-typed: see `halfTyped`), and the Inputs panel's values and
// samples. The panel's state lives
// here, above the panel, so hiding the preview and showing it again keeps what was typed.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { DraftContent, JsonValue, OpenedPrompt, PreviewOutcome, Rendered } from '../../api/generated';
import { errorText, useApi } from '../context';
import { LatestOnly } from '../../lib/latest';
import { loneBraces } from '../../lib/format';
import type { Draft } from './useDraft';

export type Inputs = { [key in string]: JsonValue };

/** How long a render with a new lone `{` waits before it replaces the last good one: typing
 * `{{` or `{%` passes through that state for a moment, a `{` meant as text stays. */
export const HALF_TYPED_MS = 1500;

/** The lone braces of all of a draft's templates (see `loneBraces`). */
function bracesOf(c: DraftContent): number {
  return c.body.kind === 'text'
    ? loneBraces(c.body.template)
    : c.body.messages.reduce((n, m) => n + loneBraces(m.template), 0);
}

export function usePreview(name: string, draft: Pick<Draft, 'current' | 'showAnalysis'>) {
  const { call } = useApi();
  const { current, showAnalysis } = draft;
  const [inputs, setInputs] = useState<Inputs>({});
  // The newest inputs, for the same reason the draft keeps its newest content in a ref.
  const inputsRef = useRef<Inputs>({});
  // The newest answer, with when the edit or input it renders was made.
  const [latest, setLatest] = useState<{ outcome: PreviewOutcome; startedAt: number } | null>(null);
  const [lastGood, setLastGood] = useState<{ rendered: Rendered; inputs: Inputs } | null>(null);
  // The lone braces of the text the last good render is of, and the wait for a render that
  // has more (it is shown only if nothing newer comes within HALF_TYPED_MS).
  const goodBraces = useRef<number | null>(null);
  const halfTyped = useRef<ReturnType<typeof setTimeout> | null>(null);
  const [previewFailure, setPreviewFailure] = useState<string | null>(null);
  const previewer = useMemo(
    () =>
      new LatestOnly<{ c: DraftContent; inputs: Inputs; startedAt: number; seq: number }, PreviewOutcome>(
        ({ c, inputs: i }) => call('preview_draft', { name, content: c, inputs: i }),
        (outcome, req) => {
          setPreviewFailure(null);
          setLatest({ outcome, startedAt: req.startedAt });
          showAnalysis(outcome.analysis, req.seq);
          if (halfTyped.current) clearTimeout(halfTyped.current);
          halfTyped.current = null;
          const rendered = outcome.rendered;
          if (!rendered) return;
          const braces = bracesOf(req.c);
          const keep = () => {
            goodBraces.current = braces;
            setLastGood({ rendered, inputs: req.inputs });
          };
          if (goodBraces.current !== null && braces > goodBraces.current) {
            halfTyped.current = setTimeout(keep, HALF_TYPED_MS);
          } else {
            keep();
          }
        },
        (err) => setPreviewFailure(errorText(err)),
      ),
    [call, name, showAnalysis],
  );

  const request = useCallback(
    (startedAt: number) => {
      const now = current();
      if (now) previewer.request({ c: now.c, inputs: inputsRef.current, startedAt, seq: now.seq });
    },
    [previewer, current],
  );

  // Keystroke-to-preview timing, measured once the new preview is on screen.
  useEffect(() => {
    if (latest) {
      performance.measure('promptdesk:keystroke-to-preview', { start: latest.startedAt, end: performance.now() });
    }
  }, [latest]);

  // ---- the Inputs panel ---------------------------------------------------------------------
  const [sample, setSample] = useState<string | null>(null);
  const [inputsText, setInputsText] = useState('{}');
  const [inputsProblem, setInputsProblem] = useState<string | null>(null);
  const [sampleMessage, setSampleMessage] = useState<string | null>(null);
  const [newSample, setNewSample] = useState('');

  const applyInputs = (next: Inputs) => {
    inputsRef.current = next;
    setInputs(next);
    request(performance.now());
  };

  /** Another prompt is being opened: nothing of the last one's preview stays. */
  const reset = useCallback(() => {
    setLatest(null);
    setLastGood(null);
    goodBraces.current = null;
    if (halfTyped.current) clearTimeout(halfTyped.current);
    halfTyped.current = null;
  }, []);

  useEffect(() => () => {
    if (halfTyped.current) clearTimeout(halfTyped.current);
  }, []);

  /** The prompt is open: start from its first sample and render. */
  const opened = useCallback(
    (o: OpenedPrompt, at: number) => {
      const firstSample = Object.keys(o.samples)[0];
      const startInputs = (firstSample ? (o.samples[firstSample] ?? {}) : {}) as Inputs;
      setSample(firstSample ?? null);
      inputsRef.current = startInputs;
      setInputs(startInputs);
      setInputsText(JSON.stringify(startInputs, null, 2));
      request(at);
    },
    [request],
  );

  const typeInputs = (text: string) => {
    setInputsText(text);
    try {
      const v = JSON.parse(text || '{}') as unknown;
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error();
      setInputsProblem(null);
      applyInputs(v as Inputs);
    } catch {
      setInputsProblem('Inputs must be a JSON object: {"name": "value"}.');
    }
  };

  const pickSample = (samples: OpenedPrompt['samples'], s: string) => {
    const values = (samples[s] ?? {}) as Inputs;
    setSample(s);
    setInputsText(JSON.stringify(values, null, 2));
    setInputsProblem(null);
    applyInputs(values);
  };

  /** Saves the inputs as sample `sampleName`; `onSaved` gets the prompt's samples after. */
  const saveSample = async (sampleName: string, onSaved: (samples: OpenedPrompt['samples']) => void) => {
    try {
      const samples = await call('save_sample', { name, sample: sampleName, inputs: inputsRef.current });
      onSaved(samples);
      setSample(sampleName);
      setSampleMessage(`Saved sample “${sampleName}”.`);
      setNewSample('');
    } catch (e) {
      setSampleMessage(errorText(e));
    }
  };

  return {
    latest,
    inputs,
    lastGood,
    previewFailure,
    request,
    reset,
    opened,
    sample,
    inputsText,
    inputsProblem,
    sampleMessage,
    newSample,
    setNewSample,
    typeInputs,
    pickSample,
    saveSample,
  };
}

export type Preview = ReturnType<typeof usePreview>;
