import { useEffect, useState } from 'preact/hooks';
import type { Exposure } from '../queue/card.js';
import { ApiError, getJson, loadSession, login, postJson, type SessionInfo } from './api.js';
import { AuditView } from './audit-view.js';
import { duration } from './format.js';
import { QueueView } from './queue-view.js';

export function App() {
  const [session, setSession] = useState<SessionInfo | undefined>();
  const [failed, setFailed] = useState('');
  useEffect(() => {
    loadSession().then(setSession, () => setFailed('The console server cannot be reached.'));
  }, []);
  if (failed) return <p role="alert">{failed}</p>;
  if (!session) return <p>Loading…</p>;
  if (!session.authenticated || !session.user) return <Login onLogin={setSession} passwordLogin={session.passwordLogin ?? true} />;
  return <Console session={session} onLogout={() => void loadSession().then(setSession)} />;
}

function Login({ onLogin, passwordLogin }: { onLogin: (s: SessionInfo) => void; passwordLogin: boolean }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  if (!passwordLogin) return <p>Sign in through your organisation's login page.</p>;
  return (
    <main class="login">
      <h1>streamscreen review console</h1>
      <form
        aria-label="Sign in"
        onSubmit={(e) => {
          e.preventDefault();
          login(username, password).then(onLogin, (err: unknown) =>
            setError(err instanceof ApiError && err.status === 429 ? 'Too many attempts; wait a minute.' : 'Wrong username or password.'),
          );
        }}
      >
        <label>
          Username
          <input
            name="username"
            autoComplete="username"
            value={username}
            onInput={(e) => setUsername((e.target as HTMLInputElement).value)}
            required
          />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            value={password}
            onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
            required
          />
        </label>
        <button type="submit">Sign in</button>
        {error ? <p role="alert">{error}</p> : null}
      </form>
    </main>
  );
}

function Console({ session, onLogout }: { session: SessionInfo; onLogout: () => void }) {
  const user = session.user!;
  const [view, setView] = useState<'queue' | 'audit'>('queue');
  const [exposure, setExposure] = useState<Exposure | undefined>();
  const lead = user.roles.includes('lead') || user.roles.includes('admin');
  useEffect(() => {
    getJson('/api/exposure').then(
      (e) => setExposure(e as Exposure),
      () => undefined,
    );
  }, []);
  return (
    <>
      <header class="top">
        <h1>Review console</h1>
        <nav aria-label="Views">
          <button type="button" aria-pressed={view === 'queue'} onClick={() => setView('queue')}>
            Queue
          </button>
          {lead ? (
            <button type="button" aria-pressed={view === 'audit'} onClick={() => setView('audit')}>
              Audit
            </button>
          ) : null}
        </nav>
        <ExposureMeter exposure={exposure} />
        <span class="who">
          {user.name} <span class="muted">({user.roles.join(', ')})</span>
        </span>
        {user.via === 'password' ? (
          <button type="button" onClick={() => void postJson('/api/logout').then(onLogout, onLogout)}>
            Sign out
          </button>
        ) : null}
      </header>
      <main>{view === 'queue' ? <QueueView user={user} exposure={exposure} onExposure={setExposure} /> : <AuditView />}</main>
    </>
  );
}

/** The budget, always in view: what is left this shift, and when it renews. */
function ExposureMeter({ exposure }: { exposure: Exposure | undefined }) {
  if (!exposure) return null;
  const left = exposure.budget - exposure.used;
  return (
    <p class={`exposure${left <= 0 ? ' spent' : ''}`} data-testid="exposure">
      <meter min={0} max={exposure.budget} value={exposure.used} aria-label="Unblurred views used this shift" />{' '}
      {left > 0 ? `${left} of ${exposure.budget} unblurred views left` : 'no unblurred views left'} · shift ends in{' '}
      {duration(Date.parse(exposure.shiftEndsAt) - Date.now())}
    </p>
  );
}
