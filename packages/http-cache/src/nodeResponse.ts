import type { ServerResponse } from 'node:http';
import type { CapturedResponse, HttpResponse, Lead } from './ResponseCache';

type Chunk = string | Buffer | Uint8Array;
type Callback = (error?: Error | null) => void;
type Write = (chunk: Chunk, encoding?: BufferEncoding, cb?: Callback) => boolean;
type End = (chunk?: Chunk, encoding?: BufferEncoding, cb?: Callback) => ServerResponse;

/** Replaces whatever `res` holds with `response`, and ends it through `end`. */
export function sendResponse(res: ServerResponse, response: HttpResponse, end: (body: Buffer) => unknown): void {
  for (const name of res.getHeaderNames()) res.removeHeader(name);
  res.statusCode = response.status;
  for (const [name, value] of Object.entries(response.headers)) res.setHeader(name, value);
  // A HEAD answer keeps the length of the body it does not carry.
  if (response.status !== 304 && response.status !== 204 && response.headers['content-length'] === undefined) {
    res.setHeader('content-length', response.body.length);
  }
  end(response.body);
}

/** How {@link captureResponse} buffers and reports. */
export interface CaptureOptions {
  /** The largest body stored (`ResponseCache.bodyLimit(route)`): past it the body is sent as it comes. */
  readonly limit: number;
  /** The `X-Cache` header's name (`ResponseCache.header`), set to `MISS` on a body sent as it comes. */
  readonly header: string | undefined;
  /** The handler's error, for a 5xx answer (`undefined`: the status alone says it failed). */
  readonly failure: () => unknown;
  /** Who reports a cache failure (`@toolkit/express`), and its warning code (`TOOLKIT_EXPRESS_CACHE`). */
  readonly owner: string;
  readonly warningCode: string;
}

/**
 * Buffers what the framework writes for the handler's answer on a Node `ServerResponse` (up to `limit`
 * bytes: past it, or once the headers were flushed, the body is sent as it comes and not stored), then
 * hands it to the lead at `end()` and sends what the lead answers. When caching the answer fails, the
 * handler's answer goes out as it is and the failure is a process warning. Shared by the integrations
 * whose responses are Node's (Express, NestJS on Express).
 */
export function captureResponse(res: ServerResponse, lead: Lead, options: CaptureOptions): void {
  const { limit, header, failure, owner, warningCode } = options;
  const write = res.write.bind(res) as Write;
  const end = res.end.bind(res) as End;
  const chunks: Buffer[] = [];
  let size = 0;
  let streaming = false;
  res.once('close', () => lead.abandon()); // the client left before the end: the waiting requests run their own
  const restore = () => {
    res.write = write as ServerResponse['write'];
    res.end = end as ServerResponse['end'];
  };
  const toBuffer = (chunk: Chunk, encoding?: BufferEncoding) => (typeof chunk === 'string' ? Buffer.from(chunk, encoding) : Buffer.from(chunk));
  const split = (encoding?: BufferEncoding | Callback, cb?: Callback): [BufferEncoding | undefined, Callback | undefined] =>
    typeof encoding === 'function' ? [undefined, encoding] : [encoding, cb];

  res.write = ((chunk: Chunk, encoding?: BufferEncoding | Callback, cb?: Callback) => {
    const [enc, done] = split(encoding, cb);
    const buffer = toBuffer(chunk, enc);
    chunks.push(buffer);
    size += buffer.length;
    if (size > limit || res.headersSent) {
      streaming = true;
      lead.abandon();
      restore();
      if (header !== undefined && !res.headersSent) res.setHeader(header, 'MISS');
      return write(Buffer.concat(chunks.splice(0)), undefined, done);
    }
    done?.();
    return true;
  }) as ServerResponse['write'];

  res.end = ((chunk?: Chunk | Callback, encoding?: BufferEncoding | Callback, cb?: Callback) => {
    restore();
    if (typeof chunk === 'function') return end(undefined, undefined, chunk);
    const [enc, done] = split(encoding, cb);
    if (chunk !== undefined && chunk !== null) chunks.push(toBuffer(chunk, enc));
    const body = Buffer.concat(chunks);
    if (streaming || res.headersSent) {
      lead.abandon();
      return end(body, undefined, done);
    }
    const answer =
      res.statusCode >= 500
        ? lead.fail(failure() ?? new Error(`the handler answered ${res.statusCode}`))
        : lead.complete({ status: res.statusCode, headers: res.getHeaders() as CapturedResponse['headers'], body });
    answer.then(
      (response) => (response === undefined ? end(body, undefined, done) : sendResponse(res, response, (b) => end(b, undefined, done))),
      (error: unknown) => {
        // The handler's answer goes out as it is; the cache's failure is reported.
        process.emitWarning(`${owner}: caching the response failed: ${String(error)}`, { code: warningCode });
        end(body, undefined, done);
      },
    );
    return res;
  }) as ServerResponse['end'];
}
