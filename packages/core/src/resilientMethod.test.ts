// @resilientMethod: TC39 (TypeScript 5) method decorators, compiled by swc (jest.config.ts sets
// `decorators: true` and `decoratorVersion: '2022-03'`), and the same decorator applied by hand.
import { ResilienceRegistry, resilientMethod } from './index';
import type { ResilienceEvent } from './index';

beforeEach(() => {
  jest.useFakeTimers();
});

afterEach(() => {
  jest.useRealTimers();
});

/** A hand-made decorator context, as the runtime passes to a method decorator. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the constraint of ClassMethodDecoratorContext
function methodContext<This, F extends (this: This, ...args: any) => any>(
  name: string | symbol,
  kind = 'method',
): ClassMethodDecoratorContext<This, F> {
  return {
    kind,
    name,
    static: false,
    private: false,
    access: { has: () => true, get: () => undefined as unknown as F },
    addInitializer: () => undefined,
    metadata: {},
  } as unknown as ClassMethodDecoratorContext<This, F>;
}

describe('@resilientMethod as a decorator', () => {
  it('keeps `this`, retries, and returns a promise', async () => {
    const registry = new ResilienceRegistry();
    const events: ResilienceEvent[] = [];
    registry.on('*', (e) => void events.push(e));

    class PriceService {
      attempts = 0;
      constructor(readonly currency: string) {}

      @resilientMethod({ retry: { maxAttempts: 2, delay: 10, jitter: false } }, registry)
      async price(id: number): Promise<string> {
        this.attempts++;
        if (this.attempts === 1) throw new Error('flaky');
        return `${id * 10} ${this.currency}`;
      }
    }

    const service = new PriceService('EUR');
    const result = service.price(4);
    expect(result).toBeInstanceOf(Promise);
    await jest.advanceTimersByTimeAsync(10);
    await expect(result).resolves.toBe('40 EUR');
    expect(service.attempts).toBe(2);
    expect(events.map((e) => `${e.type} ${e.functionName} ${e.attempt}`)).toEqual(['RETRY price 1', 'SUCCESS price 2']);
  });

  it('turns a synchronous method into one that returns a promise; its errors become rejections', async () => {
    const registry = new ResilienceRegistry();
    class Calculator {
      factor = 3;
      // A decorator cannot change a method's type, so TypeScript refuses this (declare the method async);
      // plain JavaScript gets a method that returns a promise.
      // @ts-expect-error the decorated method returns Promise<number>, not number
      @resilientMethod({}, registry)
      times(n: number): number {
        if (n < 0) throw new RangeError('negative');
        return n * this.factor;
      }
    }
    const calculator = new Calculator();
    const result = calculator.times(2);
    expect(result).toBeInstanceOf(Promise);
    await expect(result).resolves.toBe(6);
    const failed = calculator.times(-1);
    expect(failed).toBeInstanceOf(Promise);
    await expect(failed).rejects.toThrow(RangeError);
  });

  it('one pipeline for every instance: each call still runs with its own `this`', async () => {
    const registry = new ResilienceRegistry();
    class Greeter {
      constructor(readonly greeting: string) {}
      @resilientMethod({ circuitBreaker: { failureThreshold: 2 } }, registry)
      async greet(name: string) {
        return `${this.greeting}, ${name}`;
      }
    }
    const en = new Greeter('Hello');
    const fr = new Greeter('Bonjour');
    const [a, b] = await Promise.all([en.greet('Ann'), fr.greet('Bob')]);
    expect(a).toBe('Hello, Ann');
    expect(b).toBe('Bonjour, Bob');
    expect(Greeter.prototype.greet).toBe(en.greet);
    expect(en.greet).toBe(fr.greet);
  });

  it('the cache is shared by every instance and `this` is not part of the key', async () => {
    const registry = new ResilienceRegistry();
    class Repository {
      loads = 0;
      constructor(readonly label: string) {}
      @resilientMethod({ cache: { ttl: '1m' } }, registry)
      async find(id: number) {
        this.loads++;
        return `${this.label} ${id}`;
      }
    }
    const first = new Repository('first');
    const second = new Repository('second');
    await expect(first.find(1)).resolves.toBe('first 1');
    await expect(second.find(1)).resolves.toBe('first 1'); // a hit: the key is the argument only
    expect(first.loads + second.loads).toBe(1);
    await expect(second.find(2)).resolves.toBe('second 2');
    expect(second.loads).toBe(1);
  });

  it('uses the default registry when none is given', async () => {
    class Plain {
      @resilientMethod({ retry: { maxAttempts: 1 } })
      async echo(value: string) {
        return value;
      }
    }
    await expect(new Plain().echo('x')).resolves.toBe('x');
  });
});

describe('resilientMethod applied by hand', () => {
  it('wraps the method under the name of the context, keeping `this` and retrying', async () => {
    const registry = new ResilienceRegistry();
    const events: ResilienceEvent[] = [];
    registry.on('*', (e) => void events.push(e));
    type Owner = { base: number; calls: number };
    const method = function (this: Owner, n: number) {
      this.calls++;
      if (this.calls === 1) return Promise.reject(new Error('first call fails'));
      return Promise.resolve(this.base + n);
    };
    const decorated = resilientMethod<[n: number], Promise<number>>({ retry: { maxAttempts: 2, delay: 10, jitter: false } }, registry)(
      method,
      methodContext<Owner, typeof method>('add'),
    );
    const owner = { base: 100, calls: 0 };
    const result = decorated.call(owner, 5);
    await jest.advanceTimersByTimeAsync(10);
    await expect(result).resolves.toBe(105);
    expect(owner.calls).toBe(2);
    expect(events.map((e) => e.functionName)).toEqual(['add', 'add']);
  });

  it('a symbol name is used by its description', async () => {
    const registry = new ResilienceRegistry();
    const names: string[] = [];
    registry.on('SUCCESS', (e) => void names.push(e.functionName));
    const method = async function (this: unknown) {
      return 1;
    };
    const decorated = resilientMethod({}, registry)(method, methodContext<unknown, typeof method>(Symbol('secret')));
    await decorated.call(undefined);
    expect(names).toEqual(['secret']);
  });

  it('refuses anything but a method', () => {
    const registry = new ResilienceRegistry();
    const method = async function (this: unknown) {
      return 1;
    };
    expect(() => resilientMethod({}, registry)(method, methodContext<unknown, typeof method>('value', 'getter'))).toThrow(TypeError);
  });
});
