// amazon-cognito-identity-js against the local pool (run by `cargo xtask interop local-pool`).
// The pool, its client and the admin-created user come from setup_pool.py (boto3):
// the library has no admin API. Protocol and env: see common.cjs.
// Run from the directory whose node_modules holds amazon-cognito-identity-js.
'use strict';
const {
  ENDPOINT, CONFIG, plan, check, done, assert, expectError, latestCode, expectRawError, jwtPayload, sleep,
  exchanges, expectTrail,
} = require('./common.cjs');
const {
  CognitoUserPool, CognitoUser, AuthenticationDetails, CognitoUserAttribute,
} = require('amazon-cognito-identity-js');

const POOL = CONFIG.userPoolId;
const CLIENT = CONFIG.clientId;
const pool = new CognitoUserPool({ UserPoolId: POOL, ClientId: CLIENT, endpoint: ENDPOINT });
// The pools of the device and custom-auth checks (setup_pool.py "features").
const F = CONFIG.features;
const devicePool = new CognitoUserPool({ UserPoolId: F.devices.userPoolId, ClientId: F.devices.clientId, endpoint: ENDPOINT });
const customPool = new CognitoUserPool({ UserPoolId: F.custom.userPoolId, ClientId: F.custom.clientId, endpoint: ENDPOINT });

const U = 'acij-carol';
const EMAIL = 'acij-carol@example.com';
const EMAIL2 = 'carol.new@example.com';
const PW = 'Passw0rd!acij1';
const PW2 = 'Passw0rd!acij2';
const PW3 = 'Passw0rd!acij3';

// Promise wrappers around the callback API.
const nodeCb = (fn) => new Promise((resolve, reject) => fn((err, data) => (err ? reject(err) : resolve(data))));
const attr = (Name, Value) => new CognitoUserAttribute({ Name, Value });
const userOf = (username, inPool = pool) => new CognitoUser({ Username: username, Pool: inPool });
function authenticate(user, username, password) {
  return new Promise((resolve, reject) => {
    user.authenticateUser(new AuthenticationDetails({ Username: username, Password: password }), {
      onSuccess: (session) => resolve({ session }),
      onFailure: reject,
      newPasswordRequired: (userAttributes, requiredAttributes) =>
        resolve({ challenge: 'NEW_PASSWORD_REQUIRED', userAttributes, requiredAttributes }),
      mfaRequired: (challenge, parameters) => resolve({ challenge, parameters }),
      totpRequired: (challenge) => resolve({ challenge }),
      mfaSetup: (challenge) => resolve({ challenge }),
      selectMFAType: (challenge) => resolve({ challenge }),
      customChallenge: () => resolve({ challenge: 'CUSTOM_CHALLENGE' }),
    });
  });
}
async function attributes(user) {
  const list = await nodeCb((cb) => user.getUserAttributes(cb));
  return Object.fromEntries(list.map((a) => [a.getName(), a.getValue()]));
}
const signOut = (user) => new Promise((resolve, reject) => user.signOut((err) => (err ? reject(err) : resolve())));

(async () => {
  plan(['sign-up', 'confirm-sign-up', 'wrong-password', 'srp-sign-in', 'attributes-read',
    'attributes-update-verify', 'refresh', 'change-password', 'sign-out-revocation', 'reset-password',
    'delete-user', 'new-password-required', 'device-confirm', 'remembered-device-sign-in', 'custom-challenge']);
  const user = userOf(U);

  await check('sign-up', { ops: ['SignUp'] }, async () => {
    const r = await nodeCb((cb) => pool.signUp(U, PW, [attr('email', EMAIL)], null, cb));
    assert(r.userConfirmed === false && r.userSub, JSON.stringify({ confirmed: r.userConfirmed, sub: r.userSub }));
    assert(r.codeDeliveryDetails && r.codeDeliveryDetails.DeliveryMedium === 'EMAIL', JSON.stringify(r.codeDeliveryDetails));
  });

  await check('confirm-sign-up', { ops: ['ConfirmSignUp'] }, async () => {
    const code = await latestCode(POOL, U, 'sign_up');
    const r = await nodeCb((cb) => user.confirmRegistration(code, true, cb));
    assert(r === 'SUCCESS', JSON.stringify(r));
    return `code ${code} from the outbox`;
  });

  await check('wrong-password', { ops: ['InitiateAuth', 'RespondToAuthChallenge:400'] }, async () => {
    await expectError('NotAuthorizedException', () => authenticate(userOf(U), U, 'Wrong-Passw0rd!'));
  });

  await check('srp-sign-in', { ops: ['InitiateAuth', 'RespondToAuthChallenge'] }, async () => {
    const r = await authenticate(user, U, PW);
    assert(r.session && r.session.isValid(), JSON.stringify(r));
    const claims = r.session.getAccessToken().decodePayload();
    assert(claims.iss === `${ENDPOINT}/${POOL}` && claims.username === U, JSON.stringify(claims));
    assert(exchanges.some((x) => x.op === 'InitiateAuth' && x.request.AuthFlow === 'USER_SRP_AUTH'), 'no USER_SRP_AUTH sent');
  });

  await check('attributes-read', { ops: ['GetUser'] }, async () => {
    const a = await attributes(user);
    assert(a.email === EMAIL && a.email_verified === 'true' && a.sub, JSON.stringify(a));
  });

  await check('attributes-update-verify',
    { ops: ['UpdateUserAttributes', 'GetUserAttributeVerificationCode', 'VerifyUserAttribute'] }, async () => {
      await nodeCb((cb) => user.updateAttributes([attr('email', EMAIL2), attr('name', 'Carol Acij')], cb));
      let a = await attributes(user);
      assert(a.email === EMAIL2 && a.email_verified === 'false', `after the update: ${JSON.stringify(a)}`);
      await new Promise((resolve, reject) => user.getAttributeVerificationCode('email', {
        onSuccess: resolve, onFailure: reject, inputVerificationCode: resolve,
      }));
      const code = await latestCode(POOL, U, 'attribute_verification', EMAIL2);
      await new Promise((resolve, reject) => user.verifyAttribute('email', code, { onSuccess: resolve, onFailure: reject }));
      a = await attributes(user);
      assert(a.email === EMAIL2 && a.email_verified === 'true' && a.name === 'Carol Acij', `after verifying: ${JSON.stringify(a)}`);
    });

  await check('refresh', { ops: ['InitiateAuth', 'GetUser'] }, async () => {
    const before = user.getSignInUserSession();
    const first = exchanges.length;
    await sleep(1100); // so that the new token's iat is later
    const fresh = await nodeCb((cb) => user.refreshSession(before.getRefreshToken(), cb));
    assert(fresh.isValid(), 'refreshed session is not valid');
    const sent = exchanges.slice(first).filter((x) => x.op === 'InitiateAuth');
    assert(sent.length === 1 && sent[0].request.AuthFlow === 'REFRESH_TOKEN_AUTH',
      `expected one InitiateAuth REFRESH_TOKEN_AUTH, sent ${JSON.stringify(sent.map((x) => x.request.AuthFlow))}`);
    const a = jwtPayload(before.getAccessToken().getJwtToken());
    const b = jwtPayload(fresh.getAccessToken().getJwtToken());
    assert(fresh.getAccessToken().getJwtToken() !== before.getAccessToken().getJwtToken(), 'the same access token');
    assert(b.iat > a.iat, `iat ${a.iat} -> ${b.iat}`);
    await attributes(user); // the new token is accepted
    return `REFRESH_TOKEN_AUTH, iat ${a.iat} -> ${b.iat}`;
  });

  await check('change-password', { ops: ['ChangePassword', 'RespondToAuthChallenge'] }, async () => {
    const r = await nodeCb((cb) => user.changePassword(PW, PW2, cb));
    assert(r === 'SUCCESS', JSON.stringify(r));
    const s = await authenticate(userOf(U), U, PW2);
    assert(s.session && s.session.isValid(), `sign-in with the new password: ${JSON.stringify(s)}`);
  });

  await check('sign-out-revocation', { ops: ['RevokeToken', 'GetUser:400', 'InitiateAuth:400'] }, async () => {
    const session = user.getSignInUserSession();
    const access = session.getAccessToken().getJwtToken();
    const refresh = session.getRefreshToken().getToken();
    await signOut(user);
    assert(!user.getSignInUserSession(), 'still a session after signOut');
    await expectRawError('GetUser', { AccessToken: access }, 'NotAuthorizedException');
    await expectRawError('InitiateAuth',
      { AuthFlow: 'REFRESH_TOKEN_AUTH', ClientId: CLIENT, AuthParameters: { REFRESH_TOKEN: refresh } },
      'NotAuthorizedException');
  });

  await check('reset-password', { ops: ['ForgotPassword', 'ConfirmForgotPassword', 'RespondToAuthChallenge'] }, async () => {
    const delivery = await new Promise((resolve, reject) =>
      user.forgotPassword({ onSuccess: resolve, onFailure: reject, inputVerificationCode: resolve }));
    assert(delivery && delivery.CodeDeliveryDetails, JSON.stringify(delivery));
    const code = await latestCode(POOL, U, 'forgot_password');
    await new Promise((resolve, reject) => user.confirmPassword(code, PW3, { onSuccess: resolve, onFailure: reject }));
    const s = await authenticate(user, U, PW3);
    assert(s.session && s.session.isValid(), `sign-in with the new password: ${JSON.stringify(s)}`);
  });

  await check('delete-user', { ops: ['DeleteUser', 'InitiateAuth:400'] }, async () => {
    const r = await nodeCb((cb) => user.deleteUser(cb));
    assert(r === 'SUCCESS', JSON.stringify(r));
    await expectError('UserNotFoundException', () => authenticate(userOf(U), U, PW3));
  });

  await check('new-password-required',
    { ops: ['InitiateAuth', 'RespondToAuthChallenge', 'GetUser', 'RevokeToken'], note: 'user made by boto3 AdminCreateUser' },
    async () => {
      const A = CONFIG.adminUser.username;
      const admin = userOf(A);
      const temporary = await latestCode(POOL, A, 'admin_invitation');
      const r = await authenticate(admin, A, temporary);
      assert(r.challenge === 'NEW_PASSWORD_REQUIRED', JSON.stringify(r));
      await new Promise((resolve, reject) =>
        admin.completeNewPasswordChallenge('Admin-Passw0rd!1', {}, { onSuccess: resolve, onFailure: reject }));
      const a = await attributes(admin);
      assert(a.email === CONFIG.adminUser.email, JSON.stringify(a));
      await signOut(admin);
      const again = await authenticate(userOf(A), A, 'Admin-Passw0rd!1');
      assert(again.session && again.session.isValid(), `sign-in with the chosen password: ${JSON.stringify(again)}`);
    });

  // ------------------------------------------------------------ devices, custom auth
  // acij keeps device keys in its storage (memory in Node) across CognitoUser objects and
  // sign-outs, as in a browser's localStorage.
  const D = F.devices.users.device;
  let deviceKey;
  await check('device-confirm', {
    seq: ['InitiateAuth', 'RespondToAuthChallenge+mfa', 'RespondToAuthChallenge', 'ConfirmDevice', 'ListDevices', 'RevokeToken'],
    note: 'pool with ChallengeRequiredOnNewDevice, DeviceOnlyRememberedOnUserPrompt=false; SMS MFA preferred by boto3',
  }, async () => {
    const u = userOf(D.username, devicePool);
    const first = exchanges.length;
    const r = await authenticate(u, D.username, D.password);
    assert(r.challenge === 'SMS_MFA' && r.parameters?.CODE_DELIVERY_DELIVERY_MEDIUM === 'SMS', `mfaRequired: ${JSON.stringify(r)}`);
    const code = await latestCode(F.devices.userPoolId, D.username, 'mfa', D.phone);
    const confirmation = await new Promise((resolve, reject) => u.sendMFACode(code, {
      onSuccess: (session, userConfirmationNecessary) => resolve({ session, userConfirmationNecessary }),
      onFailure: reject,
    }, 'SMS_MFA'));
    assert(confirmation.session.isValid(), 'no valid session after SMS_MFA');
    const trail = expectTrail(first, ['USER_SRP_AUTH->PASSWORD_VERIFIER', 'PASSWORD_VERIFIER->SMS_MFA', 'SMS_MFA->tokens']);
    const sent = exchanges.slice(first).find((x) => x.op === 'ConfirmDevice');
    assert(sent && sent.request.DeviceSecretVerifierConfig?.PasswordVerifier && sent.request.DeviceSecretVerifierConfig?.Salt,
      `ConfirmDevice ${JSON.stringify(sent && sent.request)}`);
    deviceKey = sent.request.DeviceKey;
    assert(u.deviceKey === deviceKey, `acij's device key ${u.deviceKey}, confirmed ${deviceKey}`);
    assert(confirmation.userConfirmationNecessary !== true, 'UserConfirmationNecessary with DeviceOnlyRememberedOnUserPrompt=false');
    const listed = await new Promise((resolve, reject) => u.listDevices(10, null, { onSuccess: resolve, onFailure: reject }));
    const device = (listed.Devices || []).find((d) => d.DeviceKey === deviceKey);
    const status = device && (device.DeviceAttributes || []).find((a) => a.Name === 'dev:device_remembered_status');
    assert(status && status.Value === 'remembered', `ListDevices: ${JSON.stringify(listed.Devices)}`);
    await signOut(u);
    return `mfaRequired SMS_MFA, code ${code} from the outbox, ConfirmDevice ${deviceKey} (remembered); wire: ${trail}`;
  });

  await check('remembered-device-sign-in', {
    seq: ['InitiateAuth', 'RespondToAuthChallenge', 'RespondToAuthChallenge', 'RespondToAuthChallenge', 'RevokeToken'],
    note: 'no MFA code sent by the pool',
  }, async () => {
    const u = userOf(D.username, devicePool);
    const first = exchanges.length;
    const r = await authenticate(u, D.username, D.password);
    assert(r.session && r.session.isValid(), `expected a session without MFA: ${JSON.stringify(r)}`);
    const trail = expectTrail(first, ['USER_SRP_AUTH->PASSWORD_VERIFIER', 'PASSWORD_VERIFIER->DEVICE_SRP_AUTH',
      'DEVICE_SRP_AUTH->DEVICE_PASSWORD_VERIFIER', 'DEVICE_PASSWORD_VERIFIER->tokens']);
    // acij reads its stored device key after InitiateAuth and sends it with PASSWORD_VERIFIER.
    const pv = exchanges.slice(first).find((x) => x.request?.ChallengeName === 'PASSWORD_VERIFIER');
    assert(pv.request.ChallengeResponses.DEVICE_KEY === deviceKey, `PASSWORD_VERIFIER DEVICE_KEY ${pv.request.ChallengeResponses.DEVICE_KEY}`);
    await signOut(u);
    return `authenticateUser -> onSuccess with DEVICE_KEY ${deviceKey}; wire: ${trail}`;
  });

  await check('custom-challenge', {
    seq: ['InitiateAuth', 'RespondToAuthChallenge', 'RespondToAuthChallenge', 'RevokeToken'],
    note: 'built-in fixed_answer hooks from local-pool-config.json',
  }, async () => {
    const C = F.custom.users.custom;
    const u = userOf(C.username, customPool);
    u.setAuthenticationFlowType('CUSTOM_AUTH');
    const first = exchanges.length;
    const callbacks = (resolve, reject) => ({
      onSuccess: (session) => resolve({ session }),
      onFailure: reject,
      customChallenge: (parameters) => resolve({ challenge: 'CUSTOM_CHALLENGE', parameters }),
    });
    const r = await new Promise((resolve, reject) =>
      u.initiateAuth(new AuthenticationDetails({ Username: C.username }), callbacks(resolve, reject)));
    assert(r.challenge === 'CUSTOM_CHALLENGE' && r.parameters?.USERNAME === C.username, `initiateAuth: ${JSON.stringify(r)}`);
    const wrong = await new Promise((resolve, reject) => u.sendCustomChallengeAnswer('41', callbacks(resolve, reject)));
    assert(wrong.challenge === 'CUSTOM_CHALLENGE', `after a wrong answer: ${JSON.stringify(wrong)}`);
    const right = await new Promise((resolve, reject) => u.sendCustomChallengeAnswer('42', callbacks(resolve, reject)));
    assert(right.session && right.session.isValid(), `after the answer: ${JSON.stringify(right)}`);
    assert(right.session.getAccessToken().decodePayload().username === C.username, 'tokens of another user');
    const trail = expectTrail(first, ['CUSTOM_AUTH->CUSTOM_CHALLENGE', 'CUSTOM_CHALLENGE->CUSTOM_CHALLENGE', 'CUSTOM_CHALLENGE->tokens']);
    await signOut(u);
    return `initiateAuth -> customChallenge, answer 41 -> customChallenge, 42 -> onSuccess; wire: ${trail}`;
  });

  done();
})().catch((e) => { console.error(e); process.exit(2); });
