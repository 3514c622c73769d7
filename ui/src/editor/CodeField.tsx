// A small React wrapper over a CodeMirror 6 editor: SQL, shell and Python (legacy modes) for
// task fields, YAML for the YAML view. The editor owns its text while the user types; a new
// `value` from outside (undo, the other view) replaces it only when it differs.
import { useEffect, useRef } from 'react';
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import { sql } from '@codemirror/lang-sql';
import { yaml } from '@codemirror/lang-yaml';
import { defaultHighlightStyle, StreamLanguage, syntaxHighlighting } from '@codemirror/language';
import { python } from '@codemirror/legacy-modes/mode/python';
import { shell } from '@codemirror/legacy-modes/mode/shell';
import { EditorState, type Extension } from '@codemirror/state';
import {
  EditorView,
  highlightActiveLine,
  highlightActiveLineGutter,
  keymap,
  lineNumbers,
  placeholder as placeholderExt,
} from '@codemirror/view';

export type CodeLanguage = 'sql' | 'shell' | 'python' | 'yaml';

function languageOf(lang: CodeLanguage): Extension {
  switch (lang) {
    case 'sql':
      return sql();
    case 'yaml':
      return yaml();
    case 'python':
      return StreamLanguage.define(python);
    case 'shell':
      return StreamLanguage.define(shell);
  }
}

const theme = EditorView.theme({
  '&': { fontSize: '12px', border: '1px solid var(--line-strong)', borderRadius: '5px', background: '#fff' },
  '&.cm-focused': { outline: '2px solid #c7d2fe', borderColor: 'var(--accent)' },
  '.cm-content': { fontFamily: 'var(--mono)', padding: '4px 0' },
  '.cm-gutters': { background: '#f8f9fb', borderRight: '1px solid var(--line)', color: '#98a2b3' },
  '.cm-scroller': { overflow: 'auto' },
});

export function CodeField({
  value,
  onChange,
  language,
  testId,
  placeholder,
  minLines = 3,
  height,
  lineNumbers: showLines = false,
  ariaLabel,
}: {
  value: string;
  onChange: (text: string) => void;
  language: CodeLanguage;
  testId?: string;
  placeholder?: string;
  minLines?: number;
  /** a fixed height (CSS), e.g. for the YAML view; else it grows with its text. */
  height?: string;
  lineNumbers?: boolean;
  ariaLabel?: string;
}) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const onChangeRef = useRef(onChange);
  onChangeRef.current = onChange;

  useEffect(() => {
    if (!host.current) return;
    const extensions: Extension[] = [
      history(),
      keymap.of([...defaultKeymap, ...historyKeymap, indentWithTab]),
      syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
      languageOf(language),
      theme,
      EditorView.lineWrapping,
      EditorView.updateListener.of((u) => {
        if (u.docChanged) onChangeRef.current(u.state.doc.toString());
      }),
      EditorView.contentAttributes.of({ 'aria-label': ariaLabel ?? `${language} code` }),
      EditorView.theme({
        '.cm-content, .cm-gutter': { minHeight: `${minLines * 18 + 8}px` },
        ...(height ? { '&': { height }, '.cm-scroller': { overflow: 'auto' } } : {}),
      }),
    ];
    if (showLines) extensions.push(lineNumbers(), highlightActiveLineGutter(), highlightActiveLine());
    if (placeholder) extensions.push(placeholderExt(placeholder));
    const v = new EditorView({ state: EditorState.create({ doc: value, extensions }), parent: host.current });
    view.current = v;
    return () => {
      v.destroy();
      view.current = null;
    };
    // The editor is made once per language; `value` changes are applied below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [language]);

  useEffect(() => {
    const v = view.current;
    if (!v) return;
    const current = v.state.doc.toString();
    if (current !== value) v.dispatch({ changes: { from: 0, to: current.length, insert: value } });
  }, [value]);

  return <div className="code-field" data-testid={testId} ref={host} />;
}

export default CodeField;
