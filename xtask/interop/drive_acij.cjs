// amazon-cognito-identity-js against the local pool (run by `cargo xtask interop local-pool`).
// The pool, its client and the admin-created user come from setup_pool.py (boto3):
// the library has no admin API. Protocol and env: see common.cjs.
// Run from the directory whose node_modules holds amazon-cognito-identity-js.
'use strict';
const {
  ENDPOINT, CONFIG, plan, check, done, assert, expectError, latestCode, expectRawError, jwtPayload, sleep,
  exchanges,
} = require('./common.cjs');
const {
  CognitoUserPool, CognitoUser, AuthenticationDetails, CognitoUserAttribute,
} = require('amazon-cognito-identity-js');

const POOL = CONFIG.userPoolId;
const CLIENT = CONFIG.clientId;
const pool = new CognitoUserPool({ UserPoolId: POOL, ClientId: CLIENT, endpoint: ENDPOINT });

const U = 'acij-carol';
const EMAIL = 'acij-carol@example.com';
const EMAIL2 = 'carol.new@example.com';
const PW = 'Passw0rd!acij1';
const PW2 = 'Passw0rd!acij2';
const PW3 = 'Passw0rd!acij3';

// Promise wrappers around the callback API.
const nodeCb = (fn) => new Promise((resolve, reject) => fn((err, data) => (err ? reject(err) : resolve(data))));
const attr = (Name, Value) => new CognitoUserAttribute({ Name, Value });
const userOf = (username) => new CognitoUser({ Username: username, Pool: pool });
function authenticate(user, username, password) {
  return new Promise((resolve, reject) => {
    user.authenticateUser(new AuthenticationDetails({ Username: username, Password: password }), {
      onSuccess: (session) => resolve({ session }),
      onFailure: reject,
      newPasswordRequired: (userAttributes, requiredAttributes) =>
        resolve({ challenge: 'NEW_PASSWORD_REQUIRED', userAttributes, requiredAttributes }),
      mfaRequired: (challenge) => resolve({ challenge }),
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
    'delete-user', 'new-password-required']);
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

  done();
})().catch((e) => { console.error(e); process.exit(2); });
