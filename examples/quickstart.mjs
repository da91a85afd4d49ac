// Two aos processes on a local aotp node (`npm start`): B learns to answer Ping, A asks B.
import { createHash, generateKeyPairSync } from 'node:crypto';
import { connect, createDataItemSigner } from '@permaweb/aoconnect';

const info = await (await fetch(process.env.AOTP_URL ?? 'http://127.0.0.1:8734/')).json();
const ao = connect({ MODE: 'legacy', MU_URL: info.mu, CU_URL: info.cu, GRAPHQL_URL: info.graphql });
const jwk = generateKeyPairSync('rsa', { modulusLength: 4096 }).privateKey.export({ format: 'jwk' });
const [signer, me] = [createDataItemSigner(jwk), createHash('sha256').update(Buffer.from(jwk.n, 'base64url')).digest('base64url')];
// Authority: the MU signs what one process sends another, and aos trusts only its Authority.
const spawn = () => ao.spawn({ module: info.modules['aos-2.0.4-wasm32'], scheduler: info.addresses.su, signer, tags: [{ name: 'Authority', value: info.addresses.mu }] });
const [a, b] = [await spawn(), await spawn()];
const run = async (process, data) => ao.result({ process, message: await ao.message({ process, signer, tags: [{ name: 'Action', value: 'Eval' }], data }) });
await run(b, `Handlers.add("ping", Handlers.utils.hasMatchingTag("Action", "Ping"), function (m) Send({ Target = m.From, Action = "Pong", Data = "pong from " .. ao.id }) end)`);
await run(a, `Handlers.add("pong", Handlers.utils.hasMatchingTag("Action", "Pong"), function (m) Answer = m.Data end)`);
console.log('A:', (await run(a, `Send({ Target = "${b}", Action = "Ping" }); return "asked B"`)).Output.data);
// B's answer comes back to A through the MU; read it from A's state once it has arrived.
let answer;
while (!(answer = (await ao.dryrun({ process: a, Owner: me, data: 'return Answer', tags: [{ name: 'Action', value: 'Eval' }] })).Output.data)) await new Promise((r) => setTimeout(r, 100));
console.log('B:', (await ao.results({ process: b, sort: 'DESC', limit: 1 })).edges[0].node.Messages[0].Data, '| A now holds:', answer);
