// Shared by the package tests: follow a batch with `watchBatch` until it is terminal.
import { isTerminalStatus } from '../../dist/client/index.js';

/** Resolves with every batch `watchBatch` reported and the transports it announced, once the batch is terminal. */
export function watchToEnd(client, batchId) {
  const seen = [];
  const transports = [];
  return new Promise((resolve, reject) => {
    client.watchBatch(
      batchId,
      (b) => {
        seen.push(b);
        if (isTerminalStatus(b.status)) resolve({ seen, transports });
      },
      { onError: reject, onTransport: (t) => transports.push(t) },
    );
  });
}
