import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ResumableWebSocket, backoffDelay, compareCursors } from '../src/index.js';
import { startProxy, startServer } from './server.js';

let server;
let proxy;

before(async () => {
  server = await startServer();
  proxy = await startProxy(server.port);
});

after(async () => {
  await proxy?.close();
  await server?.stop();
});

const fast = { initialBackoff: 50, maxBackoff: 500 };

function next(socket, type, predicate = () => true, timeout = 10_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${type} within ${timeout} ms`)), timeout);
    const listener = (event) => {
      if (!predicate(event)) return;
      clearTimeout(timer);
      socket.removeEventListener(type, listener);
      resolve(event);
    };
    socket.addEventListener(type, listener);
  });
}

function collect(socket) {
  const messages = [];
  socket.addEventListener('message', (event) => messages.push(event.data));
  return messages;
}

async function until(condition, timeout = 10_000) {
  const deadline = Date.now() + timeout;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function room() {
  return `room-${Math.random().toString(36).slice(2)}`;
}

test('echoes text and binary through the resume protocol', async () => {
  const socket = new ResumableWebSocket(`ws://127.0.0.1:${server.port}/ws/echo`, [], fast);
  await next(socket, 'open');
  assert.equal(socket.resumable, true);
  assert.match(socket.peerId, /^echo\//);
  const messages = collect(socket);
  socket.send('hello');
  socket.send(new Uint8Array([0, 10, 255]));
  await until(() => messages.length === 2);
  assert.equal(messages[0], 'hello');
  assert.deepEqual([...new Uint8Array(messages[1])], [0, 10, 255]);
  socket.close();
  const closed = await next(socket, 'close');
  assert.equal(closed.code, 1000);
});

test('resumes after a drop: what it sent meanwhile arrives once, and what its room published meanwhile arrives in order', async () => {
  const name = room();
  const away = new ResumableWebSocket(`ws://127.0.0.1:${proxy.port}/ws/chat?room=${name}`, [], fast);
  await next(away, 'open');
  const peerId = away.peerId;
  const other = new ResumableWebSocket(`ws://127.0.0.1:${server.port}/ws/chat?room=${name}`, [], fast);
  await next(other, 'open');
  const atAway = collect(away);
  const atOther = collect(other);

  other.send('before');
  await until(() => atAway.length === 1);
  const reconnecting = next(away, 'reconnecting');
  const resumed = next(away, 'resumed');
  proxy.refuse(true);
  proxy.drop();
  await reconnecting;
  away.send('sent while away');
  assert.ok(away.bufferedAmount > 0);
  for (const text of ['while away 1', 'while away 2', 'while away 3']) other.send(text);
  await new Promise((resolve) => setTimeout(resolve, 300));
  proxy.refuse(false);
  const event = await resumed;
  assert.equal(event.recovered, true);
  assert.equal(away.peerId, peerId);
  other.send('live');
  await until(() => atAway.length === 5 && atOther.length === 1);
  assert.deepEqual(atAway, ['before', 'while away 1', 'while away 2', 'while away 3', 'live']);
  assert.deepEqual(atOther, ['sent while away']);
  await until(() => away.bufferedAmount === 0);
  away.close();
  other.close();
});

test('a close by the client ends it without reconnecting', async () => {
  const socket = new ResumableWebSocket(`ws://127.0.0.1:${proxy.port}/ws/echo`, [], fast);
  await next(socket, 'open');
  let reconnects = 0;
  socket.addEventListener('reconnecting', () => reconnects++);
  socket.close(1000, 'done');
  await next(socket, 'close');
  assert.equal(socket.readyState, ResumableWebSocket.CLOSED);
  assert.equal(reconnects, 0);
  assert.throws(() => socket.send('late'), { name: 'InvalidStateError' });
});

test('an endpoint without resume is a WebSocket that reconnects', async () => {
  const socket = new ResumableWebSocket(`ws://127.0.0.1:${proxy.port}/ws/room?room=${room()}`, [], { ...fast, resume: false });
  const messages = collect(socket);
  await next(socket, 'open');
  assert.equal(socket.resumable, false);
  await until(() => messages.length === 1);
  assert.match(messages[0], /^Welcome /);
  // Dropped, it reconnects as a new peer (no resume without the protocol).
  proxy.drop();
  await until(() => messages.length === 2);
  assert.match(messages[1], /^Welcome /);
  assert.notEqual(messages[1], messages[0]);
  socket.close();
  await next(socket, 'close');
});

test('sends while reconnecting are bounded', async () => {
  const socket = new ResumableWebSocket(`ws://127.0.0.1:${proxy.port}/ws/echo`, [], { ...fast, maxBufferedMessages: 2 });
  await next(socket, 'open');
  proxy.refuse(true);
  const reconnecting = next(socket, 'reconnecting');
  proxy.drop();
  await reconnecting;
  socket.send('one');
  socket.send('two');
  assert.throws(() => socket.send('three'), { name: 'QuotaExceededError' });
  const messages = collect(socket);
  proxy.refuse(false);
  await until(() => messages.length === 2);
  assert.deepEqual(messages, ['one', 'two']);
  socket.close();
});

test('back-off waits are full jitter under a growing bound', () => {
  const options = { initialBackoff: 100, maxBackoff: 1000, backoffFactor: 2 };
  assert.equal(backoffDelay(1, options, () => 1), 100);
  assert.equal(backoffDelay(3, options, () => 1), 400);
  assert.equal(backoffDelay(10, options, () => 1), 1000);
  assert.equal(backoffDelay(10, options, () => 0), 0);
  for (let i = 0; i < 100; i++) {
    const delay = backoffDelay(2, options);
    assert.ok(delay >= 0 && delay <= 200);
  }
});

test('topic cursors order by position, then by place in the entry', () => {
  assert.equal(compareCursors('5', '5.3'), 1);
  assert.equal(compareCursors('5.1', '5.3'), -1);
  assert.equal(compareCursors('1900000000000000000', '1900000000000000001.0'), -1);
  assert.equal(compareCursors('7.2', '7.2'), 0);
});
