import { memo, useMemo, useState } from 'react';
import { searchTasks, type Match } from './nodeSearch';

/**
 * Jump to a task by name: type part of it (or its letters in order), pick a suggestion with the
 * arrows, Enter selects the task and centres the canvas on it. Its own state, so typing here
 * re-renders only this box.
 */
export const NodeSearch = memo(function NodeSearch({ tasks, onJump }: { tasks: Match[]; onJump: (id: string) => void }) {
  const [query, setQuery] = useState('');
  const [active, setActive] = useState(0);
  const [open, setOpen] = useState(false);
  const matches = useMemo(() => searchTasks(tasks, query), [tasks, query]);
  const jump = (m: Match | undefined) => {
    if (!m) return;
    onJump(m.id);
    setOpen(false);
  };
  return (
    <div className="node-search">
      <input
        type="search"
        placeholder="Find a task  (Ctrl+F)"
        data-testid="node-search"
        aria-label="Find a task by name"
        role="combobox"
        aria-expanded={open && matches.length > 0}
        aria-controls="node-search-list"
        value={query}
        onChange={(e) => {
          setQuery(e.target.value);
          setActive(0);
          setOpen(true);
        }}
        onFocus={() => setOpen(true)}
        onBlur={() => setOpen(false)}
        onKeyDown={(e) => {
          if (e.key === 'ArrowDown') {
            e.preventDefault();
            setActive((a) => Math.min(a + 1, matches.length - 1));
          } else if (e.key === 'ArrowUp') {
            e.preventDefault();
            setActive((a) => Math.max(a - 1, 0));
          } else if (e.key === 'Enter') {
            e.preventDefault();
            jump(matches[active] ?? matches[0]);
          } else if (e.key === 'Escape') {
            setOpen(false);
          }
        }}
      />
      {open && query.trim() !== '' && (
        <ul className="node-search-list" id="node-search-list" role="listbox" data-testid="node-search-results">
          {matches.length === 0 && <li className="muted">no task matches</li>}
          {matches.map((m, i) => (
            <li
              key={m.id}
              role="option"
              aria-selected={i === active}
              className={i === active ? 'active' : ''}
              data-testid={`node-search-option-${m.name}`}
              // mousedown, not click: the input's blur would close the list first
              onMouseDown={(e) => {
                e.preventDefault();
                jump(m);
              }}
            >
              {m.name}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
});
