import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { getToken, onUnauthorized, rawFetch, setToken } from '../api/client';
import type { Role, WhoAmI } from '../api/types';

const PROJECT_KEY = 'shoal.project';

interface AuthState {
  token: string | null;
  who: WhoAmI | null;
  /** why the user was sent back to the login page (the server's 401 message). */
  reason: string | null;
  login: (token: string) => Promise<void>;
  logout: (reason?: string | null) => void;
  /** the project the lists are filtered by; `null`: all projects. */
  project: string | null;
  setProject: (project: string | null) => void;
  roleIn: (project: string) => Role | null;
  /** may start, stop and edit in that project (editor or admin, or an instance admin). */
  canEdit: (project: string) => boolean;
}

const AuthContext = createContext<AuthState | null>(null);

export async function checkToken(token: string): Promise<WhoAmI> {
  const res = await rawFetch('/api/v1/whoami', {}, token);
  return (await res.json()) as WhoAmI;
}

export function AuthProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const [token, setTokenState] = useState<string | null>(() => getToken());
  const [who, setWho] = useState<WhoAmI | null>(null);
  const [reason, setReason] = useState<string | null>(null);
  const [project, setProjectState] = useState<string | null>(() => localStorage.getItem(PROJECT_KEY));

  const logout = useCallback(
    (why: string | null = null) => {
      setToken(null);
      setTokenState(null);
      setWho(null);
      setReason(why);
      queryClient.clear();
    },
    [queryClient],
  );

  useEffect(() => {
    onUnauthorized((message) => logout(message));
    return () => onUnauthorized(null);
  }, [logout]);

  // A token kept from an earlier visit: learn who it belongs to (a 401 logs out through the hook).
  useEffect(() => {
    if (!token || who) return;
    let live = true;
    rawFetch('/api/v1/whoami')
      .then((r) => r.json())
      .then((w: WhoAmI) => live && setWho(w))
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [token, who]);

  const login = useCallback(async (candidate: string) => {
    const w = await checkToken(candidate);
    setToken(candidate);
    setTokenState(candidate);
    setWho(w);
    setReason(null);
  }, []);

  const setProject = useCallback((p: string | null) => {
    if (p) localStorage.setItem(PROJECT_KEY, p);
    else localStorage.removeItem(PROJECT_KEY);
    setProjectState(p);
  }, []);

  const value = useMemo<AuthState>(() => {
    const roleIn = (p: string): Role | null => (who?.roles === null ? 'admin' : (who?.roles?.[p] ?? null));
    return {
      token,
      who,
      reason,
      login,
      logout,
      project,
      setProject,
      roleIn,
      canEdit: (p: string) => {
        const r = roleIn(p);
        return r === 'editor' || r === 'admin';
      },
    };
  }, [token, who, reason, login, logout, project, setProject]);

  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthState {
  const ctx = useContext(AuthContext);
  if (!ctx) throw new Error('useAuth outside AuthProvider');
  return ctx;
}
