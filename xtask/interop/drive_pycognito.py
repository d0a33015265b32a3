#!/usr/bin/env python3
"""pycognito (and boto3) against the local pool (run by `cargo xtask interop local-pool`).

This driver makes its own pool and client with boto3 and its admin-created user
with pycognito's admin_create_user. pycognito verifies every token it receives
against the pool's JWKS, with the issuer it derives from endpoint_url
(http://127.0.0.1:PORT/<poolId>), which is the local pool's. Protocol and env:
see interop_common.py.
"""

import time

from pycognito import Cognito
from pycognito.exceptions import (ForceChangePasswordException, SMSMFAChallengeException,
                                  SoftwareTokenMFAChallengeException)

from interop_common import (ENDPOINT, Checks, challenge_trail, check, error_code, exchanges, expect_error,
                            idp_client, instrument, jwt_payload, latest_code, make_confirmed_user,
                            make_feature_pool, make_pool, totp_now)

U, EMAIL, EMAIL2 = "py-erin", "py-erin@example.com", "erin.new@example.com"
PW, PW2, PW3 = "Passw0rd!py1", "Passw0rd!py2", "Passw0rd!py3"
A, A_EMAIL, A_PW = "py-admin-made", "py-admin-made@example.com", "Admin-Passw0rd!1"


def main():
    checks = Checks(["sign-up", "confirm-sign-up", "wrong-password", "srp-sign-in", "attributes-read",
                     "attributes-update-verify", "refresh", "change-password", "sign-out-revocation",
                     "sign-in-after-global-sign-out", "reset-password", "delete-user", "new-password-required",
                     "totp-enrol", "totp-sign-in", "sms-mfa-sign-in"])
    admin = idp_client()
    pool, cid = make_pool(admin, "interop-pycognito")

    def cognito(username, **kwargs):
        c = Cognito(pool, cid, username=username, boto3_client_kwargs={"endpoint_url": ENDPOINT}, **kwargs)
        instrument(c.client)
        return c

    u = cognito(U)
    u.set_base_attributes(email=EMAIL)

    def sign_up():
        r = u.register(U, PW)
        check(r.get("UserConfirmed") is False, f"UserConfirmed: {r.get('UserConfirmed')}")
        check(r.get("CodeDeliveryDetails", {}).get("DeliveryMedium") == "EMAIL", str(r.get("CodeDeliveryDetails")))
    checks.run("sign-up", sign_up, ops=["SignUp"])

    def confirm():
        code = latest_code(pool, U, "sign_up")
        u.confirm_sign_up(code)
        status = admin.admin_get_user(UserPoolId=pool, Username=U)["UserStatus"]
        check(status == "CONFIRMED", f"UserStatus {status}")
        return f"code {code} from the outbox"
    checks.run("confirm-sign-up", confirm, ops=["ConfirmSignUp"])

    checks.run("wrong-password", lambda: expect_error("NotAuthorizedException", cognito(U).authenticate,
                                                      "Wrong-Passw0rd!"),
               ops=["InitiateAuth", "RespondToAuthChallenge:400"])

    def sign_in():
        u.authenticate(PW)  # pycognito verifies both tokens (JWKS, issuer, audience, token_use)
        check(u.access_claims["username"] == U, str(u.access_claims))
        check(u.id_claims["iss"] == f"{ENDPOINT}/{pool}", u.id_claims["iss"])
    checks.run("srp-sign-in", sign_in, ops=["InitiateAuth", "RespondToAuthChallenge"])

    def read_attributes():
        user = u.get_user()
        check(user.email == EMAIL and user.email_verified is True and user.sub, _shown(user))
    checks.run("attributes-read", read_attributes, ops=["GetUser"])

    def update_and_verify():
        u.update_profile({"email": EMAIL2, "name": "Erin Py"})
        user = u.get_user()
        check(user.email == EMAIL2 and user.email_verified is False, f"after the update: {_shown(user)}")
        u.send_verification("email")
        code = latest_code(pool, U, "attribute_verification", EMAIL2)
        u.validate_verification(code, "email")
        user = u.get_user()
        check(user.email == EMAIL2 and user.email_verified is True and user.name == "Erin Py",
              f"after verifying: {_shown(user)}")
    checks.run("attributes-update-verify", update_and_verify,
               ops=["UpdateUserAttributes", "GetUserAttributeVerificationCode", "VerifyUserAttribute"])

    def refresh():
        before = u.access_token
        first = len(exchanges)
        time.sleep(1.1)  # so that the new token's iat is later
        u.renew_access_token()
        sent = [x["request"].get("AuthFlow") for x in exchanges[first:] if x["op"] == "InitiateAuth"]
        check(sent == ["REFRESH_TOKEN_AUTH"], f"expected one InitiateAuth REFRESH_TOKEN_AUTH, sent {sent}")
        check(u.access_token != before, "the same access token")
        a, b = jwt_payload(before)["iat"], jwt_payload(u.access_token)["iat"]
        check(b > a, f"iat {a} -> {b}")
        u.get_user()  # the new token is accepted
        return f"REFRESH_TOKEN_AUTH, iat {a} -> {b}"
    checks.run("refresh", refresh, ops=["InitiateAuth", "GetUser"])

    def change_password():
        u.change_password(PW, PW2)
        cognito(U).authenticate(PW2)
    checks.run("change-password", change_password, ops=["ChangePassword", "RespondToAuthChallenge"])

    def sign_out():
        access, refresh_token = u.access_token, u.refresh_token
        u.logout()
        check(u.access_token is None, "tokens kept after logout")
        expect_error("NotAuthorizedException", admin.get_user, AccessToken=access)
        expect_error("NotAuthorizedException", admin.initiate_auth, ClientId=cid, AuthFlow="REFRESH_TOKEN_AUTH",
                     AuthParameters={"REFRESH_TOKEN": refresh_token})
    checks.run("sign-out-revocation", sign_out, ops=["GlobalSignOut", "GetUser:400", "InitiateAuth:400"],
               note="pycognito's logout is GlobalSignOut; old tokens tried with boto3")

    def sign_in_after_sign_out():
        # Sign out everywhere early in a wall-clock second, then sign in again at once:
        # the new tokens were issued after the sign-out, so they must work (a pool that
        # revokes by whole seconds of iat would refuse them).
        time.sleep(1.02 - time.time() % 1)
        try:
            s = cognito(U)
            s.authenticate(PW2)
            s.logout()
            signed_out = time.time()
            s.authenticate(PW2)
            iat = jwt_payload(s.access_token)["iat"]
            try:
                s.get_user()
                s.renew_access_token()
            except Exception as e:
                raise AssertionError(
                    f"GlobalSignOut answered at {signed_out:.3f}, then a new SRP sign-in gave tokens with iat {iat}; "
                    f"using them: {error_code(e) or type(e).__name__}: {e}") from None
        finally:
            time.sleep(1.02 - time.time() % 1)  # later checks start in a fresh second
    checks.run("sign-in-after-global-sign-out", sign_in_after_sign_out,
               ops=["GlobalSignOut", "RespondToAuthChallenge", "GetUser", "InitiateAuth"])

    def reset_password():
        u.initiate_forgot_password()
        code = latest_code(pool, U, "forgot_password")
        u.confirm_forgot_password(code, PW3)
        u.authenticate(PW3)
    checks.run("reset-password", reset_password,
               ops=["ForgotPassword", "ConfirmForgotPassword", "RespondToAuthChallenge"])

    def delete_user():
        u.delete_user()
        expect_error("UserNotFoundException", cognito(U).authenticate, PW3)
        expect_error("UserNotFoundException", admin.admin_get_user, UserPoolId=pool, Username=U)
    checks.run("delete-user", delete_user, ops=["DeleteUser", "InitiateAuth:400"])

    def new_password_required():
        # pycognito's admin API (signed boto3 call with dummy keys); no TemporaryPassword,
        # so the pool makes one and sends it to the outbox.
        maker = Cognito(pool, cid, access_key="local", secret_key="local",
                        boto3_client_kwargs={"endpoint_url": ENDPOINT})
        instrument(maker.client)
        maker.admin_create_user(A, email=A_EMAIL, email_verified="true")
        temporary = latest_code(pool, A, "admin_invitation")
        a = cognito(A)
        expect_error("ForceChangePasswordException", _raise_name(a.authenticate), temporary)
        first = len(exchanges)
        a.new_password_challenge(temporary, A_PW)
        challenges = [x["response"].get("ChallengeName") for x in exchanges[first:]]
        check("NEW_PASSWORD_REQUIRED" in challenges, f"challenges answered: {challenges}")
        check(a.get_user().email == A_EMAIL, "attributes of the admin-created user")
        cognito(A).authenticate(A_PW)
    checks.run("new-password-required", new_password_required,
               ops=["AdminCreateUser", "InitiateAuth", "RespondToAuthChallenge", "GetUser"],
               note="user made by pycognito's admin_create_user")

    # ------------------------------------------------------------ MFA (pool: OPTIONAL, SMS/TOTP/EMAIL)
    mfa_pool, mfa_cid = make_feature_pool(admin, "mfa", "pycognito")
    totp_user = make_confirmed_user(admin, mfa_pool, "py-totp", phone="+15555550201")
    sms_user = make_confirmed_user(admin, mfa_pool, "py-sms", phone="+15555550202")

    def mfa_cognito(username):
        c = Cognito(mfa_pool, mfa_cid, username=username, boto3_client_kwargs={"endpoint_url": ENDPOINT})
        instrument(c.client)
        return c

    def expect_trail(first, want):
        trail = challenge_trail(first)
        check(trail == want, f"challenges on the wire: {trail}, expected {want}")
        return ", ".join(trail)

    secret = {}

    def totp_enrol():
        t = mfa_cognito(totp_user["username"])
        t.authenticate(totp_user["password"])
        secret["totp"] = t.associate_software_token()
        check(t.verify_software_token(totp_now(secret["totp"]), "interop-phone"), "VerifySoftwareToken Status is not SUCCESS")
        t.set_user_mfa_preference(False, True, "SOFTWARE_TOKEN")
        settings = admin.admin_get_user(UserPoolId=mfa_pool, Username=totp_user["username"])
        check(settings.get("PreferredMfaSetting") == "SOFTWARE_TOKEN_MFA"
              and settings.get("UserMFASettingList") == ["SOFTWARE_TOKEN_MFA"],
              f"AdminGetUser: {settings.get('PreferredMfaSetting')}, {settings.get('UserMFASettingList')}")
        return "associate_software_token, verify_software_token, set_user_mfa_preference SOFTWARE_TOKEN"
    checks.run("totp-enrol", totp_enrol, seq=["InitiateAuth", "RespondToAuthChallenge", "AssociateSoftwareToken",
                                              "VerifySoftwareToken", "SetUserMFAPreference", "AdminGetUser"],
               note="pycognito's software-token helpers; AdminGetUser with boto3")

    def totp_sign_in():
        t = mfa_cognito(totp_user["username"])
        first = len(exchanges)
        try:
            t.authenticate(totp_user["password"])
            raise AssertionError("authenticate signed in without SOFTWARE_TOKEN_MFA")
        except SoftwareTokenMFAChallengeException:
            pass
        t.respond_to_software_token_mfa_challenge(totp_now(secret["totp"]))
        check(t.access_claims["username"] == totp_user["username"], str(t.access_claims))
        trail = expect_trail(first, ["USER_SRP_AUTH->PASSWORD_VERIFIER", "PASSWORD_VERIFIER->SOFTWARE_TOKEN_MFA",
                                     "SOFTWARE_TOKEN_MFA->tokens"])
        return f"SoftwareTokenMFAChallengeException, respond_to_software_token_mfa_challenge; wire: {trail}"
    checks.run("totp-sign-in", totp_sign_in, seq=["InitiateAuth", "RespondToAuthChallenge", "RespondToAuthChallenge"])

    def sms_sign_in():
        s = mfa_cognito(sms_user["username"])
        s.authenticate(sms_user["password"])
        s.set_user_mfa_preference(True, False, "SMS")
        s = mfa_cognito(sms_user["username"])
        first = len(exchanges)
        try:
            s.authenticate(sms_user["password"])
            raise AssertionError("authenticate signed in without SMS_MFA")
        except SMSMFAChallengeException as e:
            params = e.get_tokens().get("ChallengeParameters", {})
            check(params.get("CODE_DELIVERY_DELIVERY_MEDIUM") == "SMS", f"ChallengeParameters {params}")
        code = latest_code(mfa_pool, sms_user["username"], "mfa", sms_user["phone"])
        s.respond_to_sms_mfa_challenge(code)
        check(s.access_claims["username"] == sms_user["username"], str(s.access_claims))
        trail = expect_trail(first, ["USER_SRP_AUTH->PASSWORD_VERIFIER", "PASSWORD_VERIFIER->SMS_MFA", "SMS_MFA->tokens"])
        return f"set_user_mfa_preference SMS; SMSMFAChallengeException, code {code} from the outbox; wire: {trail}"
    checks.run("sms-mfa-sign-in", sms_sign_in, seq=["InitiateAuth", "RespondToAuthChallenge", "SetUserMFAPreference",
                                                    "InitiateAuth", "RespondToAuthChallenge+mfa",
                                                    "RespondToAuthChallenge"])

    checks.done()


def _shown(user):
    """A pycognito UserObj's attributes ("true"/"false" become booleans; sub and
    email_verified are kept apart from the rest)."""
    return str({**user._data, "sub": user.sub, "email_verified": user.email_verified})


def _raise_name(fn):
    """pycognito raises ForceChangePasswordException (not a ClientError); give it as a code."""
    class Named(Exception):
        response = {"Error": {"Code": "ForceChangePasswordException"}}

    def wrapped(*args):
        try:
            return fn(*args)
        except ForceChangePasswordException as e:
            raise Named(str(e)) from None
    return wrapped


if __name__ == "__main__":
    main()
