#!/usr/bin/env python3
"""Create, with boto3, the pool, app client and user of `cargo xtask interop client`.

Usage: setup_client.py NAME USERNAME PASSWORD
The pool has optional MFA with software tokens (TOTP) enabled; the client is
public with ALLOW_USER_SRP_AUTH, ALLOW_USER_PASSWORD_AUTH and
ALLOW_REFRESH_TOKEN_AUTH and token revocation; the user is admin-made with a
permanent password (CONFIRMED). Prints one JSON object:
  {"userPoolId": ..., "clientId": ..., "username": ..., "password": ...}
Env: LOCAL_POOL_URL (the server, local-pool or ministack; credentials test/test).
"""

import json
import sys

from interop_common import ENDPOINT, REGION, instrument, make_pool


def idp_client():
    """boto3 for the server: ministack with AUTH=true accepts its root
    credentials, test/test (the local pool accepts any)."""
    import boto3
    from botocore.config import Config
    return instrument(boto3.client(
        "cognito-idp", endpoint_url=ENDPOINT, region_name=REGION,
        aws_access_key_id="test", aws_secret_access_key="test",
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"})))


def main(argv):
    if not ENDPOINT or len(argv) != 3:
        sys.exit(__doc__)
    name, username, password = argv
    idp = idp_client()
    pool_id, client_id = make_pool(idp, f"interop-{name}")
    idp.set_user_pool_mfa_config(
        UserPoolId=pool_id, MfaConfiguration="OPTIONAL",
        SoftwareTokenMfaConfiguration={"Enabled": True})
    idp.admin_create_user(
        UserPoolId=pool_id, Username=username, MessageAction="SUPPRESS",
        UserAttributes=[{"Name": "email", "Value": f"{username}@example.com"},
                        {"Name": "email_verified", "Value": "true"}])
    idp.admin_set_user_password(UserPoolId=pool_id, Username=username, Password=password, Permanent=True)
    print(json.dumps({"userPoolId": pool_id, "clientId": client_id, "username": username, "password": password}))


if __name__ == "__main__":
    main(sys.argv[1:])
