import { memo, useMemo, useState } from 'react';
import type { TaskTypeCatalog, TaskTypeItem } from './types';

/** The drag-and-drop payload's type: a task type's name. */
export const DRAG_TYPE = 'application/x-shoal-task-type';

/** Task types matching a search, by name or description (case-insensitive, every word). */
export function filterTypes(items: readonly TaskTypeItem[], query: string): TaskTypeItem[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return [...items];
  return items.filter((t) => {
    const text = `${t.name} ${t.description}`.toLowerCase();
    return words.every((w) => text.includes(w));
  });
}

/**
 * Every task type, grouped as the API groups them, with a search. Drag one onto the canvas, or
 * focus it and press Enter to add it. Types whose extra is missing are shown, disabled, with
 * what to install.
 */
export const Palette = memo(function Palette({ catalog, onAdd }: { catalog: TaskTypeCatalog; onAdd: (type: string) => void }) {
  const [query, setQuery] = useState('');
  const shown = useMemo(() => filterTypes(catalog.items, query), [catalog.items, query]);
  return (
    <aside className="palette" data-testid="palette" aria-label="Task types">
      <input
        type="search"
        className="palette-search"
        placeholder="Search task types"
        data-testid="palette-search"
        value={query}
        onChange={(e) => setQuery(e.target.value)}
      />
      {shown.length === 0 && <div className="muted small palette-empty">No task type matches “{query}”.</div>}
      {catalog.groups.map((g) => {
        const items = shown.filter((t) => t.group === g.name);
        if (items.length === 0) return null;
        return (
          <section key={g.name} className="palette-group" data-testid={`palette-group-${g.name}`}>
            <h3>{g.title}</h3>
            {items.map((t) => (
              <PaletteItem key={t.name} item={t} onAdd={onAdd} />
            ))}
          </section>
        );
      })}
      <p className="muted small palette-hint">Drag a type onto the canvas, or focus it and press Enter.</p>
    </aside>
  );
});

function PaletteItem({ item, onAdd }: { item: TaskTypeItem; onAdd: (type: string) => void }) {
  const why = item.available ? item.description : `needs ${item.extra ? item.extra.install : 'a package that cannot be loaded'}`;
  return (
    <div
      className={`palette-item ${item.available ? '' : 'disabled'}`}
      data-testid={`palette-item-${item.name}`}
      role="button"
      tabIndex={0}
      aria-disabled={!item.available}
      draggable={item.available}
      title={item.problem ?? item.description}
      onDragStart={(e) => {
        e.dataTransfer.setData(DRAG_TYPE, item.name);
        e.dataTransfer.setData('text/plain', item.name);
        e.dataTransfer.effectAllowed = 'copy';
      }}
      onKeyDown={(e) => {
        if ((e.key === 'Enter' || e.key === ' ') && item.available) {
          e.preventDefault();
          onAdd(item.name);
        }
      }}
      onDoubleClick={() => item.available && onAdd(item.name)}
    >
      <div className="palette-name">{item.name}</div>
      <div className="palette-desc">{why}</div>
    </div>
  );
}
