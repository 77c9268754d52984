import { Link } from 'react-router';

export function NotFoundRoute() {
  return (
    <>
      <title>Page not found · Scalekit BFF</title>
      <section className="card" aria-labelledby="not-found-heading">
        <h1 id="not-found-heading">Page not found</h1>
        <p>There is no page at this address. It may have moved, or the link may be mistyped.</p>
        <Link className="button button-primary" to="/">
          Back to the home page
        </Link>
      </section>
    </>
  );
}
