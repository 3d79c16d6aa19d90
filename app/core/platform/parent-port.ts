/**
 * The channel to the process that started this one: an Electron utility process's parentPort
 * (desktop app), or the IPC channel of a Node child started with fork (CLI, server, tests). A child
 * whose parent went away exits instead of lingering.
 */
export interface ParentPort<In, Out> {
  post(message: Out): void;
  listen(handler: (message: In) => void): void;
}

type UtilityParentPort = { postMessage(m: unknown): void; on(e: 'message', fn: (ev: { data: unknown }) => void): void };

export function parentPort<In, Out>(role: string): ParentPort<In, Out> {
  const utility = (process as { parentPort?: UtilityParentPort }).parentPort;
  if (utility) {
    return { post: (m) => utility.postMessage(m), listen: (fn) => utility.on('message', (ev) => fn(ev.data as In)) };
  }
  const send = process.send?.bind(process);
  if (!send) throw new Error(`${role} must run as a utility process or a forked child with an IPC channel.`);
  return {
    post: (m) => {
      send(m);
    },
    listen: (fn) => {
      process.on('message', (m) => fn(m as In));
      process.on('disconnect', () => process.exit(0));
    },
  };
}
