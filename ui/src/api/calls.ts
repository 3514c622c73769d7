// One function per API call the UI makes, typed by the generated schema for requests.
import { client, projectPath, rawFetch, unwrap } from './client';
import type {
  AppliedWorkflow,
  Evaluation,
  BackfillPlan,
  BackfillResult,
  FeatureSetDetail,
  FeatureSetSummary,
  ModelRelease,
  ModelSummary,
  ModelVersion,
  ModelVersionDetail,
  Page,
  RecentRuns,
  Run,
  RestoreResult,
  RunSummary,
  RunsPerDay,
  Schedule,
  ScheduleChange,
  SchedulePreview,
  ScheduleRow,
  TaskRunDetail,
  WorkflowDetail,
  WorkflowDiff,
  WorkflowStats,
  WorkflowSummary,
  WorkflowVersion,
} from './types';

export const PAGE_SIZE = 50;

const orUndef = <T,>(v: T | null | undefined | ''): T | undefined => (v === null || v === '' ? undefined : (v as T));

export type ScheduleFilter = 'active' | 'paused' | 'none';

export const listWorkflows = (q: {
  project?: string | null;
  search?: string;
  schedule?: ScheduleFilter | null;
  lastState?: string | null;
  cursor?: string | null;
  limit?: number;
}) =>
  unwrap<Page<WorkflowSummary>>(
    client.GET('/api/v1/workflows', {
      params: {
        query: {
          project: orUndef(q.project),
          search: orUndef(q.search),
          schedule: orUndef(q.schedule),
          last_state: orUndef(q.lastState),
          cursor: orUndef(q.cursor),
          limit: q.limit ?? PAGE_SIZE,
        },
      },
    }),
  );

export const getWorkflow = (project: string, name: string, version?: number | null) =>
  unwrap<WorkflowDetail>(
    client.GET('/api/v1/projects/{project}/workflows/{name}', {
      params: { path: { project, name }, query: { version: orUndef(version) } },
    }),
  );

export const listVersions = (project: string, name: string) =>
  unwrap<WorkflowVersion[]>(
    client.GET('/api/v1/projects/{project}/workflows/{name}/versions', { params: { path: { project, name } } }),
  );

export const listSchedules = (project?: string | null) =>
  unwrap<ScheduleRow[]>(client.GET('/api/v1/schedules', { params: { query: { project: orUndef(project) } } }));

export const setSchedulePaused = (project: string, name: string, paused: boolean) =>
  unwrap<unknown>(
    client.POST('/api/v1/projects/{project}/workflows/{name}/schedule/{action}', {
      params: { path: { project, name, action: paused ? 'pause' : 'resume' } },
    }),
  );

export const previewSchedule = (schedule: Schedule, count = 5) =>
  unwrap<SchedulePreview>(
    client.POST('/api/v1/schedules/preview', {
      body: {
        cron: schedule.cron,
        timezone: schedule.timezone ?? 'UTC',
        start: schedule.start || null,
        end: schedule.end || null,
        catchup: schedule.catchup ?? false,
        count,
      },
    }),
  );

export const putSchedule = (project: string, name: string, schedule: Schedule) =>
  unwrap<ScheduleChange>(
    client.PUT('/api/v1/projects/{project}/workflows/{name}/schedule', {
      params: { path: { project, name } },
      body: {
        cron: schedule.cron,
        timezone: schedule.timezone ?? 'UTC',
        start: schedule.start || null,
        end: schedule.end || null,
        catchup: schedule.catchup ?? false,
      },
    }),
  );

export const removeSchedule = (project: string, name: string) =>
  unwrap<ScheduleChange>(
    client.DELETE('/api/v1/projects/{project}/workflows/{name}/schedule', { params: { path: { project, name } } }),
  );

export const getDiff = (project: string, name: string, oldVersion: number, newVersion?: number | null) =>
  unwrap<WorkflowDiff>(
    client.GET('/api/v1/projects/{project}/workflows/{name}/diff', {
      params: { path: { project, name }, query: { old: oldVersion, new: orUndef(newVersion) } },
    }),
  );

export const restoreVersion = (project: string, name: string, version: number) =>
  unwrap<RestoreResult>(
    client.POST('/api/v1/projects/{project}/workflows/{name}/versions/{version}/restore', {
      params: { path: { project, name, version } },
    }),
  );

export const deleteWorkflow = (project: string, name: string) =>
  unwrap<unknown>(client.DELETE('/api/v1/projects/{project}/workflows/{name}', { params: { path: { project, name } } }));

export const applyWorkflow = (content: string, format: 'yaml' | 'json', project?: string | null) =>
  unwrap<AppliedWorkflow[]>(client.POST('/api/v1/workflows', { body: { content, format, project: project ?? null } }));

/** Check a workflow's text as saving would, storing nothing: its names, or a 422 spec_error. */
export const validateWorkflow = (content: string, format: 'yaml' | 'json' = 'yaml') =>
  unwrap<{ valid: boolean; workflows: string[] }>(client.POST('/api/v1/workflows/validate', { body: { content, format } }));

/** Every installed task type by group, with its params' JSON Schema (the editor's palette and forms). */
export const listTaskTypes = <T,>() => unwrap<T>(client.GET('/api/v1/task-types'));

export async function exportWorkflow(project: string, name: string, version?: number): Promise<string> {
  const q = new URLSearchParams({ format: 'yaml' });
  if (version) q.set('version', String(version));
  const res = await rawFetch(`${projectPath(project, 'workflows', name, 'export')}?${q}`);
  return res.text();
}

export const startRun = (body: {
  workflow: string;
  project: string;
  params?: Record<string, string>;
  date?: string | null;
  disable?: string[];
}) => unwrap<Run>(client.POST('/api/v1/runs', { body }));

export interface BackfillBody {
  workflow: string;
  project: string;
  start: string;
  end: string;
  parallel: number;
  order: 'asc' | 'desc';
  params?: Record<string, string>;
  disable?: string[];
}

export const startBackfill = (body: BackfillBody) =>
  unwrap<BackfillResult>(client.POST('/api/v1/backfills', { body: { ...body, dry_run: false } }));

/** The logical dates a backfill of the range would run; creates nothing. */
export const planBackfill = (body: BackfillBody) =>
  unwrap<BackfillPlan>(client.POST('/api/v1/backfills', { body: { ...body, dry_run: true } }));

export interface RunFilters {
  project?: string | null;
  workflow?: string;
  state?: string;
  trigger?: string;
  since?: string;
  until?: string;
}

export const listRuns = (f: RunFilters & { cursor?: string | null; limit?: number }) =>
  unwrap<Page<RunSummary>>(
    client.GET('/api/v1/runs', {
      params: {
        query: {
          project: orUndef(f.project),
          workflow: orUndef(f.workflow),
          state: orUndef(f.state),
          trigger: orUndef(f.trigger),
          since: orUndef(f.since),
          until: orUndef(f.until),
          cursor: orUndef(f.cursor),
          limit: f.limit ?? PAGE_SIZE,
        },
      },
    }),
  );

export const getRun = (project: string, id: number) =>
  unwrap<Run>(client.GET('/api/v1/projects/{project}/runs/{run_id}', { params: { path: { project, run_id: id } } }));

export const runAction = (project: string, id: number, action: 'stop' | 'pause' | 'resume') =>
  unwrap<unknown>(
    client.POST('/api/v1/projects/{project}/runs/{run_id}/{action}', { params: { path: { project, run_id: id, action } } }),
  );

export const rerunFrom = (project: string, id: number, task: string) =>
  unwrap<unknown>(
    client.POST('/api/v1/projects/{project}/runs/{run_id}/rerun', {
      params: { path: { project, run_id: id } },
      body: { from_task: task },
    }),
  );

export const recoverRun = (project: string, id: number) =>
  unwrap<unknown>(
    client.POST('/api/v1/projects/{project}/runs/{run_id}/recover', { params: { path: { project, run_id: id } } }),
  );

export const getTaskRun = (project: string, id: number, task: string) =>
  unwrap<TaskRunDetail>(
    client.GET('/api/v1/projects/{project}/runs/{run_id}/tasks/{task}', { params: { path: { project, run_id: id, task } } }),
  );

export async function getTaskLog(project: string, id: number, task: string, attempt?: number): Promise<string> {
  const q = attempt ? `?attempt=${attempt}` : '';
  const res = await rawFetch(`${projectPath(project, 'runs', id, 'tasks', task, 'log')}${q}`);
  return res.text();
}

export const runEventsPath = (project: string, id: number) => projectPath(project, 'runs', id, 'events');
export const logFollowPath = (project: string, id: number, task: string, attempt?: number) =>
  `${projectPath(project, 'runs', id, 'tasks', task, 'log', 'follow')}${attempt ? `?attempt=${attempt}` : ''}`;

export const listModels = (project: string) =>
  unwrap<ModelSummary[]>(client.GET('/api/v1/projects/{project}/models', { params: { path: { project } } }));

export const listModelVersions = (project: string, name: string) =>
  unwrap<ModelVersion[]>(
    client.GET('/api/v1/projects/{project}/models/{name}/versions', { params: { path: { project, name } } }),
  );

export const getModelVersion = (project: string, name: string, version?: number | null) =>
  unwrap<ModelVersionDetail>(
    client.GET('/api/v1/projects/{project}/models/{name}', {
      params: { path: { project, name }, query: { version: orUndef(version) } },
    }),
  );

export const getModelEvaluation = (project: string, name: string, version: number) =>
  unwrap<Evaluation>(
    client.GET('/api/v1/projects/{project}/models/{name}/versions/{version}/evaluation', {
      params: { path: { project, name, version } },
    }),
  );

export const listReleases = (project: string, name: string) =>
  unwrap<ModelRelease[]>(
    client.GET('/api/v1/projects/{project}/models/{name}/releases', { params: { path: { project, name } } }),
  );

export const releaseModel = (project: string, name: string, version: number, alias: string) =>
  unwrap<unknown>(
    client.POST('/api/v1/projects/{project}/models/{name}/release', {
      params: { path: { project, name } },
      body: { version, alias },
    }),
  );

export const rollbackModel = (project: string, name: string, alias: string, to: number | null = null) =>
  unwrap<unknown>(
    client.POST('/api/v1/projects/{project}/models/{name}/rollback', {
      params: { path: { project, name } },
      body: { alias, to },
    }),
  );

export const listFeatureSets = (project: string) =>
  unwrap<FeatureSetSummary[]>(client.GET('/api/v1/projects/{project}/feature-sets', { params: { path: { project } } }));

export const listFeatureSetVersions = (project: string, name: string) =>
  unwrap<FeatureSetSummary[]>(
    client.GET('/api/v1/projects/{project}/feature-sets/{name}/versions', { params: { path: { project, name } } }),
  );

export const getFeatureSet = (project: string, name: string, version?: number | null) =>
  unwrap<FeatureSetDetail>(
    client.GET('/api/v1/projects/{project}/feature-sets/{name}', {
      params: { path: { project, name }, query: { version: orUndef(version) } },
    }),
  );

export const computeFeatures = (project: string, name: string, rows: Record<string, unknown>[], version?: number | null) =>
  unwrap<Record<string, unknown>[]>(
    client.POST('/api/v1/projects/{project}/feature-sets/{name}/compute', {
      params: { path: { project, name }, query: { version: orUndef(version) } },
      body: { rows },
    }),
  );

export const getWorkflowStats = (project: string, name: string, last: number) =>
  unwrap<WorkflowStats>(
    client.GET('/api/v1/projects/{project}/workflows/{name}/stats', {
      params: { path: { project, name }, query: { last } },
    }),
  );

export const getRunsPerDay = (q: { project?: string | null; workflow?: string | null; days: number }) =>
  unwrap<RunsPerDay>(
    client.GET('/api/v1/stats/runs-per-day', {
      params: { query: { project: orUndef(q.project), workflow: orUndef(q.workflow), days: q.days } },
    }),
  );

/** The last runs of each workflow (`project/name`) of a list page, in one request. */
export const getRecentRuns = (workflows: string[], last = 20) =>
  unwrap<RecentRuns>(client.GET('/api/v1/stats/recent-runs', { params: { query: { workflow: workflows, last } } }));
