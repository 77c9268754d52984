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
        <a className="button button-primary" href={window.location.pathname}>
          Reload the page
        </a>
      </section>
    );
  }
}
