"""Writes the auth-webhook benchmark's identity provider into DIR: an RS256 key pair, its JWK
set (`jwks.json`, served over HTTP to the webhooks under test) and a token for `bench-user`
(`token.txt`, valid for a day). Needs PyJWT with cryptography (bench/run.sh's venv).

Usage: python3 bench/keys.py DIR
"""
import json
import pathlib
import sys
import time

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

out = pathlib.Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
jwk.update({"kid": "bench-1", "alg": "RS256", "use": "sig"})
(out / "jwks.json").write_text(json.dumps({"keys": [jwk]}))
now = int(time.time())
token = jwt.encode({"sub": "bench-user", "iat": now, "exp": now + 86400}, key, algorithm="RS256",
                   headers={"kid": "bench-1"})
(out / "token.txt").write_text(token)
