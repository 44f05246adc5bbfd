import type { Redis } from 'ioredis';

/**
 * Runs `run` and lists the commands `client` sent meanwhile, by name (a spy on the real client: every
 * command still reaches the real Redis), with what `run` resolved to. The client is restored after.
 */
export async function commandsSent<T>(client: Redis, run: () => Promise<T>): Promise<{ result: T; sent: string[] }> {
  const sent: string[] = [];
  const original = client.sendCommand.bind(client);
  client.sendCommand = ((command: { name: string }, stream?: unknown) => {
    sent.push(command.name);
    return original(command as never, stream as never);
  }) as typeof client.sendCommand;
  try {
    return { result: await run(), sent };
  } finally {
    client.sendCommand = original;
  }
}
