import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { MemoryRouter, Route, Routes } from 'react-router-dom';
import { AuthProvider } from './AuthContext';
import { LoginPage } from './LoginPage';

function renderLogin() {
  return render(
    <QueryClientProvider client={new QueryClient()}>
      <MemoryRouter initialEntries={['/login']}>
        <AuthProvider>
          <Routes>
            <Route path="/login" element={<LoginPage />} />
            <Route path="/workflows" element={<div data-testid="workflows-page" />} />
          </Routes>
        </AuthProvider>
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  localStorage.clear();
});

describe('LoginPage', () => {
  it("shows the server's reason for a refused token and keeps nothing", async () => {
    vi.stubGlobal('fetch', vi.fn(async () => json(401, { error: { code: 'unauthorized', message: 'unknown token: it was never issued here', details: {} } })));
    renderLogin();
    fireEvent.change(screen.getByTestId('login-token'), { target: { value: 'shoal_bad' } });
    fireEvent.click(screen.getByTestId('login-submit'));
    expect(await screen.findByTestId('login-error')).toHaveTextContent('unknown token: it was never issued here');
    expect(localStorage.getItem('shoal.token')).toBeNull();
  });

  it('checks the token with whoami, keeps it and moves on', async () => {
    const fetchMock = vi.fn(async () => json(200, { user: 'admin', roles: null }));
    vi.stubGlobal('fetch', fetchMock);
    renderLogin();
    fireEvent.change(screen.getByTestId('login-token'), { target: { value: ' shoal_good ' } });
    fireEvent.click(screen.getByTestId('login-submit'));
    await screen.findByTestId('workflows-page');
    const [url, init] = fetchMock.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe('/api/v1/whoami');
    expect(new Headers(init.headers).get('Authorization')).toBe('Bearer shoal_good');
    await waitFor(() => expect(localStorage.getItem('shoal.token')).toBe('shoal_good'));
  });
});
