"""Helpers shared by the Python side of `cargo xtask interop local-pool`.

The protocol with xtask is the one described in common.cjs: JSON lines on
stdout ({"plan"}, {"check"}, {"done"}), and GET /_interop/mark/<id>/begin|end
requests around each check so that xtask can match the pool's request log.

Env: LOCAL_POOL_URL, INTEROP_CONFIG (JSON from setup_pool.py), INTEROP_DRIVER.
AWS credentials are dummies set by xtask (the local pool accepts any).
"""

import json
import os
import sys
import traceback
import urllib.error
import urllib.parse
import urllib.request

REGION = "us-east-1"
ENDPOINT = os.environ.get("LOCAL_POOL_URL", "").rstrip("/")
DRIVER = os.environ.get("INTEROP_DRIVER", "py")

PASSWORD_POLICY = {
    "MinimumLength": 8, "RequireUppercase": True, "RequireLowercase": True,
    "RequireNumbers": True, "RequireSymbols": True, "TemporaryPasswordValidityDays": 7,
}
FLOWS = ["ALLOW_USER_SRP_AUTH", "ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]


def config():
    return json.loads(os.environ.get("INTEROP_CONFIG") or "{}")


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


# ---------------------------------------------------------------- boto3

# Every exchange a botocore client made (operation, request, status, answer), newest last.
exchanges = []


def instrument(client):
    """Record the exchanges of a botocore client (pycognito's own client included)."""
    pending = {}

    def before(params, model, **_):
        body = params.get("body") or b""
        try:
            pending["request"] = json.loads(body)
        except ValueError:
            pending["request"] = body.decode("utf-8", "replace") if isinstance(body, bytes) else body

    def after(http_response, parsed, model, **_):
        answer = {k: v for k, v in (parsed or {}).items() if k != "ResponseMetadata"}
        exchanges.append({"op": model.name, "request": pending.pop("request", None),
                          "status": http_response.status_code, "response": answer})

    client.meta.events.register("before-call.cognito-identity-provider", before)
    client.meta.events.register("after-call.cognito-identity-provider", after)
    return client


def idp_client():
    """A boto3 cognito-idp client for the local pool (dummy credentials, no retries)."""
    import boto3
    from botocore.config import Config
    client = boto3.client(
        "cognito-idp", endpoint_url=ENDPOINT, region_name=REGION,
        aws_access_key_id="local", aws_secret_access_key="local",
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))
    return instrument(client)


def make_pool(idp, name, flows=FLOWS, policies=None, **pool_args):
    """A plain-username pool (email auto-verified, case-insensitive) and a public client.
    `policies` is merged into Policies; other keyword arguments go to CreateUserPool."""
    pool = idp.create_user_pool(
        PoolName=name,
        Policies={"PasswordPolicy": PASSWORD_POLICY, **(policies or {})},
        AutoVerifiedAttributes=["email"],
        UsernameConfiguration={"CaseSensitive": False},
        Schema=[{"Name": "email", "AttributeDataType": "String", "Mutable": True, "Required": False}],
        AccountRecoverySetting={"RecoveryMechanisms": [{"Priority": 1, "Name": "verified_email"}]},
        **pool_args,
    )["UserPool"]
    return pool["Id"], make_client(idp, pool["Id"], name + "-web", flows)


def make_client(idp, pool_id, name, flows=FLOWS):
    """A public app client with token revocation."""
    return idp.create_user_pool_client(
        UserPoolId=pool_id, ClientName=name, GenerateSecret=False,
        ExplicitAuthFlows=flows, EnableTokenRevocation=True,
        PreventUserExistenceErrors="LEGACY")["UserPoolClient"]["ClientId"]


# ---------------------------------------------------------------- MFA, devices, custom auth, USER_AUTH

FEATURE_PASSWORD = "Passw0rd!feat1"
SMS_MFA_CONFIG = {"SmsConfiguration": {"SnsCallerArn": "arn:aws:iam::000000000000:role/interop-sns",
                                       "ExternalId": "interop"}}
EMAIL_MFA_CONFIG = {"Message": "Your sign-in code is {####}", "Subject": "Your sign-in code"}
DEVICES = {"ChallengeRequiredOnNewDevice": True, "DeviceOnlyRememberedOnUserPrompt": False}


def make_feature_pool(idp, kind, driver):
    """One of the pools of the MFA/device/custom/USER_AUTH checks, made with boto3:
      mfa      MfaConfiguration OPTIONAL with SMS, TOTP and EMAIL
      mfaOn    MfaConfiguration ON with TOTP only (sign-in leads to MFA_SETUP)
      devices  DeviceConfiguration (ChallengeRequiredOnNewDevice, always remembered), SMS MFA OPTIONAL
      userAuth AllowedFirstAuthFactors PASSWORD and EMAIL_OTP, client with ALLOW_USER_AUTH
      custom   the pool named interop-custom-<driver> from local-pool-config.json (its custom-auth
               hooks can only be set there), found with ListUserPools; a client with ALLOW_CUSTOM_AUTH
    Returns (pool id, client id)."""
    name = f"interop-{kind}-{driver}"
    if kind == "mfa":
        pool, cid = make_pool(idp, name)
        idp.set_user_pool_mfa_config(UserPoolId=pool, MfaConfiguration="OPTIONAL",
                                     SmsMfaConfiguration=SMS_MFA_CONFIG,
                                     SoftwareTokenMfaConfiguration={"Enabled": True},
                                     EmailMfaConfiguration=EMAIL_MFA_CONFIG)
    elif kind == "mfaOn":
        pool, cid = make_pool(idp, name)
        idp.set_user_pool_mfa_config(UserPoolId=pool, MfaConfiguration="ON",
                                     SoftwareTokenMfaConfiguration={"Enabled": True})
    elif kind == "devices":
        pool, cid = make_pool(idp, name, DeviceConfiguration=DEVICES)
        idp.set_user_pool_mfa_config(UserPoolId=pool, MfaConfiguration="OPTIONAL",
                                     SmsMfaConfiguration=SMS_MFA_CONFIG)
    elif kind == "userAuth":
        pool, cid = make_pool(idp, name, flows=FLOWS + ["ALLOW_USER_AUTH"],
                              policies={"SignInPolicy": {"AllowedFirstAuthFactors": ["PASSWORD", "EMAIL_OTP"]}})
    elif kind == "custom":
        pools = [p["Id"] for p in idp.list_user_pools(MaxResults=60)["UserPools"] if p["Name"] == name]
        if len(pools) != 1:
            raise RuntimeError(f"expected one pool {name} (from local-pool-config.json), found {pools}")
        pool = pools[0]
        cid = make_client(idp, pool, name + "-web",
                          ["ALLOW_CUSTOM_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])
    else:
        raise ValueError(kind)
    return pool, cid


def make_confirmed_user(idp, pool, username, phone=None, sms_mfa=False, password=FEATURE_PASSWORD):
    """An admin-made user with a permanent password, a verified email and optionally a
    verified phone number (and SMS MFA enabled and preferred, set with the admin API)."""
    attributes = [{"Name": "email", "Value": f"{username}@example.com"}, {"Name": "email_verified", "Value": "true"}]
    if phone:
        attributes += [{"Name": "phone_number", "Value": phone}, {"Name": "phone_number_verified", "Value": "true"}]
    idp.admin_create_user(UserPoolId=pool, Username=username, MessageAction="SUPPRESS", UserAttributes=attributes)
    idp.admin_set_user_password(UserPoolId=pool, Username=username, Password=password, Permanent=True)
    if sms_mfa:
        idp.admin_set_user_mfa_preference(UserPoolId=pool, Username=username,
                                          SMSMfaSettings={"Enabled": True, "PreferredMfa": True})
    return {"username": username, "password": password, "email": f"{username}@example.com", "phone": phone}


def totp_now(secret, at=None):
    """The RFC 6238 code (SHA-1, 30 s, 6 digits) of a base32 secret."""
    import base64
    import hashlib
    import hmac
    import struct
    import time
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    counter = int((time.time() if at is None else at) // 30)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return f"{number % 1000000:06d}"


def challenge_trail(first=0):
    """The challenges the client saw on the wire since exchanges[first]: one
    "Op REQUEST->ANSWER" string per InitiateAuth / RespondToAuthChallenge (the
    AuthFlow or ChallengeName sent, the ChallengeName received or "tokens")."""
    trail = []
    for x in exchanges[first:]:
        if x["op"] not in ("InitiateAuth", "RespondToAuthChallenge"):
            continue
        request = x["request"] if isinstance(x["request"], dict) else {}
        sent = request.get("AuthFlow") or request.get("ChallengeName")
        response = x["response"] if isinstance(x["response"], dict) else {}
        got = (response.get("ChallengeName") or ("tokens" if response.get("AuthenticationResult") else "?")) \
            if x["status"] == 200 else f"{x['status']}"
        trail.append(f"{sent}->{got}")
    return trail


def error_code(exc):
    """The Cognito error name of a botocore ClientError (None for other exceptions)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return response.get("Error", {}).get("Code")
    return None


def expect_error(code, fn, *args, **kwargs):
    """Run fn; require a botocore ClientError with this code."""
    try:
        result = fn(*args, **kwargs)
    except Exception as e:  # noqa: BLE001 - anything else is a failed check
        got = error_code(e) or type(e).__name__
        if got != code:
            raise AssertionError(f"expected {code}, got {got}: {e}") from None
        return e
    raise AssertionError(f"expected {code}, but the call succeeded: {redact(result)}")


# ---------------------------------------------------------------- local pool

def _get(path):
    with urllib.request.urlopen(ENDPOINT + path, timeout=30) as r:
        return r.read()


def mark(check_id, which):
    try:
        _get(f"/_interop/mark/{urllib.parse.quote(check_id)}/{which}")
    except urllib.error.HTTPError as e:  # 404 is the expected answer
        e.read()


def outbox(pool, user):
    query = urllib.parse.urlencode({"pool": pool, "user": user})
    return json.loads(_get(f"/_local-pool/outbox?{query}"))["messages"]


def latest_code(pool, user, kind, destination=None):
    """The newest code of a kind (sign_up, forgot_password, attribute_verification,
    admin_invitation) for a user, optionally sent to one destination."""
    messages = [m for m in outbox(pool, user)
                if m["kind"] == kind and (destination is None or m["destination"] == destination)]
    if not messages:
        raise AssertionError(f"no {kind} message for {user} in the outbox")
    return messages[-1]["code"]


def jwt_payload(token):
    import base64
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


# ---------------------------------------------------------------- checks

def redact(value):
    """Long strings (tokens, SRP numbers) shortened for display."""
    if isinstance(value, dict):
        return {k: redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, str) and len(value) > 48:
        return f"{value[:16]}…({len(value)})"
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    return value


def describe_exchange(x):
    def dump(v):
        return json.dumps(redact(v), default=str, ensure_ascii=False)
    return f"{x['op']} {dump(x['request'])} -> {x['status']} {dump(x['response'])}"


class Checks:
    def __init__(self, names):
        self.seq = 0
        self.reported = 0
        emit({"plan": list(names)})

    def run(self, name, fn, ops=(), note=None, seq=()):
        """Run one check; fn returns an optional detail string or raises. ops: operations
        the pool must have answered; seq: the exact sequence it must have logged (see
        common.cjs)."""
        self.seq += 1
        check_id = f"{DRIVER}-{self.seq}"
        first = len(exchanges)
        ok, detail = True, ""
        mark(check_id, "begin")
        try:
            out = fn()
            if isinstance(out, str):
                detail = out
        except Exception as e:  # noqa: BLE001 - report and go on
            ok = False
            code = error_code(e)
            detail = f"{code or type(e).__name__}: {e}"
            if not code and not isinstance(e, AssertionError):
                detail += " @ " + traceback.format_exc(limit=-2).strip().replace("\n", " / ")
            mine = exchanges[first:]
            failed = [x for x in mine if x["status"] >= 300]
            last = (failed or mine)[-1] if mine else None
            if last:
                detail += f" | last exchange: {describe_exchange(last)}"
        mark(check_id, "end")
        if note:
            detail = f"{detail} ({note})" if detail else note
        emit({"check": name, "ok": ok, "detail": detail, "mark": check_id, "expect_ops": list(ops),
              "expect_seq": list(seq)})
        self.reported += 1
        return ok

    def done(self):
        emit({"done": True, "reported": self.reported})


def check(cond, message):
    if not cond:
        raise AssertionError(message)
