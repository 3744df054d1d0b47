"""Prints the HS256 benchmark token (Hasura claims for user-123) signed with $JWT_SECRET."""
import base64
import hashlib
import hmac
import json
import os


def b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
payload = b64(json.dumps({
    "sub": "user-123", "iat": 1700000000, "exp": 4102444800,
    "https://hasura.io/jwt/claims": {"x-hasura-allowed-roles": ["user", "admin"],
                                     "x-hasura-default-role": "user", "x-hasura-user-id": "user-123"},
}).encode())
signature = b64(hmac.new(os.environ["JWT_SECRET"].encode(), header + b"." + payload, hashlib.sha256).digest())
print((header + b"." + payload + b"." + signature).decode())
