/** Keyset pages: a stack of the cursors that led here, and the next one the server gave. */
export function Pager({
  page,
  nextCursor,
  onPrev,
  onNext,
  onFirst,
  testPrefix,
}: {
  page: number;
  nextCursor: string | null | undefined;
  onPrev: () => void;
  onNext: () => void;
  onFirst: () => void;
  testPrefix: string;
}) {
  return (
    <div className="pager">
      <button className="btn" onClick={onFirst} disabled={page === 0} data-testid={`${testPrefix}-first`}>
        First
      </button>
      <button className="btn" onClick={onPrev} disabled={page === 0} data-testid={`${testPrefix}-prev`}>
        ‹ Previous
      </button>
      <span className="muted">page {page + 1}</span>
      <button className="btn" onClick={onNext} disabled={!nextCursor} data-testid={`${testPrefix}-next`}>
        Next page ›
      </button>
    </div>
  );
}
