import type { ServerResponse } from 'node:http';
import { sendResponse } from '@toolkit/http-cache';
import type { HttpResponse } from '@toolkit/http-cache';

type Chunk = string | Buffer | Uint8Array;
type Callback = (error?: Error | null) => void;
type End = (chunk?: Chunk, encoding?: BufferEncoding, cb?: Callback) => ServerResponse;

/** Whether the platform's response is Node's `ServerResponse` (or extends it, as Express' does). */
export function isNodeResponse(res: unknown): res is ServerResponse {
  const candidate = res as Partial<ServerResponse> | null;
  return typeof candidate?.setHeader === 'function' && typeof candidate.end === 'function' && typeof candidate.getHeaders === 'function';
}

/**
 * Sends `response` now, in place of anything set on `res` so far; whatever the platform writes after
 * (Nest replies to a handler that did not run, unless the route took `@Res()`) is dropped.
 */
export function sendNow(res: ServerResponse, response: HttpResponse): void {
  const end = res.end.bind(res) as End;
  sendResponse(res, response, (body) => end(body));
  res.write = ((_chunk: Chunk, encoding?: BufferEncoding | Callback, cb?: Callback) => {
    (typeof encoding === 'function' ? encoding : cb)?.();
    return true;
  }) as ServerResponse['write'];
  res.end = ((...args: unknown[]) => {
    args.find((arg): arg is Callback => typeof arg === 'function')?.();
    return res;
  }) as ServerResponse['end'];
}
