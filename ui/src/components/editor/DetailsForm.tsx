// A prompt's description and tags, edited above its template and saved on their own (they are
// not part of the draft or of a version).
import { memo, useState } from 'react';
import { errorText } from '../context';
import { splitTags } from '../PromptBrowser';

export const DetailsForm = memo(function DetailsForm({
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
