// `GET /hello-js` and `GET /hello-js/{name}`: the Rust hello's greeting, in JavaScript.
import { json, log, serve } from '../../../guest-js/portico.js';

export const handler = serve((req) => {
  const name = req.pathParam('name') ?? 'world';
  const greeting = req.stageVariable('greeting') ?? 'Hello';
  log.info(`greeting ${name}`);
  return json({ message: `${greeting}, ${name}!`, request_id: req.requestId });
});
