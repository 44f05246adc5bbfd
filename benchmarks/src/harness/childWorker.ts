// A child Node process (a TypeScript file run through tsx) driven over IPC with bounded request/reply,
// for scenarios that need several processes. Every worker is closed, else SIGKILLed, by its owner; a
// worker also exits by itself when this process goes away (its IPC channel closes).
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The benchmarks package: workers start there, so tsx resolves imports exactly as for this process. */
const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** tsx compiles the worker and the sources it imports on the fly: a cold first start takes seconds. */
const START_TIMEOUT_MS = 30_000;
const EXIT_TIMEOUT_MS = 5_000;

/** A message a worker sends of its own accord (`type` other than 'reply'), e.g. `{ type: 'ready' }`. */
export interface FromWorker {
  readonly type: string;
  readonly [field: string]: unknown;
}

/** A worker's answer to a request. */
type Reply = { type: 'reply'; id: number; ok: true; result: unknown } | { type: 'reply'; id: number; ok: false; error: string };

export class ChildWorker {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  #output = '';
  #nextId = 1;
  #gone = false;
  readonly #pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }>();
  readonly #listeners = new Set<(message: FromWorker) => void>();

  constructor(
    readonly name: string,
    file: string,
    env: Record<string, string>,
  ) {
    this.child = fork(file, [], {
      cwd: PACKAGE_ROOT,
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const append = (chunk: Buffer) => {
      this.#output = (this.#output + chunk.toString()).slice(-4_096);
    };
    this.child.stdout?.on('data', append);
    this.child.stderr?.on('data', append);
    this.child.on('message', (message: FromWorker | Reply) => {
      if (message.type === 'reply') {
        const reply = message as Reply;
        const waiter = this.#pending.get(reply.id);
        if (waiter !== undefined) {
          this.#pending.delete(reply.id);
          clearTimeout(waiter.timer);
          if (reply.ok) waiter.resolve(reply.result);
          else waiter.reject(new Error(`${this.name}: ${reply.error}`));
        }
        return;
      }
      for (const listener of this.#listeners) listener(message);
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.#gone = true;
        for (const waiter of this.#pending.values()) {
          clearTimeout(waiter.timer);
          waiter.reject(new Error(`${this.name} exited (code ${code}, signal ${signal})\n${this.#output}`));
        }
        this.#pending.clear();
        resolve();
      });
    });
  }

  /** Resolves once the worker says `{ type: 'ready' }`. */
  ready(): Promise<FromWorker> {
    return this.next((m) => m.type === 'ready', START_TIMEOUT_MS, 'ready message');
  }

  /** The next message of the worker's own that `matches`; rejects after `ms` or when the worker exits. */
  next(matches: (message: FromWorker) => boolean, ms: number, what: string): Promise<FromWorker> {
    return new Promise((resolve, reject) => {
      const finish = (error: Error | undefined, message?: FromWorker) => {
        clearTimeout(timer);
        this.#listeners.delete(listener);
        this.child.off('exit', onExit);
        if (error !== undefined) reject(error);
        else resolve(message!);
      };
      const listener = (message: FromWorker) => {
        if (matches(message)) finish(undefined, message);
      };
      const onExit = () => finish(new Error(`${this.name} exited before its ${what}\n${this.#output}`));
      const timer = setTimeout(() => finish(new Error(`${this.name}: no ${what} within ${ms} ms\n${this.#output}`)), ms);
      this.#listeners.add(listener);
      this.child.once('exit', onExit);
    });
  }

  /** Sends a request and resolves with the worker's reply (rejects after `ms`). */
  request<T>(request: Record<string, unknown>, ms = 10_000): Promise<T> {
    if (this.#gone) return Promise.reject(new Error(`${this.name} has exited\n${this.#output}`));
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`${this.name}: no reply to ${String(request.cmd)} within ${ms} ms\n${this.#output}`));
      }, ms);
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject, timer });
      this.child.send({ id, request });
    });
  }

  /** Asks the worker to close and exit; SIGKILLs it if it is still there after 5 s. Never throws. */
  async close(): Promise<void> {
    if (this.#gone) return;
    await this.request({ cmd: 'close' }, EXIT_TIMEOUT_MS).catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const exited = await Promise.race([
      this.exited.then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), EXIT_TIMEOUT_MS))),
    ]);
    clearTimeout(timer);
    if (!exited) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}

/** Starts workers and waits until every one is ready; on a failure, closes those that started and throws. */
export async function startWorkers(names: readonly string[], file: string, env: (name: string) => Record<string, string>): Promise<ChildWorker[]> {
  const workers = names.map((name) => new ChildWorker(name, file, env(name)));
  try {
    await Promise.all(workers.map((w) => w.ready()));
    return workers;
  } catch (error) {
    await Promise.all(workers.map((w) => w.close()));
    throw error;
  }
}

/** The wall clock with sub-millisecond resolution, comparable across processes of one machine. */
export const wallClock = (): number => performance.timeOrigin + performance.now();
