//! Helpers shared by the USER_AUTH and CUSTOM_AUTH tests: a pool with one
//! client, calls through the engine, and the client half of SRP.

// Test helpers unwrap: a failure there is a failed test, with its message.
#![allow(clippy::unwrap_used, dead_code)]

use std::collections::BTreeMap;

use cognito_wire::Sensitive;
use cognito_wire::cognito_idp::{self as idp, AuthFlowType, ChallengeNameType, operation as op};
use local_pool::{ClientOptions, Engine, Fail, LocalPool};

pub(crate) const PW: &str = "Correct-Horse-1";

pub(crate) struct Fixture {
    pub(crate) pool: LocalPool,
    pub(crate) pool_id: String,
    pub(crate) client_id: String,
}

/// Client flows: every flow these tests use.
pub(crate) fn all_flows() -> ClientOptions {
    ClientOptions {
        explicit_auth_flows: [
            "ALLOW_USER_AUTH",
            "ALLOW_CUSTOM_AUTH",
            "ALLOW_USER_SRP_AUTH",
            "ALLOW_USER_PASSWORD_AUTH",
            "ALLOW_REFRESH_TOKEN_AUTH",
        ]
        .map(String::from)
        .to_vec(),
        ..ClientOptions::default()
    }
}

impl Fixture {
    pub(crate) async fn with(options: ClientOptions) -> Self {
        let pool = LocalPool::start().await.unwrap();
        let pool_id = pool.create_pool("test").unwrap();
        let client = pool.create_client(&pool_id, options).unwrap();
        Self { pool, pool_id, client_id: client.client_id }
    }

    pub(crate) fn engine(&self) -> &Engine {
        self.pool.engine()
    }

    pub(crate) fn initiate(
        &self,
        flow: AuthFlowType,
        pairs: &[(&str, &str)],
        metadata: &[(&str, &str)],
        session: Option<&str>,
    ) -> Result<idp::InitiateAuthResponse, Fail> {
        self.engine().call::<op::InitiateAuth>(idp::InitiateAuthRequest {
            auth_flow: flow,
            client_id: self.client_id.as_str().into(),
            auth_parameters: Some(params(pairs)),
            client_metadata: (!metadata.is_empty()).then(|| map(metadata)),
            session: session.map(|s| Sensitive::new(s.to_owned())),
            ..Default::default()
        })
    }

    pub(crate) fn respond(
        &self,
        name: ChallengeNameType,
        session: Option<&Sensitive<String>>,
        pairs: &[(&str, &str)],
    ) -> Result<idp::RespondToAuthChallengeResponse, Fail> {
        self.respond_with(name, session, pairs, &[])
    }

    pub(crate) fn respond_with(
        &self,
        name: ChallengeNameType,
        session: Option<&Sensitive<String>>,
        pairs: &[(&str, &str)],
        metadata: &[(&str, &str)],
    ) -> Result<idp::RespondToAuthChallengeResponse, Fail> {
        self.engine().call::<op::RespondToAuthChallenge>(idp::RespondToAuthChallengeRequest {
            client_id: self.client_id.as_str().into(),
            challenge_name: name,
            session: session.cloned(),
            challenge_responses: Some(params(pairs)),
            client_metadata: (!metadata.is_empty()).then(|| map(metadata)),
            ..Default::default()
        })
    }

    /// Answers a PASSWORD_VERIFIER challenge as a client computes it.
    pub(crate) fn answer_verifier(
        &self,
        ephemeral: &srp_core::ClientEphemeral,
        challenge: &BTreeMap<String, String>,
        session: Option<&Sensitive<String>>,
        password: &str,
    ) -> Result<idp::RespondToAuthChallengeResponse, Fail> {
        let p = challenge;
        let identity = srp_core::Identity::user(&self.pool_id, &p["USER_ID_FOR_SRP"], password).unwrap();
        let c = srp_core::Challenge { srp_b: &p["SRP_B"], salt: &p["SALT"], secret_block: &p["SECRET_BLOCK"] };
        let ts = srp_core::Timestamp::from_unix_seconds(1_763_850_000).unwrap();
        let signature = ephemeral.sign(&identity, &c, ts.as_str()).unwrap();
        self.respond(
            ChallengeNameType::PasswordVerifier,
            session,
            &[
                ("USERNAME", &p["USER_ID_FOR_SRP"]),
                ("PASSWORD_CLAIM_SECRET_BLOCK", &p["SECRET_BLOCK"]),
                ("PASSWORD_CLAIM_SIGNATURE", signature.as_str()),
                ("TIMESTAMP", ts.as_str()),
            ],
        )
    }

    pub(crate) fn last_message(&self, username: &str) -> local_pool::Message {
        self.pool.outbox(Some(&self.pool_id), Some(username)).pop().unwrap()
    }

    pub(crate) fn access_token(result: &idp::AuthenticationResultType) -> String {
        result.access_token.as_ref().unwrap().expose().clone()
    }
}

pub(crate) fn ephemeral() -> srp_core::ClientEphemeral {
    let mut random = [0u8; 128];
    getrandom_fill(&mut random);
    srp_core::ClientEphemeral::from_random(&random).unwrap()
}

pub(crate) fn getrandom_fill(buf: &mut [u8]) {
    // Test randomness: distinct per call is all that matters here.
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    for (i, b) in buf.iter_mut().enumerate() {
        *b = (n.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(i as u32 % 64) >> 24) as u8 ^ i as u8;
    }
}

pub(crate) fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

pub(crate) fn params(pairs: &[(&str, &str)]) -> Sensitive<BTreeMap<String, String>> {
    Sensitive::new(map(pairs))
}

pub(crate) fn attr(name: &str, value: &str) -> idp::AttributeType {
    idp::AttributeType { name: name.into(), value: Some(value.into()), ..Default::default() }
}
