import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { docFromSpec, specFromDoc } from './spec';
import { docFromYaml, parseYaml, toYaml } from './yamlSync';
import { edgesOf } from './spec';

const SWITCH_DEMO = `name: switch_demo
description: pick a branch
params: {region: cn, min_auc: "0.75", flag: "yes", day: "2024-01-01"}
schedule: {cron: "0 2 * * *", timezone: Asia/Shanghai, start: 2024-01-01, catchup: true}
failure_strategy: continue
future_key: {kept: [1, 2]}
tasks:
  - name: evaluate
    type: shell
    command: echo "##shoal:set auc=0.81"
    x_unknown: kept as written
  - name: route
    type: switch
    upstream: [evaluate]
    cases:
      - when: "\${region} == 'us' and \${evaluate.auc} >= \${min_auc}"
        then: deploy_us
      - {when: "\${evaluate.auc} >= \${min_auc}", then: deploy}
    default: alert
  - {name: deploy_us, type: shell, upstream: [route], command: echo deploy us}
  - {name: deploy, type: shell, upstream: [route], command: echo deploy, resources: {cpu: 0.5, memory: 2Gi}}
  - {name: alert, type: shell, upstream: [route], command: echo "auc too low", timeout: 30m}
  - name: notify
    type: shell
    upstream: [deploy_us, deploy, alert]
    trigger_rule: none_failed
    command: |
      echo "done via \${route.branch}"
      echo second line
`;

function roundTrip(text: string) {
  const parsed = parseYaml(text);
  if (!parsed.ok) throw new Error(parsed.problem.message);
  const doc = docFromSpec(parsed.spec);
  const again = parseYaml(toYaml(specFromDoc(doc)));
  if (!again.ok) throw new Error(again.problem.message);
  return { before: parsed.spec, after: again.spec, doc };
}

describe('YAML ⇄ graph', () => {
  it('spec → graph → YAML → spec is the same workflow, unknown keys and key order kept', () => {
    const { before, after } = roundTrip(SWITCH_DEMO);
    expect(after).toEqual(before);
    expect(Object.keys(after)).toEqual(['name', 'description', 'params', 'schedule', 'failure_strategy', 'future_key', 'tasks']);
    const tasks = after.tasks as Record<string, unknown>[];
    expect(tasks[0].x_unknown).toBe('kept as written');
    expect(Object.keys(tasks[1])).toEqual(['name', 'type', 'upstream', 'cases', 'default']);
  });

  it('reads the edges from upstream, switch branches included', () => {
    const { doc } = roundTrip(SWITCH_DEMO);
    const name = new Map(doc.tasks.map((t) => [t.id, t.spec.name]));
    const edges = edgesOf(doc).map((e) => `${name.get(e.source)}->${name.get(e.target)}`);
    expect(edges).toEqual([
      'evaluate->route',
      'route->deploy_us',
      'route->deploy',
      'route->alert',
      'deploy_us->notify',
      'deploy->notify',
      'alert->notify',
    ]);
  });

  it('writes YAML that PyYAML (YAML 1.1) reads back the same: yes and dates in text stay text', () => {
    const { doc } = roundTrip(SWITCH_DEMO);
    const text = toYaml(specFromDoc(doc));
    expect(text).toContain('flag: "yes"'); // unquoted, PyYAML would read true
    expect(text).toContain('day: "2024-01-01"'); // unquoted, PyYAML would read a date, not text
    expect(text).toContain('start: "2024-01-01"'); // the same date to the server's schedule
    expect(text).toContain('min_auc: "0.75"');
    expect(parse(text, { version: '1.1' }).params.flag).toBe('yes');
  });

  it('says where invalid YAML is wrong, with the line', () => {
    const bad = parseYaml('name: x\ntasks:\n  - {name: a, type: shell\n');
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(bad.problem.line).toBe(4);
      expect(bad.problem.message).toMatch(/flow|collection|expected/i);
    }
    const notList = parseYaml('name: x\ntasks: {a: 1}\n');
    expect(notList.ok).toBe(false);
    if (!notList.ok) expect(notList.problem).toEqual({ message: expect.stringMatching(/tasks must be a list/), line: 2 });
    const dup = parseYaml('name: x\nname: y\ntasks: []\n');
    expect(dup.ok).toBe(false);
  });

  it('keeps the ids (so the places) of tasks whose names stay, new ids for new tasks', () => {
    const { doc } = roundTrip(SWITCH_DEMO);
    const edited = SWITCH_DEMO.replace('  - name: notify', '  - {name: extra, type: shell, command: echo}\n  - name: notify');
    const parsed = parseYaml(edited);
    if (!parsed.ok) throw new Error('bad');
    const next = docFromYaml(parsed.spec, doc);
    const ids = new Map(doc.tasks.map((t) => [t.spec.name, t.id]));
    for (const t of next.tasks) {
      if (t.spec.name === 'extra') expect([...ids.values()]).not.toContain(t.id);
      else expect(t.id).toBe(ids.get(t.spec.name));
    }
  });
});
