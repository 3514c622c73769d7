// Runs dagre's layout of a big graph off the main thread (see layout.ts, layoutAsync).
import { layoutGraph, type LayoutInput } from './layout';

self.onmessage = (e: MessageEvent<LayoutInput>) => {
  self.postMessage(layoutGraph(e.data));
};
