import { useQuery } from '@tanstack/react-query';
import { client, unwrap } from '../api/client';
import type { Project } from '../api/types';

/**
 * The projects a per-project list reads: the switcher's project, or every project of the caller
 * (the same `['projects']` query the header uses). `null` while the projects are still loading.
 */
export function useProjectNames(project: string | null): { names: string[] | null; error: unknown } {
  const projects = useQuery({
    queryKey: ['projects'],
    queryFn: () => unwrap<Project[]>(client.GET('/api/v1/projects')),
    staleTime: 60_000,
    enabled: !project,
  });
  if (project) return { names: [project], error: null };
  return { names: projects.data ? projects.data.map((p) => p.name) : null, error: projects.error };
}
