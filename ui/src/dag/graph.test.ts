import { describe, expect, it } from 'vitest';
import type { TaskSpec } from '../api/types';
import { buildDag, downstreamOf, NODE_WIDTH, upstreamOf } from './graph';

// The task list of examples/hello_ml.yaml as `GET /api/v1/projects/default/workflows/hello_ml`
// answers it under `definition.tasks`.
const HELLO_ML: TaskSpec[] = [
  { name: 'extract', type: 'shell', command: 'echo hi\n' },
  {
    name: 'check',
    type: 'switch',
    upstream: ['extract'],
    cases: [{ when: '${extract.rows} > ${threshold}', then: 'train' }],
    default: 'skip_train',
  },
  { name: 'train', type: 'python', upstream: ['check'], retries: 2, callable: 'examples.hello:train' },
  { name: 'skip_train', type: 'shell', upstream: ['check'], command: 'echo "not enough rows"' },
  { name: 'report', type: 'shell', upstream: ['train'], command: 'echo "auc=${train.auc}"' },
];

const byId = (dag: ReturnType<typeof buildDag>) => new Map(dag.nodes.map((n) => [n.id, n]));

describe('buildDag', () => {
  it('makes one node per task with its name and type', () => {
    const dag = buildDag(HELLO_ML);
    expect(dag.nodes.map((n) => n.id)).toEqual(['extract', 'check', 'train', 'skip_train', 'report']);
    expect(byId(dag).get('check')!.data).toMatchObject({ name: 'check', type: 'switch' });
    expect(dag.nodes.every((n) => n.type === 'task')).toBe(true);
  });

  it('makes one edge per upstream dependency', () => {
    const dag = buildDag(HELLO_ML);
    expect(dag.edges.map((e) => `${e.source}->${e.target}`).sort()).toEqual(
      ['check->skip_train', 'check->train', 'extract->check', 'train->report'].sort(),
    );
    expect(dag.missing).toEqual([]);
  });

  it('lays the graph out left to right: every edge points rightwards', () => {
    const dag = buildDag(HELLO_ML);
    const nodes = byId(dag);
    for (const e of dag.edges) {
      const s = nodes.get(e.source)!.position;
      const t = nodes.get(e.target)!.position;
      expect(t.x).toBeGreaterThanOrEqual(s.x + NODE_WIDTH);
    }
  });

  it('stacks siblings of the same rank vertically without overlap', () => {
    const nodes = byId(buildDag(HELLO_ML));
    const a = nodes.get('train')!.position;
    const b = nodes.get('skip_train')!.position;
    expect(a.x).toBe(b.x);
    expect(Math.abs(a.y - b.y)).toBeGreaterThan(40);
  });

  it('accepts depends_on and reports upstreams that name no task', () => {
    const dag = buildDag([
      { name: 'a', type: 'shell' },
      { name: 'b', type: 'shell', depends_on: ['a', 'ghost'] },
    ]);
    expect(dag.edges.map((e) => e.id)).toEqual(['a->b']);
    expect(dag.missing).toEqual(['ghost']);
  });

  it('handles an empty workflow and lone tasks', () => {
    expect(buildDag([]).nodes).toEqual([]);
    const dag = buildDag([{ name: 'solo', type: 'http' }]);
    expect(dag.nodes).toHaveLength(1);
    expect(Number.isFinite(dag.nodes[0].position.x)).toBe(true);
  });
});

describe('upstreamOf / downstreamOf', () => {
  it('reads upstream lists', () => {
    expect(upstreamOf(HELLO_ML[2])).toEqual(['check']);
    expect(upstreamOf(HELLO_ML[0])).toEqual([]);
  });

  it('finds everything downstream of a task', () => {
    expect(downstreamOf(HELLO_ML, 'check')).toEqual(['train', 'skip_train', 'report']);
    expect(downstreamOf(HELLO_ML, 'report')).toEqual([]);
  });
});
