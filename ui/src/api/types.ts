// Shapes of the API's answers. The server's OpenAPI schema declares requests but not responses
// (`schema: {}`), so these mirror what `docs/api.md` and real answers show.

export type RunState = 'queued' | 'running' | 'paused' | 'success' | 'failed' | 'stopped';
export type TaskRunState =
  | 'pending'
  | 'queued'
  | 'running'
  | 'retrying'
  | 'success'
  | 'failed'
  | 'skipped'
  | 'upstream_failed'
  | 'stopped';
export type Role = 'viewer' | 'editor' | 'admin';

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface WhoAmI {
  user: string;
  /** role per project; `null` means an instance admin (every project, every action). */
  roles: Record<string, Role> | null;
}

export interface Project {
  name: string;
  created_at: string;
  members: Record<string, Role>;
}

export interface WorkflowSummary {
  project: string;
  name: string;
  version: number;
  description: string | null;
  /** who first applied it (null: applied before owners were recorded) */
  owner: string | null;
  schedule: string | null;
  paused: boolean | null;
  last_run_state: RunState | null;
  updated_at: string;
}

export interface TaskSpec {
  name: string;
  type: string;
  upstream?: string[];
  /** not in shoal's spec today; accepted so older or foreign specs still draw. */
  depends_on?: string[];
  [key: string]: unknown;
}

export interface WorkflowDefinition {
  name: string;
  description?: string | null;
  params?: Record<string, unknown>;
  schedule?: Record<string, unknown> | null;
  tasks: TaskSpec[];
  [key: string]: unknown;
}

export interface ScheduleInfo {
  cron: string;
  timezone: string;
  paused: boolean;
  catchup: boolean;
  next_fire_at: string | null;
}

export interface WorkflowDetail {
  project: string;
  name: string;
  version: number;
  source_dir: string | null;
  schedule: ScheduleInfo | null;
  definition: WorkflowDefinition;
}

export interface WorkflowVersion {
  version: number;
  current: boolean;
  spec_hash: string;
  /** who applied it (null: applied before authors were recorded) */
  created_by: string | null;
  created_at: string;
}

export interface ScheduleRow extends ScheduleInfo {
  project: string;
  workflow: string;
}

export interface AppliedWorkflow {
  project: string;
  name: string;
  version: number;
  changed: boolean;
  kept_source_dir: string | null;
  notes: string[];
}

export interface RunSummary {
  id: number;
  project: string;
  workflow: string;
  version: number;
  state: RunState;
  trigger: string;
  logical_date: string;
  created_at: string;
  ended_at: string | null;
}

export interface TaskRun {
  id: number;
  task: string;
  state: TaskRunState;
  attempt: number;
  max_attempts: number;
  started_at: string | null;
  ended_at: string | null;
  duration: number | null;
  outputs: Record<string, unknown>;
  error: string | null;
  note: string | null;
  pid: number | null;
}

export interface Run extends RunSummary {
  params: Record<string, string>;
  disabled: string[];
  started_at: string | null;
  error: string | null;
  tasks: TaskRun[];
}

export interface TaskRunDetail {
  run_id: number;
  project: string;
  workflow: string;
  task: string;
  type: string;
  state: TaskRunState;
  attempt: number;
  max_attempts: number;
  started_at: string | null;
  ended_at: string | null;
  duration: number | null;
  upstream: string[];
  outputs: Record<string, unknown>;
  error: string | null;
  note: string | null;
  attempts: { attempt: number; log_bytes: number }[];
  params: Record<string, unknown> | null;
  values: Record<string, unknown> | null;
  params_error: string | null;
}

export interface ModelSummary {
  project: string;
  name: string;
  description: string | null;
  latest_version: number | null;
  /** alias -> version */
  aliases: Record<string, number>;
  created_at: string;
}

export interface ModelVersion {
  project: string;
  model: string;
  version: number;
  flavor: string;
  artifact_uri: string;
  preprocess: Record<string, unknown> | null;
  feature_set: string | null;
  feature_set_version: number | null;
  metrics: Record<string, number | string>;
  signature: { inputs?: Record<string, string>; required?: string[]; features?: string[] } | null;
  params: Record<string, unknown>;
  description: string | null;
  run_id: number | null;
  task_run_id: number | null;
  created_at: string;
  aliases: string[];
}

export interface ModelRelease {
  model: string;
  alias: string;
  action: 'release' | 'rollback' | string;
  from_version: number | null;
  to_version: number | null;
  created_at: string;
}

/** Feature importance in a model's own measure (see `shoal.ml.evaluation`). */
export interface EvaluationImportance {
  /** `gain` (trees) or `abs_coefficient` (linear models) */
  kind: string;
  /** most important first, at most 30 */
  features: { feature: string; value: number }[];
}

/** A version's evaluation report: `GET …/models/{name}/versions/{version}/evaluation`. */
export interface Evaluation {
  format: number;
  objective: 'binary' | 'regression';
  rows?: number;
  positives?: number;
  threshold?: number;
  auc?: number;
  average_precision?: number;
  rmse?: number;
  /** curves: two arrays of equal length, at most 200 points */
  roc?: { fpr: number[]; tpr: number[] };
  pr?: { recall: number[]; precision: number[] };
  confusion?: { tn: number; fp: number; fn: number; tp: number };
  residuals?: { edges: number[]; counts: number[] };
  predicted_vs_actual?: { actual: number[]; predicted: number[] };
  importance?: EvaluationImportance;
}

export interface ModelVersionDetail extends ModelVersion {
  history: ModelRelease[];
}

export interface FeatureSetSummary {
  name: string;
  version: number;
  tables: string[];
  features: number;
  /** online store: distinct keys and rows (null when nothing was imported online). */
  keys: number | null;
  rows: number | null;
  created_at: string;
}

export interface FeatureWindow {
  partition_by: string[];
  frame: string;
  size: number;
  text: string;
}

export interface FeatureSetDetail {
  project: string;
  name: string;
  version: number;
  sql: string;
  features: string[];
  time_column: string | null;
  windows: Record<string, FeatureWindow>;
  tables: Record<string, Record<string, string>>;
  max_rows_per_key: number | null;
  online: { keys: number; rows: number } | null;
  created_at: string;
}

/** A workflow's `schedule:` as its definition has it (and as PUT …/schedule takes it). */
export interface Schedule {
  cron: string;
  timezone?: string;
  /** `YYYY-MM-DD` or a local `YYYY-MM-DDTHH:MM[:SS]` */
  start?: string | null;
  end?: string | null;
  catchup?: boolean;
}

export interface SchedulePreview {
  cron: string;
  timezone: string;
  /** aware ISO datetimes in UTC (`…+00:00`) */
  fire_times: string[];
  /** the same instants in the schedule's timezone (`…+08:00`) */
  local: string[];
  /** how many of them are past fire times a catch-up runs at once */
  catchup_runs: number;
}

export interface ScheduleChange {
  project: string;
  workflow: string;
  version: number;
  changed: boolean;
  message: string;
  schedule: ScheduleRow | null;
  notes: string[];
}

export interface RestoreResult {
  project: string;
  name: string;
  version: number;
  changed: boolean;
  restored: number;
  notes: string[];
}

export interface WorkflowDiff {
  project: string;
  name: string;
  old: number;
  new: number;
  /** unified diff of the two versions' YAML; empty when they are the same */
  diff: string;
}

export interface BackfillPlan {
  count: number;
  dates: string[];
}

export interface BackfillResult {
  id: number;
  run_ids: number[];
}

/** One run of a workflow's duration chart (`GET …/workflows/{name}/stats`). */
export interface RunPoint {
  id: number;
  logical_date: string;
  trigger: string;
  state: RunState;
  started_at: string | null;
  ended_at: string | null;
  /** seconds from start to end; null until the run has ended (or if it never started). */
  duration: number | null;
}

/** Over the runs shown: durations are of the succeeded runs only. */
export interface DurationSummary {
  runs: number;
  finished: number;
  succeeded: number;
  success_rate: number | null;
  mean: number | null;
  p50: number | null;
  p90: number | null;
  max: number | null;
}

export interface WorkflowStats {
  project: string;
  workflow: string;
  last: number;
  /** oldest first */
  runs: RunPoint[];
  summary: DurationSummary;
}

export interface DayCounts {
  /** UTC day, `YYYY-MM-DD` */
  day: string;
  /** every run state, zeros included */
  counts: Record<RunState, number>;
  total: number;
}

export interface RunsPerDay {
  since: string;
  until: string;
  project: string | null;
  workflow: string | null;
  states: RunState[];
  days: DayCounts[];
}

export interface RecentRun {
  id: number;
  state: RunState;
  duration: number | null;
}

export interface RecentRuns {
  last: number;
  /** keyed `project/name`, oldest first */
  workflows: Record<string, RecentRun[]>;
  missing: string[];
}
