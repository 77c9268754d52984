import { ErrorMessage } from '../../../components/error-message';
import { Loading } from '../../../components/loading';
import { isApiError } from '../../../lib/api';
import { formatTime } from '../../../lib/format';
import { useDemoHello, type DemoHello } from '../api';

/** One call to the demo API through the BFF; nothing where the server routes no demo API. */
export function DemoApiCard() {
  const hello = useDemoHello();
  if (hello.isError && isApiError(hello.error, 404)) return null;
  return (
    <section className="card" aria-labelledby="demo-api-heading">
      <div className="section-header">
        <h2 id="demo-api-heading">Demo API</h2>
        {!hello.isPending && (
          <button
            type="button"
            className="button button-secondary"
            onClick={() => void hello.refetch()}
            disabled={hello.isFetching}
          >
            Call again
          </button>
        )}
      </div>
      {hello.isPending ? (
        <Loading label="Calling the demo API…" />
      ) : hello.isError ? (
        <ErrorMessage title="The demo API did not answer" error={hello.error} />
      ) : (
        <Greeting hello={hello.data} />
      )}
    </section>
  );
}

function Greeting({ hello }: { hello: DemoHello }) {
  const expires = new Date(hello.claims.exp * 1000).toISOString();
  return (
    <>
      <p className="greeting">{hello.message}</p>
      <dl className="details">
        <div>
          <dt>Called as</dt>
          <dd>
            <code>{hello.claims.sub}</code>
          </dd>
        </div>
        <div>
          <dt>Access valid until</dt>
          <dd>
            <time dateTime={expires}>{formatTime(expires)}</time>
          </dd>
        </div>
      </dl>
    </>
  );
}
