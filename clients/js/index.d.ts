/** Options of a ResumableWebSocket; every one has a default. */
export interface ResumableWebSocketOptions {
  /** The first reconnect's longest wait, in ms (full jitter: each wait is random between 0 and the bound). Default 250. */
  initialBackoff?: number;
  /** The longest wait between reconnects, in ms. Default 10,000. */
  maxBackoff?: number;
  /** How much the bound grows after each failed reconnect. Default 2. */
  backoffFactor?: number;
  /** Failed reconnects in a row before the client gives up and closes. Default: no limit. */
  maxReconnectAttempts?: number;
  /** Messages sent and not yet acknowledged (buffered while reconnecting); a send beyond them throws. Default 1,024. */
  maxBufferedMessages?: number;
  /** Their bytes. Default 1 MiB. */
  maxBufferedBytes?: number;
  /** Acknowledge the peer's frames after this many. Default 32. */
  ackEvery?: number;
  /** … or this many ms after the first unacknowledged one. Default 200. */
  ackInterval?: number;
  /** How long one connect (the handshake and the welcome) may take, in ms. Default 10,000. */
  connectTimeout?: number;
  /** Offer the resume protocol (default true). Pass false for an endpoint without resume: a browser fails a 101 that names none of the offered sub-protocols. */
  resume?: boolean;
  /** The WebSocket constructor to use (default: the global one; Node 20 needs --experimental-websocket for it). */
  WebSocket?: new (url: string, protocols?: string | string[]) => WebSocket;
  /** Where reconnect attempt `attempt` (from 1) goes. Default: the URL connected to first (a load balancer). */
  reconnectUrl?: (attempt: number) => string | URL;
}

/** A message; `topic` names the topic of a published one (null for the peer's own frames). */
export interface ResumableMessageEvent extends MessageEvent<string | ArrayBuffer> {
  readonly topic: string | null;
}

export interface ReconnectingEvent extends Event {
  readonly attempt: number;
  /** The wait before this attempt, in ms. */
  readonly delay: number;
  /** How the last connection ended (null: it dropped without a close frame). */
  readonly code: number | null;
}

export interface ResumedEvent extends Event {
  /** false when the server could not resume the peer (this is a new one) or frames it kept were dropped at its bounds. */
  readonly recovered: boolean;
  readonly peerId: string;
}

export interface ResumableCloseEvent extends Event {
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;
}

export interface ResumableWebSocketEventMap {
  open: Event;
  message: ResumableMessageEvent;
  close: ResumableCloseEvent;
  error: Event;
  reconnecting: ReconnectingEvent;
  resumed: ResumedEvent;
}

/**
 * A WebSocket to an OrleansWs endpoint that survives its connection: it reconnects with exponential back-off and full
 * jitter, resumes its peer through any gateway within the server's window, shows every frame it missed once and in
 * order, and has each message it sent applied once. Against an endpoint without resume it is a WebSocket that reconnects.
 */
export class ResumableWebSocket extends EventTarget {
  static readonly CONNECTING: 0;
  static readonly OPEN: 1;
  static readonly CLOSING: 2;
  static readonly CLOSED: 3;
  constructor(url: string | URL, protocols?: string | string[], options?: ResumableWebSocketOptions);
  readonly url: string;
  /** CONNECTING also while reconnecting; CLOSED only once it ended for good. */
  readonly readyState: 0 | 1 | 2 | 3;
  /** The application sub-protocol the server chose ('' for none). */
  readonly protocol: string;
  /** Whether the server speaks resume on this endpoint. */
  readonly resumable: boolean;
  readonly peerId: string | null;
  /** Bytes sent and not yet acknowledged by the server. */
  readonly bufferedAmount: number;
  readonly binaryType: 'arraybuffer';
  onopen: ((event: Event) => void) | null;
  onmessage: ((event: ResumableMessageEvent) => void) | null;
  onclose: ((event: ResumableCloseEvent) => void) | null;
  onerror: ((event: Event) => void) | null;
  onreconnecting: ((event: ReconnectingEvent) => void) | null;
  onresumed: ((event: ResumedEvent) => void) | null;
  send(data: string | ArrayBuffer | ArrayBufferView): void;
  close(code?: number, reason?: string): void;
  addEventListener<K extends keyof ResumableWebSocketEventMap>(type: K, listener: (event: ResumableWebSocketEventMap[K]) => void, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
}

/** The wait before reconnect attempt `attempt` (from 1), in ms. */
export function backoffDelay(attempt: number, options: { initialBackoff: number; maxBackoff: number; backoffFactor: number }, random?: () => number): number;

/** Compares two topic cursors: -1, 0 or 1. */
export function compareCursors(a: string, b: string): number;
