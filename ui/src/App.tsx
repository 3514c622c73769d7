import { lazy, type ReactNode } from 'react';
import { Navigate, Route, Routes, useLocation } from 'react-router-dom';
import { useAuth } from './auth/AuthContext';
import { LoginPage } from './auth/LoginPage';
import { Layout } from './components/Layout';
import { RunsPage } from './runs/RunsPage';
import { WorkflowsPage } from './workflows/WorkflowsPage';

// Pages a first visit seldom opens load on demand, keeping the first download small.
const FeatureSetPage = lazy(() => import('./features/FeatureSetPage').then((m) => ({ default: m.FeatureSetPage })));
const FeatureSetsPage = lazy(() => import('./features/FeatureSetsPage').then((m) => ({ default: m.FeatureSetsPage })));
const ModelPage = lazy(() => import('./models/ModelPage').then((m) => ({ default: m.ModelPage })));
const ModelsPage = lazy(() => import('./models/ModelsPage').then((m) => ({ default: m.ModelsPage })));
const EditorPage = lazy(() => import('./editor/EditorPage').then((m) => ({ default: m.EditorPage })));
const WorkflowDetailPage = lazy(() =>
  import('./workflows/WorkflowDetailPage').then((m) => ({ default: m.WorkflowDetailPage })),
);
const RunPage = lazy(() => import('./runs/RunPage').then((m) => ({ default: m.RunPage })));
// The chart library (recharts) comes with this page only.
const StatsPage = lazy(() => import('./stats/StatsPage').then((m) => ({ default: m.StatsPage })));

function RequireToken({ children }: { children: ReactNode }) {
  const { token } = useAuth();
  const location = useLocation();
  if (!token) return <Navigate to="/login" replace state={{ from: location.pathname + location.search }} />;
  return <>{children}</>;
}

function NotFound() {
  return (
    <section className="page">
      <div className="empty">
        <h3>No such page</h3>
        <p>
          Go to the <a href="/workflows">workflows</a> or the <a href="/runs">runs</a>.
        </p>
      </div>
    </section>
  );
}

export function App() {
  return (
    <Routes>
      <Route path="/login" element={<LoginPage />} />
      <Route
        element={
          <RequireToken>
            <Layout />
          </RequireToken>
        }
      >
        <Route index element={<Navigate to="/workflows" replace />} />
        <Route path="/workflows" element={<WorkflowsPage />} />
        <Route path="/workflows/new" element={<EditorPage />} />
        <Route path="/workflows/:project/:name" element={<WorkflowDetailPage />} />
        <Route path="/workflows/:project/:name/edit" element={<EditorPage />} />
        <Route path="/runs" element={<RunsPage />} />
        <Route path="/runs/:project/:id" element={<RunPage />} />
        <Route path="/models" element={<ModelsPage />} />
        <Route path="/models/:project/:name" element={<ModelPage />} />
        <Route path="/features" element={<FeatureSetsPage />} />
        <Route path="/features/:project/:name" element={<FeatureSetPage />} />
        <Route path="/stats" element={<StatsPage />} />
        <Route path="*" element={<NotFound />} />
      </Route>
    </Routes>
  );
}
