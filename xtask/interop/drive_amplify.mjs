// aws-amplify v6 against the local pool (run by `cargo xtask interop local-pool`).
// The pool, its client and the admin-created user come from setup_pool.py (boto3):
// Amplify has no admin API. Protocol and env: see common.cjs.
// Run from the directory whose node_modules holds aws-amplify (xtask copies it there).
import common from './common.cjs';
import { Amplify } from 'aws-amplify';
import {
  signUp, confirmSignUp, signIn, confirmSignIn, signOut, getCurrentUser, fetchAuthSession,
  fetchUserAttributes, updateUserAttributes, sendUserAttributeVerificationCode, confirmUserAttribute,
  updatePassword, resetPassword, confirmResetPassword, deleteUser,
} from 'aws-amplify/auth';
import { cognitoUserPoolsTokenProvider } from 'aws-amplify/auth/cognito';

const {
  ENDPOINT, CONFIG, plan, check, done, assert, expectError, latestCode, expectRawError, sleep,
} = common;

const POOL = CONFIG.userPoolId;
const CLIENT = CONFIG.clientId;
Amplify.configure({
  Auth: {
    Cognito: {
      userPoolId: POOL, userPoolClientId: CLIENT, userPoolEndpoint: ENDPOINT,
      loginWith: { username: true }, signUpVerificationMethod: 'code',
    },
  },
});
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
  'delete-user', 'new-password-required']);

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

done();
