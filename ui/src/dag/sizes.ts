// The size of a task node on every canvas (read-only DAG and editor); plain numbers, so that a
// layout worker can import them without React Flow.
export const NODE_WIDTH = 184;
export const NODE_HEIGHT = 46;
