"""Benchmark peer: a Hasura auth webhook written the way the Witboost service writes it, with
FastAPI, PyJWT and asyncpg.

GET /auth/webhook: the bearer token is verified against the identity provider's JWK set
(PyJWKClient, which caches the keys), then one Postgres lookup of the subject's roles in
`rasura_auth.role_mapping`; answers {"X-Hasura-Role", "X-Hasura-User-Id"}, 401 otherwise.

Environment: DATABASE_URL, JWKS_URL. Run: uvicorn fastapi_auth_webhook:app --port N
"""
import os
from contextlib import asynccontextmanager
from typing import Annotated, Optional

import asyncpg
import jwt
from fastapi import Depends, FastAPI, Header, HTTPException, Request, status

JWKS = jwt.PyJWKClient(os.environ["JWKS_URL"], cache_keys=True)


@asynccontextmanager
async def lifespan(app: FastAPI):
    app.state.db = await asyncpg.create_pool(os.environ["DATABASE_URL"], min_size=10, max_size=10)
    yield
    await app.state.db.close()


app = FastAPI(lifespan=lifespan)


def verified_subject(authorization: Annotated[Optional[str], Header()] = None) -> str:
    if not authorization or not authorization.startswith("Bearer "):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing bearer token")
    token = authorization[len("Bearer "):]
    try:
        key = JWKS.get_signing_key_from_jwt(token)
        claims = jwt.decode(token, key.key, algorithms=["RS256"])
    except jwt.PyJWTError as error:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, f"invalid token: {error}")
    subject = claims.get("sub")
    if not isinstance(subject, str):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "the token has no subject")
    return subject


@app.get("/auth/webhook")
async def auth_webhook(request: Request, subject: Annotated[str, Depends(verified_subject)]):
    rows = await request.app.state.db.fetch(
        "SELECT role, is_default FROM rasura_auth.role_mapping WHERE subject = $1 ORDER BY role",
        subject,
    )
    if not rows:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "no role for this subject")
    role = next((row["role"] for row in rows if row["is_default"]), rows[0]["role"])
    return {"X-Hasura-Role": role, "X-Hasura-User-Id": subject}
