import { memo, useEffect, useMemo, useRef } from 'react';
import { CodeField } from './CodeField';
import type { Action } from './reducer';
import { specFromDoc } from './spec';
import type { EditorDoc } from './types';
import { toYaml, type YamlProblem } from './yamlSync';

/** Typing pauses this long (ms) before the YAML is read into the graph. */
const READ_AFTER_MS = 250;

/**
 * The workflow as YAML, beside the canvas, editing the same workflow both ways: a change on the
 * canvas or in a form rewrites the text; valid text typed here updates the graph (tasks keep
 * their place by name), and text that does not parse shows why, with its line, leaving the
 * graph as it was.
 */
export const YamlView = memo(function YamlView({
  doc,
  userText,
  problem,
  dispatch,
}: {
  doc: EditorDoc;
  userText: string | null;
  problem: YamlProblem | null;
  dispatch: (a: Action) => void;
}) {
  const generated = useMemo(() => (userText === null ? toYaml(specFromDoc(doc)) : null), [doc, userText]);
  const timer = useRef<number | undefined>(undefined);
  useEffect(() => () => window.clearTimeout(timer.current), []);
  return (
    <div className="yaml-view" data-testid="yaml-view">
      <div className="yaml-head">
        <b>YAML</b>
        <span className="muted small">what `shoal workflow apply` takes; edits here update the canvas</span>
      </div>
      <CodeField
        language="yaml"
        value={userText ?? generated ?? ''}
        lineNumbers
        height="100%"
        minLines={10}
        ariaLabel="workflow YAML"
        onChange={(text) => {
          window.clearTimeout(timer.current);
          timer.current = window.setTimeout(() => dispatch({ type: 'yamlEdit', text, at: Date.now() }), READ_AFTER_MS);
        }}
      />
      {problem && (
        <div className="error yaml-error" role="alert" data-testid="yaml-error">
          {problem.line != null ? `line ${problem.line}: ` : ''}
          {problem.message}. The canvas keeps the last valid YAML.
        </div>
      )}
    </div>
  );
});
