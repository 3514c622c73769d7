import { useEffect, useMemo, useRef, useState } from 'react';
import { Background, Controls, ReactFlow, useReactFlow, useStore, type NodeMouseHandler, type NodeTypes } from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import type { TaskSpec } from '../api/types';
import { dagParts, NODE_HEIGHT, placeDag, type Dag, type DagParts, type TaskNode } from './graph';
import { cachedLayout, layoutAsync, layoutGraph, rememberLayout, WORKER_AFTER, type XY } from './layout';
import { TaskNodeView } from './TaskNodeView';

const NODE_TYPES: NodeTypes = { task: TaskNodeView };
const FIT = { padding: 0.15, maxZoom: 1.1 };

/** Fit the graph again when its box changes size (a side panel opens, the window resizes). */
function FitOnResize() {
  const width = useStore((s) => s.width);
  const height = useStore((s) => s.height);
  const { fitView } = useReactFlow();
  useEffect(() => {
    if (width && height) void fitView(FIT);
  }, [width, height, fitView]);
  return null;
}

const NO_NODES: TaskNode[] = [];

/**
 * The laid-out DAG of `tasks`, or null while a big one is laid out in a worker. A layout this
 * browser made before for the same graph is reused at once; a small graph is laid out here.
 */
function useLaidOut(tasks: readonly TaskSpec[]): Dag | null {
  const parts = useMemo(() => dagParts(tasks), [tasks]);
  const ready = useMemo(
    () => cachedLayout(parts.input) ?? (parts.input.ids.length <= WORKER_AFTER ? layoutGraph(parts.input) : null),
    [parts],
  );
  const [later, setLater] = useState<{ parts: DagParts; positions: Record<string, XY> } | null>(null);
  useEffect(() => {
    if (ready) return;
    let live = true;
    void layoutAsync(parts.input).then((positions) => {
      rememberLayout(parts.input, positions);
      if (live) setLater({ parts, positions });
    });
    return () => {
      live = false;
    };
  }, [parts, ready]);
  const positions = ready ?? (later?.parts === parts ? later.positions : null);
  return useMemo(() => (positions ? placeDag(parts, positions) : null), [parts, positions]);
}

/**
 * A workflow's tasks as a left-to-right DAG. `states` tints each node (run view); the layout
 * is computed once per task list, and a state change replaces only the nodes it touches.
 */
export function DagView({
  tasks,
  states,
  selected,
  onSelect,
}: {
  tasks: readonly TaskSpec[];
  states?: Record<string, string>;
  selected?: string | null;
  onSelect?: (task: string) => void;
}) {
  const dag = useLaidOut(tasks);
  const cache = useRef(new Map<string, TaskNode>());
  const nodes = useMemo(() => {
    const next = new Map<string, TaskNode>();
    const out = (dag?.nodes ?? NO_NODES).map((n) => {
      const state = states?.[n.id];
      const isSel = selected === n.id;
      const prev = cache.current.get(n.id);
      const node =
        prev && prev.position === n.position && prev.data.state === state && prev.data.selected === isSel
          ? prev
          : { ...n, selected: isSel, data: { ...n.data, state, selected: isSel } };
      next.set(n.id, node);
      return node;
    });
    cache.current = next;
    return out;
  }, [dag, states, selected]);

  const height = useMemo(() => {
    // Until a big DAG is laid out, hold the height it will most likely take.
    if (!dag) return 520;
    const maxY = Math.max(0, ...dag.nodes.map((n) => n.position.y + NODE_HEIGHT));
    return Math.min(520, Math.max(180, maxY + 60));
  }, [dag]);

  const onNodeClick: NodeMouseHandler<TaskNode> = (_, node) => onSelect?.(node.id);

  if (tasks.length === 0) return <div className="empty">This workflow has no tasks.</div>;
  if (!dag) return <div className="dag" style={{ height }} data-testid="dag-laying-out" aria-busy="true" />;
  return (
    <div className="dag" style={{ height }} data-testid="dag">
      <ReactFlow<TaskNode>
        nodes={nodes}
        edges={dag.edges}
        nodeTypes={NODE_TYPES}
        onNodeClick={onNodeClick}
        nodesDraggable={false}
        nodesConnectable={false}
        elementsSelectable={!!onSelect}
        fitView
        fitViewOptions={FIT}
        minZoom={0.2}
        proOptions={{ hideAttribution: true }}
      >
        <Background gap={16} size={1} color="#e5e7eb" />
        <Controls showInteractive={false} />
        <FitOnResize />
      </ReactFlow>
      {dag.missing.length > 0 && (
        <div className="dag-warning">upstream not found: {[...new Set(dag.missing)].join(', ')}</div>
      )}
    </div>
  );
}
