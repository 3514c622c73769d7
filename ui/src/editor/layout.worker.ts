// Runs dagre's layout of a big workflow off the main thread (see layout.ts, autoLayoutAsync).
import { layoutGraph, type LayoutInput } from './layout';

self.onmessage = (e: MessageEvent<LayoutInput>) => {
  self.postMessage(layoutGraph(e.data));
};
