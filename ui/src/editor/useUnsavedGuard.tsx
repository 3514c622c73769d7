import { useEffect, useRef } from 'react';
import { useBlocker } from 'react-router-dom';
import { Dialog } from '../components/Dialog';

/**
 * Ask before leaving with unsaved changes: the browser's own prompt when the tab closes or
 * reloads, a dialog when a link inside the app is followed. `dirty` is read when the user leaves
 * (through a ref), so a save just before a navigation lets it through.
 */
export function useUnsavedGuard(dirty: boolean) {
  const dirtyRef = useRef(dirty);
  dirtyRef.current = dirty;
  useEffect(() => {
    const onUnload = (e: BeforeUnloadEvent) => {
      if (!dirtyRef.current) return;
      e.preventDefault();
      e.returnValue = '';
    };
    window.addEventListener('beforeunload', onUnload);
    return () => window.removeEventListener('beforeunload', onUnload);
  }, []);
  const blocker = useBlocker(({ currentLocation, nextLocation }) => dirtyRef.current && currentLocation.pathname !== nextLocation.pathname);
  const dialog =
    blocker.state === 'blocked' ? (
      <Dialog
        title="Leave without saving?"
        onClose={() => blocker.reset?.()}
        testId="leave-dialog"
        footer={
          <>
            <button className="btn" data-testid="leave-cancel" onClick={() => blocker.reset?.()}>
              Stay
            </button>
            <button className="btn danger solid" data-testid="leave-confirm" onClick={() => blocker.proceed?.()}>
              Leave and lose changes
            </button>
          </>
        }
      >
        <p>This workflow has changes that are not saved. Leaving now loses them.</p>
      </Dialog>
    ) : null;
  /** Call before navigating away on purpose (after a save): lets it through. */
  const release = () => {
    dirtyRef.current = false;
  };
  return { dialog, release };
}
