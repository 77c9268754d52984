import { Component, type ReactNode } from 'react';

interface State {
  failed: boolean;
}

// Shown when a page fails to render or its code fails to load (for example
// after a new release replaced the old chunks): a fresh load fetches the new ones.
export class ErrorBoundary extends Component<{ children: ReactNode }, State> {
  state: State = { failed: false };

  static getDerivedStateFromError(): State {
    return { failed: true };
  }

  render() {
    if (!this.state.failed) return this.props.children;
    return (
      <section className="card" aria-labelledby="page-error-heading">
        <title>Error · Scalekit BFF</title>
        <h1 id="page-error-heading">Something went wrong</h1>
        <p>This page could not be shown. Reloading usually fixes it.</p>
        {/* A reload, not a link built from location.pathname: a crafted link can leave
            the app on a path such as //evil.example, which as an href names another host. */}
        <button type="button" className="button button-primary" onClick={() => window.location.reload()}>
          Reload the page
        </button>
      </section>
    );
  }
}
