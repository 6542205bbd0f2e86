// A chat prompt's messages in the editor: one template editor per message, with its role, and
// moving, removing and adding messages without handing one message's editor state to another.
import { useLayoutEffect, useRef } from 'react';
import type { ChatMessage, DraftContent } from '../../api/generated';
import { TemplateEditor, type EditorProblem } from './TemplateEditor';

const ROLES = ['system', 'user', 'assistant'];

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
