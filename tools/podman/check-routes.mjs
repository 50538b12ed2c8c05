#!/usr/bin/env node
// Checks every route of the API and the agent as played under Podman (tools/podman/ci-podman.sh):
// status codes, bodies and headers, and that the API's /status sees the backup the agent wrote.
// usage: check-routes.mjs <apiUrl> <agentUrl> <token>
const [api, agent, token] = process.argv.slice(2);
if (!api || !agent || !token) {
  console.error('usage: check-routes.mjs <apiUrl> <agentUrl> <token>');
  process.exit(2);
}

let passed = 0;
const failures = [];

async function call(method, url, { auth, body } = {}) {
  const res = await fetch(url, {
    method,
    headers: {
      ...(auth ? { Authorization: `Bearer ${auth}` } : {}),
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json, type: res.headers.get('content-type') ?? '' };
}

async function check(name, method, url, expectStatus, assert = () => true, options = {}) {
  try {
    const res = await call(method, url, options);
    if (res.status !== expectStatus)
      throw new Error(`status ${res.status}, expected ${expectStatus}: ${res.text.slice(0, 200)}`);
    const verdict = assert(res);
    if (verdict !== true)
      throw new Error(typeof verdict === 'string' ? verdict : `unexpected body ${res.text.slice(0, 200)}`);
    passed++;
    console.log(`  ok    ${name}`);
    return res;
  } catch (err) {
    failures.push(`${name}: ${err.message}`);
    console.log(`  FAIL  ${name}: ${err.message}`);
    return null;
  }
}

const message = `podman-check-${Date.now()}`;
console.log(`API ${api}`);
await check('GET / greets', 'GET', `${api}/`, 200, (r) => r.json?.status === 'Bonjour tout le monde !');
await check('GET /health', 'GET', `${api}/health`, 200, (r) => r.json?.status === 'ok');
await check('GET /ready', 'GET', `${api}/ready`, 200, (r) => r.json?.status === 'ready');
await check(
  'GET /add stores a message',
  'GET',
  `${api}/add?message=${message}`,
  200,
  (r) => r.json?.status === 'added' && r.json?.message === message,
);
await check('POST /messages', 'POST', `${api}/messages`, 201, (r) => r.json?.message === `${message}-json`, {
  body: { message: `${message}-json` },
});
await check(
  'GET /count',
  'GET',
  `${api}/count`,
  200,
  (r) => Number.isInteger(r.json?.count) && r.json.count >= 2,
);
await check(
  'GET /consultation lists them newest first',
  'GET',
  `${api}/consultation?limit=2`,
  200,
  (r) => r.json?.[0]?.message === `${message}-json` && r.json?.[1]?.message === message,
);
await check(
  'GET /consultation?limit=0 is a 400',
  'GET',
  `${api}/consultation?limit=0`,
  400,
  (r) => r.json?.code === 'INVALID_LIMIT',
);
await check(
  'GET /metrics',
  'GET',
  `${api}/metrics`,
  200,
  (r) => /^pra_api_events \d+/m.test(r.text) && r.type.startsWith('text/plain'),
);
await check('unknown route is a JSON 404', 'GET', `${api}/nope`, 404, (r) => r.json?.code === 'NOT_FOUND');

console.log(`agent ${agent}`);
await check('GET /health', 'GET', `${agent}/health`, 200, (r) => r.json?.status === 'ok');
await check('GET /ready', 'GET', `${agent}/ready`, 200, (r) => r.json?.source_database === 'present');
await check(
  'POST /backups without the token is a 401',
  'POST',
  `${agent}/backups`,
  401,
  (r) => r.json?.code === 'UNAUTHORIZED',
);
const created = await check(
  'POST /backups with the token',
  'POST',
  `${agent}/backups`,
  201,
  (r) => r.json?.verification?.ok === true,
  { auth: token },
);
const id = created?.json?.id;
await check('GET /backups lists it', 'GET', `${agent}/backups`, 200, (r) =>
  r.json?.some((b) => b.id === id && b.verified === true),
);
await check(
  'GET /backups/:id',
  'GET',
  `${agent}/backups/${id}`,
  200,
  (r) => r.json?.id === id && r.json?.rows >= 2,
);
await check(
  'POST /restore/:id?dry_run=true',
  'POST',
  `${agent}/restore/${id}?dry_run=true`,
  200,
  (r) => r.json?.dry_run === true,
  { auth: token },
);
await check(
  'a malformed id is a 400',
  'POST',
  `${agent}/restore/..%2F..%2Fetc%2Fpasswd`,
  400,
  (r) => r.json?.code === 'INVALID_BACKUP_ID',
  { auth: token },
);
await check('GET /metrics', 'GET', `${agent}/metrics`, 200, (r) =>
  /^pra_backup_taken_total [1-9]/m.test(r.text),
);
await check('the API /status sees that backup', 'GET', `${api}/status`, 200, (r) =>
  r.json?.last_backup_file === `${id}.db` && r.json?.last_backup_verified === true
    ? true
    : `status is ${r.text}`,
);

console.log(`\n${passed} route checks passed, ${failures.length} failed`);
if (failures.length) {
  for (const f of failures) console.log(`  - ${f}`);
  process.exit(1);
}
