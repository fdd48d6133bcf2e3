"""A small OpenID Connect provider on loopback for the tests: discovery, authorize, token, JWKS, userinfo.

ID tokens are RS256-signed with a key generated when the provider starts. `/authorize` signs in whoever
`provider.person` says (the provider's own login page is not the portal's concern) and redirects back with
a code; `/token` checks the client's secret, the code, the redirect URI and the PKCE verifier, as a real
provider does. Every request is recorded in `provider.requests`.
"""
import base64
import hashlib
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa


class FakeProvider:
    client_id = "portal-test"
    client_secret = "client-secret-for-tests"

    def __init__(self):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = secrets.token_hex(4)
        self.person = {"sub": "u-1001", "preferred_username": "dana", "email": "dana@example.com", "groups": []}
        self.id_token_changes: dict = {}  # claims to override in the next ID tokens (tampering tests)
        self.signing_key = self.key  # another key here: a token the JWKS does not vouch for
        self.requests: list[tuple[str, str, dict]] = []
        self.codes: dict[str, dict] = {}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def requested(self, path: str) -> list[dict]:
        return [params for method, seen, params in self.requests if seen == path]

    def discovery(self) -> dict:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
        }

    def jwks(self) -> dict:
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return {"keys": [{**jwk, "kid": self.kid, "alg": "RS256", "use": "sig"}]}

    def _authorize(self, params: dict) -> tuple[int, dict, bytes]:
        if params.get("client_id") != self.client_id or params.get("response_type") != "code":
            return 400, {}, b"unknown client"
        code = secrets.token_urlsafe(16)
        self.codes[code] = {**params, "person": dict(self.person)}
        back = f"{params['redirect_uri']}?{urlencode({'code': code, 'state': params['state']})}"
        return 302, {"Location": back}, b""

    def _token(self, form: dict) -> tuple[int, dict, bytes]:
        grant = self.codes.pop(form.get("code", ""), None)  # a code is good once
        if (
            form.get("client_id") != self.client_id
            or form.get("client_secret") != self.client_secret
            or grant is None
            or form.get("redirect_uri") != grant["redirect_uri"]
        ):
            return 400, {}, json.dumps({"error": "invalid_grant"}).encode()
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if challenge != grant.get("code_challenge"):
            return 400, {}, json.dumps({"error": "invalid_grant", "error_description": "PKCE"}).encode()
        now = int(time.time())
        person = grant["person"]
        claims = {
            "iss": self.issuer, "sub": person["sub"], "aud": self.client_id, "iat": now, "exp": now + 300,
            "nonce": grant.get("nonce"), **person, **self.id_token_changes,
        }
        id_token = jwt.encode(claims, self.signing_key, algorithm="RS256", headers={"kid": self.kid})
        access_token = secrets.token_urlsafe(16)
        self.codes[f"access:{access_token}"] = person
        body = {"access_token": access_token, "token_type": "Bearer", "expires_in": 300, "id_token": id_token}
        return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()

    def _userinfo(self, authorization: str) -> tuple[int, dict, bytes]:
        person = self.codes.get(f"access:{authorization.removeprefix('Bearer ')}")
        if person is None:
            return 401, {}, b""
        return 200, {"Content-Type": "application/json"}, json.dumps(person).encode()

    def _handler(self):
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet test output
                pass

            def _answer(self, status, headers, body):
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                url = urlsplit(self.path)
                params = {k: v[0] for k, v in parse_qs(url.query).items()}
                provider.requests.append(("GET", url.path, params))
                as_json = {"Content-Type": "application/json"}
                if url.path == "/.well-known/openid-configuration":
                    return self._answer(200, as_json, json.dumps(provider.discovery()).encode())
                if url.path == "/jwks":
                    return self._answer(200, as_json, json.dumps(provider.jwks()).encode())
                if url.path == "/authorize":
                    return self._answer(*provider._authorize(params))
                if url.path == "/userinfo":
                    return self._answer(*provider._userinfo(self.headers.get("Authorization", "")))
                return self._answer(404, {}, b"")

            def do_POST(self):
                url = urlsplit(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                form = {k: v[0] for k, v in parse_qs(body).items()}
                provider.requests.append(("POST", url.path, form))
                if url.path == "/token":
                    return self._answer(*provider._token(form))
                return self._answer(404, {}, b"")

        return Handler
