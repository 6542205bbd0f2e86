// A CodeMirror 6 editor for one Jinja template: highlighting, the current error underlined at
// its line and column, and completion of the declared variables.
import { useEffect, useRef, useState } from 'react';
import { autocompletion, type CompletionContext, type CompletionResult } from '@codemirror/autocomplete';
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import { jinja } from '@codemirror/lang-jinja';
import { bracketMatching, HighlightStyle, LanguageSupport, StreamLanguage, syntaxHighlighting } from '@codemirror/language';
import { tags } from '@lezer/highlight';
import { forEachDiagnostic, linter, lintGutter, setDiagnostics, type Diagnostic } from '@codemirror/lint';
import { Annotation, Compartment, EditorState, Transaction } from '@codemirror/state';
import { EditorView, keymap, lineNumbers, placeholder as placeholderExt } from '@codemirror/view';
import type { Variable } from '../../api/generated';

export interface EditorProblem {
  line: number;
  column: number;
  message: string;
}

interface Props {
  value: string;
  onChange: (value: string) => void;
  label: string;
  variables: readonly Variable[];
  /** The error to underline. Pass the same object until a new analysis comes in. */
  problem: EditorProblem | null;
  placeholder?: string;
  minLines?: number;
}

// Prompts are plain text with Jinja tags, not HTML: jinja() defaults to HTML between tags, so
// give it a base language that leaves text alone.
const plainText = new LanguageSupport(
  StreamLanguage.define<null>({
    name: 'text',
    startState: () => null,
    token: (stream) => {
      stream.skipToEnd();
      return null;
    },
  }),
);

// Colours come from CSS variables so the light and dark themes both apply.
const jinjaStyle = HighlightStyle.define([
  { tag: [tags.brace], color: 'var(--tok-tag)', fontWeight: '600' },
  { tag: [tags.controlKeyword, tags.keyword, tags.definitionKeyword, tags.modifier], color: 'var(--tok-tag)', fontWeight: '600' },
  { tag: [tags.variableName, tags.propertyName], color: 'var(--tok-var)' },
  { tag: [tags.special(tags.variableName)], color: 'var(--tok-filter)' },
  { tag: [tags.string], color: 'var(--tok-string)' },
  { tag: [tags.number, tags.bool], color: 'var(--tok-number)' },
  { tag: [tags.blockComment], color: 'var(--muted)', fontStyle: 'italic' },
]);

/** Marks a document replaced from outside (a restored draft): not the person's typing, so it is
 * neither reported back through onChange nor put on the undo history. */
const external = Annotation.define<boolean>();

/** Offset in `doc` of a 1-based line and 1-based character column, clamped into the doc. */
export function offsetOf(state: EditorState, line: number, column: number): number {
  const ln = state.doc.line(Math.min(Math.max(line, 1), state.doc.lines));
  return Math.min(ln.from + Math.max(column - 1, 0), ln.to);
}

function completeVariables(getVars: () => readonly Variable[]) {
  return (ctx: CompletionContext): CompletionResult | null => {
    // Only inside {{ … }} or {% … %}: prose outside tags is not code.
    const before = ctx.state.sliceDoc(Math.max(0, ctx.pos - 200), ctx.pos);
    const open = Math.max(before.lastIndexOf('{{'), before.lastIndexOf('{%'));
    const close = Math.max(before.lastIndexOf('}}'), before.lastIndexOf('%}'));
    if (open < 0 || close > open) return null;
    const word = ctx.matchBefore(/[A-Za-z_][A-Za-z0-9_]*/);
    if (!word && !ctx.explicit) return null;
    return {
      from: word ? word.from : ctx.pos,
      options: getVars().map((v) => ({
        label: v.name,
        type: 'variable',
        detail: v.type,
        info: v.description ?? undefined,
      })) as CompletionResult['options'],
      validFor: /^[A-Za-z0-9_]*$/,
    };
  };
}

export function TemplateEditor({ value, onChange, label, variables, problem, placeholder, minLines = 6 }: Props) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const onChangeRef = useRef(onChange);
  const varsRef = useRef(variables);
  const a11y = useRef(new Compartment());
  // Bumped whenever the document is replaced from outside: diagnostics placed before cannot be
  // mapped through a whole-document replacement and are placed again.
  const [replaced, setReplaced] = useState(0);
  onChangeRef.current = onChange;
  varsRef.current = variables;

  useEffect(() => {
    if (!host.current) return;
    const v = new EditorView({
      parent: host.current,
      state: EditorState.create({
        doc: value,
        extensions: [
          lineNumbers(),
          history(),
          bracketMatching(),
          jinja({ base: plainText }),
          syntaxHighlighting(jinjaStyle),
          lintGutter(),
          linter(null),
          autocompletion({ override: [completeVariables(() => varsRef.current)], activateOnTyping: true }),
          keymap.of([...defaultKeymap, ...historyKeymap, indentWithTab]),
          EditorView.lineWrapping,
          placeholderExt(placeholder ?? ''),
          a11y.current.of(EditorView.contentAttributes.of({ 'aria-label': label, 'aria-multiline': 'true' })),
          EditorView.theme({ '.cm-content': { minHeight: `${minLines * 1.45}em` } }),
          EditorView.updateListener.of((u) => {
            if (u.docChanged && !u.transactions.some((t) => t.annotation(external))) {
              onChangeRef.current(u.state.doc.toString());
            }
          }),
        ],
      }),
    });
    view.current = v;
    return () => {
      v.destroy();
      view.current = null;
    };
    // The editor is created once; later value changes are applied below without recreating it.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  // Outside changes (a restored draft) replace the document. Echoing them back as an edit
  // would save and journal content nobody typed.
  useEffect(() => {
    const v = view.current;
    if (v && v.state.doc.toString() !== value) {
      v.dispatch({
        changes: { from: 0, to: v.state.doc.length, insert: value },
        annotations: [external.of(true), Transaction.addToHistory.of(false)],
      });
      setReplaced((n) => n + 1);
    }
  }, [value]);

  useEffect(() => {
    view.current?.dispatch({
      effects: a11y.current.reconfigure(
        EditorView.contentAttributes.of({ 'aria-label': label, 'aria-multiline': 'true' }),
      ),
    });
  }, [label]);

  // Placed when a new problem comes in (a new analysis), and only if it is not already where it
  // should be: dispatching on every render cost an editor update per keystroke per editor.
  // Between analyses CodeMirror maps the placed diagnostic through the typing.
  useEffect(() => {
    const v = view.current;
    if (!v) return;
    const wanted: Diagnostic[] = [];
    if (problem) {
      const from = offsetOf(v.state, problem.line, problem.column);
      const lineEnd = v.state.doc.lineAt(from).to;
      // Underline the word at the error (at least one character) so it is visible.
      const wordEnd = /^[^\s]*/.exec(v.state.sliceDoc(from, lineEnd))?.[0].length ?? 0;
      const to = Math.min(lineEnd, from + Math.max(wordEnd, 1));
      wanted.push({ from, to: Math.max(to, from), severity: 'error', message: problem.message });
    }
    const placed: Diagnostic[] = [];
    forEachDiagnostic(v.state, (d, from, to) => placed.push({ ...d, from, to }));
    const same =
      placed.length === wanted.length &&
      placed.every((d, i) => d.from === wanted[i]!.from && d.to === wanted[i]!.to && d.message === wanted[i]!.message);
    if (!same) v.dispatch(setDiagnostics(v.state, wanted));
  }, [problem, replaced]);

  return <div className="template-editor" ref={host} data-testid="template-editor" />;
}
