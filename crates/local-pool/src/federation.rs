//! Federated identity providers of a pool (`CreateIdentityProvider` and
//! friends) and the federated users the hosted UI's mock identity provider
//! signs in (`Google_<subject>`, status `EXTERNAL_PROVIDER`).
//!
//! Nothing is contacted: the provider details (client ids, secrets, issuer
//! URLs) are stored and returned as given, and the sign-in happens on the
//! local pool's own consent page (see `oauth.rs`).

use std::collections::BTreeMap;

use cognito_wire::EpochSeconds;
use cognito_wire::ErrorCode;
use cognito_wire::cognito_idp::{self as idp, IdentityProviderTypeType, UserStatusType};
use serde_json::json;

use crate::engine::{Engine, Fail, OpResult, uuid_v4};
use crate::state::User;

/// The social providers, whose name must equal their type.
const SOCIAL: [&str; 4] = ["Google", "Facebook", "LoginWithAmazon", "SignInWithApple"];

fn not_found(name: &str) -> Fail {
    Fail::new(ErrorCode::ResourceNotFoundException, format!("Identity provider {name} does not exist."))
}

/// What the mock identity provider hands back to the pool.
#[derive(Debug, Clone)]
pub(crate) struct FederatedProfile {
    /// The provider's name in the pool (`Google`, `MyOIDC`).
    pub(crate) provider: String,
    /// The user's id at the provider (`sub`).
    pub(crate) subject: String,
    /// The email the provider vouches for (may be empty).
    pub(crate) email: String,
}

impl Engine {
    pub(crate) fn create_identity_provider(
        &self,
        input: idp::CreateIdentityProviderRequest,
    ) -> OpResult<idp::CreateIdentityProviderResponse> {
        let name = input.provider_name.clone();
        let kind = input.provider_type.clone();
        if name.is_empty() || name.chars().count() > 32 || name.chars().any(char::is_whitespace) || name.contains('_') {
            return Err(Fail::invalid(
                "1 validation error detected: Value at 'providerName' failed to satisfy constraint: \
                 Member must satisfy regular expression pattern: [^_\\p{Z}][\\p{L}\\p{M}\\p{S}\\p{N}\\p{P}][^_\\p{Z}]+",
            ));
        }
        if name.eq_ignore_ascii_case("COGNITO") {
            return Err(Fail::invalid("COGNITO is a reserved provider name."));
        }
        if let IdentityProviderTypeType::Unknown(other) = &kind {
            return Err(Fail::invalid(format!("Unknown ProviderType {other}.")));
        }
        let is_social = SOCIAL.contains(&kind.as_str());
        if is_social && name != kind.as_str() {
            return Err(Fail::invalid(format!("Provider name for {} must be {}.", kind.as_str(), kind.as_str())));
        }
        if kind == IdentityProviderTypeType::Oidc && !input.provider_details.contains_key("oidc_issuer") {
            return Err(Fail::invalid("oidc_issuer is required in ProviderDetails for an OIDC provider."));
        }
        let now = EpochSeconds::from_secs(self.now());
        let mut state = self.lock();
        let pool = Engine::pool_mut(&mut state, &input.user_pool_id)?;
        if pool.providers.contains_key(&name) {
            return Err(Fail::new(
                ErrorCode::DuplicateProviderException,
                format!("A provider with the name {name} already exists in this user pool."),
            ));
        }
        let identifiers = input.idp_identifiers.clone().unwrap_or_default();
        let taken =
            pool.providers.values().flat_map(|p| p.idp_identifiers.iter().flatten()).any(|i| identifiers.contains(i));
        if taken {
            return Err(Fail::new(ErrorCode::DuplicateProviderException, "An IdP identifier is already in use."));
        }
        let mut mapping = input.attribute_mapping.clone().unwrap_or_default();
        // Cognito maps the provider's user id to `username` on its own.
        let id_claim = match kind.as_str() {
            "Facebook" | "Google" | "OIDC" => "sub",
            "LoginWithAmazon" => "user_id",
            "SignInWithApple" => "sub",
            _ => "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier",
        };
        let id_claim = if kind.as_str() == "Facebook" { "id" } else { id_claim };
        mapping.entry("username".into()).or_insert_with(|| id_claim.into());
        let provider = idp::IdentityProviderType {
            user_pool_id: Some(input.user_pool_id.clone()),
            provider_name: Some(name.clone()),
            provider_type: Some(kind),
            provider_details: Some(input.provider_details.clone()),
            attribute_mapping: Some(mapping),
            idp_identifiers: (!identifiers.is_empty()).then_some(identifiers),
            creation_date: Some(now.clone()),
            last_modified_date: Some(now),
            ..Default::default()
        };
        pool.providers.insert(name, provider.clone());
        drop(state);
        self.mark_dirty();
        Ok(idp::CreateIdentityProviderResponse { identity_provider: provider, ..Default::default() })
    }

    pub(crate) fn describe_identity_provider(
        &self,
        input: idp::DescribeIdentityProviderRequest,
    ) -> OpResult<idp::DescribeIdentityProviderResponse> {
        let state = self.lock();
        let pool = Engine::pool(&state, &input.user_pool_id)?;
        let provider =
            pool.providers.get(&input.provider_name).cloned().ok_or_else(|| not_found(&input.provider_name))?;
        Ok(idp::DescribeIdentityProviderResponse { identity_provider: provider, ..Default::default() })
    }

    pub(crate) fn get_identity_provider_by_identifier(
        &self,
        input: idp::GetIdentityProviderByIdentifierRequest,
    ) -> OpResult<idp::GetIdentityProviderByIdentifierResponse> {
        let state = self.lock();
        let pool = Engine::pool(&state, &input.user_pool_id)?;
        let provider = pool
            .providers
            .values()
            .find(|p| p.idp_identifiers.iter().flatten().any(|i| *i == input.idp_identifier))
            .cloned()
            .ok_or_else(|| not_found(&input.idp_identifier))?;
        Ok(idp::GetIdentityProviderByIdentifierResponse { identity_provider: provider, ..Default::default() })
    }

    pub(crate) fn list_identity_providers(
        &self,
        input: idp::ListIdentityProvidersRequest,
    ) -> OpResult<idp::ListIdentityProvidersResponse> {
        let state = self.lock();
        let pool = Engine::pool(&state, &input.user_pool_id)?;
        let max = input.max_results.unwrap_or(60).clamp(1, 60) as usize;
        let start = input.next_token.as_deref().unwrap_or("");
        let mut names: Vec<&String> =
            pool.providers.keys().filter(|n| n.as_str() > start || start.is_empty()).collect();
        let more = names.len() > max;
        names.truncate(max);
        let providers = names
            .iter()
            .filter_map(|n| pool.providers.get(*n))
            .map(|p| idp::ProviderDescription {
                provider_name: p.provider_name.clone(),
                provider_type: p.provider_type.clone(),
                creation_date: p.creation_date.clone(),
                last_modified_date: p.last_modified_date.clone(),
                ..Default::default()
            })
            .collect();
        let next_token = if more { names.last().map(|n| (*n).clone()) } else { None };
        Ok(idp::ListIdentityProvidersResponse { providers, next_token, ..Default::default() })
    }

    pub(crate) fn delete_identity_provider(
        &self,
        input: idp::DeleteIdentityProviderRequest,
    ) -> OpResult<cognito_wire::glue::Empty> {
        let mut state = self.lock();
        let pool = Engine::pool_mut(&mut state, &input.user_pool_id)?;
        pool.providers.remove(&input.provider_name).ok_or_else(|| not_found(&input.provider_name))?;
        drop(state);
        self.mark_dirty();
        Ok(Default::default())
    }

    /// The registered provider a hosted-UI request names, by name
    /// (`identity_provider`) or by identifier (`idp_identifier`).
    pub(crate) fn find_provider(
        &self,
        pool_id: &str,
        name: Option<&str>,
        identifier: Option<&str>,
    ) -> Option<idp::IdentityProviderType> {
        let state = self.lock();
        let pool = state.pools.get(pool_id)?;
        match (name, identifier) {
            (Some(n), _) => pool.providers.get(n).cloned(),
            (None, Some(i)) => {
                pool.providers.values().find(|p| p.idp_identifiers.iter().flatten().any(|x| x == i)).cloned()
            }
            (None, None) => None,
        }
    }

    /// The providers a client's sign-in page offers: registered on the pool
    /// and named in its `SupportedIdentityProviders`, in that list's order.
    pub(crate) fn provider_choices(&self, pool_id: &str, supported: &[String]) -> Vec<String> {
        let state = self.lock();
        let Some(pool) = state.pools.get(pool_id) else { return Vec::new() };
        supported.iter().filter(|name| pool.providers.contains_key(*name)).cloned().collect()
    }

    /// Creates or updates the federated user of a profile, as Cognito does
    /// after a provider's sign-in: username `<Provider>_<subject>`, status
    /// `EXTERNAL_PROVIDER`, the email mapped, the `identities` attribute,
    /// and membership of the automatic group `<poolId>_<Provider>`.
    /// Returns the user's key.
    pub(crate) fn federated_user(&self, pool_id: &str, profile: &FederatedProfile) -> OpResult<String> {
        let now = self.now();
        let mut state = self.lock();
        let pool = Engine::pool_mut(&mut state, pool_id)?;
        let provider = pool.providers.get(&profile.provider).cloned().ok_or_else(|| not_found(&profile.provider))?;
        let kind = provider.provider_type.as_ref().map_or("OIDC", |k| k.as_str()).to_owned();
        let issuer = provider
            .provider_details
            .as_ref()
            .and_then(|d| d.get("oidc_issuer").or_else(|| d.get("IDPSignout")).cloned());
        let username = format!("{}_{}", profile.provider, profile.subject);
        let key = pool.key_of(&username);
        let group = format!("{pool_id}_{}", profile.provider);
        if !pool.groups.contains_key(&group) {
            let stamp = EpochSeconds::from_secs(now);
            pool.groups.insert(
                group.clone(),
                idp::GroupType {
                    group_name: Some(group.clone()),
                    user_pool_id: Some(pool_id.to_owned()),
                    description: Some(format!("Autogenerated group for users who sign in using {}", profile.provider)),
                    creation_date: Some(stamp.clone()),
                    last_modified_date: Some(stamp),
                    ..Default::default()
                },
            );
        }
        let user = pool.users.entry(key.clone()).or_insert_with(|| {
            let identities = json!([{
                "userId": profile.subject,
                "providerName": profile.provider,
                "providerType": kind,
                "issuer": issuer,
                "primary": "true",
                "dateCreated": (now * 1000).to_string(),
            }]);
            let sub = uuid_v4();
            let mut attributes = BTreeMap::new();
            attributes.insert("sub".to_owned(), sub.clone());
            attributes.insert("identities".to_owned(), identities.to_string());
            User::new(username.clone(), sub, attributes, UserStatusType::ExternalProvider, now)
        });
        if !user.enabled {
            return Err(Fail::not_authorized("User is disabled."));
        }
        // Mapped attributes are refreshed at every federated sign-in.
        if !profile.email.is_empty() {
            user.attributes.insert("email".into(), profile.email.clone());
            user.attributes.insert("email_verified".into(), "false".into());
        }
        user.modified = now;
        user.groups.insert(group);
        drop(state);
        self.mark_dirty();
        Ok(key)
    }
}
