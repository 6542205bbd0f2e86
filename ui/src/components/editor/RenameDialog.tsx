// "Rename or move" for a prompt: a new name, whose folder part moves it.
import { useState } from 'react';
import { FormDialog } from '../Dialog';

export function RenameDialog({
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
