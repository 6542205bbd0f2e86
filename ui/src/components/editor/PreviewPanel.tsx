// The editor's right-hand side: the input values (typed as JSON, or a saved sample) and the
// preview of the draft rendered with them, with the last good render kept while the text fails.
import { memo } from 'react';
import type { OpenedPrompt, Rendered, TemplateError } from '../../api/generated';
import { describeError } from './problems';
import type { Preview } from './usePreview';

export function PreviewPanel({
  name,
  samples,
  preview,
  onFix,
  onSamplesSaved,
}: {
  name: string;
  samples: OpenedPrompt['samples'];
  preview: Preview;
  /** Applies the fix the error offers to the template. */
  onFix: (e: TemplateError) => void;
  onSamplesSaved: (samples: OpenedPrompt['samples']) => void;
}) {
  const { latest, inputs, lastGood, previewFailure, sample, inputsText, inputsProblem, sampleMessage, newSample } = preview;
  const previewError = latest?.outcome.error ?? null;
  // The output on screen is not that of the current text: it failed to render, or the
  // backend could not be reached.
  const outdated = previewError !== null || previewFailure !== null;
  const showingOld = outdated && lastGood !== null;
  return (
    <aside className="editor__preview" aria-label="Preview">
      <section className="panel" aria-labelledby="inputs-heading">
        <h3 id="inputs-heading">Inputs</h3>
        <div className="row">
          <label className="grow">
            Sample
            <select
              aria-label="Sample"
              value={sample ?? ''}
              onChange={(e) => preview.pickSample(samples, e.target.value)}
              disabled={Object.keys(samples).length === 0}
            >
              {Object.keys(samples).length === 0 ? <option value="">(no samples)</option> : null}
              {Object.keys(samples).map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </label>
          <button type="button" className="btn" disabled={!sample || inputsProblem !== null} onClick={() => sample && void preview.saveSample(sample, onSamplesSaved)}>
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
                onChange={(e) => preview.typeInputs(e.target.value)}
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
            if (newSample.trim()) void preview.saveSample(newSample.trim(), onSamplesSaved);
          }}
        >
          <input
            className="grow"
            aria-label="New sample name"
            placeholder="new sample name"
            value={newSample}
            onChange={(e) => preview.setNewSample(e.target.value)}
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
              : latest?.outcome.rendered
                ? `rendered in ${latest.outcome.render_ms.toFixed(1)} ms`
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
            <>
              <p className="error" data-testid="preview-error" title={describeError(name, previewError)}>
                {describeError(name, previewError)}
              </p>
              {previewError.fix ? (
                <button type="button" className="small preview__fix" onClick={() => onFix(previewError)}>
                  {previewError.fix.label}
                </button>
              ) : null}
            </>
          ) : latest?.outcome.rendered ? (
            <p className="muted small">
              {sample && samples[sample] === inputs
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
