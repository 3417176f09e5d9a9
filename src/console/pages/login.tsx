import { BASE, Document } from '../layout.js';

/** The sign-in form (docs/contract.md §8: fields `username` and `password`, posted back here). */
export function LoginPage(props: { error?: string; next?: string; username?: string }) {
  return (
    <Document title="Sign in">
      <main id="main" class="login">
        <h1>QA console</h1>
        {props.error ? (
          <p class="error" role="alert">
            {props.error}
          </p>
        ) : null}
        <form method="post" action={`${BASE}/login`} class="card">
          {props.next ? <input type="hidden" name="next" value={props.next} /> : null}
          <div>
            <label for="username">User name</label>
            <input
              type="text"
              id="username"
              name="username"
              autocomplete="username"
              autocapitalize="none"
              spellcheck={false}
              required
              autofocus
              maxlength={200}
              value={props.username ?? ''}
            />
          </div>
          <div>
            <label for="password">Password</label>
            <input
              type="password"
              id="password"
              name="password"
              autocomplete="current-password"
              required
              maxlength={1024}
            />
          </div>
          <div>
            <button type="submit" class="primary">
              Sign in
            </button>
          </div>
        </form>
      </main>
    </Document>
  );
}
