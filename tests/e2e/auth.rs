//! JWT authorizers through the real binary, against a loopback OpenID issuer served by
//! the test (discovery document and JWKS, keys rotated mid-test), and the development
//! issuer behind `portico token`.

use crate::support::{Server, access_line, client, manifest, mint, request_id, root};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A signing key of the test issuer.
struct Signer {
    kid: String,
    alg: Algorithm,
    key: EncodingKey,
    jwk: Value,
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(root().join("tests/fixtures/jwt").join(name)).expect("key fixture")
}

impl Signer {
    fn rsa(kid: &str, file: &str) -> Signer {
        let key = EncodingKey::from_rsa_der(&fixture(file));
        Signer::new(kid, Algorithm::RS256, key)
    }

    fn ec(kid: &str) -> Signer {
        let key = EncodingKey::from_ec_der(&fixture("ec-p256.der"));
        Signer::new(kid, Algorithm::ES256, key)
    }

    fn new(kid: &str, alg: Algorithm, key: EncodingKey) -> Signer {
        let mut jwk = serde_json::to_value(Jwk::from_encoding_key(&key, alg).expect("jwk"))
            .expect("jwk json");
        jwk["kid"] = kid.into();
        jwk["use"] = "sig".into();
        Signer {
            kid: kid.to_string(),
            alg,
            key,
            jwk,
        }
    }

    fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.key).expect("sign")
    }
}

/// A loopback OpenID issuer: `/.well-known/openid-configuration`, `/jwks` (counted),
/// `/big` (a JWKS over 150 KB) and `/hang` (never answers).
struct Issuer {
    addr: SocketAddr,
    jwks: Arc<Mutex<String>>,
    fetches: Arc<AtomicUsize>,
}

impl Issuer {
    async fn start(keys: &[&Signer]) -> Issuer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let issuer = Issuer {
            addr,
            jwks: Arc::default(),
            fetches: Arc::default(),
        };
        issuer.publish(keys);
        let (jwks, fetches) = (Arc::clone(&issuer.jwks), Arc::clone(&issuer.fetches));
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (jwks, fetches) = (Arc::clone(&jwks), Arc::clone(&fetches));
                tokio::spawn(async move {
                    let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let (jwks, fetches) = (Arc::clone(&jwks), Arc::clone(&fetches));
                        async move {
                            let body = match req.uri().path() {
                                "/.well-known/openid-configuration" => json!({
                                    "issuer": format!("http://{addr}"),
                                    "jwks_uri": format!("http://{addr}/jwks"),
                                })
                                .to_string(),
                                "/jwks" => {
                                    fetches.fetch_add(1, Ordering::SeqCst);
                                    jwks.lock().expect("lock").clone()
                                }
                                "/big" => {
                                    let key =
                                        json!({"kty": "oct", "kid": "x", "k": "a".repeat(1000)});
                                    json!({"keys": vec![key; 160]}).to_string()
                                }
                                "/hang" => {
                                    tokio::time::sleep(Duration::from_secs(30)).await;
                                    String::new()
                                }
                                _ => String::new(),
                            };
                            Ok::<_, hyper::Error>(hyper::Response::new(Full::new(Bytes::from(
                                body,
                            ))))
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        issuer
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Serves `keys` as the JWKS from now on.
    fn publish(&self, keys: &[&Signer]) {
        let keys: Vec<&Value> = keys.iter().map(|k| &k.jwk).collect();
        *self.jwks.lock().expect("lock") = json!({ "keys": keys }).to_string();
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

/// Claims that pass `issuer`'s authorizer, with `changes` applied (`null` removes).
fn claims(issuer: &Issuer, changes: Value) -> Value {
    let mut claims = json!({
        "iss": issuer.url(),
        "aud": "app-client",
        "sub": "user-1",
        "exp": now() + 300,
        "iat": now() - 1,
    });
    let Value::Object(changes) = changes else {
        panic!("changes are an object");
    };
    for (k, v) in changes {
        match v {
            Value::Null => {
                claims.as_object_mut().expect("object").remove(&k);
            }
            v => claims[k] = v,
        }
    }
    claims
}

fn app(issuer: &Issuer) -> crate::support::TempManifest {
    let url = issuer.url();
    manifest(&format!(
        r#"
[authorizers.oidc]
type = "jwt"
issuer = "{url}"
audiences = ["app-client", "other-client"]

[authorizers.big]
type = "jwt"
issuer = "{url}"
audiences = ["app-client"]
jwks_url = "{url}/big"

[authorizers.hang]
type = "jwt"
issuer = "{url}"
audiences = ["app-client"]
jwks_url = "{url}/hang"

[functions.hello]
module = "{{hello}}"

[routes]
"GET /open" = "hello"
"GET /private" = {{ function = "hello", auth = "oidc" }}
"GET /scoped" = {{ function = "hello", auth = "oidc", scopes = ["todos/read", "admin"] }}
"GET /big" = {{ function = "hello", auth = "big" }}
"GET /hang" = {{ function = "hello", auth = "hang" }}
"#
    ))
}

async fn get(server: &Server, path: &str, authorization: Option<&str>) -> reqwest::Response {
    let mut req = client().get(server.url(path));
    if let Some(value) = authorization {
        req = req.header("authorization", value);
    }
    req.send().await.expect("request")
}

fn challenge(resp: &reqwest::Response) -> String {
    resp.headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// Asserts a 401 whose `error_description` contains `why`, and that no guest ran.
async fn refused(server: &Server, path: &str, token: &str, why: &str) {
    let resp = get(server, path, Some(&format!("Bearer {token}"))).await;
    assert_eq!(resp.status(), 401, "{why}");
    let header = challenge(&resp);
    assert!(
        header.starts_with(r#"Bearer error="invalid_token""#) && header.contains(why),
        "{why}: {header}"
    );
    let id = request_id(&resp);
    assert_eq!(
        resp.text().await.expect("body"),
        r#"{"message":"Unauthorized"}"#
    );
    let line = access_line(server, &id).await;
    assert!(line.contains("refused") && line.contains(why), "{line}");
    assert!(line.contains("memory_bytes=0"), "no instance ran: {line}");
}

#[tokio::test]
async fn valid_tokens_reach_the_function_with_their_claims() {
    let k1 = Signer::rsa("k1", "rsa-1.der");
    let ec = Signer::ec("ec1");
    let issuer = Issuer::start(&[&k1, &ec]).await;
    let server = Server::start(app(&issuer));

    assert_eq!(get(&server, "/open", None).await.status(), 200);

    // With or without `Bearer `, RS256 or ES256.
    let token = k1.sign(&claims(
        &issuer,
        json!({"email": "ann@example.com", "n": 3}),
    ));
    for value in [
        format!("Bearer {token}"),
        token.clone(),
        format!("bearer  {token}"),
    ] {
        let resp = get(&server, "/private", Some(&value)).await;
        assert_eq!(resp.status(), 200);
        let event: Value = resp.json().await.expect("echo");
        let jwt = &event["requestContext"]["authorizer"]["jwt"];
        assert_eq!(jwt["claims"]["sub"], "user-1");
        assert_eq!(jwt["claims"]["email"], "ann@example.com");
        assert_eq!(jwt["claims"]["n"], "3", "non-string claims are JSON text");
        assert_eq!(jwt["claims"]["iss"], issuer.url());
    }
    let resp = get(
        &server,
        "/private",
        Some(&ec.sign(&claims(&issuer, json!({})))),
    )
    .await;
    assert_eq!(resp.status(), 200);

    // A route with scopes: one of them is enough; none of them is 403.
    let reader = k1.sign(&claims(&issuer, json!({"scope": "profile todos/read"})));
    let resp = get(&server, "/scoped", Some(&reader)).await;
    assert_eq!(resp.status(), 200);
    let event: Value = resp.json().await.expect("echo");
    assert_eq!(
        event["requestContext"]["authorizer"]["jwt"]["scopes"],
        json!(["profile", "todos/read"])
    );
    let scp = k1.sign(&claims(&issuer, json!({"scp": ["admin"]})));
    assert_eq!(get(&server, "/scoped", Some(&scp)).await.status(), 200);
    let profile = k1.sign(&claims(&issuer, json!({"scope": "profile"})));
    let resp = get(&server, "/scoped", Some(&profile)).await;
    assert_eq!(resp.status(), 403);
    assert!(
        challenge(&resp).contains(r#"error="insufficient_scope""#),
        "{}",
        challenge(&resp)
    );
    let id = request_id(&resp);
    assert_eq!(
        resp.text().await.expect("body"),
        r#"{"message":"Forbidden"}"#
    );
    assert!(access_line(&server, &id).await.contains("memory_bytes=0"));

    // Cognito's shapes: an ID token (aud = the app client, groups as an array) and an
    // access token (no aud: client_id is checked instead).
    let id_token = k1.sign(&claims(
        &issuer,
        json!({"token_use": "id", "cognito:groups": ["admins", "users"], "cognito:username": "ann"}),
    ));
    let resp = get(&server, "/private", Some(&id_token)).await;
    assert_eq!(resp.status(), 200);
    let event: Value = resp.json().await.expect("echo");
    let groups = &event["requestContext"]["authorizer"]["jwt"]["claims"]["cognito:groups"];
    assert_eq!(groups, r#"["admins","users"]"#);
    let access = k1.sign(&claims(
        &issuer,
        json!({"aud": null, "client_id": "other-client", "token_use": "access", "scope": "todos/read"}),
    ));
    assert_eq!(get(&server, "/scoped", Some(&access)).await.status(), 200);

    // No token in the log, ever.
    let log = server.log();
    for t in [&token, &reader, &profile, &id_token, &access] {
        assert!(!log.contains(t.as_str()), "a token reached the log");
    }
}

#[tokio::test]
async fn every_rule_refuses_what_breaks_it() {
    let k1 = Signer::rsa("k1", "rsa-1.der");
    let other = Signer::rsa("k1", "rsa-2.der");
    let issuer = Issuer::start(&[&k1]).await;
    let server = Server::start(app(&issuer));

    let resp = get(&server, "/private", None).await;
    assert_eq!(resp.status(), 401);
    assert_eq!(challenge(&resp), "Bearer");
    assert_eq!(
        get(&server, "/private", Some("Bearer ")).await.status(),
        401
    );

    let c = |changes| claims(&issuer, changes);
    let trailing_slash = format!("{}/", issuer.url());
    for (changes, why) in [
        (json!({"iss": "https://elsewhere"}), "valid issuer"),
        (json!({ "iss": trailing_slash }), "valid issuer"),
        (json!({"aud": "someone-else"}), "valid audience"),
        (json!({"aud": null}), "valid audience"),
        (json!({"aud": null, "client_id": "x"}), "valid audience"),
        // With aud present, a good client_id does not save a bad aud.
        (
            json!({"aud": "x", "client_id": "app-client"}),
            "valid audience",
        ),
        (json!({"exp": now() - 1}), "expired"),
        (json!({"exp": null}), "no expiry"),
        (json!({"nbf": now() + 60}), "not valid yet"),
        (json!({"iat": now() + 60}), "issued in the future"),
    ] {
        refused(&server, "/private", &k1.sign(&c(changes)), why).await;
    }
    // Signed by another key under the same kid.
    refused(
        &server,
        "/private",
        &other.sign(&c(json!({}))),
        "signature is invalid",
    )
    .await;
    // A payload changed after signing.
    let good = k1.sign(&c(json!({})));
    let parts: Vec<&str> = good.split('.').collect();
    let forged = URL_SAFE_NO_PAD.encode(c(json!({"sub": "admin"})).to_string());
    refused(
        &server,
        "/private",
        &format!("{}.{forged}.{}", parts[0], parts[2]),
        "signature is invalid",
    )
    .await;
    // alg=none, unsigned.
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","kid":"k1","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(c(json!({})).to_string())
    );
    refused(&server, "/private", &none, "malformed").await;
    // HS256 keyed with the issuer's public key.
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("k1".into());
    let public = serde_json::to_vec(&k1.jwk).expect("jwk");
    let hs = jsonwebtoken::encode(
        &header,
        &c(json!({})),
        &EncodingKey::from_secret(&public).expect("key"),
    )
    .expect("sign");
    refused(&server, "/private", &hs, "alg is not allowed").await;
    refused(&server, "/private", "not.a.jwt", "malformed").await;
    let no_kid =
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &c(json!({})), &k1.key).expect("sign");
    refused(&server, "/private", &no_kid, "no kid").await;

    // Still fine after all that.
    assert_eq!(get(&server, "/private", Some(&good)).await.status(), 200);
}

#[tokio::test]
async fn unknown_kids_refresh_the_keys_at_most_once_per_interval() {
    let k1 = Signer::rsa("k1", "rsa-1.der");
    let k2 = Signer::rsa("k2", "rsa-2.der");
    let issuer = Issuer::start(&[&k1]).await;
    let server = Server::start(app(&issuer));

    let first = k1.sign(&claims(&issuer, json!({})));
    assert_eq!(get(&server, "/private", Some(&first)).await.status(), 200);
    let fetched = Instant::now();
    assert_eq!(issuer.fetches(), 1, "keys are fetched at start, once");

    // The issuer rotates to k2. Within the interval, a flood of unknown kids (k2's
    // among them) costs the issuer nothing more.
    issuer.publish(&[&k2]);
    let rotated = k2.sign(&claims(&issuer, json!({})));
    for i in 0..20 {
        let token = Signer::ec(&format!("made-up-{i}")).sign(&claims(&issuer, json!({})));
        refused(&server, "/private", &token, "not one of the issuer's keys").await;
    }
    refused(
        &server,
        "/private",
        &rotated,
        "not one of the issuer's keys",
    )
    .await;
    assert!(
        fetched.elapsed() < Duration::from_secs(10),
        "the flood must fit in the refresh interval for this test to mean anything"
    );
    assert_eq!(issuer.fetches(), 1);

    // Once the interval has passed, the unknown kid refreshes the set once.
    tokio::time::sleep(
        Duration::from_secs(10).saturating_sub(fetched.elapsed()) + Duration::from_millis(500),
    )
    .await;
    assert_eq!(get(&server, "/private", Some(&rotated)).await.status(), 200);
    assert_eq!(issuer.fetches(), 2);
    for i in 0..5 {
        let token = Signer::ec(&format!("again-{i}")).sign(&claims(&issuer, json!({})));
        refused(&server, "/private", &token, "not one of the issuer's keys").await;
    }
    assert_eq!(issuer.fetches(), 2);
    // k1 is gone from the set: a token it signed that was never seen is refused.
    let fresh = k1.sign(&claims(&issuer, json!({"sub": "user-2"})));
    refused(&server, "/private", &fresh, "not one of the issuer's keys").await;
}

#[tokio::test]
async fn jwks_endpoints_that_are_too_big_or_hang_refuse_within_the_limits() {
    let k1 = Signer::rsa("k1", "rsa-1.der");
    let issuer = Issuer::start(&[&k1]).await;
    let server = Server::start(app(&issuer));
    let token = k1.sign(&claims(&issuer, json!({})));

    refused(&server, "/big", &token, "not one of the issuer's keys").await;
    let started = Instant::now();
    refused(&server, "/hang", &token, "not one of the issuer's keys").await;
    // The keys were fetched at start; the request waited for that fetch, at most.
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(5),
        "the JWKS fetch gives up after 1.5 s: {took:?}"
    );
    let log = server.log();
    assert!(log.contains("over 153600 bytes"), "{log}");
    assert!(log.contains("no answer within 1s 500ms"), "{log}");
    // The public routes never waited.
    assert_eq!(get(&server, "/open", None).await.status(), 200);
}

/// `hello` behind the development issuer at `GET /me`; more routes may follow.
const DEV: &str = r#"
[authorizers.dev]
type = "jwt"
issuer = "portico-dev"
audiences = ["portico-demo"]

[functions.hello]
module = "{hello}"

[routes]
"GET /me" = { function = "hello", auth = "dev" }
"#;

#[tokio::test]
async fn dev_tokens_work_offline_against_the_demo_s_me_route() {
    let m = manifest(&format!(
        "{DEV}\"GET /admin\" = {{ function = \"hello\", auth = \"dev\", scopes = [\"admin\"] }}\n"
    ));
    // Minted before the server starts, and after: the same key.
    let path = m.path.clone();
    let ann = mint(&path, &["--sub", "ann", "--claim", "email=ann@example.com"]);
    let server = Server::start(m);
    let resp = get(&server, "/me", Some(&format!("Bearer {ann}"))).await;
    assert_eq!(resp.status(), 200);
    let me: Value = resp.json().await.expect("json");
    assert_eq!(me["sub"], "ann");
    assert_eq!(me["claims"]["email"], "ann@example.com");
    assert_eq!(me["claims"]["iss"], "portico-dev");

    let admin = mint(&path, &["--scope", "admin"]);
    assert_eq!(get(&server, "/admin", Some(&ann)).await.status(), 403);
    assert_eq!(get(&server, "/admin", Some(&admin)).await.status(), 200);
    let expired = mint(&path, &["--ttl", "0s"]);
    assert_eq!(get(&server, "/me", Some(&expired)).await.status(), 401);

    // The public key, as a JWKS, on the admin listener.
    let jwks: Value = client()
        .get(server.admin_url("/.well-known/jwks.json"))
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("json");
    let header = jsonwebtoken::decode_header(&ann).expect("header");
    assert_eq!(jwks["keys"][0]["kid"], header.kid.expect("kid").as_str());
    assert_eq!(jwks["keys"][0]["alg"], "EdDSA");
}

#[tokio::test]
async fn invoke_carries_the_event_s_authorizer_into_the_function() {
    let me = crate::support::invoke_with_authorizer(
        &manifest(DEV),
        "/me",
        &json!({"jwt": {"claims": {"sub": "from-event", "n": 7}, "scopes": ["a"]}}),
    );
    assert_eq!(me["sub"], "from-event");
    assert_eq!(me["claims"]["n"], "7");
    assert_eq!(me["scopes"], json!(["a"]));
}

#[tokio::test]
async fn authorizer_mistakes_in_the_manifest_name_line_and_key() {
    for (text, key, words) in [
        (
            "[functions.hello]\nmodule = \"{hello}\"\n[routes]\n\"GET /a\" = { function = \"hello\", auth = \"nope\" }\n",
            "routes.\"GET /a\".auth",
            "no authorizer named `nope`",
        ),
        (
            "[authorizers.a]\ntype = \"jwt\"\nissuer = \"portico-dev\"\n",
            "authorizers.a.audiences",
            "at least one",
        ),
        (
            "[authorizers.a]\ntype = \"lambda\"\nissuer = \"x\"\n",
            "authorizers.a.type",
            "unknown authorizer type",
        ),
        (
            "[authorizers.a]\ntype = \"jwt\"\nissuer = \"not a url\"\naudiences = [\"x\"]\n",
            "authorizers.a.issuer",
            "OpenID discovery",
        ),
        (
            "[functions.hello]\nmodule = \"{hello}\"\n[routes]\n\"GET /a\" = { function = \"hello\", scopes = [\"x\"] }\n",
            "routes.\"GET /a\".scopes",
            "add `auth",
        ),
    ] {
        crate::support::refused_at(text, key, words);
    }
}
