import { memo } from 'react';
import { Handle, Position, type Node, type NodeProps } from '@xyflow/react';

export interface EditorNodeData extends Record<string, unknown> {
  name: string;
  type: string;
  /** how many problems the task has; 0: none. */
  errors: number;
  /** the first problem, for the badge's tooltip. */
  firstError: string;
  group: string;
}

export type EditorFlowNode = Node<EditorNodeData, 'task'>;

/**
 * A task on the editor's canvas: its name and type, a badge when it has problems, handles to
 * connect (drag from the right one to another task's left one). Memoised: a node re-renders
 * only when its own data or selection changes, not on every drag frame of another node.
 */
export const EditorNode = memo(function EditorNode({ data, selected }: NodeProps<EditorFlowNode>) {
  const label = data.name || '(no name)';
  return (
    <div
      className={`dag-node editor-node group-${data.group} ${selected ? 'selected' : ''} ${data.errors ? 'has-errors' : ''}`}
      data-testid={`task-node-${data.name}`}
      title={data.errors ? `${label}: ${data.firstError}` : label}
    >
      <Handle type="target" position={Position.Left} className="editor-handle" data-testid={`handle-in-${data.name}`} />
      <span className="dag-node-bar" />
      <div className="dag-node-text">
        <div className="dag-node-name">{label}</div>
        <div className="dag-node-type">{data.type || 'no type'}</div>
      </div>
      {data.errors > 0 && (
        <span className="node-error" data-testid={`node-error-${data.name}`} aria-label={`${data.errors} problem(s)`}>
          {data.errors}
        </span>
      )}
      <Handle type="source" position={Position.Right} className="editor-handle" data-testid={`handle-out-${data.name}`} />
    </div>
  );
});
