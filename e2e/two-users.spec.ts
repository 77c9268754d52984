import { expect, signIn, test, users } from './fixtures';

test('two people in two browsers each see their own data', async ({ browser }) => {
  const aliceContext = await browser.newContext();
  const bobContext = await browser.newContext();
  const alice = await aliceContext.newPage();
  const bob = await bobContext.newPage();

  await signIn(alice, users.alice);
  await signIn(bob, users.bob);

  await alice.reload();
  await bob.reload();
  await expect(alice.getByRole('main').getByRole('heading', { name: 'Alice Admin' })).toBeVisible();
  await expect(alice.getByRole('main')).not.toContainText('bob@acme.test');
  await expect(bob.getByRole('main').getByRole('heading', { name: 'Bob Member' })).toBeVisible();
  await expect(bob.getByRole('main')).not.toContainText('alice@acme.test');
  await expect(bob.getByRole('list', { name: 'Roles' })).toHaveText('member');

  expect(await (await alice.request.get('/api/me')).json()).toMatchObject({ user: { email: 'alice@acme.test' } });
  expect(await (await bob.request.get('/api/me')).json()).toMatchObject({ user: { email: 'bob@acme.test' } });

  await aliceContext.close();
  await bobContext.close();
});
