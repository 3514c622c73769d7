import { useCallback, useState } from 'react';

/**
 * The cursors of the pages visited so far (page 0 has none): keyset pages, back and forth.
 * A new `filterKey` (other search, other filters) starts again from the first page.
 */
export function useCursorPages(filterKey: string) {
  const [state, setState] = useState<{ key: string; stack: (string | null)[] }>({ key: filterKey, stack: [null] });
  const stack = state.key === filterKey ? state.stack : [null];
  const page = stack.length - 1;
  return {
    page,
    cursor: stack[page],
    next: useCallback(
      (c: string | null | undefined) => {
        if (c) setState((s) => ({ key: filterKey, stack: [...(s.key === filterKey ? s.stack : [null]), c] }));
      },
      [filterKey],
    ),
    prev: useCallback(
      () => setState((s) => ({ key: filterKey, stack: s.key === filterKey && s.stack.length > 1 ? s.stack.slice(0, -1) : [null] })),
      [filterKey],
    ),
    reset: useCallback(() => setState({ key: filterKey, stack: [null] }), [filterKey]),
  };
}
