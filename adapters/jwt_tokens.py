"""Access tokens as signed JWTs (RFC 7519, RFC 9068 profile); opaque refresh tokens."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from uuid import UUID

import jwt

from application.errors import NotAuthenticated
from application.ports.security import AccessClaims, TokenService
from domain.users import Role

ACCESS_TYPE = "at+jwt"  # RFC 9068 §2.1: keeps any other JWT out of access checks
ALGORITHM = "HS256"
MIN_KEY_BYTES = 32


class JwtTokenService(TokenService):
    """HS256 access tokens with `iss`, `aud`, `sub`, `sid`, `jti`, `iat`, `exp`, `role`.

    - The algorithm is pinned: `alg: none` and algorithm confusion are refused.
    - Keys are named by `kid`; `signing_kid` signs, all `keys` verify, so a key
      can be rotated without signing everyone out.
    - Refresh tokens are 256 random bits; only their digest is stored.
    """

    def __init__(
        self,
        *,
        keys: Mapping[str, bytes],
        signing_kid: str,
        issuer: str,
        audience: str,
        access_ttl: timedelta = timedelta(minutes=15),
        leeway: timedelta = timedelta(seconds=5),
    ) -> None:
        if signing_kid not in keys:
            raise ValueError("the signing key id must name one of the keys")
        if any(len(key) < MIN_KEY_BYTES for key in keys.values()):
            raise ValueError(f"token signing keys must be at least {MIN_KEY_BYTES} bytes")
        self._keys = dict(keys)
        self._kid = signing_kid
        self._issuer = issuer
        self._audience = audience
        self._ttl = access_ttl
        self._leeway = leeway

    @property
    def access_ttl_seconds(self) -> int:
        return int(self._ttl.total_seconds())

    def issue_access(self, *, user_id: UUID, session_id: UUID, role: Role, now: datetime) -> str:
        claims = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": str(user_id),
            "sid": str(session_id),
            "role": role.value,
            "jti": secrets.token_urlsafe(16),
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int((now + self._ttl).timestamp()),
        }
        headers = {"kid": self._kid, "typ": ACCESS_TYPE}
        return jwt.encode(claims, self._keys[self._kid], algorithm=ALGORITHM, headers=headers)

    def read_access(self, token: str, now: datetime) -> AccessClaims:
        try:
            header = jwt.get_unverified_header(token)
            key = self._keys.get(header.get("kid", "")) if isinstance(header, dict) else None
            if key is None or header.get("typ") != ACCESS_TYPE:
                raise NotAuthenticated("the access token is not valid")
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={
                    "require": ["iss", "aud", "sub", "sid", "exp", "iat", "jti"],
                    "verify_exp": False,  # checked below against the injected clock
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
            expires_at = datetime.fromtimestamp(int(claims["exp"]), tz=now.tzinfo)
            issued_at = datetime.fromtimestamp(int(claims["iat"]), tz=now.tzinfo)
            # `nbf` is optional (RFC 7519 §4.1.5) but binding when present: PyJWT's own
            # check is off above, as it would read the system clock, not the injected one.
            not_before = datetime.fromtimestamp(int(claims.get("nbf", claims["iat"])), now.tzinfo)
            if (
                now >= expires_at + self._leeway
                or issued_at > now + self._leeway
                or not_before > now + self._leeway
            ):
                raise NotAuthenticated("the access token has expired or is not valid yet")
            return AccessClaims(
                user_id=UUID(str(claims["sub"])),
                session_id=UUID(str(claims["sid"])),
                role=Role(str(claims.get("role", Role.ATTENDEE.value))),
                expires_at=expires_at,
            )
        except (jwt.PyJWTError, ValueError, TypeError, KeyError) as exc:
            raise NotAuthenticated("the access token is not valid") from exc

    def new_refresh_token(self) -> str:
        return secrets.token_urlsafe(32)

    def digest(self, refresh_token: str) -> str:
        # 256 random bits need no key or salt to be safe to store as a SHA-256,
        # and an unkeyed digest survives signing-key rotation.
        return hashlib.sha256(refresh_token.encode("utf-8")).hexdigest()
