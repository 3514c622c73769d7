import { Suspense } from 'react';
import { useQuery } from '@tanstack/react-query';
import { NavLink, Outlet } from 'react-router-dom';
import { client, unwrap } from '../api/client';
import type { Project } from '../api/types';
import { useAuth } from '../auth/AuthContext';

export function Layout() {
  const { who, logout, project, setProject } = useAuth();
  const projects = useQuery({
    queryKey: ['projects'],
    queryFn: () => unwrap<Project[]>(client.GET('/api/v1/projects')),
    staleTime: 60_000,
  });
  const names = projects.data?.map((p) => p.name) ?? [];
  // A remembered project that is gone (or not the user's) still shows, so the filter is visible.
  const options = project && projects.data && !names.includes(project) ? [...names, project] : names;

  return (
    <div className="app">
      <header className="topbar">
        <div className="brand">shoal</div>
        <nav className="nav">
          <NavLink to="/workflows" data-testid="nav-workflows">
            Workflows
          </NavLink>
          <NavLink to="/runs" data-testid="nav-runs">
            Runs
          </NavLink>
          <NavLink to="/models" data-testid="nav-models">
            Models
          </NavLink>
          <NavLink to="/features" data-testid="nav-features">
            Feature sets
          </NavLink>
          <NavLink to="/stats" data-testid="nav-stats">
            Statistics
          </NavLink>
        </nav>
        <div className="spacer" />
        <label className="switcher" title="Filter the lists by project">
          <span className="muted">Project</span>
          <select
            data-testid="project-switcher"
            value={project ?? ''}
            onChange={(e) => setProject(e.target.value || null)}
          >
            <option value="">All projects</option>
            {options.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
        <span className="whoami" title={who?.roles === null ? 'instance admin' : 'signed in as'}>
          <span data-testid="whoami">{who?.user ?? '…'}</span>
          {who?.roles === null && <span className="tag">admin</span>}
        </span>
        <button className="btn ghost" data-testid="logout" onClick={() => logout()}>
          Log out
        </button>
      </header>
      <main className="main">
        {/* fallback null: a lazily loaded page appears when ready, without a flash */}
        <Suspense fallback={null}>
          <Outlet />
        </Suspense>
      </main>
    </div>
  );
}
