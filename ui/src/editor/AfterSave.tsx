import { Link } from 'react-router-dom';

/** What a save hands on: the workflow, the version stored, and its schedule (as the spec says). */
export interface SavedInfo {
  project: string;
  name: string;
  version: number;
  /** false: the server found nothing changed, so no new version was made. */
  changed: boolean;
  schedule: Record<string, unknown> | null;
}

/**
 * What follows a save: "Saved version N", a link to the workflow, and the question the seed users
 * asked for: set (or change) the schedule now? `onSchedule` opens the schedule dialog.
 */
export function AfterSave({
  saved,
  onClose,
  onSchedule,
}: {
  saved: SavedInfo | null;
  onClose: () => void;
  onSchedule?: () => void;
}) {
  if (!saved) return null;
  const to = `/workflows/${encodeURIComponent(saved.project)}/${encodeURIComponent(saved.name)}`;
  return (
    <div className="notice saved" role="status">
      <span data-testid="saved-version">
        {saved.changed ? `Saved version ${saved.version}` : `No changes: still version ${saved.version}`}
      </span>
      <Link to={to} data-testid="saved-open">
        open {saved.name}
      </Link>
      {onSchedule && (
        <span className="saved-ask">
          {saved.schedule ? 'Change its schedule?' : 'Run it on a schedule?'}
          <button className="btn small" data-testid="saved-schedule" onClick={onSchedule}>
            {saved.schedule ? 'Change schedule…' : 'Set schedule…'}
          </button>
        </span>
      )}
      <button className="link" onClick={onClose} aria-label="dismiss">
        ×
      </button>
    </div>
  );
}
