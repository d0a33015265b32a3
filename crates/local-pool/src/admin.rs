//! Management operations: pools, app clients, groups, listing users.

use std::collections::BTreeMap;

use cognito_wire::cognito_idp::{self as idp};
use cognito_wire::{EpochSeconds, ErrorCode};

use crate::engine::{Engine, Fail, OpResult, base64url, random_bytes};
use crate::state::Pool;

const ID_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

fn random_id(len: usize, alphabet: &[u8]) -> String {
    random_bytes::<64>().iter().take(len).map(|b| alphabet[usize::from(*b) % alphabet.len()] as char).collect()
}

/// Pages through a sorted list with an opaque token (the index as text).
fn page<T: Clone>(items: &[T], limit: Option<i32>, token: Option<&str>) -> OpResult<(Vec<T>, Option<String>)> {
    let start = match token {
        Some(t) => t.parse::<usize>().map_err(|_| Fail::invalid("Invalid pagination token"))?,
        None => 0,
    };
    let limit = limit.map_or(60, |l| l.clamp(1, 60) as usize);
    let end = (start + limit).min(items.len());
    let slice = items.get(start..end).map(<[T]>::to_vec).unwrap_or_default();
    Ok((slice, (end < items.len()).then(|| end.to_string())))
}

impl Engine {
    /// Creates a pool from a `CreateUserPool` request (also the Rust API's path).
    pub(crate) fn create_user_pool(&self, input: idp::CreateUserPoolRequest) -> OpResult<idp::CreateUserPoolResponse> {
        if input.pool_name.is_empty() {
            return Err(Fail::invalid("PoolName must not be empty"));
        }
        let region = "us-east-1";
        let id = format!("{region}_{}", random_id(9, ID_ALPHABET));
        let now = EpochSeconds::from_secs(self.now());
        let mut config = idp::UserPoolType {
            id: Some(id.clone()),
            name: Some(input.pool_name.clone()),
            arn: Some(format!("arn:aws:cognito-idp:{region}:000000000000:userpool/{id}")),
            alias_attributes: input.alias_attributes.clone(),
            username_attributes: input.username_attributes.clone(),
            username_configuration: input.username_configuration.clone(),
            schema_attributes: input.schema.clone(),
            user_pool_tags: input.user_pool_tags.clone(),
            creation_date: Some(now.clone()),
            last_modified_date: Some(now),
            estimated_number_of_users: Some(0),
            ..Default::default()
        };
        apply_pool_settings(&mut config, &updatable_pool_settings(&input))?;
        let pool = Pool {
            config: config.clone(),
            clients: BTreeMap::new(),
            users: BTreeMap::new(),
            groups: BTreeMap::new(),
            key: None,
            signing: None,
            factors: Default::default(),
            custom_auth: None,
            providers: BTreeMap::new(),
        };
        self.lock().pools.insert(id, pool);
        self.mark_dirty();
        Ok(idp::CreateUserPoolResponse { user_pool: Some(config), ..Default::default() })
    }

    pub(crate) fn describe_user_pool(
        &self,
        input: idp::DescribeUserPoolRequest,
    ) -> OpResult<idp::DescribeUserPoolResponse> {
        let state = self.lock();
        let pool = Engine::pool(&state, &input.user_pool_id)?;
        let mut config = pool.config.clone();
        config.estimated_number_of_users = Some(pool.users.len() as i32);
        Ok(idp::DescribeUserPoolResponse { user_pool: Some(config), ..Default::default() })
    }

    pub(crate) fn update_user_pool(&self, input: idp::UpdateUserPoolRequest) -> OpResult<idp::UpdateUserPoolResponse> {
        let now = EpochSeconds::from_secs(self.now());
        let mut state = self.lock();
        let pool = Engine::pool_mut(&mut state, &input.user_pool_id)?;
        let c = &mut pool.config;
        apply_pool_settings(c, &input)?;
        c.last_modified_date = Some(now);
        self.mark_dirty();
        Ok(Default::default())
    }

    pub(crate) fn list_user_pools(&self, input: idp::ListUserPoolsRequest) -> OpResult<idp::ListUserPoolsResponse> {
        let state = self.lock();
        let all: Vec<idp::UserPoolDescriptionType> = state
            .pools
            .values()
            .map(|p| idp::UserPoolDescriptionType {
                id: p.config.id.clone(),
                name: p.config.name.clone(),
                creation_date: p.config.creation_date.clone(),
                last_modified_date: p.config.last_modified_date.clone(),
                ..Default::default()
            })
            .collect();
        let (pools, next) = page(&all, Some(input.max_results), input.next_token.as_deref())?;
        Ok(idp::ListUserPoolsResponse { user_pools: Some(pools), next_token: next, ..Default::default() })
    }

    pub(crate) fn delete_user_pool(&self, input: idp::DeleteUserPoolRequest) -> OpResult<cognito_wire::glue::Empty> {
        let mut state = self.lock();
        let pool = Engine::pool(&state, &input.user_pool_id)?;
        if pool.config.deletion_protection.as_ref().is_some_and(|d| d.as_str() == "ACTIVE") {
            return Err(Fail::invalid("The user pool cannot be deleted because deletion protection is activated."));
        }
        state.pools.remove(&input.user_pool_id);
        let id = input.user_pool_id.clone();
        state.refresh_tokens.retain(|_, r| r.pool_id != id);
        self.mark_dirty();
        Ok(Default::default())
    }

    pub(crate) fn create_user_pool_client(
        &self,
        input: idp::CreateUserPoolClientRequest,
    ) -> OpResult<idp::CreateUserPoolClientResponse> {
        let now = EpochSeconds::from_secs(self.now());
        let client_id = random_id(26, b"abcdefghijklmnopqrstuvwxyz0123456789");
        let secret = (input.generate_secret == Some(true)).then(|| base64url(&random_bytes::<39>()).to_lowercase());
        let mut client = idp::UserPoolClientType {
            user_pool_id: Some(input.user_pool_id.clone()),
            client_id: Some(client_id.clone().into()),
            client_secret: secret.map(Into::into),
            creation_date: Some(now.clone()),
            last_modified_date: Some(now),
            ..Default::default()
        };
        apply_client_settings(&mut client, &updatable_client_settings(&input))?;
        let mut state = self.lock();
        Engine::pool_mut(&mut state, &input.user_pool_id)?.clients.insert(client_id, client.clone());
        self.mark_dirty();
        Ok(idp::CreateUserPoolClientResponse { user_pool_client: Some(client), ..Default::default() })
    }

    pub(crate) fn describe_user_pool_client(
        &self,
        input: idp::DescribeUserPoolClientRequest,
    ) -> OpResult<idp::DescribeUserPoolClientResponse> {
        let state = self.lock();
        let pool = Engine::pool(&state, &input.user_pool_id)?;
        let client =
            pool.clients.get(input.client_id.expose()).ok_or_else(|| Fail::no_client(input.client_id.expose()))?;
        Ok(idp::DescribeUserPoolClientResponse { user_pool_client: Some(client.clone()), ..Default::default() })
    }

    pub(crate) fn update_user_pool_client(
        &self,
        input: idp::UpdateUserPoolClientRequest,
    ) -> OpResult<idp::UpdateUserPoolClientResponse> {
        let now = EpochSeconds::from_secs(self.now());
        let mut state = self.lock();
        let pool = Engine::pool_mut(&mut state, &input.user_pool_id)?;
        let client =
            pool.clients.get_mut(input.client_id.expose()).ok_or_else(|| Fail::no_client(input.client_id.expose()))?;
        apply_client_settings(client, &input)?;
        client.last_modified_date = Some(now);
        let client = client.clone();
        self.mark_dirty();
        Ok(idp::UpdateUserPoolClientResponse { user_pool_client: Some(client), ..Default::default() })
    }

    pub(crate) fn list_user_pool_clients(
        &self,
        input: idp::ListUserPoolClientsRequest,
    ) -> OpResult<idp::ListUserPoolClientsResponse> {
        let state = self.lock();
        let pool = Engine::pool(&state, &input.user_pool_id)?;
        let all: Vec<idp::UserPoolClientDescription> = pool
            .clients
            .values()
            .map(|c| idp::UserPoolClientDescription {
                client_id: c.client_id.clone(),
                client_name: c.client_name.clone(),
                user_pool_id: c.user_pool_id.clone(),
                ..Default::default()
            })
            .collect();
        let (clients, next) = page(&all, input.max_results, input.next_token.as_deref())?;
        Ok(idp::ListUserPoolClientsResponse {
            user_pool_clients: Some(clients),
            next_token: next,
            ..Default::default()
        })
    }

    pub(crate) fn delete_user_pool_client(
        &self,
        input: idp::DeleteUserPoolClientRequest,
    ) -> OpResult<cognito_wire::glue::Empty> {
        let mut state = self.lock();
        let pool = Engine::pool_mut(&mut state, &input.user_pool_id)?;
        pool.clients.remove(input.client_id.expose()).ok_or_else(|| Fail::no_client(input.client_id.expose()))?;
        self.mark_dirty();
        Ok(Default::default())
    }

    pub(crate) fn list_users(&self, input: idp::ListUsersRequest) -> OpResult<idp::ListUsersResponse> {
        let filter = input.filter.as_deref().map(parse_filter).transpose()?;
        let state = self.lock();
        let pool = Engine::pool(&state, &input.user_pool_id)?;
        let all: Vec<idp::UserType> = pool
            .users
            .values()
            .filter(|u| {
                filter.as_ref().is_none_or(|(attr, exact, value)| {
                    let actual = match attr.as_str() {
                        "username" => Some(u.username.clone()),
                        "status" => Some(if u.enabled { "Enabled".into() } else { "Disabled".into() }),
                        "cognito:user_status" => Some(u.status.as_str().to_owned()),
                        other => u.attributes.get(other).cloned(),
                    };
                    actual.is_some_and(|a| if *exact { a == *value } else { a.starts_with(value.as_str()) })
                })
            })
            .map(|u| self.user_type(u))
            .collect();
        let (users, next) = page(&all, input.limit, input.pagination_token.as_deref())?;
        Ok(idp::ListUsersResponse { users: Some(users), pagination_token: next, ..Default::default() })
    }

    pub(crate) fn create_group(&self, input: idp::CreateGroupRequest) -> OpResult<idp::CreateGroupResponse> {
        let now = EpochSeconds::from_secs(self.now());
        let mut state = self.lock();
        let pool = Engine::pool_mut(&mut state, &input.user_pool_id)?;
        if pool.groups.contains_key(&input.group_name) {
            return Err(Fail::new(ErrorCode::GroupExistsException, "A group with the name already exists."));
        }
        let group = idp::GroupType {
            group_name: Some(input.group_name.clone()),
            user_pool_id: Some(input.user_pool_id.clone()),
            description: input.description.clone(),
            role_arn: input.role_arn.clone(),
            precedence: input.precedence,
            creation_date: Some(now.clone()),
            last_modified_date: Some(now),
            ..Default::default()
        };
        pool.groups.insert(input.group_name.clone(), group.clone());
        self.mark_dirty();
        Ok(idp::CreateGroupResponse { group: Some(group), ..Default::default() })
    }

    fn group(state: &crate::state::State, pool_id: &str, name: &str) -> OpResult<idp::GroupType> {
        Engine::pool(state, pool_id)?
            .groups
            .get(name)
            .cloned()
            .ok_or_else(|| Fail::new(ErrorCode::ResourceNotFoundException, "Group not found."))
    }

    pub(crate) fn get_group(&self, input: idp::GetGroupRequest) -> OpResult<idp::GetGroupResponse> {
        let state = self.lock();
        Ok(idp::GetGroupResponse {
            group: Some(Engine::group(&state, &input.user_pool_id, &input.group_name)?),
            ..Default::default()
        })
    }

    pub(crate) fn list_groups(&self, input: idp::ListGroupsRequest) -> OpResult<idp::ListGroupsResponse> {
        let state = self.lock();
        let all: Vec<idp::GroupType> = Engine::pool(&state, &input.user_pool_id)?.groups.values().cloned().collect();
        let (groups, next) = page(&all, input.limit, input.next_token.as_deref())?;
        Ok(idp::ListGroupsResponse { groups: Some(groups), next_token: next, ..Default::default() })
    }

    pub(crate) fn delete_group(&self, input: idp::DeleteGroupRequest) -> OpResult<cognito_wire::glue::Empty> {
        let mut state = self.lock();
        let pool = Engine::pool_mut(&mut state, &input.user_pool_id)?;
        pool.groups
            .remove(&input.group_name)
            .ok_or_else(|| Fail::new(ErrorCode::ResourceNotFoundException, "Group not found."))?;
        for user in pool.users.values_mut() {
            user.groups.remove(&input.group_name);
        }
        self.mark_dirty();
        Ok(Default::default())
    }

    pub(crate) fn admin_add_user_to_group(
        &self,
        input: idp::AdminAddUserToGroupRequest,
    ) -> OpResult<cognito_wire::glue::Empty> {
        let mut state = self.lock();
        Engine::group(&state, &input.user_pool_id, &input.group_name)?;
        let pool = Engine::pool_mut(&mut state, &input.user_pool_id)?;
        let key = pool.find_key(input.username.expose()).ok_or_else(Fail::no_user)?;
        if let Some(user) = pool.users.get_mut(&key) {
            user.groups.insert(input.group_name.clone());
        }
        self.mark_dirty();
        Ok(Default::default())
    }

    pub(crate) fn admin_remove_user_from_group(
        &self,
        input: idp::AdminRemoveUserFromGroupRequest,
    ) -> OpResult<cognito_wire::glue::Empty> {
        let mut state = self.lock();
        Engine::group(&state, &input.user_pool_id, &input.group_name)?;
        let pool = Engine::pool_mut(&mut state, &input.user_pool_id)?;
        let key = pool.find_key(input.username.expose()).ok_or_else(Fail::no_user)?;
        if let Some(user) = pool.users.get_mut(&key) {
            user.groups.remove(&input.group_name);
        }
        self.mark_dirty();
        Ok(Default::default())
    }

    pub(crate) fn admin_list_groups_for_user(
        &self,
        input: idp::AdminListGroupsForUserRequest,
    ) -> OpResult<idp::AdminListGroupsForUserResponse> {
        let state = self.lock();
        let pool = Engine::pool(&state, &input.user_pool_id)?;
        let key = pool.find_key(input.username.expose()).ok_or_else(Fail::no_user)?;
        let user = pool.users.get(&key).ok_or_else(Fail::no_user)?;
        let all: Vec<idp::GroupType> = user.groups.iter().filter_map(|g| pool.groups.get(g).cloned()).collect();
        let (groups, next) = page(&all, input.limit, input.next_token.as_deref())?;
        Ok(idp::AdminListGroupsForUserResponse { groups: Some(groups), next_token: next, ..Default::default() })
    }

    pub(crate) fn list_users_in_group(
        &self,
        input: idp::ListUsersInGroupRequest,
    ) -> OpResult<idp::ListUsersInGroupResponse> {
        let state = self.lock();
        Engine::group(&state, &input.user_pool_id, &input.group_name)?;
        let pool = Engine::pool(&state, &input.user_pool_id)?;
        let all: Vec<idp::UserType> =
            pool.users.values().filter(|u| u.groups.contains(&input.group_name)).map(|u| self.user_type(u)).collect();
        let (users, next) = page(&all, input.limit, input.next_token.as_deref())?;
        Ok(idp::ListUsersInGroupResponse { users: Some(users), next_token: next, ..Default::default() })
    }
}

/// The password policy of a pool created without one (Cognito's default).
fn default_password_policy() -> idp::PasswordPolicyType {
    idp::PasswordPolicyType {
        minimum_length: Some(8),
        require_uppercase: Some(true),
        require_lowercase: Some(true),
        require_numbers: Some(true),
        require_symbols: Some(true),
        temporary_password_validity_days: Some(7),
        ..Default::default()
    }
}

/// The members of a `CreateUserPool` request that `UpdateUserPool` can
/// change, as the update request that would set them.
fn updatable_pool_settings(input: &idp::CreateUserPoolRequest) -> idp::UpdateUserPoolRequest {
    idp::UpdateUserPoolRequest {
        account_recovery_setting: input.account_recovery_setting.clone(),
        acr_configuration: input.acr_configuration.clone(),
        admin_create_user_config: input.admin_create_user_config.clone(),
        auto_verified_attributes: input.auto_verified_attributes.clone(),
        dcr_configuration: input.dcr_configuration.clone(),
        deletion_protection: input.deletion_protection.clone(),
        device_configuration: input.device_configuration.clone(),
        email_configuration: input.email_configuration.clone(),
        email_verification_message: input.email_verification_message.clone(),
        email_verification_subject: input.email_verification_subject.clone(),
        issuer_configuration: input.issuer_configuration.clone(),
        key_configuration: input.key_configuration.clone(),
        lambda_config: input.lambda_config.clone(),
        mfa_configuration: input.mfa_configuration.clone(),
        policies: input.policies.clone(),
        sms_authentication_message: input.sms_authentication_message.clone(),
        sms_configuration: input.sms_configuration.clone(),
        sms_verification_message: input.sms_verification_message.clone(),
        user_attribute_update_settings: input.user_attribute_update_settings.clone(),
        user_pool_add_ons: input.user_pool_add_ons.clone(),
        user_pool_tier: input.user_pool_tier.clone(),
        verification_message_template: input.verification_message_template.clone(),
        ..Default::default()
    }
}

/// Sets every setting `UpdateUserPool` can change to the request's value,
/// or to what `CreateUserPool` gives when the request omits it: as on
/// Cognito, an update replaces the pool's settings instead of merging into
/// them. Left alone: the id, the sign-in attributes (`UsernameAttributes`,
/// `AliasAttributes`), `UsernameConfiguration` and the schema, which Cognito
/// does not let an update change; the name and tags unless given (they
/// have no default to go back to).
fn apply_pool_settings(c: &mut idp::UserPoolType, s: &idp::UpdateUserPoolRequest) -> OpResult<()> {
    if s.pool_name.as_deref().is_some_and(str::is_empty) {
        return Err(Fail::invalid("PoolName must not be empty"));
    }
    if let Some(name) = &s.pool_name {
        c.name = Some(name.clone());
    }
    if s.user_pool_tags.is_some() {
        c.user_pool_tags = s.user_pool_tags.clone();
    }
    let mut policies = s.policies.clone().unwrap_or_default();
    policies.password_policy.get_or_insert_with(default_password_policy);
    c.policies = Some(policies);
    c.mfa_configuration = Some(s.mfa_configuration.clone().unwrap_or(idp::UserPoolMfaType::Off));
    c.account_recovery_setting = s.account_recovery_setting.clone();
    c.acr_configuration = s.acr_configuration.clone();
    c.admin_create_user_config = s.admin_create_user_config.clone();
    c.auto_verified_attributes = s.auto_verified_attributes.clone();
    c.dcr_configuration = s.dcr_configuration.clone();
    c.deletion_protection = s.deletion_protection.clone();
    c.device_configuration = s.device_configuration.clone();
    c.email_configuration = s.email_configuration.clone();
    c.email_verification_message = s.email_verification_message.clone();
    c.email_verification_subject = s.email_verification_subject.clone();
    c.issuer_configuration = s.issuer_configuration.clone();
    c.key_configuration = s.key_configuration.clone();
    c.lambda_config = s.lambda_config.clone();
    c.sms_authentication_message = s.sms_authentication_message.clone();
    c.sms_configuration = s.sms_configuration.clone();
    c.sms_verification_message = s.sms_verification_message.clone();
    c.user_attribute_update_settings = s.user_attribute_update_settings.clone();
    c.user_pool_add_ons = s.user_pool_add_ons.clone();
    c.verification_message_template = s.verification_message_template.clone();
    // "Defaults to ESSENTIALS" (left unset, as create leaves it).
    c.user_pool_tier = s.user_pool_tier.clone();
    Ok(())
}

/// The members of a `CreateUserPoolClient` request that
/// `UpdateUserPoolClient` can change, as the update request that would set
/// them (`GenerateSecret` is not one: a client keeps its secret or lack of one).
fn updatable_client_settings(input: &idp::CreateUserPoolClientRequest) -> idp::UpdateUserPoolClientRequest {
    idp::UpdateUserPoolClientRequest {
        user_pool_id: input.user_pool_id.clone(),
        client_name: Some(input.client_name.clone()),
        access_token_validity: input.access_token_validity,
        allowed_o_auth_flows: input.allowed_o_auth_flows.clone(),
        allowed_o_auth_flows_user_pool_client: input.allowed_o_auth_flows_user_pool_client,
        allowed_o_auth_scopes: input.allowed_o_auth_scopes.clone(),
        analytics_configuration: input.analytics_configuration.clone(),
        auth_session_validity: input.auth_session_validity,
        callback_ur_ls: input.callback_ur_ls.clone(),
        default_redirect_uri: input.default_redirect_uri.clone(),
        enable_propagate_additional_user_context_data: input.enable_propagate_additional_user_context_data,
        enable_token_revocation: input.enable_token_revocation,
        explicit_auth_flows: input.explicit_auth_flows.clone(),
        id_token_validity: input.id_token_validity,
        logout_ur_ls: input.logout_ur_ls.clone(),
        prevent_user_existence_errors: input.prevent_user_existence_errors.clone(),
        read_attributes: input.read_attributes.clone(),
        refresh_token_rotation: input.refresh_token_rotation.clone(),
        refresh_token_validity: input.refresh_token_validity,
        supported_identity_providers: input.supported_identity_providers.clone(),
        token_validity_units: input.token_validity_units.clone(),
        write_attributes: input.write_attributes.clone(),
        ..Default::default()
    }
}

/// Checks an app client's OAuth settings as Cognito does on both
/// `CreateUserPoolClient` and `UpdateUserPoolClient`.
fn validate_client_settings(s: &idp::UpdateUserPoolClientRequest) -> OpResult<()> {
    let flows = s.allowed_o_auth_flows.as_deref().unwrap_or_default();
    let browser = flows.iter().any(|f| matches!(f, idp::OAuthFlowType::Code | idp::OAuthFlowType::Implicit));
    if browser && flows.iter().any(|f| matches!(f, idp::OAuthFlowType::ClientCredentials)) {
        return Err(Fail::new(
            ErrorCode::InvalidOAuthFlowException,
            "client_credentials flow can not be selected along with code flow or implicit flow.",
        ));
    }
    if browser && s.callback_ur_ls.as_deref().unwrap_or_default().is_empty() {
        return Err(Fail::new(
            ErrorCode::InvalidOAuthFlowException,
            "CallbackUrls can not be empty when code flow or implicit flow is selected.",
        ));
    }
    if let Some(default) = &s.default_redirect_uri
        && !s.callback_ur_ls.iter().flatten().any(|u| u == default)
    {
        return Err(Fail::invalid("DefaultRedirectURI must be one of the CallbackURLs."));
    }
    if s.allowed_o_auth_flows_user_pool_client == Some(true)
        && (flows.is_empty() || s.allowed_o_auth_scopes.as_deref().unwrap_or_default().is_empty())
    {
        return Err(Fail::new(
            ErrorCode::InvalidOAuthFlowException,
            "AllowedOAuthFlows and AllowedOAuthScopes are required when the client is allowed to use OAuth flows.",
        ));
    }
    Ok(())
}

/// Checks `s` (as [`validate_client_settings`]) and sets every setting
/// `UpdateUserPoolClient` can change to its value, or to what
/// `CreateUserPoolClient` gives when it is omitted: as on Cognito, an update
/// replaces the client's settings instead of merging into them. Left alone:
/// the pool, the id, the secret and the creation date; the name unless given
/// (Cognito keeps it, and it has no default).
fn apply_client_settings(c: &mut idp::UserPoolClientType, s: &idp::UpdateUserPoolClientRequest) -> OpResult<()> {
    validate_client_settings(s)?;
    if let Some(name) = &s.client_name {
        c.client_name = Some(name.clone());
    }
    c.refresh_token_validity = s.refresh_token_validity.or(Some(30));
    c.access_token_validity = s.access_token_validity;
    c.id_token_validity = s.id_token_validity;
    c.token_validity_units = s.token_validity_units.clone();
    c.read_attributes = s.read_attributes.clone();
    c.write_attributes = s.write_attributes.clone();
    // None: ALLOW_USER_SRP_AUTH, ALLOW_REFRESH_TOKEN_AUTH and ALLOW_CUSTOM_AUTH
    // (see `auth::flow_allowed`), Cognito's default.
    c.explicit_auth_flows = s.explicit_auth_flows.clone();
    c.supported_identity_providers = s.supported_identity_providers.clone();
    c.callback_ur_ls = s.callback_ur_ls.clone();
    c.logout_ur_ls = s.logout_ur_ls.clone();
    c.default_redirect_uri = s.default_redirect_uri.clone();
    c.allowed_o_auth_flows = s.allowed_o_auth_flows.clone();
    c.allowed_o_auth_scopes = s.allowed_o_auth_scopes.clone();
    c.allowed_o_auth_flows_user_pool_client = s.allowed_o_auth_flows_user_pool_client;
    c.analytics_configuration = s.analytics_configuration.clone();
    c.enable_propagate_additional_user_context_data = s.enable_propagate_additional_user_context_data;
    c.prevent_user_existence_errors = s.prevent_user_existence_errors.clone();
    c.refresh_token_rotation = s.refresh_token_rotation.clone();
    c.enable_token_revocation = s.enable_token_revocation.or(Some(true));
    c.auth_session_validity = s.auth_session_validity.or(Some(3));
    Ok(())
}

/// `email = "a@b.c"` or `email ^= "a"` (ListUsers' filter syntax).
fn parse_filter(filter: &str) -> OpResult<(String, bool, String)> {
    let bad = || Fail::invalid(format!("Error while parsing filter: {filter}"));
    let (attr, rest, exact) = if let Some((a, r)) = filter.split_once("^=") {
        (a, r, false)
    } else if let Some((a, r)) = filter.split_once('=') {
        (a, r, true)
    } else {
        return Err(bad());
    };
    let value = rest.trim();
    let value = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')).ok_or_else(bad)?;
    let attr = attr.trim();
    if attr.is_empty() {
        return Err(bad());
    }
    Ok((attr.to_owned(), exact, value.replace("\\\"", "\"")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse() {
        assert_eq!(parse_filter("email = \"a@b.c\"").unwrap(), ("email".into(), true, "a@b.c".into()));
        assert_eq!(parse_filter("username ^= \"al\"").unwrap(), ("username".into(), false, "al".into()));
        assert!(parse_filter("email").is_err());
        assert!(parse_filter("email = a").is_err());
        assert!(parse_filter(" = \"x\"").is_err());
    }

    #[test]
    fn pages_are_bounded_and_tokens_checked() {
        let items: Vec<u32> = (0..130).collect();
        let (first, next) = page(&items, Some(60), None).unwrap();
        assert_eq!(first.len(), 60);
        let (second, next) = page(&items, Some(60), next.as_deref()).unwrap();
        assert_eq!(second[0], 60);
        let (third, next) = page(&items, Some(60), next.as_deref()).unwrap();
        assert_eq!((third.len(), next), (10, None));
        assert!(page(&items, None, Some("x")).is_err());
        assert!(page(&items, None, Some("9999")).unwrap().0.is_empty());
    }
}
