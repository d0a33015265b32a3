#!/usr/bin/env python3
"""Create, with boto3, the user pool and app client a JavaScript driver uses.

Usage: setup_pool.py NAME [--admin-user USERNAME EMAIL]
Prints the driver's configuration as one JSON object:
  {"userPoolId": ..., "clientId": ..., "adminUser": {"username": ..., "email": ...},
   "features": {"<kind>": {"userPoolId": ..., "clientId": ..., "users": {"<role>": {"username": ...,
                "password": ..., "email": ..., "phone": ...}}}}}
With --admin-user, also AdminCreateUser (no TemporaryPassword: the pool makes one
and sends the invitation to the outbox, where the driver reads it).
"features" are the pools of the MFA, device, custom-auth and USER_AUTH checks
(see interop_common.make_feature_pool) with the users each driver needs (FEATURES):
confirmed, permanent password, verified email and phone; the device users have SMS
MFA enabled and preferred (set with AdminSetUserMFAPreference, so that their first
sign-in, the one that registers the device, asks for MFA).
"""

import json
import sys

from interop_common import ENDPOINT, idp_client, make_confirmed_user, make_feature_pool, make_pool

# driver -> pool kind -> user roles.
FEATURES = {
    "amplify": {"mfa": ["totp", "sms", "email", "select"], "mfaOn": ["setup"], "devices": ["device"],
                "userAuth": ["otp"], "custom": ["custom"]},
    "acij": {"devices": ["device"], "custom": ["custom"]},
}


def features(idp, driver):
    out = {}
    phone = 5550100
    for kind, roles in FEATURES.get(driver, {}).items():
        pool, cid = make_feature_pool(idp, kind, driver)
        users = {}
        for role in roles:
            phone += 1
            users[role] = make_confirmed_user(idp, pool, f"{driver}-{role}", phone=f"+1555{phone}",
                                              sms_mfa=kind == "devices")
        out[kind] = {"userPoolId": pool, "clientId": cid, "users": users}
    return out


def main(argv):
    if not ENDPOINT or len(argv) not in (1, 4) or (len(argv) == 4 and argv[1] != "--admin-user"):
        sys.exit(__doc__)
    idp = idp_client()
    pool_id, client_id = make_pool(idp, f"interop-{argv[0]}")
    cfg = {"userPoolId": pool_id, "clientId": client_id}
    if len(argv) == 4:
        username, email = argv[2], argv[3]
        idp.admin_create_user(
            UserPoolId=pool_id, Username=username, DesiredDeliveryMediums=["EMAIL"],
            UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}])
        cfg["adminUser"] = {"username": username, "email": email}
    cfg["features"] = features(idp, argv[0])
    print(json.dumps(cfg))


if __name__ == "__main__":
    main(sys.argv[1:])
