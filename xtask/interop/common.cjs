// Helpers shared by the JavaScript interop drivers (run by `cargo xtask interop local-pool`).
//
// Protocol with xtask: one JSON object per stdout line.
//   {"plan": ["sign-up", ...]}                       the checks this driver will report
//   {"check": NAME, "ok": BOOL, "detail": TEXT, "mark": ID, "expect_ops": [...], "expect_seq": [...]}
//   {"done": true}                                    the driver finished
// Anything else on stdout or stderr is shown as driver output.
//
// Around each check the driver requests GET /_interop/mark/<ID>/begin and .../end from the
// local pool. These answer 404 but appear in the pool's request log, in order with the
// check's own requests, so xtask can confirm which operations the server really saw
// between them ("expect_ops": "Op" = answered 200, "Op:400" = answered 400), or that the
// server logged exactly this sequence ("expect_seq": the same entries, in order, each with
// "+kind" for a message the pool put in its outbox while answering it, e.g.
// "RespondToAuthChallenge+mfa").
//
// Env: LOCAL_POOL_URL, INTEROP_CONFIG (JSON from setup_pool.py), INTEROP_DRIVER.
'use strict';

const ENDPOINT = (process.env.LOCAL_POOL_URL || '').replace(/\/$/, '');
if (!ENDPOINT) {
  console.error('LOCAL_POOL_URL is not set');
  process.exit(2);
}
const CONFIG = JSON.parse(process.env.INTEROP_CONFIG || '{}');
const DRIVER = process.env.INTEROP_DRIVER || 'js';

function emit(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

// Every Cognito call the client library makes goes through the global fetch (Amplify's
// transfer handler, and acij's isomorphic-unfetch, which keeps Node's fetch). Record the
// exchanges so that a failure can show the request and the answer.
const realFetch = globalThis.fetch;
const exchanges = [];
globalThis.fetch = async function spyFetch(input, init) {
  const headers = new Headers((init && init.headers) || (input && input.headers) || {});
  const target = headers.get('x-amz-target');
  const response = await realFetch(input, init);
  if (target) {
    let request = (init && init.body) || '';
    let answer = '';
    try { answer = await response.clone().text(); } catch (e) { answer = `<unreadable: ${e}>`; }
    try { request = JSON.parse(request); } catch (e) { /* keep the text */ }
    try { answer = JSON.parse(answer); } catch (e) { /* keep the text */ }
    exchanges.push({ op: target.split('.').pop(), request, status: response.status, response: answer });
  }
  return response;
};

// Long strings (tokens, SRP numbers) shortened for display.
function redact(value) {
  return JSON.parse(JSON.stringify(value, (k, v) => (typeof v === 'string' && v.length > 48 ? `${v.slice(0, 16)}…(${v.length})` : v)));
}

function describeExchange(x) {
  return `${x.op} ${JSON.stringify(redact(x.request))} -> ${x.status} ${JSON.stringify(redact(x.response))}`;
}

async function mark(id, which) {
  const r = await realFetch(`${ENDPOINT}/_interop/mark/${encodeURIComponent(id)}/${which}`);
  await r.text();
}

let seq = 0;
let reported = 0;
function plan(names) {
  emit({ plan: names });
}

// Runs one check: fn returns a detail string (or nothing) or throws.
// opts.ops: operations the server must have answered during the check; opts.seq: the
// exact sequence the server must have logged (see above).
async function check(name, opts, fn) {
  if (typeof opts === 'function') { fn = opts; opts = {}; }
  seq += 1;
  const id = `${DRIVER}-${seq}`;
  const first = exchanges.length;
  let ok = true;
  let detail = '';
  await mark(id, 'begin');
  try {
    const r = await fn();
    if (typeof r === 'string') detail = r;
  } catch (e) {
    ok = false;
    detail = describeError(e);
    const failed = exchanges.slice(first).filter((x) => x.status >= 300);
    const last = failed.length ? failed[failed.length - 1] : exchanges[exchanges.length - 1];
    if (last && exchanges.length > first) detail += ` | last exchange: ${describeExchange(last)}`;
  }
  await mark(id, 'end');
  if (opts.note) detail = detail ? `${detail} (${opts.note})` : opts.note;
  emit({ check: name, ok, detail, mark: id, expect_ops: opts.ops || [], expect_seq: opts.seq || [] });
  reported += 1;
  return ok;
}

function done() {
  emit({ done: true, reported });
}

function describeError(e) {
  if (!e) return String(e);
  const name = e.code || e.name || 'Error';
  return `${name}: ${e.message || JSON.stringify(e)}`;
}

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

// Runs fn and requires it to fail with the named error (e.name or e.code).
async function expectError(code, fn) {
  let result;
  try {
    result = await fn();
  } catch (e) {
    if (e && (e.code === code || e.name === code)) return e;
    throw new Error(`expected ${code}, got ${describeError(e)}`);
  }
  throw new Error(`expected ${code}, but the call succeeded: ${JSON.stringify(redact(result === undefined ? null : result))}`);
}

// Messages the pool "sent" (GET /_local-pool/outbox), newest last.
async function outbox(pool, user) {
  const q = new URLSearchParams({ pool, user });
  const r = await realFetch(`${ENDPOINT}/_local-pool/outbox?${q}`);
  assert(r.ok, `outbox answered ${r.status}`);
  return (await r.json()).messages;
}

// The newest code of a kind (sign_up, forgot_password, attribute_verification,
// admin_invitation) for a user, optionally sent to one destination.
async function latestCode(pool, user, kind, destination) {
  const messages = (await outbox(pool, user)).filter(
    (m) => m.kind === kind && (!destination || m.destination === destination));
  assert(messages.length, `no ${kind} message for ${user} in the outbox`);
  return messages[messages.length - 1].code;
}

// A Cognito call made directly (unsigned, like a browser), for checks after sign-out.
// Returns {status, body}.
async function rawCall(op, body) {
  const r = await realFetch(`${ENDPOINT}/`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `AWSCognitoIdentityProviderService.${op}` },
    body: JSON.stringify(body),
  });
  const text = await r.text();
  let parsed;
  try { parsed = JSON.parse(text); } catch (e) { parsed = text; }
  return { status: r.status, body: parsed };
}

// Requires a direct call to fail with `code`.
async function expectRawError(op, body, code) {
  const r = await rawCall(op, body);
  const type = r.body && typeof r.body === 'object' ? String(r.body.__type || '').split('#').pop() : '';
  assert(r.status >= 400 && type === code,
    `${op} with the old token: expected ${code}, got ${r.status} ${JSON.stringify(redact(r.body))}`);
}

function jwtPayload(token) {
  const part = String(token).split('.')[1];
  assert(part, 'not a JWT');
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// The challenges the client saw on the wire since exchanges[first]: one "REQUEST->ANSWER"
// per InitiateAuth / RespondToAuthChallenge (the AuthFlow or ChallengeName sent; the
// ChallengeName received, "tokens", or the error status).
function challengeTrail(first = 0) {
  return exchanges.slice(first)
    .filter((x) => x.op === 'InitiateAuth' || x.op === 'RespondToAuthChallenge')
    .map((x) => {
      const sent = (x.request && (x.request.AuthFlow || x.request.ChallengeName)) || '?';
      const r = x.response || {};
      const got = x.status !== 200 ? String(x.status) : r.ChallengeName || (r.AuthenticationResult ? 'tokens' : '?');
      return `${sent}->${got}`;
    });
}

// Requires the trail since `first` to be exactly `want`; returns it for the detail line.
function expectTrail(first, want) {
  const trail = challengeTrail(first);
  assert(JSON.stringify(trail) === JSON.stringify(want),
    `challenges on the wire: [${trail.join(', ')}], expected [${want.join(', ')}]`);
  return trail.join(', ');
}

// The RFC 6238 code (SHA-1, 30 s, 6 digits) of a base32 secret.
function totpNow(secret, at = Date.now()) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of secret.replace(/=+$/, '').toUpperCase()) {
    const v = alphabet.indexOf(c);
    assert(v >= 0, `not base32: ${secret}`);
    bits += v.toString(2).padStart(5, '0');
  }
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 30000)));
  const digest = require('crypto').createHmac('sha1', key).update(counter).digest();
  const offset = digest[digest.length - 1] & 0x0f;
  return String((digest.readUInt32BE(offset) & 0x7fffffff) % 1000000).padStart(6, '0');
}

module.exports = {
  ENDPOINT, CONFIG, DRIVER, plan, check, done, assert, expectError, outbox, latestCode,
  rawCall, expectRawError, jwtPayload, sleep, redact, exchanges, challengeTrail, expectTrail, totpNow,
};
