#!/usr/bin/env node
// amazon-cognito-identity-js AuthenticationHelper: one whole client SRP
// operation per iteration, the work CognitoUser.authenticateUserDefaultAuth
// does: new AuthenticationHelper (random a, A = g^a), getPasswordAuthenticationKey
// (u, x, g^x, S, HKDF) and the HMAC signature over the claim.
// Run by `cargo xtask bench srp`:
//   node srp_bench_acij.cjs --node-modules DIR --iterations N --challenge JSON
'use strict';

const path = require('path');

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
}
const NM = path.resolve(arg('--node-modules', path.join(process.cwd(), 'node_modules')));
const iterations = Number(arg('--iterations', '10'));
const warmup = Number(arg('--warmup', '2'));
const c = JSON.parse(arg('--challenge'));

const acijDir = path.join(NM, 'amazon-cognito-identity-js');
const AuthenticationHelper = require(path.join(acijDir, 'lib/AuthenticationHelper.js')).default;
const BigInteger = require(path.join(acijDir, 'lib/BigInteger.js')).default;
// The same copies amazon-cognito-identity-js itself loads.
const fromAcij = (name) => require(require.resolve(name, { paths: [acijDir] }));
const { Sha256 } = fromAcij('@aws-crypto/sha256-js');
const { Buffer } = fromAcij('buffer');
const version = require(path.join(acijDir, 'package.json')).version;

const poolName = c.pool_id.split('_')[1];

function op() {
  const helper = new AuthenticationHelper(poolName);
  let signature = null;
  const srpA = helper.largeAValue.toString(16);
  helper.getPasswordAuthenticationKey(c.username, c.password, new BigInteger(c.srp_b, 16), new BigInteger(c.salt, 16), (err, hkdf) => {
    if (err) throw err;
    const msg = Buffer.concat([
      Buffer.from(poolName, 'utf8'),
      Buffer.from(c.username, 'utf8'),
      Buffer.from(c.secret_block, 'base64'),
      Buffer.from(c.timestamp, 'utf8'),
    ]);
    const h = new Sha256(hkdf);
    h.update(msg);
    signature = Buffer.from(h.digestSync()).toString('base64');
  });
  if (signature === null) throw new Error('getPasswordAuthenticationKey did not call back synchronously');
  return [srpA, signature];
}

// Self-check: with the challenge's fixed a, the signature must match.
if (c.check_a_hex) {
  const real = globalThis.crypto.getRandomValues.bind(globalThis.crypto);
  const feed = [...Buffer.from(c.check_a_hex, 'hex')];
  globalThis.crypto.getRandomValues = (arr) => {
    const b = feed.splice(0, 4);
    arr[0] = ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
    return arr;
  };
  const [, sig] = op();
  globalThis.crypto.getRandomValues = real;
  if (sig !== c.check_signature) throw new Error(`acij computes ${sig}, expected ${c.check_signature}`);
}

for (let i = 0; i < warmup; i++) op();
const samples = [];
for (let i = 0; i < iterations; i++) {
  const t0 = process.hrtime.bigint();
  op();
  samples.push(Number(process.hrtime.bigint() - t0) / 1000);
}
samples.sort((a, b) => a - b);
const n = samples.length;
const median = n % 2 ? samples[(n - 1) / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2;
const p90 = samples[Math.min(n - 1, Math.ceil(n * 0.9) - 1)];
const r = (v) => Math.round(v * 10) / 10;
console.log(JSON.stringify({ name: 'amazon-cognito-identity-js AuthenticationHelper', version, iterations, median_us: r(median), min_us: r(samples[0]), p90_us: r(p90) }));
