import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Admin, createAdmin, ENGINES, randomPassword } from './src/index.js';

describe.each(ENGINES)('test bed on %s', (engine) => {
  let admin: Admin;
  beforeAll(async () => {
    admin = await createAdmin(engine);
  });
  afterAll(async () => {
    await admin?.close();
  });

  it('a changed password rejects the old one and accepts the new one', async () => {
    // Prepare
    const user = await admin.createUser({ prefix: 'pwchange' });
    await admin.expectLoginAccepted(user);
    // Act
    const next = randomPassword();
    await admin.setPassword(user.username, next);
    // Assess
    const err = await admin.expectLoginRejected(user);
    expect(err).toBeInstanceOf(Error);
    await admin.expectLoginAccepted({ username: user.username, password: next });
    await expect(admin.expectLoginAccepted(user)).rejects.toThrow(/to be accepted/);
    await expect(admin.expectLoginRejected({ username: user.username, password: next })).rejects.toThrow(/accepted it/);
  });

  it('a role without login is refused with a non-password code', async () => {
    const user = await admin.createUser({ prefix: 'nologin', login: false });
    await admin.expectLoginRejected(user, { code: engine === 'postgres' ? '28000' : 4151 });
    await admin.setLogin(user.username, true);
    await admin.expectLoginAccepted(user);
  });

  it('a cloned user logs in with its own password and the same access', async () => {
    const from = await admin.createUser({ prefix: 'clonea' });
    const to = { username: `${from.username}_b`, password: randomPassword() };
    await admin.cloneUser(from.username, to.username, to.password);
    await admin.expectLoginAccepted(to);
    await admin.expectLoginRejected({ username: to.username, password: from.password });
    await admin.expectLoginAccepted(from);
  });

  it('killSessions terminates open sessions and dropUser removes the user', async () => {
    const user = await admin.createUser({ prefix: 'kill' });
    expect(await admin.countSessions(user.username)).toBe(0);
    await admin.dropUser(user.username);
    await expect(admin.expectLoginAccepted(user)).rejects.toThrow();
  });
});
