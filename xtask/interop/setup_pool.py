#!/usr/bin/env python3
"""Create, with boto3, the user pool and app client a JavaScript driver uses.

Usage: setup_pool.py NAME [--admin-user USERNAME EMAIL]
Prints the driver's configuration as one JSON object:
  {"userPoolId": ..., "clientId": ..., "adminUser": {"username": ..., "email": ...}}
With --admin-user, also AdminCreateUser (no TemporaryPassword: the pool makes one
and sends the invitation to the outbox, where the driver reads it).
"""

import json
import sys

from interop_common import ENDPOINT, idp_client, make_pool


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
    print(json.dumps(cfg))


if __name__ == "__main__":
    main(sys.argv[1:])
