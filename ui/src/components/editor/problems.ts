// Where the editor shows a template error: underlined at its line and column in the template (or
// chat message) it is in, or described in words with where it is.
import type { DraftAnalysis, DraftContent, TemplateError } from '../../api/generated';
import { errorTarget } from '../../lib/format';
import type { EditorProblem } from './TemplateEditor';

/** The located problem to underline in the editor for template `target` (-1 = text template). */
export function problemFor(
  name: string,
  target: number,
  analysis: DraftAnalysis | null,
  previewError: TemplateError | null,
): EditorProblem | null {
  const candidates = [...(analysis?.errors ?? []), ...(previewError ? [previewError] : [])];
  for (const e of candidates) {
    if (e.location && errorTarget(name, e.location.template) === target) {
      return { line: e.location.line, column: e.location.column, message: e.message };
    }
  }
  return null;
}

/** "line 4, column 7: …" for this prompt's own template (its name is on screen already),
 * "message 2 (user), line 1, …" for a chat message, the include's name for an include. */
export function describeError(name: string, e: TemplateError): string {
  const l = e.location;
  if (!l) return e.message;
  const where = l.template === name ? '' : `${l.template.startsWith(`${name}, `) ? l.template.slice(name.length + 2) : l.template}, `;
  return `${where}line ${l.line}, column ${l.column}: ${e.message}`;
}

/** `content` with the fix of `e` applied to the template it is in (the text template, or chat
 * message N), or null when it carries no fix for this prompt's own templates. The fix's
 * offsets count UTF-16 code units, as JavaScript strings do. */
export function withFix(name: string, content: DraftContent, e: TemplateError): DraftContent | null {
  const fix = e.fix;
  const target = e.location ? errorTarget(name, e.location.template) : null;
  if (!fix || target === null) return null;
  const patch = (source: string) => source.slice(0, fix.from) + fix.insert + source.slice(fix.to);
  if (content.body.kind === 'text') {
    return target === -1 ? { ...content, body: { kind: 'text', template: patch(content.body.template) } } : null;
  }
  if (target < 0 || target >= content.body.messages.length) return null;
  const messages = content.body.messages.map((m, i) => (i === target ? { ...m, template: patch(m.template) } : m));
  return { ...content, body: { kind: 'chat', messages } };
}
