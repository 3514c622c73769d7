// The editor's canvas: React Flow over the reducer's state. Nodes and edges are derived from
// the doc, each object reused while its task, place, selection and problems are unchanged, so a
// drag frame or a keystroke re-renders only the nodes it touches.
import { useCallback, useMemo, useRef, type DragEvent } from 'react';
import {
  Background,
  Controls,
  MarkerType,
  MiniMap,
  ReactFlow,
  useReactFlow,
  type Connection,
  type Edge,
  type EdgeChange,
  type NodeChange,
  type NodeTypes,
} from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { EditorNode, type EditorFlowNode } from './EditorNode';
import { NODE_HEIGHT, NODE_WIDTH } from './layout';
import { DRAG_TYPE } from './Palette';
import type { Action, EditorState } from './reducer';
import { edgesOf, taskName, taskType } from './spec';
import type { Problem } from './validate';

const NODE_TYPES: NodeTypes = { task: EditorNode };
const MEASURED = { width: NODE_WIDTH, height: NODE_HEIGHT };
const EDGE_STYLE = { stroke: '#98a2b3', strokeWidth: 1.5 };
const EDGE_SELECTED = { stroke: '#3b63f6', strokeWidth: 2 };
const MARKER = { type: MarkerType.ArrowClosed, width: 14, height: 14, color: '#98a2b3' };
const DELETE_KEYS = ['Delete', 'Backspace'];
/** Past this many tasks, only what is in view is rendered (React Flow's own culling). */
const CULL_AFTER = 120;

export function Canvas({
  state,
  dispatch,
  byTask,
  groupOf,
}: {
  state: EditorState;
  dispatch: (a: Action) => void;
  byTask: Map<string, Problem[]>;
  groupOf: (type: string) => string;
}) {
  const { screenToFlowPosition } = useReactFlow();
  const { doc, positions, selection, selectedEdges } = state;
  const stateRef = useRef(state);
  stateRef.current = state;
  // Fit the view to the tasks a loaded workflow starts with; a new one starts at 100 %, so the
  // first task dropped stays where it was dropped.
  const fitAtStart = useRef(doc.tasks.length > 0).current;

  const cache = useRef(new Map<string, EditorFlowNode>());
  const nodes = useMemo(() => {
    const selected = new Set(selection);
    const next = new Map<string, EditorFlowNode>();
    const out = doc.tasks.map((t) => {
      const problems = byTask.get(t.id);
      const name = taskName(t);
      const type = taskType(t.spec);
      const position = positions[t.id] ?? { x: 0, y: 0 };
      const isSel = selected.has(t.id);
      const errors = problems?.length ?? 0;
      const firstError = problems?.[0] ? `${problems[0].field ? `${problems[0].field}: ` : ''}${problems[0].message}` : '';
      const prev = cache.current.get(t.id);
      const node: EditorFlowNode =
        prev &&
        prev.position === position &&
        prev.selected === isSel &&
        prev.data.name === name &&
        prev.data.type === type &&
        prev.data.errors === errors &&
        prev.data.firstError === firstError
          ? prev
          : {
              id: t.id,
              type: 'task',
              position,
              selected: isSel,
              measured: MEASURED,
              data: { name, type, errors, firstError, group: groupOf(type) },
            };
      next.set(t.id, node);
      return node;
    });
    cache.current = next;
    return out;
  }, [doc.tasks, positions, selection, byTask, groupOf]);

  const edgeCache = useRef(new Map<string, Edge>());
  const edges = useMemo(() => {
    const selected = new Set(selectedEdges);
    const next = new Map<string, Edge>();
    const out = edgesOf(doc).map((e) => {
      const isSel = selected.has(e.id);
      const prev = edgeCache.current.get(e.id);
      const edge: Edge =
        prev && prev.selected === isSel
          ? prev
          : {
              ...e,
              type: 'smoothstep',
              selected: isSel,
              markerEnd: MARKER,
              style: isSel ? EDGE_SELECTED : EDGE_STYLE,
            };
      next.set(e.id, edge);
      return edge;
    });
    edgeCache.current = next;
    return out;
  }, [doc, selectedEdges]);

  const onNodesChange = useCallback(
    (changes: NodeChange<EditorFlowNode>[]) => {
      const s = stateRef.current;
      let selection: Set<string> | null = null;
      let moved: Record<string, { x: number; y: number }> | null = null;
      for (const c of changes) {
        if (c.type === 'position' && c.position) {
          moved ??= {};
          moved[c.id] = c.position;
        } else if (c.type === 'select') {
          selection ??= new Set(s.selection);
          if (c.selected) selection.add(c.id);
          else selection.delete(c.id);
        }
        // 'remove' is handled by onDelete (one undo step for nodes and edges together).
      }
      if (moved) dispatch({ type: 'move', positions: moved, at: Date.now() });
      if (selection) {
        // The order of selection: the last one clicked shows its form.
        const ordered = [...s.selection.filter((id) => selection!.has(id)), ...[...selection].filter((id) => !s.selection.includes(id))];
        dispatch({ type: 'select', ids: ordered, edges: stateRef.current.selectedEdges });
      }
    },
    [dispatch],
  );

  const onEdgesChange = useCallback(
    (changes: EdgeChange[]) => {
      const s = stateRef.current;
      let edges: Set<string> | null = null;
      for (const c of changes) {
        if (c.type === 'select') {
          edges ??= new Set(s.selectedEdges);
          if (c.selected) edges.add(c.id);
          else edges.delete(c.id);
        }
      }
      if (edges) dispatch({ type: 'select', ids: stateRef.current.selection, edges: [...edges] });
    },
    [dispatch],
  );

  const onConnect = useCallback(
    (c: Connection) => {
      if (c.source && c.target) dispatch({ type: 'connect', source: c.source, target: c.target });
    },
    [dispatch],
  );

  const onDelete = useCallback(
    ({ nodes, edges }: { nodes: EditorFlowNode[]; edges: Edge[] }) =>
      dispatch({ type: 'delete', ids: nodes.map((n) => n.id), edges: edges.map((e) => e.id) }),
    [dispatch],
  );

  const onDragOver = useCallback((e: DragEvent) => {
    if (e.dataTransfer.types.includes(DRAG_TYPE)) {
      e.preventDefault();
      e.dataTransfer.dropEffect = 'copy';
    }
  }, []);

  const onDrop = useCallback(
    (e: DragEvent) => {
      const type = e.dataTransfer.getData(DRAG_TYPE);
      if (!type) return;
      e.preventDefault();
      const p = screenToFlowPosition({ x: e.clientX, y: e.clientY });
      // The pointer holds the node by its middle.
      dispatch({
        type: 'addTask',
        taskType: type,
        position: { x: Math.round(p.x - NODE_WIDTH / 2), y: Math.round(p.y - NODE_HEIGHT / 2) },
        at: Date.now(),
      });
    },
    [dispatch, screenToFlowPosition],
  );

  return (
    <div className="editor-canvas" data-testid="editor-canvas" onDragOver={onDragOver} onDrop={onDrop}>
      <ReactFlow<EditorFlowNode>
        nodes={nodes}
        edges={edges}
        nodeTypes={NODE_TYPES}
        onNodesChange={onNodesChange}
        onEdgesChange={onEdgesChange}
        onConnect={onConnect}
        onDelete={onDelete}
        deleteKeyCode={DELETE_KEYS}
        onlyRenderVisibleElements={doc.tasks.length > CULL_AFTER}
        fitView={fitAtStart}
        fitViewOptions={{ padding: 0.2, maxZoom: 1.1 }}
        minZoom={0.1}
        maxZoom={2}
        snapToGrid
        snapGrid={[8, 8]}
        connectionRadius={28}
        proOptions={{ hideAttribution: true }}
      >
        <Background gap={16} size={1} color="#e5e7eb" />
        <Controls showInteractive={false} />
        {doc.tasks.length > 12 && <MiniMap pannable zoomable nodeStrokeWidth={2} />}
      </ReactFlow>
      {doc.tasks.length === 0 && (
        <div className="canvas-empty" data-testid="canvas-empty">
          Drag a task type from the palette here (or focus one and press Enter), then connect tasks from the right
          handle of one to the left handle of the next.
        </div>
      )}
    </div>
  );
}
