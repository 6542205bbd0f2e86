// The postmortem's Markdown export: shown, downloaded as a file, or copied.
import { useEffect, useRef, useState } from 'react';
import { errorText, useApi } from '../context';
import { Dialog } from '../Dialog';

/** A link that saves `text` as `fileName`: a Blob URL (revoked when it goes), which works in a
 * browser and in the desktop webview alike. */
function useDownloadUrl(text: string | null): string | null {
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    if (text === null) return;
    if (typeof URL.createObjectURL !== 'function') {
      setUrl(`data:text/markdown;charset=utf-8,${encodeURIComponent(text)}`);
      return;
    }
    const u = URL.createObjectURL(new Blob([text], { type: 'text/markdown;charset=utf-8' }));
    setUrl(u);
    return () => URL.revokeObjectURL(u);
  }, [text]);
  return url;
}

export function ExportDialog({ id, dirty, onClose }: { id: string; dirty: boolean; onClose: () => void }) {
  const { call } = useApi();
  const [exported, setExported] = useState<{ file_name: string; markdown: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [copied, setCopied] = useState<string | null>(null);
  const textRef = useRef<HTMLTextAreaElement>(null);
  useEffect(() => {
    call('export_postmortem', { id })
      .then(setExported)
      .catch((e) => setError(errorText(e)));
  }, [call, id]);
  const url = useDownloadUrl(exported?.markdown ?? null);

  const copy = async () => {
    if (!exported) return;
    try {
      if (!navigator.clipboard) throw new Error('no clipboard');
      await navigator.clipboard.writeText(exported.markdown);
      setCopied('Copied to the clipboard.');
    } catch {
      // Without the clipboard API (an older webview, a page without the permission): the text
      // selected and copied the old way, or selected for Ctrl+C.
      const t = textRef.current;
      t?.focus();
      t?.select();
      const ok = typeof document.execCommand === 'function' && document.execCommand('copy');
      setCopied(ok ? 'Copied to the clipboard.' : 'Selected: press Ctrl+C (⌘C) to copy.');
    }
  };

  return (
    <Dialog title="Postmortem as Markdown" onClose={onClose} wide>
      <div className="form">
        {dirty ? <p className="warning">This is the postmortem as last saved: your unsaved changes are not in it. Save first to include them.</p> : null}
        {error ? (
          <p role="alert" className="error">
            {error}
          </p>
        ) : null}
        {exported ? (
          <>
            <textarea ref={textRef} className="mono export__text" readOnly rows={22} aria-label="Markdown" value={exported.markdown} />
            <div className="actions">
              <p role="status" className="small ok grow">
                {copied ?? ''}
              </p>
              <button type="button" className="btn" onClick={() => void copy()}>
                Copy
              </button>
              {url ? (
                <a className="btn btn--primary" href={url} download={exported.file_name} data-autofocus>
                  Download {exported.file_name}
                </a>
              ) : null}
            </div>
          </>
        ) : !error ? (
          <p className="muted" aria-busy="true">
            Writing the Markdown…
          </p>
        ) : null}
      </div>
    </Dialog>
  );
}
