import { useState, type FormEvent } from 'react';
import { Navigate, useLocation } from 'react-router-dom';
import { errorMessage } from '../api/errors';
import { useAuth } from './AuthContext';

export function LoginPage() {
  const { token, login, reason } = useAuth();
  const location = useLocation();
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const from = (location.state as { from?: string } | null)?.from ?? '/workflows';

  if (token) return <Navigate to={from} replace />;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const t = value.trim();
    if (!t) {
      setError('paste an API token first');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await login(t);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  const shown = error ?? reason;
  return (
    <div className="login">
      <form className="login-card" onSubmit={submit}>
        <div className="brand brand-lg">shoal</div>
        <p className="muted">Sign in with an API token. <code>shoal init</code> prints the admin's; <code>shoal token create USER</code> makes one.</p>
        <label className="field">
          <span>API token</span>
          <input
            data-testid="login-token"
            type="password"
            autoFocus
            autoComplete="off"
            spellCheck={false}
            placeholder="shoal_…"
            value={value}
            onChange={(e) => setValue(e.target.value)}
          />
        </label>
        {shown && (
          <div className="error" role="alert" data-testid="login-error">
            {shown}
          </div>
        )}
        <button className="btn primary" type="submit" data-testid="login-submit" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
      </form>
    </div>
  );
}
