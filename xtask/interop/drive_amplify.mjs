// aws-amplify v6 against the local pool (run by `cargo xtask interop local-pool`).
// The pool, its client and the admin-created user come from setup_pool.py (boto3):
// Amplify has no admin API. Protocol and env: see common.cjs.
// Run from the directory whose node_modules holds aws-amplify (xtask copies it there).
import common from './common.cjs';
import { Amplify } from 'aws-amplify';
import {
  signUp, confirmSignUp, signIn, confirmSignIn, signOut, getCurrentUser, fetchAuthSession,
  fetchUserAttributes, updateUserAttributes, sendUserAttributeVerificationCode, confirmUserAttribute,
  updatePassword, resetPassword, confirmResetPassword, deleteUser, setUpTOTP, verifyTOTPSetup,
  updateMFAPreference, fetchMFAPreference, fetchDevices,
} from 'aws-amplify/auth';
import { cognitoUserPoolsTokenProvider } from 'aws-amplify/auth/cognito';

const {
  ENDPOINT, CONFIG, plan, check, done, assert, expectError, latestCode, expectRawError, sleep, exchanges,
  expectTrail, totpNow, outbox,
} = common;

// Amplify names a new device after navigator.userAgent before its ConfirmDevice; Node 20 has
// no navigator (Node 21 has), and without one Amplify silently skips the device confirmation.
if (typeof globalThis.navigator === 'undefined') {
  globalThis.navigator = { userAgent: `Node.js/${process.versions.node} (interop driver)` };
}

const POOL = CONFIG.userPoolId;
const CLIENT = CONFIG.clientId;
function configure(userPoolId, userPoolClientId) {
  Amplify.configure({
    Auth: {
      Cognito: {
        userPoolId, userPoolClientId, userPoolEndpoint: ENDPOINT,
        loginWith: { username: true }, signUpVerificationMethod: 'code',
      },
    },
  });
}
configure(POOL, CLIENT);
// Amplify keeps its tokens in this map (Node has no localStorage), so the driver can
// read the refresh token, which Amplify's API does not expose.
const store = new Map();
cognitoUserPoolsTokenProvider.setKeyValueStorage({
  setItem: async (k, v) => { store.set(k, v); },
  getItem: async (k) => (store.has(k) ? store.get(k) : null),
  removeItem: async (k) => { store.delete(k); },
  clear: async () => { store.clear(); },
});
function storedRefreshToken() {
  for (const [k, v] of store) if (k.endsWith('.refreshToken')) return v;
  throw new Error('no refresh token in Amplify\'s storage');
}

const U = 'amplify-alice';
const EMAIL = 'amplify-alice@example.com';
const EMAIL2 = 'alice.new@example.com';
const PW = 'Passw0rd!amp1';
const PW2 = 'Passw0rd!amp2';
const PW3 = 'Passw0rd!amp3';

plan(['sign-up', 'confirm-sign-up', 'wrong-password', 'srp-sign-in', 'attributes-read',
  'attributes-update-verify', 'refresh', 'change-password', 'sign-out-revocation', 'reset-password',
  'delete-user', 'new-password-required', 'totp-enrol', 'totp-sign-in', 'sms-mfa-sign-in', 'email-mfa-sign-in',
  'select-mfa-type', 'mfa-setup-totp', 'device-confirm', 'remembered-device-sign-in', 'custom-challenge',
  'user-auth-email-otp', 'user-auth-first-factor-selection']);

await check('sign-up', { ops: ['SignUp'] }, async () => {
  const r = await signUp({ username: U, password: PW, options: { userAttributes: { email: EMAIL } } });
  assert(!r.isSignUpComplete && r.nextStep.signUpStep === 'CONFIRM_SIGN_UP', JSON.stringify(r));
  assert(r.nextStep.codeDeliveryDetails?.deliveryMedium === 'EMAIL', JSON.stringify(r.nextStep));
});

await check('confirm-sign-up', { ops: ['ConfirmSignUp'] }, async () => {
  const code = await latestCode(POOL, U, 'sign_up');
  const r = await confirmSignUp({ username: U, confirmationCode: code });
  assert(r.isSignUpComplete, JSON.stringify(r));
  return `code ${code} from the outbox`;
});

await check('wrong-password', { ops: ['InitiateAuth', 'RespondToAuthChallenge:400'] }, async () => {
  await expectError('NotAuthorizedException', () => signIn({ username: U, password: 'Wrong-Passw0rd!' }));
});

await check('srp-sign-in', { ops: ['InitiateAuth', 'RespondToAuthChallenge'] }, async () => {
  const r = await signIn({ username: U, password: PW });
  assert(r.isSignedIn && r.nextStep.signInStep === 'DONE', JSON.stringify(r));
  const current = await getCurrentUser();
  assert(current.username === U, `getCurrentUser: ${JSON.stringify(current)}`);
  const { tokens } = await fetchAuthSession();
  assert(tokens.accessToken.payload.iss === `${ENDPOINT}/${POOL}`, `iss ${tokens.accessToken.payload.iss}`);
  assert(tokens.idToken.payload['cognito:username'] === U, 'ID token of another user');
});

await check('attributes-read', { ops: ['GetUser'] }, async () => {
  const a = await fetchUserAttributes();
  assert(a.email === EMAIL && a.email_verified === 'true' && a.sub, JSON.stringify(a));
});

await check('attributes-update-verify',
  { ops: ['UpdateUserAttributes', 'GetUserAttributeVerificationCode', 'VerifyUserAttribute'] }, async () => {
    const r = await updateUserAttributes({ userAttributes: { email: EMAIL2, name: 'Alice Amplify' } });
    assert(r.email && !r.email.isUpdated && r.email.nextStep.updateAttributeStep === 'CONFIRM_ATTRIBUTE_WITH_CODE',
      `email: ${JSON.stringify(r.email)}`);
    assert(r.name && r.name.isUpdated, `name: ${JSON.stringify(r.name)}`);
    let a = await fetchUserAttributes();
    assert(a.email === EMAIL2 && a.email_verified === 'false', `after the update: ${JSON.stringify(a)}`);
    await sendUserAttributeVerificationCode({ userAttributeKey: 'email' });
    const code = await latestCode(POOL, U, 'attribute_verification', EMAIL2);
    await confirmUserAttribute({ userAttributeKey: 'email', confirmationCode: code });
    a = await fetchUserAttributes();
    assert(a.email === EMAIL2 && a.email_verified === 'true' && a.name === 'Alice Amplify',
      `after verifying: ${JSON.stringify(a)}`);
  });

await check('refresh', { ops: ['GetTokensFromRefreshToken', 'GetUser'] }, async () => {
  const before = (await fetchAuthSession()).tokens.accessToken;
  await sleep(1100); // so that the new token's iat is later
  const after = (await fetchAuthSession({ forceRefresh: true })).tokens.accessToken;
  assert(after.toString() !== before.toString(), 'the same access token after refreshing');
  assert(after.payload.iat > before.payload.iat, `iat ${before.payload.iat} -> ${after.payload.iat}`);
  await fetchUserAttributes(); // the new token is accepted
  return `iat ${before.payload.iat} -> ${after.payload.iat}`;
});

await check('change-password', { ops: ['ChangePassword', 'RevokeToken', 'RespondToAuthChallenge'] }, async () => {
  await updatePassword({ oldPassword: PW, newPassword: PW2 });
  await signOut();
  const r = await signIn({ username: U, password: PW2 });
  assert(r.isSignedIn, `sign-in with the new password: ${JSON.stringify(r)}`);
});

await check('sign-out-revocation', { ops: ['RevokeToken', 'GetUser:400', 'GetTokensFromRefreshToken:400'] }, async () => {
  const access = (await fetchAuthSession()).tokens.accessToken.toString();
  const refresh = storedRefreshToken();
  await signOut();
  await expectError('UserUnAuthenticatedException', () => getCurrentUser());
  await expectRawError('GetUser', { AccessToken: access }, 'NotAuthorizedException');
  await expectRawError('GetTokensFromRefreshToken', { ClientId: CLIENT, RefreshToken: refresh }, 'NotAuthorizedException');
});

await check('reset-password', { ops: ['ForgotPassword', 'ConfirmForgotPassword', 'RespondToAuthChallenge'] }, async () => {
  const r = await resetPassword({ username: U });
  assert(r.nextStep.resetPasswordStep === 'CONFIRM_RESET_PASSWORD_WITH_CODE', JSON.stringify(r));
  const code = await latestCode(POOL, U, 'forgot_password');
  await confirmResetPassword({ username: U, confirmationCode: code, newPassword: PW3 });
  const s = await signIn({ username: U, password: PW3 });
  assert(s.isSignedIn, `sign-in with the new password: ${JSON.stringify(s)}`);
});

await check('delete-user', { ops: ['DeleteUser', 'InitiateAuth:400'] }, async () => {
  await deleteUser();
  await expectError('UserNotFoundException', () => signIn({ username: U, password: PW3 }));
});

await check('new-password-required',
  { ops: ['InitiateAuth', 'RespondToAuthChallenge', 'GetUser', 'RevokeToken'], note: 'user made by boto3 AdminCreateUser' },
  async () => {
    const A = CONFIG.adminUser.username;
    const temporary = await latestCode(POOL, A, 'admin_invitation');
    const r = await signIn({ username: A, password: temporary });
    assert(r.nextStep.signInStep === 'CONFIRM_SIGN_IN_WITH_NEW_PASSWORD_REQUIRED', JSON.stringify(r.nextStep));
    const c = await confirmSignIn({ challengeResponse: 'Admin-Passw0rd!1' });
    assert(c.isSignedIn, JSON.stringify(c));
    const a = await fetchUserAttributes();
    assert(a.email === CONFIG.adminUser.email, JSON.stringify(a));
    await signOut();
    const again = await signIn({ username: A, password: 'Admin-Passw0rd!1' });
    assert(again.isSignedIn, `sign-in with the chosen password: ${JSON.stringify(again)}`);
    await signOut();
  });

// ---------------------------------------------------------------- MFA, devices, custom auth, USER_AUTH
// Pools and users from setup_pool.py ("features"): made with boto3, permanent passwords.
const F = CONFIG.features;
const SRP = ['USER_SRP_AUTH->PASSWORD_VERIFIER'];
const step = (r) => r.nextStep.signInStep;

// Signs in with SRP (no MFA due yet) and returns after DONE.
async function plainSignIn(user) {
  const r = await signIn({ username: user.username, password: user.password });
  assert(r.isSignedIn && step(r) === 'DONE', `first sign-in: ${JSON.stringify(r)}`);
}

// A check that leaves a user signed in on failure must not fail the next ones: sign out
// after each, outside the check's marks.
async function featureCheck(name, opts, fn) {
  await check(name, opts, fn);
  await signOut().catch(() => {});
}

configure(F.mfa.userPoolId, F.mfa.clientId);
let totpSecret;

await featureCheck('totp-enrol', {
  seq: ['InitiateAuth', 'RespondToAuthChallenge', 'AssociateSoftwareToken', 'VerifySoftwareToken',
    'SetUserMFAPreference', 'GetUser', 'RevokeToken'],
}, async () => {
  const u = F.mfa.users.totp;
  await plainSignIn(u);
  const details = await setUpTOTP();
  totpSecret = details.sharedSecret;
  assert(/^[A-Z2-7]+=*$/.test(totpSecret), `sharedSecret ${totpSecret}`);
  const uri = details.getSetupUri('Interop', 'amplify-totp').toString();
  assert(uri === `otpauth://totp/Interop:amplify-totp?secret=${totpSecret}&issuer=Interop`, uri);
  await verifyTOTPSetup({ code: totpNow(totpSecret) });
  await updateMFAPreference({ totp: 'PREFERRED' });
  const pref = await fetchMFAPreference();
  assert(JSON.stringify(pref.enabled) === '["TOTP"]' && pref.preferred === 'TOTP', JSON.stringify(pref));
  await signOut();
  return `setUpTOTP, verifyTOTPSetup, updateMFAPreference totp PREFERRED; fetchMFAPreference ${JSON.stringify(pref)}`;
});

await featureCheck('totp-sign-in', { seq: ['InitiateAuth', 'RespondToAuthChallenge', 'RespondToAuthChallenge', 'RevokeToken'] },
  async () => {
    const u = F.mfa.users.totp;
    const first = exchanges.length;
    const r = await signIn({ username: u.username, password: u.password });
    assert(step(r) === 'CONFIRM_SIGN_IN_WITH_TOTP_CODE', JSON.stringify(r));
    const c = await confirmSignIn({ challengeResponse: totpNow(totpSecret) });
    assert(c.isSignedIn && step(c) === 'DONE', JSON.stringify(c));
    const trail = expectTrail(first, [...SRP, 'PASSWORD_VERIFIER->SOFTWARE_TOKEN_MFA', 'SOFTWARE_TOKEN_MFA->tokens']);
    await signOut();
    return `CONFIRM_SIGN_IN_WITH_TOTP_CODE -> DONE; wire: ${trail}`;
  });

// Enables a factor with updateMFAPreference, signs out, and signs in with the code from the outbox.
async function codeMfaSignIn(user, factor, signInStep, challenge, medium, destination) {
  await plainSignIn(user);
  await updateMFAPreference({ [factor]: 'PREFERRED' });
  await signOut();
  const first = exchanges.length;
  const r = await signIn({ username: user.username, password: user.password });
  assert(step(r) === signInStep, JSON.stringify(r));
  const d = r.nextStep.codeDeliveryDetails;
  assert(d && d.deliveryMedium === medium && d.destination && d.destination !== destination,
    `codeDeliveryDetails ${JSON.stringify(d)} (want ${medium}, masked)`);
  const code = await latestCode(F.mfa.userPoolId, user.username, 'mfa', destination);
  const c = await confirmSignIn({ challengeResponse: code });
  assert(c.isSignedIn && step(c) === 'DONE', JSON.stringify(c));
  const trail = expectTrail(first, [...SRP, `PASSWORD_VERIFIER->${challenge}`, `${challenge}->tokens`]);
  await signOut();
  return `updateMFAPreference ${factor} PREFERRED; ${signInStep} to ${d.destination}, code ${code} from the outbox -> DONE; wire: ${trail}`;
}
const CODE_MFA_SEQ = ['InitiateAuth', 'RespondToAuthChallenge', 'SetUserMFAPreference', 'RevokeToken',
  'InitiateAuth', 'RespondToAuthChallenge+mfa', 'RespondToAuthChallenge', 'RevokeToken'];

await featureCheck('sms-mfa-sign-in', { seq: CODE_MFA_SEQ }, () => {
  const u = F.mfa.users.sms;
  return codeMfaSignIn(u, 'sms', 'CONFIRM_SIGN_IN_WITH_SMS_CODE', 'SMS_MFA', 'SMS', u.phone);
});

await featureCheck('email-mfa-sign-in', { seq: CODE_MFA_SEQ }, () => {
  const u = F.mfa.users.email;
  return codeMfaSignIn(u, 'email', 'CONFIRM_SIGN_IN_WITH_EMAIL_CODE', 'EMAIL_OTP', 'EMAIL', u.email);
});

await featureCheck('select-mfa-type', {
  seq: ['InitiateAuth', 'RespondToAuthChallenge', 'SetUserMFAPreference', 'RevokeToken',
    'InitiateAuth', 'RespondToAuthChallenge', 'RespondToAuthChallenge+mfa', 'RespondToAuthChallenge', 'RevokeToken'],
}, async () => {
  const u = F.mfa.users.select;
  await plainSignIn(u);
  await updateMFAPreference({ sms: 'ENABLED', email: 'ENABLED' });
  await signOut();
  const first = exchanges.length;
  const r = await signIn({ username: u.username, password: u.password });
  assert(step(r) === 'CONTINUE_SIGN_IN_WITH_MFA_SELECTION', JSON.stringify(r));
  const allowed = [...r.nextStep.allowedMFATypes].sort();
  assert(JSON.stringify(allowed) === '["EMAIL","SMS"]', `allowedMFATypes ${JSON.stringify(r.nextStep.allowedMFATypes)}`);
  const e = await confirmSignIn({ challengeResponse: 'EMAIL' });
  assert(step(e) === 'CONFIRM_SIGN_IN_WITH_EMAIL_CODE' && e.nextStep.codeDeliveryDetails?.deliveryMedium === 'EMAIL',
    JSON.stringify(e));
  const code = await latestCode(F.mfa.userPoolId, u.username, 'mfa', u.email);
  const c = await confirmSignIn({ challengeResponse: code });
  assert(c.isSignedIn && step(c) === 'DONE', JSON.stringify(c));
  const sent = exchanges.slice(first).find((x) => x.request && x.request.ChallengeName === 'SELECT_MFA_TYPE');
  assert(sent && sent.request.ChallengeResponses.ANSWER === 'EMAIL_OTP', `SELECT_MFA_TYPE answer ${JSON.stringify(sent && sent.request)}`);
  const trail = expectTrail(first, [...SRP, 'PASSWORD_VERIFIER->SELECT_MFA_TYPE', 'SELECT_MFA_TYPE->EMAIL_OTP', 'EMAIL_OTP->tokens']);
  await signOut();
  return `CONTINUE_SIGN_IN_WITH_MFA_SELECTION ${JSON.stringify(r.nextStep.allowedMFATypes)} -> EMAIL -> CONFIRM_SIGN_IN_WITH_EMAIL_CODE -> DONE; wire: ${trail}`;
});

configure(F.mfaOn.userPoolId, F.mfaOn.clientId);
await featureCheck('mfa-setup-totp', {
  seq: ['InitiateAuth', 'RespondToAuthChallenge', 'AssociateSoftwareToken', 'VerifySoftwareToken', 'RespondToAuthChallenge',
    'RevokeToken', 'InitiateAuth', 'RespondToAuthChallenge', 'RespondToAuthChallenge', 'RevokeToken'],
  note: 'pool with MfaConfiguration ON, TOTP only',
}, async () => {
  const u = F.mfaOn.users.setup;
  const first = exchanges.length;
  const r = await signIn({ username: u.username, password: u.password });
  assert(step(r) === 'CONTINUE_SIGN_IN_WITH_TOTP_SETUP', JSON.stringify(r));
  const secret = r.nextStep.totpSetupDetails.sharedSecret;
  const c = await confirmSignIn({ challengeResponse: totpNow(secret) });
  assert(c.isSignedIn && step(c) === 'DONE', JSON.stringify(c));
  const setupTrail = expectTrail(first, [...SRP, 'PASSWORD_VERIFIER->MFA_SETUP', 'MFA_SETUP->tokens']);
  await signOut();
  const again = exchanges.length;
  const s2 = await signIn({ username: u.username, password: u.password });
  assert(step(s2) === 'CONFIRM_SIGN_IN_WITH_TOTP_CODE', `after the setup: ${JSON.stringify(s2)}`);
  const c2 = await confirmSignIn({ challengeResponse: totpNow(secret) });
  assert(c2.isSignedIn, JSON.stringify(c2));
  const trail = expectTrail(again, [...SRP, 'PASSWORD_VERIFIER->SOFTWARE_TOKEN_MFA', 'SOFTWARE_TOKEN_MFA->tokens']);
  await signOut();
  return `CONTINUE_SIGN_IN_WITH_TOTP_SETUP -> DONE (wire: ${setupTrail}); then CONFIRM_SIGN_IN_WITH_TOTP_CODE (wire: ${trail})`;
});

configure(F.devices.userPoolId, F.devices.clientId);
let deviceKey;
await featureCheck('device-confirm', {
  seq: ['InitiateAuth', 'RespondToAuthChallenge+mfa', 'RespondToAuthChallenge', 'ConfirmDevice', 'ListDevices', 'RevokeToken'],
  note: 'pool with ChallengeRequiredOnNewDevice, DeviceOnlyRememberedOnUserPrompt=false; SMS MFA preferred by boto3',
}, async () => {
  const u = F.devices.users.device;
  const first = exchanges.length;
  const r = await signIn({ username: u.username, password: u.password });
  assert(step(r) === 'CONFIRM_SIGN_IN_WITH_SMS_CODE', JSON.stringify(r));
  const code = await latestCode(F.devices.userPoolId, u.username, 'mfa', u.phone);
  const c = await confirmSignIn({ challengeResponse: code });
  assert(c.isSignedIn && step(c) === 'DONE', JSON.stringify(c));
  const trail = expectTrail(first, [...SRP, 'PASSWORD_VERIFIER->SMS_MFA', 'SMS_MFA->tokens']);
  const issued = exchanges.slice(first).find((x) => x.response?.AuthenticationResult?.NewDeviceMetadata);
  assert(issued, 'no NewDeviceMetadata with the tokens');
  deviceKey = issued.response.AuthenticationResult.NewDeviceMetadata.DeviceKey;
  const confirm = exchanges.slice(first).find((x) => x.op === 'ConfirmDevice');
  assert(confirm && confirm.request.DeviceKey === deviceKey && confirm.request.DeviceSecretVerifierConfig?.PasswordVerifier,
    `ConfirmDevice ${JSON.stringify(confirm && confirm.request)}`);
  const devices = await fetchDevices();
  assert(devices.length === 1 && devices[0].id === deviceKey, `fetchDevices ${JSON.stringify(devices)}`);
  await signOut();
  return `SMS code ${code}; ConfirmDevice ${deviceKey} sent by Amplify; wire: ${trail}`;
});

await featureCheck('remembered-device-sign-in', {
  seq: ['InitiateAuth', 'RespondToAuthChallenge', 'RespondToAuthChallenge', 'RespondToAuthChallenge', 'RevokeToken'],
  note: 'no MFA code sent by the pool',
}, async () => {
  const u = F.devices.users.device;
  const first = exchanges.length;
  const r = await signIn({ username: u.username, password: u.password });
  assert(r.isSignedIn && step(r) === 'DONE', `expected DONE without MFA: ${JSON.stringify(r)}`);
  const trail = expectTrail(first, [...SRP, 'PASSWORD_VERIFIER->DEVICE_SRP_AUTH', 'DEVICE_SRP_AUTH->DEVICE_PASSWORD_VERIFIER',
    'DEVICE_PASSWORD_VERIFIER->tokens']);
  const pv = exchanges.slice(first).find((x) => x.request?.ChallengeName === 'PASSWORD_VERIFIER');
  assert(pv.request.ChallengeResponses.DEVICE_KEY === deviceKey, `PASSWORD_VERIFIER DEVICE_KEY ${pv.request.ChallengeResponses.DEVICE_KEY}`);
  await signOut();
  return `signIn -> DONE with DEVICE_KEY ${deviceKey}; wire: ${trail}`;
});

configure(F.custom.userPoolId, F.custom.clientId);
await featureCheck('custom-challenge', {
  seq: ['InitiateAuth+custom_challenge', 'RespondToAuthChallenge+custom_challenge', 'RespondToAuthChallenge', 'RevokeToken'],
  note: 'built-in outbox_code hooks from local-pool-config.json',
}, async () => {
  const u = F.custom.users.custom;
  const first = exchanges.length;
  const r = await signIn({ username: u.username, options: { authFlowType: 'CUSTOM_WITHOUT_SRP' } });
  assert(step(r) === 'CONFIRM_SIGN_IN_WITH_CUSTOM_CHALLENGE', JSON.stringify(r));
  const info = r.nextStep.additionalInfo || {};
  assert(info.CODE_DELIVERY_DELIVERY_MEDIUM === 'EMAIL', `additionalInfo ${JSON.stringify(info)}`);
  const wrong = await confirmSignIn({ challengeResponse: 'not-the-code' });
  assert(step(wrong) === 'CONFIRM_SIGN_IN_WITH_CUSTOM_CHALLENGE', `after a wrong answer: ${JSON.stringify(wrong)}`);
  const sent = (await outbox(F.custom.userPoolId, u.username)).filter((m) => m.kind === 'custom_challenge');
  assert(sent.length === 2, `custom_challenge messages in the outbox: ${sent.length}, expected 2 (one per challenge)`);
  const code = sent[1].code;
  const c = await confirmSignIn({ challengeResponse: code });
  assert(c.isSignedIn && step(c) === 'DONE', JSON.stringify(c));
  const trail = expectTrail(first, ['CUSTOM_AUTH->CUSTOM_CHALLENGE', 'CUSTOM_CHALLENGE->CUSTOM_CHALLENGE', 'CUSTOM_CHALLENGE->tokens']);
  await signOut();
  return `CUSTOM_WITHOUT_SRP: CONFIRM_SIGN_IN_WITH_CUSTOM_CHALLENGE, a wrong answer -> the challenge again, code ${code} -> DONE; wire: ${trail}`;
});

configure(F.userAuth.userPoolId, F.userAuth.clientId);
await featureCheck('user-auth-email-otp', { seq: ['InitiateAuth+otp', 'RespondToAuthChallenge', 'RevokeToken'] }, async () => {
  const u = F.userAuth.users.otp;
  const first = exchanges.length;
  const r = await signIn({ username: u.username, options: { authFlowType: 'USER_AUTH', preferredChallenge: 'EMAIL_OTP' } });
  assert(step(r) === 'CONFIRM_SIGN_IN_WITH_EMAIL_CODE' && r.nextStep.codeDeliveryDetails?.deliveryMedium === 'EMAIL',
    JSON.stringify(r));
  const code = await latestCode(F.userAuth.userPoolId, u.username, 'otp', u.email);
  const c = await confirmSignIn({ challengeResponse: code });
  assert(c.isSignedIn && step(c) === 'DONE', JSON.stringify(c));
  const trail = expectTrail(first, ['USER_AUTH->EMAIL_OTP', 'EMAIL_OTP->tokens']);
  await signOut();
  return `preferredChallenge EMAIL_OTP -> CONFIRM_SIGN_IN_WITH_EMAIL_CODE -> DONE; wire: ${trail}`;
});

await featureCheck('user-auth-first-factor-selection', { seq: ['InitiateAuth', 'RespondToAuthChallenge+otp', 'RespondToAuthChallenge', 'RevokeToken'] },
  async () => {
    const u = F.userAuth.users.otp;
    const first = exchanges.length;
    const r = await signIn({ username: u.username, options: { authFlowType: 'USER_AUTH' } });
    assert(step(r) === 'CONTINUE_SIGN_IN_WITH_FIRST_FACTOR_SELECTION', JSON.stringify(r));
    const offered = r.nextStep.availableChallenges;
    assert(JSON.stringify(offered) === '["PASSWORD","PASSWORD_SRP","EMAIL_OTP"]', `availableChallenges ${JSON.stringify(offered)}`);
    const e = await confirmSignIn({ challengeResponse: 'EMAIL_OTP' });
    assert(step(e) === 'CONFIRM_SIGN_IN_WITH_EMAIL_CODE', JSON.stringify(e));
    const code = await latestCode(F.userAuth.userPoolId, u.username, 'otp', u.email);
    const c = await confirmSignIn({ challengeResponse: code });
    assert(c.isSignedIn && step(c) === 'DONE', JSON.stringify(c));
    const trail = expectTrail(first, ['USER_AUTH->SELECT_CHALLENGE', 'SELECT_CHALLENGE->EMAIL_OTP', 'EMAIL_OTP->tokens']);
    await signOut();
    return `CONTINUE_SIGN_IN_WITH_FIRST_FACTOR_SELECTION ${JSON.stringify(offered)} -> EMAIL_OTP -> CONFIRM_SIGN_IN_WITH_EMAIL_CODE -> DONE; wire: ${trail}`;
  });

done();
