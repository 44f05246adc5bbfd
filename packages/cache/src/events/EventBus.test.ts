import { EventBus } from './EventBus';

type Event = { type: 'A' } | { type: 'B' };
const types = { A: 'A', B: 'B' };

describe('EventBus.wants', () => {
  it('is true for a type only while that type or * has a listener', () => {
    const changes: boolean[] = [];
    const bus = new EventBus<Event>(types, () => undefined, (active) => changes.push(active));
    expect([bus.wants('A'), bus.wants('B'), bus.active]).toEqual([false, false, false]);

    const offA = bus.on('A', () => undefined);
    expect([bus.wants('A'), bus.wants('B'), bus.active]).toEqual([true, false, true]);

    const offAll = bus.on('*', () => undefined);
    expect([bus.wants('A'), bus.wants('B')]).toEqual([true, true]);

    offAll();
    expect([bus.wants('A'), bus.wants('B'), bus.active]).toEqual([true, false, true]);

    offA();
    offA(); // a second call changes nothing
    expect([bus.wants('A'), bus.wants('B'), bus.active]).toEqual([false, false, false]);
    expect(changes).toEqual([true, true, true, false]);
  });

  it('notifies only when a type gets its first listener or loses its last', () => {
    let changes = 0;
    const bus = new EventBus<Event>(types, () => undefined, () => changes++);
    const first = bus.on('A', () => undefined);
    const second = bus.on('A', () => undefined);
    expect(changes).toBe(1);
    first();
    expect([changes, bus.wants('A')]).toEqual([1, true]);
    second();
    expect([changes, bus.wants('A')]).toEqual([2, false]);
  });

  it('delivers an event to the listeners of its type and of *, not to the others', () => {
    const bus = new EventBus<Event>(types, () => undefined);
    const got: string[] = [];
    bus.on('A', (e) => got.push(`A:${e.type}`));
    bus.on('B', (e) => got.push(`B:${e.type}`));
    bus.on('*', (e) => got.push(`*:${e.type}`));
    bus.emit({ type: 'A' });
    bus.emit({ type: 'B' });
    expect(got).toEqual(['*:A', 'A:A', '*:B', 'B:B']);
  });
});
