//! The set-up shared by browser tests that need one hosted-UI app client
//! and nothing else: a local pool, its client allowed one OAuth flow on a
//! loopback callback, and an `Auth` configured for it.

use std::time::Duration;

use amplify_auth::config::OAuthConfig;
use amplify_auth::{Auth, AuthConfig, RedirectListener, RetryPolicy};
use cognito_wire::cognito_idp::{self as idp, OAuthFlowType, operation as op};
use local_pool::{ClientOptions, LocalPool};

/// What [`hosted_ui_app`] sets up.
pub(crate) struct App {
    pub(crate) pool: LocalPool,
    pub(crate) pool_id: String,
    pub(crate) auth: Auth,
    /// The loopback listener the callback URL points at.
    pub(crate) listener: RedirectListener,
    /// `http://127.0.0.1:<port>/callback`.
    pub(crate) redirect: String,
}

/// A pool named `name` whose client allows only `flow` (the client's
/// `response_type` follows it), the Cognito provider and the usual scopes.
pub(crate) async fn hosted_ui_app(name: &str, flow: OAuthFlowType) -> App {
    let pool = LocalPool::start().await.unwrap();
    let pool_id = pool.create_pool(name).unwrap();
    let client = pool.create_client(&pool_id, ClientOptions::default()).unwrap();
    let listener = RedirectListener::bind(0).await.unwrap();
    let redirect = listener.redirect_uri("/callback");
    let scopes = ["openid", "email", "profile", "aws.cognito.signin.user.admin"].map(String::from).to_vec();
    let response_type = if flow == OAuthFlowType::Implicit { "token" } else { "code" };
    pool.engine()
        .call::<op::UpdateUserPoolClient>(idp::UpdateUserPoolClientRequest {
            user_pool_id: pool_id.clone(),
            client_id: client.client_id.as_str().into(),
            callback_ur_ls: Some(vec![redirect.clone()]),
            allowed_o_auth_flows: Some(vec![flow]),
            allowed_o_auth_scopes: Some(scopes.clone()),
            allowed_o_auth_flows_user_pool_client: Some(true),
            supported_identity_providers: Some(vec!["COGNITO".into()]),
            ..Default::default()
        })
        .unwrap();
    let config = AuthConfig::builder(&pool_id, &client.client_id)
        .user_pool_endpoint(pool.endpoint())
        .retry(RetryPolicy { attempt_timeout: Duration::from_secs(10), ..Default::default() })
        .oauth(OAuthConfig {
            domain: pool.endpoint(),
            scopes,
            redirect_sign_in: vec![redirect.clone()],
            redirect_sign_out: vec![],
            response_type: response_type.into(),
            providers: vec![],
        })
        .build()
        .unwrap();
    App { pool, pool_id, auth: Auth::new(config).unwrap(), listener, redirect }
}
