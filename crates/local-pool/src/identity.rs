//! Identity pools (`cognito-identity`): the management calls that make them
//! (`CreateIdentityPool`, `SetIdentityPoolRoles`, ...) and the three calls
//! clients use to turn a user-pool sign-in (or nothing, for a guest) into AWS
//! credentials: `GetId`, `GetCredentialsForIdentity` and `GetOpenIdToken`.
//!
//! Credentials are fake but well formed (`ASIA...` access key, 40-character
//! secret, long session token, one hour); nothing checks them. User-pool
//! `Logins` tokens are checked for real: the ID token must be signed by the
//! user pool's key, unexpired, for an app client configured on the identity
//! pool, and (with `ServerSideTokenCheck`) not revoked by sign-out. OpenID
//! tokens are RS256 JWTs signed with a key of the identity service
//! ([`Engine::identity_jwks`]); they are accepted back as the
//! `cognito-identity.amazonaws.com` login (developer-authenticated
//! identities).
//!
//! Tokens of other providers (Google, Facebook, Login with Amazon, Sign in
//! with Apple, an OIDC issuer) cannot be verified offline. The local rule:
//! the provider must be configured on the identity pool, the token must be a
//! well-formed JWT whose `iss` is the provider's, whose `aud` is one of the
//! configured app ids (public providers; not checked for OIDC issuers, whose
//! client ids live in IAM), with an `exp` in the future and a `sub`, which
//! becomes the login's user. **The signature is not checked.**

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use base64::Engine as _;
use cognito_wire::cognito_identity::{self as ci, operation as iop};
use cognito_wire::glue::Empty;
use cognito_wire::{EpochSeconds, ErrorCode, Operation, Sensitive};
use serde_json::{Value, json};

use crate::engine::{Engine, Fail, OpResult, base64url, claims_map, decode, random_bytes, uuid_v4};
use crate::state::{IdentityPoolRecord, IdentityRecord, State};
use crate::tokens::SigningKey;

/// The issuer of `GetOpenIdToken` tokens (Cognito's).
pub(crate) const OPENID_ISSUER: &str = "https://cognito-identity.amazonaws.com";
/// How long credentials last (Cognito: one hour).
const CREDENTIALS_SECONDS: i64 = 3600;
/// How long an OpenID token lasts (Cognito: ten minutes).
const OPENID_SECONDS: i64 = 600;
/// How long a developer-identity OpenID token lasts by default (Cognito: 15 minutes).
const DEVELOPER_OPENID_SECONDS: i64 = 900;
/// The account in ARNs.
const ACCOUNT: &str = "000000000000";
/// The `Logins` key of tokens from `GetOpenIdToken(ForDeveloperIdentity)`.
pub(crate) const COGNITO_IDENTITY_PROVIDER: &str = "cognito-identity.amazonaws.com";
/// Public providers: the `Logins` key and the `iss` values their tokens carry.
const PUBLIC_PROVIDERS: &[(&str, &[&str])] = &[
    ("accounts.google.com", &["https://accounts.google.com", "accounts.google.com"]),
    ("graph.facebook.com", &["https://www.facebook.com", "https://graph.facebook.com"]),
    ("www.amazon.com", &["https://www.amazon.com"]),
    ("appleid.apple.com", &["https://appleid.apple.com"]),
];

fn no_identity_pool(id: &str) -> Fail {
    Fail::new(ErrorCode::ResourceNotFoundException, format!("IdentityPool '{id}' not found."))
}

fn no_identity(id: &str) -> Fail {
    Fail::new(ErrorCode::ResourceNotFoundException, format!("Identity '{id}' not found."))
}

fn invalid_login(why: &str) -> Fail {
    Fail::not_authorized(format!("Invalid login token. {why}"))
}

fn unsupported_provider() -> Fail {
    Fail::not_authorized("Token is not from a supported provider of this identity pool.")
}

fn no_guests() -> Fail {
    Fail::not_authorized("Unauthenticated access is not supported for this identity pool.")
}

fn logins_mismatch() -> Fail {
    Fail::not_authorized(
        "Logins don't match. Please include at least one valid login for this identity or identity pool.",
    )
}

/// Checks a `<region>:<guid>` id (identity pools and identities) as Cognito's
/// model does (`[\w-]+:[0-9a-f-]+`, at most 55 characters).
fn check_id(value: &str, member: &str) -> OpResult<()> {
    let valid = value.len() <= 55
        && value.split_once(':').is_some_and(|(region, guid)| {
            !region.is_empty()
                && region.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                && !guid.is_empty()
                && guid.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c) || c == '-')
        });
    if valid {
        Ok(())
    } else {
        Err(Fail::invalid(format!(
            "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w-]+:[0-9a-f-]+"
        )))
    }
}

fn check_pool_name(name: &str) -> OpResult<()> {
    let valid = !name.is_empty()
        && name.chars().count() <= 128
        && name.chars().all(|c| c.is_alphanumeric() || c.is_whitespace() || "_+=,.@-".contains(c));
    if valid {
        Ok(())
    } else {
        Err(Fail::invalid(format!(
            "1 validation error detected: Value '{name}' at 'identityPoolName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w\\s+=,.@-]+"
        )))
    }
}

/// The provider name of a user pool (`cognito-idp.<region>.amazonaws.com/<poolId>`).
pub(crate) fn provider_name(user_pool_id: &str) -> String {
    let region = cognito_wire::endpoint::region_from_user_pool_id(user_pool_id).unwrap_or("us-east-1");
    format!("cognito-idp.{region}.amazonaws.com/{user_pool_id}")
}

/// A login that passed the checks: the canonical provider name and the user's `sub`.
#[derive(Debug, Clone)]
struct Login {
    provider: String,
    sub: String,
}

/// Random characters from an alphabet of 32 (5 bits each, no bias).
fn random_chars(n: usize, alphabet: &[u8; 32]) -> String {
    let mut out = String::with_capacity(n);
    while out.len() < n {
        for b in random_bytes::<32>() {
            if out.len() == n {
                break;
            }
            out.push(char::from(alphabet[usize::from(b & 31)]));
        }
    }
    out
}

/// Fake but well-formed temporary credentials, valid for an hour.
fn fake_credentials(now: i64) -> ci::Credentials {
    let b64 = base64::engine::general_purpose::STANDARD;
    ci::Credentials {
        access_key_id: Some(format!("ASIA{}", random_chars(16, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"))),
        secret_key: Some(Sensitive::new(b64.encode(random_bytes::<30>()))),
        session_token: Some(b64.encode([random_bytes::<256>(), random_bytes::<256>()].concat())),
        expiration: Some(EpochSeconds::from_secs(now + CREDENTIALS_SECONDS)),
        ..Default::default()
    }
}

/// The `Logins` of a request, without empty entries.
fn logins_of(logins: Option<&BTreeMap<String, Sensitive<String>>>) -> Vec<(String, String)> {
    logins
        .into_iter()
        .flatten()
        .filter(|(_, token)| !token.expose().is_empty())
        .map(|(k, v)| (k.clone(), v.expose().clone()))
        .collect()
}

/// The claims of a well-formed JWT (three base64url segments, a JSON header
/// naming an `alg`, JSON claims), without checking its signature.
fn well_formed_jwt(token: &str) -> Option<serde_json::Map<String, Value>> {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut parts = token.split('.');
    let (header, payload, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let header: Value = serde_json::from_slice(&b64.decode(header.trim_end_matches('=')).ok()?).ok()?;
    header.get("alg").and_then(Value::as_str)?;
    match serde_json::from_slice(&b64.decode(payload.trim_end_matches('=')).ok()?).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

impl Engine {
    pub(crate) fn dispatch_identity(&self, name: &str, body: &[u8]) -> OpResult<Vec<u8>> {
        dispatch_ops! { self, name, body, iop;
            // Clients.
            GetId => get_id,
            GetCredentialsForIdentity => get_credentials_for_identity,
            GetOpenIdToken => get_open_id_token,
            GetOpenIdTokenForDeveloperIdentity => get_open_id_token_for_developer_identity,
            // Management.
            CreateIdentityPool => create_identity_pool,
            DescribeIdentityPool => describe_identity_pool,
            UpdateIdentityPool => update_identity_pool,
            ListIdentityPools => list_identity_pools,
            DeleteIdentityPool => delete_identity_pool,
            SetIdentityPoolRoles => set_identity_pool_roles,
            GetIdentityPoolRoles => get_identity_pool_roles,
            DescribeIdentity => describe_identity,
            ListIdentities => list_identities,
            DeleteIdentities => delete_identities,
        }
    }

    fn identity_pool(state: &State, id: &str) -> OpResult<IdentityPoolRecord> {
        state.identity.pools.get(id).cloned().ok_or_else(|| no_identity_pool(id))
    }

    // ----- management -----

    fn create_identity_pool(&self, input: ci::CreateIdentityPoolInput) -> OpResult<ci::IdentityPool> {
        check_pool_name(&input.identity_pool_name)?;
        for provider in input.cognito_identity_providers.iter().flatten() {
            if provider.provider_name.as_deref().is_none_or(str::is_empty) {
                return Err(Fail::invalid("CognitoIdentityProvider ProviderName must not be empty."));
            }
        }
        let region = input
            .cognito_identity_providers
            .iter()
            .flatten()
            .filter_map(|p| p.provider_name.as_deref())
            .filter_map(|name| name.rsplit('/').next())
            .find_map(|pool| cognito_wire::endpoint::region_from_user_pool_id(pool).ok())
            .unwrap_or("us-east-1");
        let id = format!("{region}:{}", uuid_v4());
        let config = ci::IdentityPool {
            identity_pool_id: id.clone(),
            identity_pool_name: input.identity_pool_name,
            allow_unauthenticated_identities: input.allow_unauthenticated_identities,
            allow_classic_flow: input.allow_classic_flow,
            cognito_identity_providers: input.cognito_identity_providers,
            developer_provider_name: input.developer_provider_name,
            identity_pool_tags: input.identity_pool_tags,
            open_id_connect_provider_ar_ns: input.open_id_connect_provider_ar_ns,
            saml_provider_ar_ns: input.saml_provider_ar_ns,
            supported_login_providers: input.supported_login_providers,
            ..Default::default()
        };
        let record = IdentityPoolRecord {
            config: config.clone(),
            roles: BTreeMap::new(),
            role_mappings: None,
            created: self.now(),
        };
        self.lock().identity.pools.insert(id, record);
        self.mark_dirty();
        Ok(config)
    }

    fn describe_identity_pool(&self, input: ci::DescribeIdentityPoolInput) -> OpResult<ci::IdentityPool> {
        check_id(&input.identity_pool_id, "identityPoolId")?;
        Ok(Self::identity_pool(&self.lock(), &input.identity_pool_id)?.config)
    }

    fn update_identity_pool(&self, input: ci::IdentityPool) -> OpResult<ci::IdentityPool> {
        check_id(&input.identity_pool_id, "identityPoolId")?;
        check_pool_name(&input.identity_pool_name)?;
        let mut state = self.lock();
        let record = state
            .identity
            .pools
            .get_mut(&input.identity_pool_id)
            .ok_or_else(|| no_identity_pool(&input.identity_pool_id))?;
        let mut config = input;
        config.unknown_fields = Default::default();
        record.config = config.clone();
        drop(state);
        self.mark_dirty();
        Ok(config)
    }

    fn list_identity_pools(&self, input: ci::ListIdentityPoolsInput) -> OpResult<ci::ListIdentityPoolsResponse> {
        if !(1..=60).contains(&input.max_results) {
            return Err(Fail::invalid(format!(
                "1 validation error detected: Value '{}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 60",
                input.max_results
            )));
        }
        let state = self.lock();
        let after = input.next_token.unwrap_or_default();
        let mut pools = state.identity.pools.iter().filter(|(id, _)| after.is_empty() || id.as_str() > after.as_str());
        let page: Vec<ci::IdentityPoolShortDescription> = pools
            .by_ref()
            .take(input.max_results as usize)
            .map(|(id, p)| ci::IdentityPoolShortDescription {
                identity_pool_id: Some(id.clone()),
                identity_pool_name: Some(p.config.identity_pool_name.clone()),
                ..Default::default()
            })
            .collect();
        let next_token =
            if pools.next().is_some() { page.last().and_then(|p| p.identity_pool_id.clone()) } else { None };
        Ok(ci::ListIdentityPoolsResponse { identity_pools: Some(page), next_token, ..Default::default() })
    }

    fn delete_identity_pool(&self, input: ci::DeleteIdentityPoolInput) -> OpResult<Empty> {
        check_id(&input.identity_pool_id, "identityPoolId")?;
        let mut state = self.lock();
        if state.identity.pools.remove(&input.identity_pool_id).is_none() {
            return Err(no_identity_pool(&input.identity_pool_id));
        }
        state.identity.identities.retain(|_, i| i.pool_id != input.identity_pool_id);
        drop(state);
        self.mark_dirty();
        Ok(Empty::default())
    }

    fn set_identity_pool_roles(&self, input: ci::SetIdentityPoolRolesInput) -> OpResult<Empty> {
        check_id(&input.identity_pool_id, "identityPoolId")?;
        if let Some(bad) = input.roles.keys().find(|k| *k != "authenticated" && *k != "unauthenticated") {
            return Err(Fail::invalid(format!("Invalid role key '{bad}': use 'authenticated' or 'unauthenticated'.")));
        }
        let mut state = self.lock();
        let record = state
            .identity
            .pools
            .get_mut(&input.identity_pool_id)
            .ok_or_else(|| no_identity_pool(&input.identity_pool_id))?;
        record.roles = input.roles;
        record.role_mappings = input.role_mappings;
        drop(state);
        self.mark_dirty();
        Ok(Empty::default())
    }

    fn get_identity_pool_roles(
        &self,
        input: ci::GetIdentityPoolRolesInput,
    ) -> OpResult<ci::GetIdentityPoolRolesResponse> {
        check_id(&input.identity_pool_id, "identityPoolId")?;
        let record = Self::identity_pool(&self.lock(), &input.identity_pool_id)?;
        Ok(ci::GetIdentityPoolRolesResponse {
            identity_pool_id: Some(input.identity_pool_id),
            roles: Some(record.roles),
            role_mappings: record.role_mappings,
            ..Default::default()
        })
    }

    fn describe(id: &str, identity: &IdentityRecord) -> ci::IdentityDescription {
        ci::IdentityDescription {
            identity_id: Some(id.to_owned()),
            logins: Some(identity.logins.keys().cloned().collect()),
            creation_date: Some(EpochSeconds::from_secs(identity.created)),
            last_modified_date: Some(EpochSeconds::from_secs(identity.modified)),
            ..Default::default()
        }
    }

    fn describe_identity(&self, input: ci::DescribeIdentityInput) -> OpResult<ci::IdentityDescription> {
        check_id(&input.identity_id, "identityId")?;
        let state = self.lock();
        let identity =
            state.identity.identities.get(&input.identity_id).ok_or_else(|| no_identity(&input.identity_id))?;
        Ok(Self::describe(&input.identity_id, identity))
    }

    fn list_identities(&self, input: ci::ListIdentitiesInput) -> OpResult<ci::ListIdentitiesResponse> {
        check_id(&input.identity_pool_id, "identityPoolId")?;
        if !(1..=60).contains(&input.max_results) {
            return Err(Fail::invalid(format!(
                "1 validation error detected: Value '{}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 60",
                input.max_results
            )));
        }
        let state = self.lock();
        Self::identity_pool(&state, &input.identity_pool_id)?;
        let after = input.next_token.unwrap_or_default();
        let mut identities = state.identity.identities.iter().filter(|(id, i)| {
            i.pool_id == input.identity_pool_id && (after.is_empty() || id.as_str() > after.as_str())
        });
        let page: Vec<ci::IdentityDescription> =
            identities.by_ref().take(input.max_results as usize).map(|(id, i)| Self::describe(id, i)).collect();
        let next_token =
            if identities.next().is_some() { page.last().and_then(|p| p.identity_id.clone()) } else { None };
        Ok(ci::ListIdentitiesResponse {
            identity_pool_id: Some(input.identity_pool_id),
            identities: Some(page),
            next_token,
            ..Default::default()
        })
    }

    fn delete_identities(&self, input: ci::DeleteIdentitiesInput) -> OpResult<ci::DeleteIdentitiesResponse> {
        if input.identity_ids_to_delete.is_empty() || input.identity_ids_to_delete.len() > 60 {
            return Err(Fail::invalid(
                "1 validation error detected: Value at 'identityIdsToDelete' failed to satisfy constraint: Member must have length between 1 and 60",
            ));
        }
        for id in &input.identity_ids_to_delete {
            check_id(id, "identityIdsToDelete")?;
        }
        let mut state = self.lock();
        for id in &input.identity_ids_to_delete {
            state.identity.identities.remove(id);
        }
        drop(state);
        self.mark_dirty();
        Ok(ci::DeleteIdentitiesResponse { unprocessed_identity_ids: Some(Vec::new()), ..Default::default() })
    }

    // ----- clients -----

    /// Checks every entry of `Logins` against the identity pool's providers.
    fn check_logins(&self, pool: &ci::IdentityPool, logins: &[(String, String)]) -> OpResult<Vec<Login>> {
        logins.iter().map(|(key, token)| self.check_login(pool, key, token)).collect()
    }

    /// One `Logins` entry: the provider must be a user pool configured on
    /// the identity pool, the token a valid ID token of it for one of the
    /// configured app clients.
    fn check_login(&self, pool: &ci::IdentityPool, key: &str, token: &str) -> OpResult<Login> {
        if key == COGNITO_IDENTITY_PROVIDER {
            return self.check_cognito_identity_token(pool, token);
        }
        if let Some((_, issuers)) = PUBLIC_PROVIDERS.iter().find(|(name, _)| *name == key) {
            let app_ids =
                pool.supported_login_providers.as_ref().and_then(|p| p.get(key)).ok_or_else(unsupported_provider)?;
            let app_ids: Vec<&str> = app_ids.split(',').map(str::trim).filter(|a| !a.is_empty()).collect();
            return self.check_external(key, token, issuers, Some(&app_ids));
        }
        let oidc = pool
            .open_id_connect_provider_ar_ns
            .iter()
            .flatten()
            .any(|arn| arn.split_once(":oidc-provider/").is_some_and(|(_, host)| host == key));
        if oidc {
            return self.check_external(key, token, &[format!("https://{key}").as_str()], None);
        }
        if pool.developer_provider_name.as_deref() == Some(key) {
            return Err(invalid_login(
                "Developer provider logins are accepted only by GetOpenIdTokenForDeveloperIdentity.",
            ));
        }
        let user_pool_id = key.rsplit('/').next().unwrap_or("");
        if !key.contains('/') || cognito_wire::endpoint::region_from_user_pool_id(user_pool_id).is_err() {
            // SAML and unknown providers: SAML assertions are not checked here.
            let configured = pool.saml_provider_ar_ns.iter().flatten().any(|arn| arn == key);
            return Err(if configured {
                invalid_login("The local pool does not verify SAML assertions.")
            } else {
                unsupported_provider()
            });
        }
        let provider = provider_name(user_pool_id);
        // Amplify JS names the provider after the token's issuer (for the
        // local pool `127.0.0.1:PORT/<poolId>`): accept that spelling too.
        let issuer = self.issuer(user_pool_id);
        let issuer_host_path = issuer.split_once("://").map_or(issuer.as_str(), |(_, rest)| rest);
        if key != provider && key != issuer_host_path {
            return Err(unsupported_provider());
        }
        let entries: Vec<&ci::CognitoIdentityProvider> = pool
            .cognito_identity_providers
            .iter()
            .flatten()
            .filter(|p| p.provider_name.as_deref() == Some(provider.as_str()))
            .collect();
        if entries.is_empty() {
            return Err(unsupported_provider());
        }
        let claims = crate::tokens::peek_claims(token)
            .ok_or_else(|| invalid_login("Not a valid OpenId Connect identity token."))?;
        let iss = claims.get("iss").and_then(Value::as_str).unwrap_or("");
        if iss.rsplit('/').next() != Some(user_pool_id) {
            return Err(invalid_login("Issuer doesn't match providerName"));
        }
        let key = self.signing_key(user_pool_id).map_err(|_| invalid_login("Couldn't verify signed token."))?;
        let claims = key.verify(token).ok_or_else(|| invalid_login("Couldn't verify signed token."))?;
        if claims.get("token_use").and_then(Value::as_str) != Some("id") {
            return Err(invalid_login("Not a valid OpenId Connect identity token."));
        }
        let now = self.now();
        let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
        if exp <= now {
            return Err(invalid_login(&format!("Token expired: {now} >= {exp}")));
        }
        let aud = claims.get("aud").and_then(Value::as_str).unwrap_or("");
        let Some(entry) = entries.iter().find(|p| p.client_id.as_deref().is_none_or(|c| c == aud)) else {
            return Err(invalid_login("Incorrect token audience."));
        };
        let sub = claims.get("sub").and_then(Value::as_str).unwrap_or("").to_owned();
        if sub.is_empty() {
            return Err(invalid_login("Missing a required claim: sub"));
        }
        if entry.server_side_token_check == Some(true) {
            self.check_not_revoked(user_pool_id, &claims, &sub)?;
        }
        Ok(Login { provider, sub })
    }

    /// A token of a provider the local pool cannot verify (see the module
    /// documentation): a well-formed JWT with the provider's `iss`, one of
    /// `audiences` as `aud` (when given), an `exp` in the future and a `sub`.
    /// The signature is not checked.
    fn check_external(
        &self,
        provider: &str,
        token: &str,
        issuers: &[&str],
        audiences: Option<&[&str]>,
    ) -> OpResult<Login> {
        let claims =
            well_formed_jwt(token).ok_or_else(|| invalid_login("Not a valid OpenId Connect identity token."))?;
        let iss = claims.get("iss").and_then(Value::as_str).unwrap_or("");
        if !issuers.contains(&iss) {
            return Err(invalid_login("Issuer doesn't match providerName"));
        }
        if let Some(audiences) = audiences {
            let matches = |a: &str| audiences.contains(&a);
            let ok = match claims.get("aud") {
                Some(Value::String(aud)) => matches(aud),
                Some(Value::Array(auds)) => auds.iter().filter_map(Value::as_str).any(matches),
                _ => false,
            };
            if !ok {
                return Err(invalid_login("Incorrect token audience."));
            }
        }
        self.check_exp(&claims)?;
        let sub = claims.get("sub").and_then(Value::as_str).unwrap_or("");
        if sub.is_empty() {
            return Err(invalid_login("Missing a required claim: sub"));
        }
        Ok(Login { provider: provider.to_owned(), sub: sub.to_owned() })
    }

    fn check_exp(&self, claims: &serde_json::Map<String, Value>) -> OpResult<()> {
        let now = self.now();
        let exp =
            claims.get("exp").and_then(Value::as_i64).ok_or_else(|| invalid_login("Missing a required claim: exp"))?;
        if exp <= now {
            return Err(invalid_login(&format!("Token expired: {now} >= {exp}")));
        }
        Ok(())
    }

    /// An OpenID token of this identity service (from `GetOpenIdToken` or
    /// `GetOpenIdTokenForDeveloperIdentity`): signed by its key, for this
    /// identity pool, unexpired. Its `sub` is the identity.
    fn check_cognito_identity_token(&self, pool: &ci::IdentityPool, token: &str) -> OpResult<Login> {
        let key = self.identity_signing_key()?;
        let claims = key.verify(token).ok_or_else(|| invalid_login("Couldn't verify signed token."))?;
        if claims.get("iss").and_then(Value::as_str) != Some(OPENID_ISSUER) {
            return Err(invalid_login("Issuer doesn't match providerName"));
        }
        if claims.get("aud").and_then(Value::as_str) != Some(pool.identity_pool_id.as_str()) {
            return Err(invalid_login("Incorrect token audience."));
        }
        self.check_exp(&claims)?;
        let sub = claims.get("sub").and_then(Value::as_str).unwrap_or("");
        if sub.is_empty() {
            return Err(invalid_login("Missing a required claim: sub"));
        }
        Ok(Login { provider: COGNITO_IDENTITY_PROVIDER.to_owned(), sub: sub.to_owned() })
    }

    /// `ServerSideTokenCheck`: the user still exists, is enabled, and has
    /// not signed out (GlobalSignOut, RevokeToken) since the token was issued.
    fn check_not_revoked(
        &self,
        user_pool_id: &str,
        claims: &serde_json::Map<String, Value>,
        sub: &str,
    ) -> OpResult<()> {
        let revoked = || invalid_login("Token has been revoked.");
        let state = self.lock();
        let origin = claims.get("origin_jti").and_then(Value::as_str).unwrap_or("");
        if state.revoked_origins.contains(origin) {
            return Err(revoked());
        }
        let pool = state.pools.get(user_pool_id).ok_or_else(revoked)?;
        let username = claims.get("cognito:username").and_then(Value::as_str).unwrap_or("");
        let user = pool.users.get(&pool.key_of(username)).filter(|u| u.sub == sub).ok_or_else(revoked)?;
        let iat = claims.get("iat").and_then(Value::as_i64).unwrap_or(0);
        if !user.enabled || iat < user.tokens_valid_after {
            return Err(revoked());
        }
        Ok(())
    }

    /// The identity checked logins belong to. `current` is the identity the
    /// caller named (GetCredentialsForIdentity, GetOpenIdToken): a guest
    /// identity becomes the user's, or is merged into (replaced by) the
    /// identity the user already has; an authenticated identity must own
    /// at least one of the logins. Without `current` (GetId), the identity
    /// the logins own, or a new one.
    ///
    /// A `cognito-identity.amazonaws.com` login is owned by the identity it
    /// names. With `attach` (GetOpenIdTokenForDeveloperIdentity), logins
    /// nobody owns are linked to an authenticated `current` identity.
    fn link(&self, pool_id: &str, current: Option<&str>, logins: &[Login], attach: bool) -> OpResult<String> {
        let now = self.now();
        let mut state = self.lock();
        let identities = &mut state.identity.identities;
        let owners: BTreeSet<String> = logins
            .iter()
            .filter_map(|login| {
                if login.provider == COGNITO_IDENTITY_PROVIDER {
                    return identities.get(&login.sub).filter(|i| i.pool_id == pool_id).map(|_| login.sub.clone());
                }
                identities
                    .iter()
                    .find(|(_, i)| i.pool_id == pool_id && i.logins.get(&login.provider) == Some(&login.sub))
                    .map(|(id, _)| id.clone())
            })
            .collect();
        if owners.is_empty() && logins.iter().any(|l| l.provider == COGNITO_IDENTITY_PROVIDER) {
            return Err(logins_mismatch());
        }
        let target = match current {
            None => match owners.len() {
                0 => {
                    let region = pool_id.split_once(':').map_or("us-east-1", |(r, _)| r);
                    let id = format!("{region}:{}", uuid_v4());
                    identities.insert(
                        id.clone(),
                        IdentityRecord {
                            pool_id: pool_id.to_owned(),
                            logins: BTreeMap::new(),
                            created: now,
                            modified: now,
                        },
                    );
                    id
                }
                1 => owners.into_iter().next().unwrap_or_default(),
                _ => {
                    return Err(Fail::new(
                        ErrorCode::ResourceConflictException,
                        "Logins belong to different identities.",
                    ));
                }
            },
            Some(current) => {
                let guest = identities.get(current).is_some_and(|i| i.logins.is_empty());
                if guest {
                    match owners.len() {
                        0 => current.to_owned(),
                        // Its own OpenID token (cognito-identity.amazonaws.com).
                        1 if owners.contains(current) => current.to_owned(),
                        1 => {
                            // Cognito merges the guest into the user's identity.
                            identities.remove(current);
                            owners.into_iter().next().unwrap_or_default()
                        }
                        _ => return Err(logins_mismatch()),
                    }
                } else if (owners.len() == 1 && owners.contains(current)) || (attach && owners.is_empty()) {
                    current.to_owned()
                } else {
                    return Err(logins_mismatch());
                }
            }
        };
        if let Some(identity) = identities.get_mut(&target) {
            let before = identity.logins.len();
            for login in logins.iter().filter(|l| l.provider != COGNITO_IDENTITY_PROVIDER) {
                identity.logins.insert(login.provider.clone(), login.sub.clone());
            }
            if identity.logins.len() != before {
                identity.modified = now;
            }
        }
        drop(state);
        self.mark_dirty();
        Ok(target)
    }

    fn get_id(&self, input: ci::GetIdInput) -> OpResult<ci::GetIdResponse> {
        check_id(&input.identity_pool_id, "identityPoolId")?;
        let pool = Self::identity_pool(&self.lock(), &input.identity_pool_id)?;
        let logins = logins_of(input.logins.as_ref());
        let identity_id = if logins.is_empty() {
            if !pool.config.allow_unauthenticated_identities {
                return Err(no_guests());
            }
            let region = input.identity_pool_id.split_once(':').map_or("us-east-1", |(r, _)| r);
            let id = format!("{region}:{}", uuid_v4());
            let now = self.now();
            self.lock().identity.identities.insert(
                id.clone(),
                IdentityRecord {
                    pool_id: input.identity_pool_id.clone(),
                    logins: BTreeMap::new(),
                    created: now,
                    modified: now,
                },
            );
            self.mark_dirty();
            id
        } else {
            let checked = self.check_logins(&pool.config, &logins)?;
            self.link(&input.identity_pool_id, None, &checked, false)?
        };
        Ok(ci::GetIdResponse { identity_id: Some(identity_id), ..Default::default() })
    }

    /// The identity a client call acts as, after checking its `Logins`;
    /// also the logins checked (empty for a guest).
    fn act_as(
        &self,
        identity_id: &str,
        logins: Option<&BTreeMap<String, Sensitive<String>>>,
    ) -> OpResult<(String, String, Vec<Login>)> {
        check_id(identity_id, "identityId")?;
        let (identity, pool) = {
            let state = self.lock();
            let identity =
                state.identity.identities.get(identity_id).cloned().ok_or_else(|| no_identity(identity_id))?;
            let pool = Self::identity_pool(&state, &identity.pool_id)?;
            (identity, pool)
        };
        let logins = logins_of(logins);
        if logins.is_empty() {
            if !identity.logins.is_empty() {
                return Err(Fail::not_authorized(format!("Access to Identity '{identity_id}' is forbidden.")));
            }
            if !pool.config.allow_unauthenticated_identities {
                return Err(no_guests());
            }
            return Ok((identity_id.to_owned(), identity.pool_id, Vec::new()));
        }
        let checked = self.check_logins(&pool.config, &logins)?;
        let id = self.link(&identity.pool_id, Some(identity_id), &checked, false)?;
        Ok((id, identity.pool_id, checked))
    }

    fn get_credentials_for_identity(
        &self,
        input: ci::GetCredentialsForIdentityInput,
    ) -> OpResult<ci::GetCredentialsForIdentityResponse> {
        let (identity_id, _, _) = self.act_as(&input.identity_id, input.logins.as_ref())?;
        Ok(ci::GetCredentialsForIdentityResponse {
            identity_id: Some(identity_id),
            credentials: Some(fake_credentials(self.now())),
            ..Default::default()
        })
    }

    fn get_open_id_token(&self, input: ci::GetOpenIdTokenInput) -> OpResult<ci::GetOpenIdTokenResponse> {
        let (identity_id, pool_id, logins) = self.act_as(&input.identity_id, input.logins.as_ref())?;
        let amr: Vec<String> = if logins.is_empty() {
            vec!["unauthenticated".into()]
        } else {
            std::iter::once("authenticated".to_owned())
                .chain(
                    logins.iter().flat_map(|l| [l.provider.clone(), format!("{}:CognitoSignIn:{}", l.provider, l.sub)]),
                )
                .collect()
        };
        let token = self.open_id_token(&identity_id, &pool_id, &amr, OPENID_SECONDS)?;
        Ok(ci::GetOpenIdTokenResponse {
            identity_id: Some(identity_id),
            token: Some(Sensitive::new(token)),
            ..Default::default()
        })
    }

    /// An OpenID token for an identity, signed by the identity service's key.
    fn open_id_token(&self, identity_id: &str, pool_id: &str, amr: &[String], seconds: i64) -> OpResult<String> {
        let now = self.now();
        let region = pool_id.split_once(':').map_or("us-east-1", |(r, _)| r);
        let claims = claims_map(json!({
            "sub": identity_id,
            "aud": pool_id,
            "amr": amr,
            "iss": OPENID_ISSUER,
            "https://cognito-identity.amazonaws.com/identity-pool-arn":
                format!("arn:aws:cognito-identity:{region}:{ACCOUNT}:identitypool/{pool_id}"),
            "exp": now + seconds,
            "iat": now,
        }));
        let key = self.identity_signing_key()?;
        key.sign(&claims).map_err(|e| Fail::internal(e.0))
    }

    /// Developer-authenticated identities: the app's backend names its user
    /// (`Logins: {<DeveloperProviderName>: <user identifier>}`, possibly
    /// with public-provider tokens) and gets the identity and an OpenID
    /// token, which the client then sends as the
    /// `cognito-identity.amazonaws.com` login.
    fn get_open_id_token_for_developer_identity(
        &self,
        input: ci::GetOpenIdTokenForDeveloperIdentityInput,
    ) -> OpResult<ci::GetOpenIdTokenForDeveloperIdentityResponse> {
        check_id(&input.identity_pool_id, "identityPoolId")?;
        if let Some(id) = &input.identity_id {
            check_id(id, "identityId")?;
        }
        let seconds = input.token_duration.unwrap_or(DEVELOPER_OPENID_SECONDS);
        if !(1..=86_400).contains(&seconds) {
            return Err(Fail::invalid(format!(
                "1 validation error detected: Value '{seconds}' at 'tokenDuration' failed to satisfy constraint: Member must have value less than or equal to 86400"
            )));
        }
        let pool = Self::identity_pool(&self.lock(), &input.identity_pool_id)?;
        let developer = pool.config.developer_provider_name.clone().unwrap_or_default();
        let logins = logins_of(Some(&input.logins));
        if logins.is_empty() {
            return Err(Fail::invalid("Logins must contain at least one login."));
        }
        let mut checked = Vec::with_capacity(logins.len());
        let mut developer_user = None;
        for (key, value) in &logins {
            if !developer.is_empty() && *key == developer {
                if value.chars().count() > 1024 {
                    return Err(Fail::invalid("The developer user identifier is longer than 1024 characters."));
                }
                developer_user = Some(value.clone());
                checked.push(Login { provider: developer.clone(), sub: value.clone() });
            } else {
                checked.push(self.check_login(&pool.config, key, value)?);
            }
        }
        let identity_id = match &input.identity_id {
            Some(current) => {
                let belongs =
                    self.lock().identity.identities.get(current).is_some_and(|i| i.pool_id == input.identity_pool_id);
                if !belongs {
                    return Err(no_identity(current));
                }
                self.link(&input.identity_pool_id, Some(current), &checked, true)?
            }
            None => self.link(&input.identity_pool_id, None, &checked, false)?,
        };
        let mut amr = vec!["authenticated".to_owned()];
        for login in &checked {
            amr.push(login.provider.clone());
            match &developer_user {
                Some(user) if login.provider == developer => {
                    amr.push(format!("{developer}:{}:{user}", input.identity_pool_id));
                }
                _ => amr.push(format!("{}:CognitoSignIn:{}", login.provider, login.sub)),
            }
        }
        let token = self.open_id_token(&identity_id, &input.identity_pool_id, &amr, seconds)?;
        Ok(ci::GetOpenIdTokenForDeveloperIdentityResponse {
            identity_id: Some(identity_id),
            token: Some(Sensitive::new(token)),
            ..Default::default()
        })
    }

    /// The identity service's signing key, made on first use.
    fn identity_signing_key(&self) -> OpResult<Arc<SigningKey>> {
        {
            let mut state = self.lock();
            if let Some(key) = &state.identity.signing {
                return Ok(key.clone());
            }
            if let Some(stored) = &state.identity.key {
                let key = Arc::new(SigningKey::from_stored(stored).map_err(|e| Fail::internal(e.0))?);
                state.identity.signing = Some(key.clone());
                return Ok(key);
            }
        }
        // Generate outside the lock (tens of milliseconds).
        let key = Arc::new(SigningKey::generate(base64url(&random_bytes::<24>())).map_err(|e| Fail::internal(e.0))?);
        let mut state = self.lock();
        if let Some(existing) = &state.identity.signing {
            return Ok(existing.clone());
        }
        state.identity.key = Some(key.to_stored());
        state.identity.signing = Some(key.clone());
        drop(state);
        self.mark_dirty();
        Ok(key)
    }

    /// The JWKS of the key that signs `GetOpenIdToken` tokens (Cognito
    /// publishes it at `https://cognito-identity.amazonaws.com/.well-known/jwks_uri`).
    pub fn identity_jwks(&self) -> Result<Value, Fail> {
        let key = self.identity_signing_key()?;
        Ok(json!({ "keys": [key.jwk()] }))
    }
}
