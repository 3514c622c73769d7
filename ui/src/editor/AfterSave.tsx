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
 * What follows a save. Today: the "Saved version N" banner with a link to the workflow. This is
 * the place for the schedule prompt (set or change the schedule after saving), which gets the
 * same `saved` info.
 */
export function AfterSave({ saved, onClose }: { saved: SavedInfo | null; onClose: () => void }) {
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
      <button className="link" onClick={onClose} aria-label="dismiss">
        ×
      </button>
    </div>
  );
}
