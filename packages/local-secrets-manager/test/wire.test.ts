import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalSecretsManager, startLocalSecretsManager } from '../src/index.js';
import { rawRequest, uniqueName } from './helpers.js';

let sm: LocalSecretsManager;
beforeAll(async () => {
  sm = await startLocalSecretsManager({ maxBodyBytes: 64 * 1024 });
});
afterAll(async () => {
  await sm.close();
});

const call = (target: string, body: string) => rawRequest(sm.endpoint, { target: `secretsmanager.${target}`, body });

describe('wire protocol (raw HTTP)', () => {
  it('answers JSON 1.1 with epoch-second dates', async () => {
    const name = uniqueName();
    const res = await call(
      'CreateSecret',
      JSON.stringify({ Name: name, SecretString: 'x', ClientRequestToken: 'a'.repeat(36) }),
    );
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/x-amz-json-1.1');
    const got = await call('GetSecretValue', JSON.stringify({ SecretId: name }));
    expect(got.status).toBe(200);
    expect(typeof got.json().CreatedDate).toBe('number');
    expect(Math.abs(got.json().CreatedDate - Date.now() / 1000)).toBeLessThan(60);
  });

  it.each(['CreateSecret', 'PutSecretValue', 'UpdateSecret'])(
    '%s without ClientRequestToken gets the AWS message',
    async (op) => {
      const name = uniqueName();
      if (op !== 'CreateSecret') {
        await call('CreateSecret', JSON.stringify({ Name: name, ClientRequestToken: 'b'.repeat(36) }));
      }
      const res = await call(op, JSON.stringify({ Name: name, SecretId: name, SecretString: 'x' }));
      expect(res.status).toBe(400);
      expect(res.json()).toEqual({
        __type: 'InvalidRequestException',
        Message: 'You must provide a ClientRequestToken value. We recommend a UUID-type value.',
      });
    },
  );

  it('ResourceNotFoundException is HTTP 400', async () => {
    const res = await call('DescribeSecret', JSON.stringify({ SecretId: uniqueName('missing') }));
    expect(res.status).toBe(400);
    expect(res.json()).toEqual({
      __type: 'ResourceNotFoundException',
      Message: "Secrets Manager can't find the specified secret.",
    });
  });

  it.each([
    ['malformed JSON', 'DescribeSecret', '{"SecretId": ', 'SerializationException'],
    ['a JSON array', 'DescribeSecret', '[1,2]', 'SerializationException'],
    ['a wrong member type', 'DescribeSecret', '{"SecretId": 42}', 'SerializationException'],
    ['a missing required member', 'GetSecretValue', '{}', 'ValidationException'],
    ['an unknown operation', 'DropAllTables', '{}', 'UnknownOperationException'],
    [
      'a bad token length',
      'PutSecretValue',
      '{"SecretId":"x","ClientRequestToken":"short","SecretString":"v"}',
      'ValidationException',
    ],
  ])('rejects %s with an AWS error shape', async (_label, op, body, shape) => {
    const res = await call(op, body);
    expect(res.status).toBe(400);
    expect(res.json().__type).toBe(shape);
    expect(typeof res.json().Message).toBe('string');
  });

  it('reports a missing X-Amz-Target and non-POST methods', async () => {
    const noTarget = await rawRequest(sm.endpoint, { body: '{}' });
    expect(noTarget.status).toBe(400);
    expect(noTarget.json().__type).toBe('UnknownOperationException');
    const get = await rawRequest(sm.endpoint, { method: 'GET' });
    expect(get.status).toBe(404);
    expect(get.json().__type).toBe('UnknownOperationException');
  });

  it('missing required members: AWS validation wording', async () => {
    const res = await call('UpdateSecretVersionStage', '{}');
    expect(res.json()).toEqual({
      __type: 'ValidationException',
      Message:
        "2 validation errors detected: Value null at 'secretId' failed to satisfy constraint: Member must not be null; Value null at 'versionStage' failed to satisfy constraint: Member must not be null",
    });
  });

  it('answers an oversized body with 413 instead of hanging, then keeps serving', async () => {
    const big = JSON.stringify({ Name: 'x', SecretString: 'y'.repeat(200 * 1024) });
    const res = await call('CreateSecret', big);
    expect(res.status).toBe(413);
    expect(res.json().__type).toBe('RequestEntityTooLargeException');
    // Chunked upload without Content-Length: same answer.
    const chunked = await rawRequest(sm.endpoint, {
      target: 'secretsmanager.CreateSecret',
      body: Buffer.from(big),
      headers: { 'transfer-encoding': 'chunked' },
    });
    expect(chunked.status).toBe(413);
    const ok = await call('GetRandomPassword', '{}');
    expect(ok.status).toBe(200);
  });

  it('survives a client that disconnects mid-body', async () => {
    const url = new URL(sm.endpoint);
    await new Promise<void>((resolve, reject) => {
      const socket = connect(Number(url.port), url.hostname, () => {
        socket.write(
          'POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: secretsmanager.GetRandomPassword\r\nContent-Length: 1000\r\n\r\n{"Pass',
        );
        setTimeout(() => {
          socket.destroy();
          resolve();
        }, 50);
      });
      socket.on('error', reject);
    });
    const ok = await call('GetRandomPassword', '{}');
    expect(ok.status).toBe(200);
  });
});
