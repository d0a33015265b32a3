//! `UpdateUserPool` and `UpdateUserPoolClient` replace settings as Cognito
//! does: a member left out of the request goes back to what `Create*` gives
//! when it is left out, instead of keeping its old value. What Cognito never
//! lets an update change (ids, the client secret, sign-in attributes,
//! username case sensitivity, the schema) survives.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeMap;

use cognito_wire::ErrorCode;
use cognito_wire::cognito_idp::{self as idp, OAuthFlowType, operation as op};
use local_pool::{Fail, LocalPool};

const PW: &str = "Correct-Horse-1";

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn describe_client(pool: &LocalPool, pool_id: &str, client_id: &str) -> idp::UserPoolClientType {
    pool.engine()
        .call::<op::DescribeUserPoolClient>(idp::DescribeUserPoolClientRequest {
            user_pool_id: pool_id.into(),
            client_id: client_id.into(),
            ..Default::default()
        })
        .unwrap()
        .user_pool_client
        .unwrap()
}

fn describe_pool(pool: &LocalPool, pool_id: &str) -> idp::UserPoolType {
    pool.engine()
        .call::<op::DescribeUserPool>(idp::DescribeUserPoolRequest {
            user_pool_id: pool_id.into(),
            ..Default::default()
        })
        .unwrap()
        .user_pool
        .unwrap()
}

fn create_client(pool: &LocalPool, request: idp::CreateUserPoolClientRequest) -> Result<idp::UserPoolClientType, Fail> {
    Ok(pool.engine().call::<op::CreateUserPoolClient>(request)?.user_pool_client.unwrap())
}

fn update_client(pool: &LocalPool, request: idp::UpdateUserPoolClientRequest) -> Result<(), Fail> {
    pool.engine().call::<op::UpdateUserPoolClient>(request).map(|_| ())
}

/// A client with a secret and every kind of setting away from its default.
fn full_client(pool_id: &str) -> idp::CreateUserPoolClientRequest {
    idp::CreateUserPoolClientRequest {
        user_pool_id: pool_id.into(),
        client_name: "web".into(),
        generate_secret: Some(true),
        explicit_auth_flows: Some(
            ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
                .map(idp::ExplicitAuthFlowsType::from)
                .to_vec(),
        ),
        refresh_token_validity: Some(5),
        access_token_validity: Some(2),
        id_token_validity: Some(2),
        token_validity_units: Some(idp::TokenValidityUnitsType {
            access_token: Some(idp::TimeUnitsType::Hours),
            id_token: Some(idp::TimeUnitsType::Hours),
            refresh_token: Some(idp::TimeUnitsType::Days),
            ..Default::default()
        }),
        read_attributes: Some(strings(&["email"])),
        write_attributes: Some(strings(&["email"])),
        supported_identity_providers: Some(strings(&["COGNITO"])),
        callback_ur_ls: Some(strings(&["http://localhost:3000/cb"])),
        logout_ur_ls: Some(strings(&["http://localhost:3000/out"])),
        default_redirect_uri: Some("http://localhost:3000/cb".into()),
        allowed_o_auth_flows: Some(vec![OAuthFlowType::Code]),
        allowed_o_auth_scopes: Some(strings(&["openid", "email"])),
        allowed_o_auth_flows_user_pool_client: Some(true),
        prevent_user_existence_errors: Some(idp::PreventUserExistenceErrorTypes::Enabled),
        enable_token_revocation: Some(false),
        auth_session_validity: Some(10),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_client_update_with_one_member_resets_the_others_to_their_defaults() {
    let pool = LocalPool::start().await.unwrap();
    let pool_id = pool.create_pool("p").unwrap();
    let created = create_client(&pool, full_client(&pool_id)).unwrap();
    let client_id = created.client_id.clone().unwrap().expose().clone();
    pool.create_user(&pool_id, "ann", PW, &[("email", "ann@example.com")]).unwrap();
    let password_auth = || {
        pool.engine().call::<op::InitiateAuth>(idp::InitiateAuthRequest {
            auth_flow: idp::AuthFlowType::UserPasswordAuth,
            client_id: client_id.as_str().into(),
            auth_parameters: Some(cognito_wire::Sensitive::new(BTreeMap::from([
                ("USERNAME".to_owned(), "ann".to_owned()),
                ("PASSWORD".to_owned(), PW.to_owned()),
                (
                    "SECRET_HASH".to_owned(),
                    srp_core::secret_hash(created.client_secret.as_ref().unwrap().expose(), "ann", &client_id)
                        .unwrap()
                        .as_str()
                        .to_owned(),
                ),
            ]))),
            ..Default::default()
        })
    };
    assert!(password_auth().is_ok());

    // Only the callback URLs: on Cognito this wipes the OAuth flows, the
    // providers, the explicit auth flows and the rest.
    update_client(
        &pool,
        idp::UpdateUserPoolClientRequest {
            user_pool_id: pool_id.clone(),
            client_id: client_id.as_str().into(),
            callback_ur_ls: Some(strings(&["http://localhost:4000/cb"])),
            ..Default::default()
        },
    )
    .unwrap();
    let after = describe_client(&pool, &pool_id, &client_id);

    // What a client created with only a name (and a secret) looks like.
    let plain = create_client(
        &pool,
        idp::CreateUserPoolClientRequest {
            user_pool_id: pool_id.clone(),
            client_name: "web".into(),
            generate_secret: Some(true),
            ..Default::default()
        },
    )
    .unwrap();
    let expected = idp::UserPoolClientType {
        client_id: created.client_id.clone(),
        client_secret: created.client_secret.clone(),
        creation_date: created.creation_date.clone(),
        last_modified_date: after.last_modified_date.clone(),
        callback_ur_ls: Some(strings(&["http://localhost:4000/cb"])),
        ..plain
    };
    assert_eq!(after, expected);
    // Spelled out, the settings that matter most:
    assert_eq!(after.client_name.as_deref(), Some("web"));
    assert_eq!(after.client_secret, created.client_secret);
    assert_eq!(after.creation_date, created.creation_date);
    assert_eq!(after.allowed_o_auth_flows, None);
    assert_eq!(after.allowed_o_auth_flows_user_pool_client, None);
    assert_eq!(after.supported_identity_providers, None);
    assert_eq!(after.explicit_auth_flows, None);
    assert_eq!(after.refresh_token_validity, Some(30));
    assert_eq!(after.enable_token_revocation, Some(true));
    assert_eq!(after.auth_session_validity, Some(3));
    assert_eq!(after.prevent_user_existence_errors, None);

    // And it behaves so: USER_PASSWORD_AUTH is no longer among the flows.
    let err = password_auth().unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidParameterException);
    pool.stop().await;
}

#[tokio::test]
async fn a_full_client_update_keeps_what_it_restates_and_may_rename() {
    let pool = LocalPool::start().await.unwrap();
    let pool_id = pool.create_pool("p").unwrap();
    let request = full_client(&pool_id);
    let created = create_client(&pool, request.clone()).unwrap();
    let client_id = created.client_id.clone().unwrap().expose().clone();
    let restated = idp::UpdateUserPoolClientRequest {
        user_pool_id: pool_id.clone(),
        client_id: client_id.as_str().into(),
        client_name: Some("renamed".into()),
        explicit_auth_flows: request.explicit_auth_flows.clone(),
        refresh_token_validity: request.refresh_token_validity,
        access_token_validity: request.access_token_validity,
        id_token_validity: request.id_token_validity,
        token_validity_units: request.token_validity_units.clone(),
        read_attributes: request.read_attributes.clone(),
        write_attributes: request.write_attributes.clone(),
        supported_identity_providers: request.supported_identity_providers.clone(),
        callback_ur_ls: request.callback_ur_ls.clone(),
        logout_ur_ls: request.logout_ur_ls.clone(),
        default_redirect_uri: request.default_redirect_uri.clone(),
        allowed_o_auth_flows: request.allowed_o_auth_flows.clone(),
        allowed_o_auth_scopes: request.allowed_o_auth_scopes.clone(),
        allowed_o_auth_flows_user_pool_client: request.allowed_o_auth_flows_user_pool_client,
        prevent_user_existence_errors: request.prevent_user_existence_errors.clone(),
        enable_token_revocation: request.enable_token_revocation,
        auth_session_validity: request.auth_session_validity,
        ..Default::default()
    };
    update_client(&pool, restated).unwrap();
    let after = describe_client(&pool, &pool_id, &client_id);
    let expected = idp::UserPoolClientType {
        client_name: Some("renamed".into()),
        last_modified_date: after.last_modified_date.clone(),
        ..created
    };
    assert_eq!(after, expected);
    pool.stop().await;
}

#[tokio::test]
async fn client_settings_are_validated_alike_on_create_and_update() {
    let pool = LocalPool::start().await.unwrap();
    let pool_id = pool.create_pool("p").unwrap();
    let created = create_client(&pool, full_client(&pool_id)).unwrap();
    let client_id = created.client_id.clone().unwrap().expose().clone();
    let before = describe_client(&pool, &pool_id, &client_id);

    let oauth = |flows: &[OAuthFlowType], callbacks: Option<&[&str]>, default: Option<&str>, scopes: &[&str]| {
        idp::UpdateUserPoolClientRequest {
            user_pool_id: pool_id.clone(),
            client_id: client_id.as_str().into(),
            allowed_o_auth_flows: (!flows.is_empty()).then(|| flows.to_vec()),
            callback_ur_ls: callbacks.map(strings),
            default_redirect_uri: default.map(str::to_owned),
            allowed_o_auth_flows_user_pool_client: Some(true),
            allowed_o_auth_scopes: (!scopes.is_empty()).then(|| strings(scopes)),
            ..Default::default()
        }
    };
    let cb = ["http://localhost/cb"];
    let cases = [
        // The code flow needs callback URLs.
        (oauth(&[OAuthFlowType::Code], None, None, &["openid"]), ErrorCode::InvalidOAuthFlowException),
        // So does the implicit flow.
        (oauth(&[OAuthFlowType::Implicit], Some(&[]), None, &["openid"]), ErrorCode::InvalidOAuthFlowException),
        // client_credentials does not mix with code.
        (
            oauth(&[OAuthFlowType::Code, OAuthFlowType::ClientCredentials], Some(&cb), None, &["openid"]),
            ErrorCode::InvalidOAuthFlowException,
        ),
        // OAuth allowed needs flows and scopes.
        (oauth(&[], None, None, &[]), ErrorCode::InvalidOAuthFlowException),
        // The default redirect URI must be a callback URL.
        (
            oauth(&[OAuthFlowType::Code], Some(&cb), Some("http://localhost/other"), &["openid"]),
            ErrorCode::InvalidParameterException,
        ),
    ];
    for (update, code) in cases {
        let create = create_client(
            &pool,
            idp::CreateUserPoolClientRequest {
                user_pool_id: pool_id.clone(),
                client_name: "bad".into(),
                allowed_o_auth_flows: update.allowed_o_auth_flows.clone(),
                callback_ur_ls: update.callback_ur_ls.clone(),
                default_redirect_uri: update.default_redirect_uri.clone(),
                allowed_o_auth_flows_user_pool_client: update.allowed_o_auth_flows_user_pool_client,
                allowed_o_auth_scopes: update.allowed_o_auth_scopes.clone(),
                ..Default::default()
            },
        )
        .unwrap_err();
        let update = update_client(&pool, update).unwrap_err();
        assert_eq!(create.code, code, "{}", create.message);
        assert_eq!((update.code, update.message), (create.code, create.message));
    }
    // No client was created and the failed updates changed nothing.
    let listed = pool
        .engine()
        .call::<op::ListUserPoolClients>(idp::ListUserPoolClientsRequest {
            user_pool_id: pool_id.clone(),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(listed.user_pool_clients.unwrap().len(), 1);
    assert_eq!(describe_client(&pool, &pool_id, &client_id), before);
    pool.stop().await;
}

#[tokio::test]
async fn a_pool_update_with_one_member_resets_the_others_and_keeps_the_immutable_ones() {
    let pool = LocalPool::start().await.unwrap();
    let schema = vec![idp::SchemaAttributeType {
        name: Some("team".into()),
        attribute_data_type: Some(idp::AttributeDataType::String),
        mutable: Some(true),
        ..Default::default()
    }];
    let created = pool
        .engine()
        .call::<op::CreateUserPool>(idp::CreateUserPoolRequest {
            pool_name: "settled".into(),
            username_attributes: Some(vec![idp::UsernameAttributeType::Email]),
            username_configuration: Some(idp::UsernameConfigurationType {
                case_sensitive: false,
                ..Default::default()
            }),
            schema: Some(schema.clone()),
            user_pool_tags: Some(BTreeMap::from([("team".to_owned(), "auth".to_owned())])),
            auto_verified_attributes: Some(vec![idp::VerifiedAttributeType::Email]),
            policies: Some(idp::UserPoolPolicyType {
                password_policy: Some(idp::PasswordPolicyType {
                    minimum_length: Some(12),
                    require_uppercase: Some(false),
                    require_numbers: Some(false),
                    require_symbols: Some(false),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            mfa_configuration: Some(idp::UserPoolMfaType::Optional),
            lambda_config: Some(idp::LambdaConfigType {
                custom_message: Some("arn:aws:lambda:us-east-1:000000000000:function:msg".into()),
                ..Default::default()
            }),
            device_configuration: Some(idp::DeviceConfigurationType {
                challenge_required_on_new_device: Some(true),
                ..Default::default()
            }),
            admin_create_user_config: Some(idp::AdminCreateUserConfigType {
                allow_admin_create_user_only: Some(true),
                ..Default::default()
            }),
            email_verification_message: Some("Your code: {####}".into()),
            email_verification_subject: Some("Code".into()),
            deletion_protection: Some(idp::DeletionProtectionType::Active),
            user_pool_tier: Some(idp::UserPoolTierType::Plus),
            ..Default::default()
        })
        .unwrap()
        .user_pool
        .unwrap();
    let pool_id = created.id.clone().unwrap();
    let set_password = |username: &str, password: &str| {
        pool.engine().call::<op::AdminSetUserPassword>(idp::AdminSetUserPasswordRequest {
            user_pool_id: pool_id.clone(),
            username: username.into(),
            password: password.into(),
            permanent: Some(true),
            ..Default::default()
        })
    };
    pool.engine()
        .call::<op::AdminCreateUser>(idp::AdminCreateUserRequest {
            user_pool_id: pool_id.clone(),
            username: "bo@example.com".into(),
            message_action: Some(idp::MessageActionType::Suppress),
            ..Default::default()
        })
        .unwrap();
    // Twelve lowercase letters meet the pool's own policy...
    set_password("bo@example.com", "abcdefghijkl").unwrap();

    pool.engine()
        .call::<op::UpdateUserPool>(idp::UpdateUserPoolRequest {
            user_pool_id: pool_id.clone(),
            auto_verified_attributes: Some(vec![idp::VerifiedAttributeType::Email]),
            ..Default::default()
        })
        .unwrap();
    let after = describe_pool(&pool, &pool_id);

    // What a pool created with only a name (and the same fixed settings) has.
    let plain = pool
        .engine()
        .call::<op::CreateUserPool>(idp::CreateUserPoolRequest { pool_name: "plain".into(), ..Default::default() })
        .unwrap()
        .user_pool
        .unwrap();
    assert_eq!(after.policies, plain.policies);
    assert_eq!(after.mfa_configuration, Some(idp::UserPoolMfaType::Off));
    assert_eq!(after.lambda_config, None);
    assert_eq!(after.device_configuration, None);
    assert_eq!(after.admin_create_user_config, None);
    assert_eq!(after.email_verification_message, None);
    assert_eq!(after.email_verification_subject, None);
    assert_eq!(after.deletion_protection, None);
    assert_eq!(created.user_pool_tier, Some(idp::UserPoolTierType::Plus));
    assert_eq!(after.user_pool_tier, plain.user_pool_tier);
    assert_eq!(after.auto_verified_attributes, Some(vec![idp::VerifiedAttributeType::Email]));
    // Kept: what an update cannot change, and the name and tags it did not give.
    assert_eq!(after.id, created.id);
    assert_eq!(after.name.as_deref(), Some("settled"));
    assert_eq!(after.username_attributes, Some(vec![idp::UsernameAttributeType::Email]));
    assert_eq!(after.username_configuration, created.username_configuration);
    assert_eq!(after.schema_attributes, Some(schema));
    assert_eq!(after.user_pool_tags, created.user_pool_tags);
    assert_eq!(after.creation_date, created.creation_date);

    // And it behaves so: the default policy wants more than lowercase letters...
    let err = set_password("bo@example.com", "abcdefghijkl").unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidPasswordException);
    // ...the email still signs in (username attributes kept)...
    set_password("BO@example.com", PW).unwrap();
    // ...and deletion protection is off.
    pool.engine()
        .call::<op::DeleteUserPool>(idp::DeleteUserPoolRequest { user_pool_id: pool_id.clone(), ..Default::default() })
        .unwrap();
    pool.stop().await;
}

#[tokio::test]
async fn a_pool_update_may_rename_but_not_to_nothing() {
    let pool = LocalPool::start().await.unwrap();
    let pool_id = pool.create_pool("first").unwrap();
    let update = |name: &str| {
        pool.engine().call::<op::UpdateUserPool>(idp::UpdateUserPoolRequest {
            user_pool_id: pool_id.clone(),
            pool_name: Some(name.into()),
            ..Default::default()
        })
    };
    let err = update("").unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidParameterException);
    assert_eq!(describe_pool(&pool, &pool_id).name.as_deref(), Some("first"));
    update("second").unwrap();
    assert_eq!(describe_pool(&pool, &pool_id).name.as_deref(), Some("second"));
    pool.stop().await;
}
