// The live preview of the draft: it is rendered through the isolated worker for the input values
// as you type (only the newest request runs next), the last good render stays on screen while
// the current text fails, and the Inputs panel's values and samples. The panel's state lives
// here, above the panel, so hiding the preview and showing it again keeps what was typed.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { DraftContent, JsonValue, OpenedPrompt, PreviewOutcome, Rendered } from '../../api/generated';
import { errorText, useApi } from '../context';
import { LatestOnly } from '../../lib/latest';
import type { Draft } from './useDraft';

export type Inputs = { [key in string]: JsonValue };

export function usePreview(name: string, draft: Pick<Draft, 'current' | 'showAnalysis'>) {
  const { call } = useApi();
  const { current, showAnalysis } = draft;
  const [inputs, setInputs] = useState<Inputs>({});
  // The newest inputs, for the same reason the draft keeps its newest content in a ref.
  const inputsRef = useRef<Inputs>({});
  // The newest answer, with when the edit or input it renders was made.
  const [latest, setLatest] = useState<{ outcome: PreviewOutcome; startedAt: number } | null>(null);
  const [lastGood, setLastGood] = useState<{ rendered: Rendered; inputs: Inputs } | null>(null);
  const [previewFailure, setPreviewFailure] = useState<string | null>(null);
  const previewer = useMemo(
    () =>
      new LatestOnly<{ c: DraftContent; inputs: Inputs; startedAt: number; seq: number }, PreviewOutcome>(
        ({ c, inputs: i }) => call('preview_draft', { name, content: c, inputs: i }),
        (outcome, req) => {
          setPreviewFailure(null);
          setLatest({ outcome, startedAt: req.startedAt });
          showAnalysis(outcome.analysis, req.seq);
          if (outcome.rendered) setLastGood({ rendered: outcome.rendered, inputs: req.inputs });
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
