import { stateColor, stateLabel } from '../lib/states';

export function StateBadge({ state, testId }: { state: string | null | undefined; testId?: string }) {
  if (!state) return <span className="muted">—</span>;
  const c = stateColor(state);
  return (
    <span
      className="badge"
      data-testid={testId}
      data-state={state}
      style={{ background: c.bg, color: c.fg, borderColor: c.solid }}
    >
      <span className="dot" style={{ background: c.solid }} />
      {stateLabel(state)}
    </span>
  );
}
