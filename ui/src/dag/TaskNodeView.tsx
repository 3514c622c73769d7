import { memo } from 'react';
import { Handle, Position, type NodeProps } from '@xyflow/react';
import { stateColor, stateLabel } from '../lib/states';
import type { TaskNode } from './graph';

/** A task on the canvas: its name and type; in a run, tinted by its task run's state. */
export const TaskNodeView = memo(function TaskNodeView({ data }: NodeProps<TaskNode>) {
  const c = data.state ? stateColor(data.state) : null;
  return (
    <div
      className={`dag-node ${data.selected ? 'selected' : ''}`}
      data-testid={`dag-node-${data.name}`}
      data-state={data.state}
      title={data.state ? `${data.name}: ${stateLabel(data.state)}` : data.name}
      style={c ? { borderColor: c.solid, background: c.bg } : undefined}
    >
      <Handle type="target" position={Position.Left} isConnectable={false} />
      {c && <span className="dag-node-bar" style={{ background: c.solid }} />}
      <div className="dag-node-text">
        <div className="dag-node-name">{data.name}</div>
        <div className="dag-node-type">
          {data.type}
          {data.state && <span style={{ color: c?.fg }}> · {stateLabel(data.state)}</span>}
        </div>
      </div>
      <Handle type="source" position={Position.Right} isConnectable={false} />
    </div>
  );
});
