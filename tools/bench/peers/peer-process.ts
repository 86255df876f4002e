// A peer's own process (forked by PeerProcess): loads one peer, runs the queries it is
// sent, and times each run with this process's clock, CPU time and peak memory.
import type { Peer, PeerName, PeerOptions, PeerReply, PeerRequest } from './peer.js';

const LOADERS: Record<PeerName, () => Promise<{ loadPeer(options: PeerOptions): Promise<Peer> }>> = {
  'llama-cpp': () => import('./llama-cpp-peer.js'),
  'transformers-js': () => import('./transformers-js-peer.js'),
};

let peer: Peer | undefined;

async function handle(request: PeerRequest): Promise<PeerReply | undefined> {
  switch (request.kind) {
    case 'load':
      peer = await (await LOADERS[request.peer]()).loadPeer(request.options);
      return { kind: 'loaded' };
    case 'run': {
      if (!peer) throw new Error('no peer loaded');
      const cpu = process.cpuUsage();
      const started = performance.now();
      const run = await peer.run(request.queries);
      const seconds = (performance.now() - started) / 1000;
      const { user, system } = process.cpuUsage(cpu);
      // maxRSS is in kilobytes and covers the process's whole life, model loading included.
      const peakRssMb = process.resourceUsage().maxRSS / 1024;
      return { kind: 'ran', result: { ...run, seconds, cpuSeconds: (user + system) / 1e6, peakRssMb } };
    }
    case 'stop':
      await peer?.close();
      process.disconnect();
      return undefined;
  }
}

process.on('message', (request: PeerRequest) => {
  handle(request).then(
    (reply) => reply && process.send!(reply),
    (error: Error) => process.send!({ kind: 'failed', message: error.stack ?? String(error) } satisfies PeerReply),
  );
});
