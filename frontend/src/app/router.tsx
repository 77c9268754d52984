import { lazy, Suspense, type ReactNode } from 'react';
import { BrowserRouter, Route, Routes } from 'react-router';
import { Loading } from '../components/loading';
import { ErrorBoundary } from './error-boundary';
import { Layout } from './layout';

// Every page is its own chunk: the first load carries only the shell. Declarative
// routing (not the data router) keeps the router's share of the initial bundle
// small; the server does all the loading a data router would.
const LandingRoute = lazy(() => import('./routes/landing').then((m) => ({ default: m.LandingRoute })));
const DashboardRoute = lazy(() => import('./routes/dashboard').then((m) => ({ default: m.DashboardRoute })));
const SessionsRoute = lazy(() => import('./routes/sessions').then((m) => ({ default: m.SessionsRoute })));
const LoginErrorRoute = lazy(() => import('./routes/login-error').then((m) => ({ default: m.LoginErrorRoute })));
const NotFoundRoute = lazy(() => import('./routes/not-found').then((m) => ({ default: m.NotFoundRoute })));

// Keyed per route, so an error on one page does not stick to the next.
function Page({ children }: { children: ReactNode }) {
  return (
    <ErrorBoundary>
      <Suspense fallback={<Loading />}>{children}</Suspense>
    </ErrorBoundary>
  );
}

export function AppRouter() {
  return (
    <BrowserRouter>
      <Routes>
        <Route element={<Layout />}>
          <Route index element={<Page key="landing"><LandingRoute /></Page>} />
          <Route path="dashboard" element={<Page key="dashboard"><DashboardRoute /></Page>} />
          <Route path="sessions" element={<Page key="sessions"><SessionsRoute /></Page>} />
          <Route path="login-error" element={<Page key="login-error"><LoginErrorRoute /></Page>} />
          <Route path="*" element={<Page key="not-found"><NotFoundRoute /></Page>} />
        </Route>
      </Routes>
    </BrowserRouter>
  );
}
