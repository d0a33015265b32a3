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


def make_pool(idp, name):
    """A plain-username pool (email auto-verified, case-insensitive) and a public client."""
    pool = idp.create_user_pool(
        PoolName=name,
        Policies={"PasswordPolicy": PASSWORD_POLICY},
        AutoVerifiedAttributes=["email"],
        UsernameConfiguration={"CaseSensitive": False},
        Schema=[{"Name": "email", "AttributeDataType": "String", "Mutable": True, "Required": False}],
        AccountRecoverySetting={"RecoveryMechanisms": [{"Priority": 1, "Name": "verified_email"}]},
    )["UserPool"]
    client = idp.create_user_pool_client(
        UserPoolId=pool["Id"], ClientName=name + "-web", GenerateSecret=False,
        ExplicitAuthFlows=FLOWS, EnableTokenRevocation=True,
        PreventUserExistenceErrors="LEGACY")["UserPoolClient"]
    return pool["Id"], client["ClientId"]


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

    def run(self, name, fn, ops=(), note=None):
        """Run one check; fn returns an optional detail string or raises."""
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
        emit({"check": name, "ok": ok, "detail": detail, "mark": check_id, "expect_ops": list(ops)})
        self.reported += 1
        return ok

    def done(self):
        emit({"done": True, "reported": self.reported})


def check(cond, message):
    if not cond:
        raise AssertionError(message)
