/**
 * `GET /info`, as an Arweave gateway answers it (the fields ao's units read): the network and its
 * current block height. This node has no blocks: its height is its own network gateway's, or 0.
 */
import { unitRoutes } from '../http/unit-routes.js';

export function infoRoutes(height: () => number) {
  return unitRoutes((app) => {
    app.get('/info', async () => {
      const h = height();
      return { network: 'aotp', height: h, blocks: h, current: '', peers: 0, queue_length: 0 };
    });
  });
}
