// @orleansws/client: a WebSocket to an OrleansWs endpoint that survives its connection (docs/protocol.md in the
// repository). It reconnects with exponential back-off and full jitter, resumes its peer through any gateway within the
// server's window, shows every frame it missed once and in order, and has each message it sent applied once.

const PROTOCOL = 'orleansws.v1';
const PREFIX = 'orleansws.v1+';
const RESUMABLE_CLOSES = new Set([1001, 1006, 1012, 1013]);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

const DEFAULTS = {
  initialBackoff: 250,
  maxBackoff: 10_000,
  backoffFactor: 2,
  maxReconnectAttempts: Infinity,
  maxBufferedMessages: 1024,
  maxBufferedBytes: 1 << 20,
  ackEvery: 32,
  ackInterval: 200,
  connectTimeout: 10_000,
  resume: true,
};

/** The wait before reconnect attempt `attempt` (from 1): random between 0 and the bound (full jitter). */
export function backoffDelay(attempt, { initialBackoff, maxBackoff, backoffFactor }, random = Math.random) {
  const bound = Math.min(maxBackoff, initialBackoff * backoffFactor ** (attempt - 1));
  return random() * bound;
}

/** Compares two topic cursors ("P", everything up to position P, or "P.I", up to the I-th message of entry P). */
export function compareCursors(a, b) {
  const [pa, ia] = parseCursor(a);
  const [pb, ib] = parseCursor(b);
  if (pa !== pb) return pa < pb ? -1 : 1;
  return ia === ib ? 0 : ia < ib ? -1 : 1;
}

function parseCursor(cursor) {
  const dot = cursor.indexOf('.');
  return dot < 0 ? [BigInt(cursor), Infinity] : [BigInt(cursor.slice(0, dot)), Number(cursor.slice(dot + 1))];
}

export class ResumableWebSocket extends EventTarget {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSING = 2;
  static CLOSED = 3;

  #url;
  #protocols;
  #options;
  #WebSocket;
  #socket = null;
  #readyState = 0;
  #resumable = false;
  #protocol = '';
  #peerId = null;
  #token = null;
  #lastSeq = 0;
  #ackedSeq = 0;
  #ackTimer = null;
  #positions = new Map();
  #nextNumber = 0;
  #unacked = [];
  #unackedBytes = 0;
  #closing = false;
  #resuming = false;
  #reconnectTimer = null;
  #connectTimer = null;

  /**
   * @param {string | URL} url
   * @param {string | string[]} [protocols] the application's own sub-protocols, offered inside the resume protocol
   * @param {object} [options] back-off, buffer bounds, acknowledgements, `WebSocket` (a constructor) and
   *   `reconnectUrl(attempt)`
   */
  constructor(url, protocols = [], options = {}) {
    super();
    this.#url = String(url);
    this.#protocols = typeof protocols === 'string' ? [protocols] : [...protocols];
    this.#options = { ...DEFAULTS, ...options };
    this.#WebSocket = options.WebSocket ?? globalThis.WebSocket;
    if (typeof this.#WebSocket !== 'function') {
      throw new TypeError('No WebSocket constructor: pass options.WebSocket (Node 20 needs --experimental-websocket for the global).');
    }
    this.onopen = this.onmessage = this.onclose = this.onerror = this.onreconnecting = this.onresumed = null;
    this.#dial(this.#url, false);
  }

  get url() { return this.#url; }
  get readyState() { return this.#readyState; }
  /** The application sub-protocol the server chose ('' for none). */
  get protocol() { return this.#protocol; }
  /** Whether the server speaks resume on this endpoint. */
  get resumable() { return this.#resumable; }
  /** The peer's id on the server, once open. */
  get peerId() { return this.#peerId; }
  /** Bytes sent and not yet acknowledged (buffered while reconnecting). */
  get bufferedAmount() { return this.#unackedBytes; }
  get binaryType() { return 'arraybuffer'; }

  /** Sends a message; buffered (bounded) while reconnecting, and applied by the server once. */
  send(data) {
    if (this.#closing || this.#readyState === ResumableWebSocket.CLOSED) {
      throw new DOMException('The socket is closed.', 'InvalidStateError');
    }
    const isText = typeof data === 'string';
    const payload = isText ? encoder.encode(data) : toBytes(data);
    if (this.#unacked.length >= this.#options.maxBufferedMessages
      || this.#unackedBytes + payload.byteLength > this.#options.maxBufferedBytes) {
      throw new DOMException(`The send buffer is full (${this.#unacked.length} messages, ${this.#unackedBytes} bytes).`, 'QuotaExceededError');
    }
    const entry = { number: ++this.#nextNumber, payload, isText };
    this.#unacked.push(entry);
    this.#unackedBytes += payload.byteLength;
    if (this.#readyState === ResumableWebSocket.OPEN && !this.#resuming) {
      this.#transmit(this.#socket, entry);
    }
  }

  /** Closes the connection: the peer ends on the server, and no reconnect follows. */
  close(code = 1000, reason = '') {
    if (this.#closing) return;
    this.#closing = true;
    clearTimeout(this.#reconnectTimer);
    if (this.#socket && this.#socket.readyState <= 1) {
      this.#readyState = ResumableWebSocket.CLOSING;
      this.#socket.close(code, reason);
    } else {
      this.#finish(code, reason, true);
    }
  }

  #dial(url, resume) {
    // Without resume (options.resume false, for an endpoint that does not offer it: a browser fails a 101 that names
    // none of the sub-protocols offered) only the application's own are offered.
    const offered = this.#options.resume === false ? [...this.#protocols] : [...this.#protocols.map((p) => PREFIX + p), PROTOCOL];
    let target = url;
    if (resume) {
      const u = new URL(url);
      u.searchParams.set('ows_resume', this.#token);
      u.searchParams.set('ows_seq', String(this.#lastSeq));
      if (this.#positions.size > 0) u.searchParams.set('ows_pos', JSON.stringify(Object.fromEntries(this.#positions)));
      target = u.toString();
    }
    let socket;
    try {
      socket = new this.#WebSocket(target, offered);
    } catch (error) {
      this.#dropped(null, error);
      return;
    }
    socket.binaryType = 'arraybuffer';
    this.#socket = socket;
    let welcomed = false;
    this.#connectTimer = setTimeout(() => socket.close(), this.#options.connectTimeout);
    socket.onopen = () => {
      const chosen = socket.protocol;
      this.#resumable = chosen === PROTOCOL || chosen.startsWith(PREFIX);
      this.#protocol = this.#resumable ? chosen.slice(PROTOCOL.length + 1) : chosen;
      if (!this.#resumable) {
        clearTimeout(this.#connectTimer);
        welcomed = true;
        this.#opened(socket, resume, true);
      }
    };
    socket.onmessage = (event) => {
      if (!this.#resumable) {
        this.#emitMessage(event.data, null);
        return;
      }
      const { header, payload, isText } = split(event.data);
      if (!welcomed) {
        if (header.op !== 'welcome') return;
        welcomed = true;
        clearTimeout(this.#connectTimer);
        this.#peerId = header.peer;
        this.#token = header.token;
        this.#acknowledged(header.a);
        this.#opened(socket, resume, header.recovered);
        return;
      }
      this.#onFrame(socket, header, payload, isText);
    };
    socket.onerror = () => {
      this.#fire('error', new Event('error'));
      // Some implementations (Node's) report a connection that fails during the handshake by an error alone.
      if (socket.readyState !== 1) socket.onclose({ code: 1006, reason: '', wasClean: false });
    };
    socket.onclose = (event) => {
      clearTimeout(this.#connectTimer);
      if (this.#socket !== socket) return;
      this.#socket = null;
      if (resume && !welcomed && event.code === 4403) {
        // The peer is gone (its window ended, or the token no longer holds): a new peer, and the application is told.
        this.#forgetPeer();
        this.#refused = true;
        this.#dial(url, false);
        return;
      }
      if (this.#closing) {
        this.#finish(event.code, event.reason, event.wasClean);
        return;
      }
      this.#dropped(welcomed ? event.code : null, null, event);
    };
  }

  #refused = false;

  #opened(socket, resume, recovered) {
    this.#readyState = ResumableWebSocket.OPEN;
    this.#attempt = 0;
    // What was sent and not acknowledged goes again, in order, before anything new.
    for (const entry of this.#unacked) this.#transmit(socket, entry);
    if (!this.#resumable) this.#acknowledged(Infinity);
    if (!this.#everOpened) {
      this.#everOpened = true;
      this.#fire('open', new Event('open'));
    } else if (resume || this.#refused) {
      const event = new Event('resumed');
      event.recovered = resume && !this.#refused && recovered;
      event.peerId = this.#peerId;
      this.#fire('resumed', event);
    }
    this.#refused = false;
  }

  #everOpened = false;
  #attempt = 0;

  #dropped(code, error, event) {
    this.#readyState = ResumableWebSocket.CONNECTING;
    if (code !== null && !RESUMABLE_CLOSES.has(code)) {
      this.#finish(code, event?.reason ?? '', event?.wasClean ?? false);
      return;
    }
    this.#attempt++;
    if (this.#attempt > this.#options.maxReconnectAttempts) {
      this.#finish(code ?? 1006, 'gave up reconnecting', false);
      return;
    }
    const delay = backoffDelay(this.#attempt, this.#options);
    const reconnecting = new Event('reconnecting');
    reconnecting.attempt = this.#attempt;
    reconnecting.delay = delay;
    reconnecting.code = code;
    reconnecting.error = error;
    this.#fire('reconnecting', reconnecting);
    const url = this.#options.reconnectUrl?.(this.#attempt) ?? this.#url;
    this.#reconnectTimer = setTimeout(() => this.#dial(String(url), this.#resumable && this.#token !== null), delay);
  }

  #finish(code, reason, wasClean) {
    if (this.#readyState === ResumableWebSocket.CLOSED) return;
    this.#readyState = ResumableWebSocket.CLOSED;
    clearTimeout(this.#ackTimer);
    clearTimeout(this.#reconnectTimer);
    this.#fire('close', new CloseEventLike(code, reason, wasClean));
  }

  #onFrame(socket, header, payload, isText) {
    if (header.op === 'ack') {
      this.#acknowledged(header.a);
      return;
    }
    if (header.op === 'sub') {
      // The peer joined a topic: the cursor starts before the join, unless deliveries came first.
      const current = this.#positions.get(header.t);
      if (current === undefined || compareCursors(header.p, current) > 0) this.#positions.set(header.t, header.p);
      return;
    }
    if (header.op) return;
    if (header.t !== undefined) {
      const cursor = header.i ? `${header.p}.${header.i}` : `${header.p}.0`;
      this.#positions.set(header.t, cursor);
      this.#emitMessage(isText ? decoder.decode(payload) : copy(payload), header.t);
      return;
    }
    if (header.s !== undefined) {
      if (header.s <= this.#lastSeq) return; // replayed after a resume, and seen already
      this.#lastSeq = header.s;
      this.#emitMessage(isText ? decoder.decode(payload) : copy(payload), null);
      if (this.#lastSeq - this.#ackedSeq >= this.#options.ackEvery) {
        this.#sendAck(socket);
      } else if (this.#ackTimer === null) {
        this.#ackTimer = setTimeout(() => this.#sendAck(this.#socket), this.#options.ackInterval);
      }
    }
  }

  #sendAck(socket) {
    clearTimeout(this.#ackTimer);
    this.#ackTimer = null;
    if (!socket || socket.readyState !== 1 || this.#lastSeq <= this.#ackedSeq) return;
    this.#ackedSeq = this.#lastSeq;
    socket.send(`{"op":"ack","s":${this.#lastSeq}}`);
  }

  #transmit(socket, entry) {
    if (!this.#resumable) {
      socket.send(entry.isText ? decoder.decode(entry.payload) : entry.payload);
      return;
    }
    const header = encoder.encode(`{"s":${entry.number}}\n`);
    const frame = new Uint8Array(header.byteLength + entry.payload.byteLength);
    frame.set(header, 0);
    frame.set(entry.payload, header.byteLength);
    socket.send(entry.isText ? decoder.decode(frame) : frame);
  }

  #acknowledged(applied) {
    while (this.#unacked.length > 0 && this.#unacked[0].number <= applied) {
      this.#unackedBytes -= this.#unacked.shift().payload.byteLength;
    }
  }

  // A new peer: the old one's cursors mean nothing to it, and what it had not applied is numbered anew.
  #forgetPeer() {
    this.#token = null;
    this.#peerId = null;
    this.#lastSeq = 0;
    this.#ackedSeq = 0;
    this.#positions.clear();
    this.#nextNumber = 0;
    for (const entry of this.#unacked) entry.number = ++this.#nextNumber;
  }

  #emitMessage(data, topic) {
    const event = new MessageEvent('message', { data });
    Object.defineProperty(event, 'topic', { value: topic });
    this.#fire('message', event);
  }

  #fire(type, event) {
    this.dispatchEvent(event);
    const handler = this['on' + type];
    if (typeof handler === 'function') handler.call(this, event);
  }
}

class CloseEventLike extends Event {
  constructor(code, reason, wasClean) {
    super('close');
    this.code = code;
    this.reason = reason;
    this.wasClean = wasClean;
  }
}

// A frame of the resume protocol: a JSON header line, then the payload byte for byte.
function split(data) {
  if (typeof data === 'string') {
    const newline = data.indexOf('\n');
    const header = JSON.parse(newline < 0 ? data : data.slice(0, newline));
    return { header, payload: encoder.encode(newline < 0 ? '' : data.slice(newline + 1)), isText: true };
  }
  const bytes = new Uint8Array(data);
  const newline = bytes.indexOf(10);
  const header = JSON.parse(decoder.decode(newline < 0 ? bytes : bytes.subarray(0, newline)));
  return { header, payload: newline < 0 ? new Uint8Array(0) : bytes.subarray(newline + 1), isText: false };
}

function toBytes(data) {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeError('send() takes a string, an ArrayBuffer or a typed array.');
}

function copy(bytes) {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
}
